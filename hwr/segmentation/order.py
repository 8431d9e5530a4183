"""Reading order: lines grouped into text blocks, blocks ordered, lines top to bottom.

Two lines belong to the same block when they overlap horizontally (by a third of the
shorter one) and are at most ``gap`` x-heights, or 1.25 times the page's usual line
spacing if that is more, apart vertically (union-find): widely spaced lines, and a
salutation or date one line above the text, are still one block.  Main
blocks (at least 40 % as wide as the widest) are read first, by column (left to right,
a column being blocks that overlap horizontally) and top to bottom within a column;
marginal blocks (narrower ones: notes beside or below the text) come after, top to
bottom.  Within a block, lines go top to bottom.
"""

from __future__ import annotations

import numpy as np

from hwr.segmentation.polygons import WorkLine


def _find(p: list[int], i: int) -> int:
    while p[i] != i:
        p[i] = p[p[i]]
        i = p[i]
    return i


def blocks(lines: list[WorkLine], xh: float, gap: float = 3.0) -> list[list[int]]:
    """Blocks of line indices, in reading order, each block's lines in reading order."""
    n = len(lines)
    if n == 0:
        return []
    parent = list(range(n))

    def overlap(a: WorkLine, b: WorkLine) -> bool:
        return min(a.x1, b.x1) - max(a.x0, b.x0) >= 0.33 * min(a.x1 - a.x0, b.x1 - b.x0)

    # the usual line spacing: the median distance from a line to the nearest one below it
    below = [min((b.ymid - a.ymid for b in lines if b.ymid > a.ymid and overlap(a, b)), default=np.inf)
             for a in lines]
    below = [d for d in below if np.isfinite(d)]
    reach = max(gap * xh, 1.25 * float(np.median(below))) if below else gap * xh
    for i in range(n):
        for j in range(i + 1, n):
            a, b = lines[i], lines[j]
            if overlap(a, b) and abs(a.ymid - b.ymid) <= reach:
                parent[_find(parent, i)] = _find(parent, j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_find(parent, i), []).append(i)
    bl = [sorted(g, key=lambda k: lines[k].ymid) for g in groups.values()]
    ext = [(min(lines[k].x0 for k in g), max(lines[k].x1 for k in g),
            min(lines[k].ymid for k in g)) for g in bl]
    widest = max(e[1] - e[0] for e in ext)
    main = [i for i, e in enumerate(ext) if e[1] - e[0] >= 0.4 * widest]
    margin = [i for i in range(len(bl)) if i not in main]
    # columns among the main blocks
    cols: list[list[int]] = []
    for i in sorted(main, key=lambda i: ext[i][0]):
        for c in cols:
            cx0 = min(ext[k][0] for k in c)
            cx1 = max(ext[k][1] for k in c)
            ov = min(cx1, ext[i][1]) - max(cx0, ext[i][0])
            if ov >= 0.5 * (ext[i][1] - ext[i][0]) or ov >= 0.5 * (cx1 - cx0):
                c.append(i)
                break
        else:
            cols.append([i])
    cols.sort(key=lambda c: min(ext[k][0] for k in c))
    ordered = [i for c in cols for i in sorted(c, key=lambda k: ext[k][2])]
    ordered += sorted(margin, key=lambda k: ext[k][2])
    return [bl[i] for i in ordered]


def hull(points: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.convexHull(points.astype(np.float32).reshape(-1, 1, 2)).reshape(-1, 2).astype(np.float64)
