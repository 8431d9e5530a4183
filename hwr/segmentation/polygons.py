"""From medial curves to line polygons and baselines.

Every ink pixel goes to the nearest medial curve whose horizontal range covers it (the
boundary between two lines is therefore the curve half-way between them, so touching
ascenders and descenders are cut there).  A line's polygon is the envelope of its pixels
in column chunks one x-height wide (top and bottom per chunk, at least 0.3 line spacing
from the medial curve each way, padding relative to the line spacing); its
baseline is the median lowest ink pixel per column in each chunk, i.e. the lower ink
contour with descenders voted out, smoothed.  The scrap rules mark (``WorkLine.keep``)
which candidate lines to keep, and the line verifier (:mod:`hwr.segmentation.verify`),
which takes their verdict as one of its inputs, has the last word.  By the rules, lines
with too little ink (under ``min_ink`` x-heights squared) are dropped unless they head the text, just above its
first line and within its width (a salutation, a date: short and written with a thin pen,
they hold little ink), as are lines with under ``rel_ink`` (60 %) of the median line's
ink (scraps: a stray word of a note, a flourish, a fragment of a stamp), unless they sit
in the text's line grid: in their own slot, starting at the left margin of a full line
next to them (a paragraph's last line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwr.segmentation.lines import Medial


@dataclass
class WorkLine:
    """One line in work coordinates."""

    polygon: np.ndarray  # (N, 2)
    baseline: np.ndarray  # (M, 2)
    x0: float
    x1: float
    ymid: float
    above: int  # ink pixels above the core band (ascenders)
    below: int  # ink pixels below it (descenders)
    spread: float = 0.0  # mean distance of the line's ink from its medial curve
    npix: int = 0  # ink pixels of the line
    band: float = 0.0  # height of the middle 80 % of its ink rows about the medial curve
    biggest: float = 0.0  # share of its ink in its largest connected component
    keep: bool = True  # a text line: by the scrap rules, then the line verifier (see ``build``)


def assign(ink: np.ndarray, medials: list[Medial], xh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ys, xs, label) for the ink pixels; label -1 = no line near enough."""
    ys, xs = np.nonzero(ink)
    lab = np.full(ys.size, -1, np.int32)
    if not medials or ys.size == 0:
        return ys, xs, lab
    best = np.full(ys.size, np.inf, np.float32)
    pad = 3.0 * xh
    reach = 2.0 * xh
    for i, m in enumerate(medials):
        sel = np.nonzero((xs >= m.x0 - pad) & (xs <= m.x1 + pad))[0]
        if sel.size == 0:
            continue
        d = np.abs(ys[sel] - m.y_at(xs[sel])).astype(np.float32)
        better = (d < best[sel]) & (d <= reach)
        idx = sel[better]
        best[idx] = d[better]
        lab[idx] = i
    return ys, xs, lab


def pitch(medials: list[Medial], xh: float) -> float:
    """The page's typical line spacing: median vertical distance from a medial curve to the
    nearest one below it that overlaps it horizontally (``2 xh`` without such pairs)."""
    ds = []
    for a in medials:
        best = np.inf
        for b in medials:
            lo, hi = max(a.x0, b.x0), min(a.x1, b.x1)
            if hi - lo < 0.25 * min(a.x1 - a.x0, b.x1 - b.x0):
                continue
            xx = np.linspace(lo, hi, 5)
            d = float(np.median(b.y_at(xx) - a.y_at(xx)))
            if 0.5 * xh < d < best:
                best = d
        if np.isfinite(best):
            ds.append(best)
    return float(np.median(ds)) if ds else 2.0 * xh


def grid_spacing(medials: list[Medial], xh: float, spacing: float = 0.0) -> float:
    """The line spacing ``build`` works with: ``spacing`` when positive, else ``pitch``."""
    return spacing if spacing > 0 else pitch(medials, xh)


