"""Reading order: lines grouped into text blocks, blocks ordered, lines top to bottom.

Two lines belong to the same block when they overlap horizontally (by a third of the
shorter one) and are at most ``gap`` x-heights, or 1.25 times the page's usual line
spacing if that is more, apart vertically (union-find): widely spaced lines, and a
salutation or date one line above the text, are still one block.  Main
blocks (at least 40 % as wide as the widest) are read first, by column (left to right,
a column being blocks that overlap horizontally) and top to bottom within a column;
marginal blocks (narrower ones: notes beside or below the text) come after, top to
bottom.  Within a block, lines go top to bottom, and pieces of one row (lines within half a
line spacing of each other in height that do not overlap horizontally) left to right.
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
    spacing = float(np.median(below)) if below else 2.0 * xh
    bl = [_rows(sorted(g, key=lambda k: lines[k].ymid), lines, 0.5 * spacing) for g in groups.values()]
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


def _rows(idx: list[int], lines: list[WorkLine], tol: float) -> list[int]:
    """``idx`` (sorted top to bottom) with the pieces of one row read left to right: lines
    whose centres lie within ``tol`` of the row's first line and that overlap none of the
    row's lines horizontally (a line cut in two by a hole, a seal or a wide gap, or a date
    beside an address) belong to that row."""
    out: list[int] = []
    k = 0
    while k < len(idx):
        row = [idx[k]]
        j = k + 1
        while j < len(idx) and lines[idx[j]].ymid - lines[row[0]].ymid <= tol:
            c = lines[idx[j]]
            if any(min(c.x1, lines[r].x1) > max(c.x0, lines[r].x0) for r in row):
                break
            row.append(idx[j])
            j += 1
        out += sorted(row, key=lambda r: lines[r].x0)
        k = j
    return out


def hull(points: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.convexHull(points.astype(np.float32).reshape(-1, 1, 2)).reshape(-1, 2).astype(np.float64)
