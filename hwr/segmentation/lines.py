"""Line finders: from a clean, upright, deskewed ink image to medial curves of text lines.

Two classic methods, measured by ``benchmarks/segmentation.py``:

* ``smear``: anisotropic Gaussian blur of the ink (wide along the line, narrow across it),
  threshold, connected components = line candidates; a candidate much taller than the
  others (touching lines) is split at the peaks of its row profile, at least 0.7 line
  spacings apart; fragments that run within 0.35 line spacings of each other are merged.
  The line spacing is ``line_period``: the autocorrelation of row profiles in strips,
  independent of the fragments themselves.
* ``strips``: the page is cut into vertical strips a few x-heights wide; in each the
  smoothed row profile's peaks are line centres; peaks are linked from strip to strip
  into lines (nearest peak within half an x-height, one strip gap allowed).

Both return :class:`Medial` curves; pixels are then given to the nearest medial curve
(``polygons.assign``), which cuts touching ascenders/descenders half-way between lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Medial:
    """The centre curve of one text line in work coordinates: ``ys`` at columns ``xs`` (sorted)."""

    xs: np.ndarray
    ys: np.ndarray

    @property
    def x0(self) -> float:
        return float(self.xs[0])

    @property
    def x1(self) -> float:
        return float(self.xs[-1])

    def y_at(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, self.xs, self.ys)


def _smooth(v: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0 or v.size < 3:
        return v.astype(np.float64)
    k = int(3 * sigma) * 2 + 1
    return cv2.GaussianBlur(v.astype(np.float64).reshape(-1, 1), (1, k), sigma).ravel()


def _peaks(p: np.ndarray, min_dist: int, min_height: float) -> list[int]:
    """Local maxima of ``p`` at least ``min_dist`` apart (highest first), above ``min_height``."""
    order = np.argsort(-p)
    taken: list[int] = []
    blocked = np.zeros(p.size, bool)
    for i in order:
        if p[i] < min_height:
            break
        if blocked[i]:
            continue
        taken.append(int(i))
        blocked[max(0, i - min_dist):i + min_dist + 1] = True
    return sorted(taken)


def line_period(ink: np.ndarray, xh: float, strip: float = 12.0, min_peak: float = 0.2) -> float:
    """The page's line spacing from the autocorrelation of row profiles in vertical strips
    ``strip`` x-heights wide (band-passed): the lag (1.2 to 10 x-heights) of its first
    peak past the first zero crossing that is at least ``min_peak`` times the highest; 0
    when there is none.  It does not depend on the line finder's own fragments, and not
    much on the x-height estimate.  (Where the spacing varies down the page, as in a short
    letter written in pencil, the first peak is much lower than the one at twice the
    spacing: with 0.6 instead of 0.2 three of the 81 real pages got twice their spacing,
    and lines one spacing apart were merged into one.)"""
    h, w = ink.shape
    sw = max(8, int(strip * xh))
    lo, hi = max(2, int(1.2 * xh)), min(h - 1, int(10 * xh))
    if hi <= lo + 2:
        return 0.0
    acc = np.zeros(hi + 1)
    for x in range(0, w, sw):
        p = ink[:, x:x + sw].sum(1).astype(np.float64)
        if p.sum() < 3 * xh * xh:
            continue
        p = _smooth(p, 0.25 * xh) - _smooth(p, 4.0 * xh)  # band-pass: lines, not the page's layout
        f = np.fft.rfft(p, 2 * h)
        ac = np.fft.irfft(f * np.conj(f))[:hi + 1]
        if ac[0] > 0:
            acc += ac / ac[0]
    if acc[0] <= 0:
        return 0.0
    neg = np.nonzero(acc[:hi + 1] < 0)[0]
    if neg.size == 0:
        return 0.0
    start = max(lo, int(neg[0]))
    if start >= hi:
        return 0.0
    seg = acc[start:hi + 1]
    top = float(seg.max())
    if top <= 0:
        return 0.0
    # the first clear peak (multiples of the period peak as high or higher)
    for i in range(1, seg.size - 1):
        if seg[i] >= min_peak * top and seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]:
            return float(start + i)
    return float(start + int(np.argmax(seg)))


def find_smear(ink: np.ndarray, xh: float, sx: float = 4.0, sy: float = 0.18, k: float = 0.6,
               split_sep: float = 0.7, dup_sep: float = 0.35, period: float | None = None) -> list[Medial]:
    h, w = ink.shape
    f = ink.astype(np.float32)
    # reduce for speed: the blur is wide anyway
    r = max(1, int(xh / 6))
    fs = cv2.resize(f, (max(1, w // r), max(1, h // r)), interpolation=cv2.INTER_AREA) if r > 1 else f
    xs_ = xh / r
    blur = cv2.GaussianBlur(fs, (0, 0), sigmaX=sx * xs_, sigmaY=sy * xs_)
    vals = blur[fs > 0]
    if vals.size == 0:
        return []
    thr = k * float(np.median(vals))
    mask = (blur > thr).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    out: list[Medial] = []
    cands = []
    for i in range(1, n):
        bx, by, bw, bh, area = stats[i]
        if bw * r < 1.5 * xh:
            continue
        sub = (lab[by:by + bh, bx:bx + bw] == i)
        weight = blur[by:by + bh, bx:bx + bw] * sub
        colsum = weight.sum(0)
        ok = colsum > 0
        if ok.sum() < 2:
            continue
        yy = np.arange(bh, dtype=np.float64)[:, None]
        cy = (weight * yy).sum(0)[ok] / colsum[ok] + by
        cx = np.arange(bw)[ok] + bx
        thick = float(np.median(sub.sum(0)[ok])) * r
        cands.append((cx * r + r / 2, cy * r + r / 2, thick, sub, bx, by, weight))
    if not cands:
        return []
    typical = float(np.median([c[2] for c in cands]))
    if period is None:
        period = line_period(ink, xh)
    min_sep = max(1.6 * xh, split_sep * period)
    for cx, cy, thick, sub, bx, by, weight in cands:
        step = max(1, int(len(cx) / max(1, (cx[-1] - cx[0]) / xh)))
        if thick > 2.2 * typical and thick > 1.8 * xh and len(cands) > 1:
            # touching lines: split at the peaks of the candidate's row profile
            prof = _smooth(weight.sum(1), 0.25 * xh / r)
            pk = _peaks(prof, max(1, int(min_sep / r)), 0.25 * float(prof.max()))
            if len(pk) > 1:
                for p in pk:
                    ys = np.full(2, (by + p) * r + r / 2.0)
                    out.append(Medial(np.array([cx[0], cx[-1]]), ys))
                continue
        ys = _smooth(cy, 2.0)[::step]
        xs = cx[::step]
        if xs[-1] != cx[-1]:
            xs = np.append(xs, cx[-1])
            ys = np.append(ys, cy[-1])
        out.append(Medial(np.asarray(xs, np.float64), np.asarray(ys, np.float64)))
    return merge(out, xh, dup=max(0.5, dup_sep * period / xh))


def _find(p: list[int], i: int) -> int:
    while p[i] != i:
        p[i] = p[p[i]]
        i = p[i]
    return i


def _end_y(m: Medial, xh: float, right: bool, span: float = 3.0) -> float:
    """The height of a curve at one end: the median over its last (first) ``span``
    x-heights, so that a final flourish or a first capital does not decide it."""
    sel = m.xs >= m.x1 - span * xh if right else m.xs <= m.x0 + span * xh
    return float(np.median(m.ys[sel])) if sel.any() else float(m.ys[-1] if right else m.ys[0])


def merge(ms: list[Medial], xh: float, dup: float = 0.5, join_gap: float = 8.0, join_dy: float = 1.0) -> list[Medial]:
    """Merge fragments of one line: curves that overlap horizontally and run within
    ``dup`` x-heights of each other, and curves that continue one another across a gap
    of at most ``join_gap`` x-heights with ends within ``join_dy`` x-heights vertically."""
    n = len(ms)
    parent = list(range(n))
    for i in range(n):
        a = ms[i]
        for j in range(n):
            if i == j:
                continue
            b = ms[j]
            lo, hi = max(a.x0, b.x0), min(a.x1, b.x1)
            if hi >= lo:
                xx = np.linspace(lo, hi, 5)
                if float(np.median(np.abs(a.y_at(xx) - b.y_at(xx)))) < dup * xh:
                    parent[_find(parent, i)] = _find(parent, j)
            elif b.x0 > a.x1 and b.x0 - a.x1 < join_gap * xh and abs(_end_y(b, xh, False) - _end_y(a, xh, True)) < join_dy * xh:
                parent[_find(parent, i)] = _find(parent, j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_find(parent, i), []).append(i)
    out = []
    for g in groups.values():
        if len(g) == 1:
            out.append(ms[g[0]])
            continue
        xs = np.concatenate([ms[i].xs for i in g])
        ys = np.concatenate([ms[i].ys for i in g])
        o = np.argsort(xs, kind="stable")
        xs, ys = xs[o], ys[o]
        ys = np.array([np.median(ys[max(0, t - 2):t + 3]) for t in range(ys.size)])
        xs, first = np.unique(xs, return_index=True)
        out.append(Medial(xs, ys[first]))
    return out


def find_strips(ink: np.ndarray, xh: float, strip: float = 5.0, merge_fragments: bool = True,
                period: float | None = None) -> list[Medial]:
    h, w = ink.shape
    sw = max(8, int(strip * xh))
    n = max(1, int(np.ceil(w / sw)))
    profs = []
    for k in range(n):
        p = ink[:, k * sw:(k + 1) * sw].sum(1).astype(np.float64)
        profs.append(_smooth(p, 0.35 * xh))
    top = max((float(p.max()) for p in profs), default=0.0)
    if top <= 0:
        return []
    chains: list[list[tuple[float, float]]] = []
    last: list[tuple[int, float]] = []  # per chain: (strip index, y)
    for k, p in enumerate(profs):
        pk = _peaks(p, max(2, int(1.0 * xh)), max(0.08 * top, 0.15 * sw * 0.15))
        cx = min(w - 1, k * sw + sw / 2.0)
        used = set()
        for y in pk:
            best, bd = None, 0.6 * xh
            for ci, (sk, sy) in enumerate(last):
                if ci in used or k - sk > 2:
                    continue
                d = abs(sy - y)
                if d < bd:
                    best, bd = ci, d
            if best is None:
                chains.append([(cx, float(y))])
                last.append((k, float(y)))
                used.add(len(chains) - 1)
            else:
                chains[best].append((cx, float(y)))
                last[best] = (k, float(y))
                used.add(best)
    out = []
    for ch in chains:
        a = np.asarray(ch, np.float64)
        # extend by half a strip each side: the assignment trims to the real ink
        xs = np.concatenate([[max(0.0, a[0, 0] - sw / 2)], a[:, 0], [min(w - 1.0, a[-1, 0] + sw / 2)]])
        ys = np.concatenate([[a[0, 1]], a[:, 1], [a[-1, 1]]])
        out.append(Medial(xs, ys))
    return merge(out, xh) if merge_fragments else out


METHODS = {"smear": find_smear, "strips": find_strips}