def build(ys: np.ndarray, xs: np.ndarray, lab: np.ndarray, medials: list[Medial], xh: float,
          min_ink: float = 3.0, pct: float = 3.0, up: float = 9.0, down: float = 9.0,
          pad: float = 0.45, min_width: float = 1.5, min_band: float = 0.35,
          min_up: float = 0.3, min_down: float = 0.3, pad_pitch: float = 0.10,
          max_pitch: float = 4.0, rel_ink: float = 0.6,
          short_ink: float = 0.15, spacing: float = 0.0, head_ink: float = 1.5,
          verifier: bool = True, comp: np.ndarray | None = None) -> list[WorkLine]:
    """Line polygons and baselines from the assigned pixels.  Per chunk the polygon spans
    the ``pct``-th to ``100 - pct``-th percentile of the ink rows, clamped to ``up`` x-heights
    above and ``down`` below the medial curve, and reaches at least ``min_up`` / ``min_down``
    line spacings (``pitch``) above / below it (faint or thin writing otherwise gives bands
    much thinner than the line); padding is ``pad_pitch`` line spacings (``pad`` x-heights
    when ``pad_pitch`` is 0): the x-height estimate is unreliable on faint pages, the
    spacing of the medial curves is not.  The spacing used is capped at ``max_pitch``
    x-heights, so that widely spaced lines keep polygons close to their ink (the line
    grid of the scrap filter uses the uncapped spacing: a paragraph's short last line in
    widely spaced writing is still in the grid).  ``spacing`` (the page's line spacing,
    ``lines.line_period``) replaces ``pitch`` when positive.  ``comp`` (the connected
    component of each ink pixel, in the order of ``ys``/``xs``) gives each line its
    ``biggest``: the share of its ink in one piece (a ruling or a long stroke, against words).

    Returns every candidate line; ``keep`` marks the ones that are text lines: by the scrap
    rules (module docstring) and then, with ``verifier``, by the line verifier
    (:mod:`hwr.segmentation.verify`), which weighs the rules' verdict with the line's ink,
    shape and place against the page's text."""
    out: list[WorkLine] = []
    if lab.size == 0:
        return out
    order = np.argsort(lab, kind="stable")
    lab_s = lab[order]
    bounds = np.searchsorted(lab_s, np.arange(-1, len(medials) + 1))
    chunk = max(2.0, xh)
    padv = max(1.0, pad * xh)
    grid = grid_spacing(medials, xh, spacing)
    gap = min(grid, max_pitch * xh)
    if pad_pitch > 0:
        padv = max(1.0, pad_pitch * gap)
    for i, m in enumerate(medials):
        a, b = bounds[i + 1], bounds[i + 2]
        if b - a < min(min_ink, head_ink) * xh * xh:
            continue
        py, px = ys[order[a:b]].astype(np.float64), xs[order[a:b]].astype(np.float64)
        x0, x1 = px.min(), px.max()
        if x1 - x0 < min_width * xh:
            continue
        nb = max(1, int(np.ceil((x1 - x0 + 1) / chunk)))
        ci = np.minimum(((px - x0) / chunk).astype(int), nb - 1)
        tops, bots, bases, cxs = [], [], [], []
        for c in range(nb):
            sel = ci == c
            if sel.sum() < 3:
                continue
            cy = py[sel]
            cxv = px[sel]
            mid = float(m.y_at((c + 0.5) * chunk + x0))
            tops.append(min(max(np.percentile(cy, pct), mid - up * xh), mid - min_up * gap))
            bots.append(max(min(np.percentile(cy, 100 - pct), mid + down * xh), mid + min_down * gap))
            # lowest ink per column, median over the columns of the chunk
            cols = np.unique(cxv)
            low = np.full(cols.size, -np.inf)
            np.maximum.at(low, np.searchsorted(cols, cxv), cy)
            bases.append(np.median(low))
            cxs.append((c + 0.5) * chunk + x0)
        if not cxs:
            continue
        cxs = np.asarray(cxs)
        tops = np.asarray(tops) - padv
        bots = np.asarray(bots) + padv
        # core band: where the row histogram around the medial is dense
        rel = py - m.y_at(px)
        lo_q, hi_q = np.percentile(rel, [10, 90])
        if hi_q - lo_q < min_band * xh:  # a long thin stroke (a ruled or filler line), not writing
            continue
        hist, edges = np.histogram(rel, bins=np.arange(np.floor(rel.min()), np.ceil(rel.max()) + 2))
        core = np.nonzero(hist >= 0.5 * hist.max())[0]
        c_lo, c_hi = edges[core[0]], edges[core[-1] + 1]
        above = int((rel < c_lo - 0.15 * xh).sum())
        below = int((rel > c_hi + 0.15 * xh).sum())
        bases = np.asarray(bases)
        if bases.size >= 3:
            bases = np.array([np.median(bases[max(0, k - 1):k + 2]) for k in range(bases.size)])
        xl, xr = x0 - padv, x1 + padv
        top_pts = [(xl, tops[0])] + list(zip(cxs, tops)) + [(xr, tops[-1])]
        bot_pts = [(xr, bots[-1])] + list(zip(cxs[::-1], bots[::-1])) + [(xl, bots[0])]
        poly = np.asarray(top_pts + bot_pts, np.float64)
        base = np.asarray([(x0, bases[0])] + list(zip(cxs, bases)) + [(x1, bases[-1])], np.float64)
        biggest = 0.0
        if comp is not None:
            counts = np.unique(comp[order[a:b]], return_counts=True)[1]
            biggest = float(counts.max() / counts.sum())
        out.append(WorkLine(poly, base, float(x0), float(x1), float(np.median(m.y_at(px))), above, below,
                            float(np.mean(np.abs(rel))), int(rel.size), float(hi_q - lo_q), biggest))
    if out:
        # scraps (a stray word of a note, a flourish) hold far less ink than the page's lines;
        # lines under ``min_ink`` x-heights squared are kept only where they head the text
        small = min_ink * xh * xh
        typical, full = full_lines(out, xh, min_ink, rel_ink)
        full_ids = {id(f) for f in full}
        for ln in out:
            ln.keep = (id(ln) in full_ids
                       or (ln.npix >= small and ln.npix >= short_ink * typical and _in_text(ln, full, grid, xh))
                       or (ln.npix < small and _heads_text(ln, full, grid, xh)))
        if verifier:
            from hwr.segmentation.verify import verify

            verify(out, grid, xh, min_ink=min_ink, rel_ink=rel_ink)
    return out


