"""Several lines of writing in one ink: which strokes belong to which text line.

The recognisers read one line at a time. :func:`split_lines` groups the strokes of an ink
into lines, top to bottom (y grows downwards, as in InkML, IAM-OnDB and screen
coordinates):

1. The scale is the median height of the strokes that are not specks (the height of a
   letter or a joined word, about two x-heights).
2. Strokes are sorted by their vertical centre (the median y of their points); a new
   line starts where two consecutive centres are further apart than ``gap`` scales.
   Within a line the centres of its many strokes follow each other closely, whatever
   the ascenders, descenders or a slight slope; between lines the spacing shows as a
   gap.
3. A group with little ink (an i-dot or an accent left above its line, a stray mark)
   joins the nearest line, judged by the vertical distance between their extents.

Strokes keep their time order within a line.
"""

from __future__ import annotations

import numpy as np

from hwr.types import Ink


def split_lines(ink: Ink, gap: float = 1.1, min_share: float = 0.12) -> list[list[int]]:
    """Stroke indices of each text line of ``ink``, lines top to bottom. Strokes without
    points are left out; an ink with one line (or none) gives at most one group."""
    idx = [i for i, s in enumerate(ink.strokes) if len(s)]
    if len(idx) <= 1:
        return [idx] if idx else []
    ys = [np.asarray(ink.strokes[i].y, dtype=np.float64) for i in idx]
    xs = [np.asarray(ink.strokes[i].x, dtype=np.float64) for i in idx]
    top = np.array([y.min() for y in ys])
    bot = np.array([y.max() for y in ys])
    centre = np.array([np.median(y) for y in ys])
    length = np.array([np.hypot(np.diff(x), np.diff(y)).sum() + 1.0 for x, y in zip(xs, ys)])
    heights = bot - top
    big = heights[heights > 0.25 * max(np.percentile(heights, 90), 1e-9)]
    scale = float(np.median(big)) if len(big) else float(np.median(heights))
    if not np.isfinite(scale) or scale <= 0:
        return [idx]
    order = np.argsort(centre, kind="stable")
    groups: list[list[int]] = [[int(order[0])]]
    for a, b in zip(order[:-1], order[1:]):
        if centre[b] - centre[a] > gap * scale:
            groups.append([])
        groups[-1].append(int(b))
    # small groups (dots, accents, a stray mark) join the nearest substantial line
    ink_of = [float(length[g].sum()) for g in groups]
    total = sum(ink_of)
    main = [k for k, v in enumerate(ink_of) if v >= min_share * total / max(len(groups), 1)]
    if not main:
        return [idx]
    lines: dict[int, list[int]] = {k: list(groups[k]) for k in main}
    for k, g in enumerate(groups):
        if k in lines:
            continue
        g_top, g_bot = top[g].min(), bot[g].max()

        def dist(m: int) -> float:
            m_top, m_bot = top[groups[m]].min(), bot[groups[m]].max()
            return max(0.0, m_top - g_bot, g_top - m_bot) + 1e-6 * abs(np.median(centre[g]) - np.median(centre[groups[m]]))

        lines[min(main, key=dist)].extend(g)
    ordered = sorted(lines.values(), key=lambda g: float(np.median(centre[g])))
    return [sorted(idx[i] for i in g) for g in ordered]


def line_inks(ink: Ink, groups: list[list[int]]) -> list[Ink]:
    """One :class:`Ink` per group of stroke indices (text, writer and source kept)."""
    return [Ink(strokes=[ink.strokes[i] for i in g], text=None, writer=ink.writer, source=ink.source,
                meta=dict(ink.meta)) for g in groups]