def full_lines(lines: list[WorkLine], xh: float, min_ink: float = 3.0,
               rel_ink: float = 0.6) -> tuple[float, list[WorkLine]]:
    """The median ink of the lines with at least ``min_ink`` x-heights squared of it, and the
    page's *full* lines: those with that much ink and at least ``rel_ink`` of the median."""
    small = min_ink * xh * xh
    typical = float(np.median([ln.npix for ln in lines if ln.npix >= small] or [small]))
    return typical, [ln for ln in lines if ln.npix >= small and ln.npix >= rel_ink * typical]


def _heads_text(ln: WorkLine, full: list[WorkLine], gap: float, xh: float, near: float = 1.6) -> bool:
    """A small line just above the first line of the text below it (a salutation, a date,
    a heading): within ``near`` line spacings of that line, inside the width of the text
    column, and with no line of it above.  (Small lines below the text, signatures and
    clerks' notes, stay out: the ground truth of the real pages leaves them out too, and
    keeping them lowered F1 on the training pages.)"""
    over = [f for f in full if min(f.x1, ln.x1) > max(f.x0, ln.x0)]
    if not over or any(f.ymid < ln.ymid for f in over):
        return False
    first = min(over, key=lambda f: f.ymid)
    x0, x1 = min(f.x0 for f in over), max(f.x1 for f in over)
    return (0.7 * gap <= first.ymid - ln.ymid <= near * gap
            and ln.x0 >= x0 - 0.15 * (x1 - x0) and ln.x1 <= x1 + xh)


def _in_text(ln: WorkLine, full: list[WorkLine], gap: float, xh: float, near: float = 1.6,
             left_tol: float = 0.15, slot: float = 0.7) -> bool:
    """A short line that belongs to the text: a full line runs at most ``near`` line
    spacings above or below it, and it begins at that line's left margin and ends within
    its width (a salutation, a paragraph's last line, a date), unlike notes and stamps
    beside or below the text; and no full line above or below it is nearer than ``slot``
    line spacings (a fragment squeezed between lines is not a line of its own)."""
    for f in full:  # its own slot in the line grid, not squeezed between lines
        if f is not ln and min(f.x1, ln.x1) > max(f.x0, ln.x0) and abs(f.ymid - ln.ymid) < slot * gap:
            return False
    for f in full:
        if f is ln or abs(f.ymid - ln.ymid) > near * gap:
            continue
        width = f.x1 - f.x0
        if abs(ln.x0 - f.x0) <= left_tol * width and ln.x1 <= f.x1 + xh:
            return True
    return False


def simplify(pts: np.ndarray, closed: bool, eps: float) -> np.ndarray:
    import cv2

    if len(pts) < 4:
        return pts
    s = cv2.approxPolyDP(pts.astype(np.float32).reshape(-1, 1, 2), eps, closed).reshape(-1, 2)
    return s.astype(np.float64) if len(s) >= (3 if closed else 2) else pts
