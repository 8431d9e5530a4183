"""Normalisation of online handwriting, as the literature does it.

Steps (Jaeger et al. 2001; Graves et al. 2009; Carbune et al. 2020):

1. drop repeated points; join all strokes of the line;
2. **resample** every stroke at equal arc-length spacing, so that the sampling
   rate and the writing speed of the device no longer matter;
3. **deskew**: rotate so that the regression line through the points is horizontal;
4. **size**: scale so that the core (x-height) region has height 1, estimated
   from the inter-quartile range of the y values of the resampled points;
5. **slant**: shear so that near-vertical pen-down segments become vertical;
6. resample again at the final spacing (a fraction of the core height).

Everything works in the screen convention (y grows downwards).  The result does
not depend on translation, uniform scale, sampling rate or writing speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwr.types import Ink

#: final spacing between points, in core heights
DEFAULT_SPACING = 0.3


@dataclass
class NormalizedInk:
    """Resampled, normalised points of one line.

    ``xy`` is ``(N, 2)``; ``stroke`` gives each point's stroke number (points of
    a stroke are consecutive and in writing order).  ``transform`` maps the
    original coordinates to the normalised ones: ``xy = (A @ (p - origin).T).T``.
    """

    xy: np.ndarray
    stroke: np.ndarray
    matrix: np.ndarray
    origin: np.ndarray

    def __len__(self) -> int:
        return len(self.xy)


def drop_repeated(p: np.ndarray, sid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Drop points equal to the previous point of the same stroke (the first point of
    each stroke is always kept).  ``sid`` gives each point's stroke (default: one stroke)."""
    if sid is None:
        sid = np.zeros(len(p), dtype=np.int64)
    keep = np.ones(len(p), dtype=bool)
    keep[1:] = np.any(p[1:] != p[:-1], axis=1) | (sid[1:] != sid[:-1])
    return p[keep], sid[keep]


def resample_stroke(p: np.ndarray, spacing: float) -> np.ndarray:
    """Points at equal arc-length ``spacing`` along the polyline ``p`` (N, 2), ends kept."""
    p = np.asarray(p, dtype=np.float64)
    if len(p) == 0:
        return p.reshape(0, 2)
    return _resample_all(p, np.array([len(p)]), spacing)[0]


def _resample_all(p: np.ndarray, lens: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample every stroke (as :func:`resample_stroke`) in one vectorised pass.

    ``p`` holds the points of all strokes, ``lens`` the number of points of each
    (all > 0).  Returns the points and each point's stroke number.
    """
    nstrokes = len(lens)
    sid = np.repeat(np.arange(nstrokes), lens)
    seg = np.sqrt((np.diff(p, axis=0) ** 2).sum(axis=1))
    seg[sid[1:] != sid[:-1]] = 0.0  # no arc length across pen-ups
    s = np.concatenate([[0.0], np.cumsum(seg)])
    first = np.concatenate([[0], np.cumsum(lens)[:-1]])
    last = first + lens - 1
    s_start, s_end = s[first], s[last]
    total = s_end - s_start
    # samples per stroke: n+1 equally spaced; 2 (the ends) when shorter than one step; 1 for a dot
    n = np.where(total > spacing, np.ceil(total / np.maximum(spacing, 1e-300)), np.where(total > 0, 1, 0)).astype(np.int64)
    counts = n + 1
    out_sid = np.repeat(np.arange(nstrokes), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    frac = k / np.maximum(np.repeat(n, counts), 1)
    # a global, strictly increasing abscissa: each stroke's arc length shifted past the previous one
    shift = np.concatenate([[0.0], np.cumsum(total + 1.0)[:-1]]) - s_start
    g = s + np.repeat(shift, lens)
    tg = np.repeat(s_start + shift, counts) + frac * np.repeat(total, counts)
    xy = np.stack([np.interp(tg, g, p[:, 0]), np.interp(tg, g, p[:, 1])], axis=1)
    return xy, out_sid.astype(np.int32)


def estimate_slant(xy: np.ndarray, stroke: np.ndarray) -> float:
    """Slant as dx/dy of near-vertical pen-down segments (positive: leaning right)."""
    d = np.diff(xy, axis=0)
    same = stroke[1:] == stroke[:-1]
    d = d[same]
    vertical = np.abs(d[:, 1]) > 2.0 * np.abs(d[:, 0])  # within ~27 degrees of vertical
    d = d[vertical]
    if len(d) < 5:
        return 0.0
    # y grows downwards: a right-leaning downstroke has dx < 0 when dy > 0
    ratio = -d[:, 0] / d[:, 1]
    w = np.abs(d[:, 1])
    return float(np.clip(np.sum(ratio * w) / np.sum(w), -1.0, 1.0))


def normalize_ink(ink: Ink, spacing: float = DEFAULT_SPACING) -> NormalizedInk:
    """Normalise ``ink`` (one line) as described in the module docstring."""
    strokes = [np.stack([s.x, s.y], axis=1) for s in ink.strokes if len(s)]
    if not strokes:
        raise ValueError("ink has no points")
    allp = np.concatenate(strokes)
    sid = np.repeat(np.arange(len(strokes)), [len(s) for s in strokes])
    allp, sid = drop_repeated(allp, sid)
    lens = np.bincount(sid, minlength=len(strokes))
    origin = allp.mean(axis=0)
    allp = allp - origin

    # provisional scale from the bounding box (robust to any device unit)
    extent = max(float(np.ptp(allp[:, 1])), float(np.ptp(allp[:, 0])) / 8.0, 1e-9)
    xy, ids = _resample_all(allp, lens, extent / 40.0)

    # deskew: the slope of the least-squares line through the resampled points
    if np.ptp(xy[:, 0]) > 0:
        slope = np.polyfit(xy[:, 0], xy[:, 1], 1)[0]
        angle = float(np.clip(np.arctan(slope), -0.35, 0.35))
    else:
        angle = 0.0
    c, s_ = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s_], [s_, c]])
    xy = xy @ rot.T

    # size: core height from the inter-quartile range of y
    q25, q50, q75 = np.percentile(xy[:, 1], [25, 50, 75])
    core = q75 - q25
    if core <= 1e-9 * extent or core <= 0:
        core = max(float(np.ptp(xy[:, 1])), float(np.ptp(xy[:, 0])) / 8.0, 1e-9)
    scale = 1.0 / core
    xy = (xy - np.array([0.0, q50])) * scale

    slant = estimate_slant(xy, ids)
    shear = np.array([[1.0, slant], [0.0, 1.0]])  # x' = x + slant * y (y down)

    matrix = shear @ (scale * rot)
    shift = np.array([0.0, q50 * scale])  # applied after rotation+scale
    # final points: transform original strokes, then resample at the final spacing
    xy, ids = _resample_all(allp @ matrix.T - shift @ shear.T, lens, spacing)
    return NormalizedInk(xy=xy, stroke=ids, matrix=matrix, origin=origin + np.linalg.solve(matrix, shift @ shear.T))


def normalize_raw(ink: Ink) -> NormalizedInk:
    """The normalised but not resampled points of ``ink`` (repeated points dropped):
    the transform of :func:`normalize_ink` (which does not depend on the final
    spacing) applied to the device points themselves."""
    ref = normalize_ink(ink, spacing=1e6)  # the final resampling is then almost free
    strokes = [np.stack([s.x, s.y], axis=1) for s in ink.strokes if len(s)]
    sid = np.repeat(np.arange(len(strokes)), [len(s) for s in strokes])
    p, sid = drop_repeated(np.concatenate(strokes), sid)
    return NormalizedInk(xy=(p - ref.origin) @ ref.matrix.T, stroke=sid.astype(np.int32),
                         matrix=ref.matrix, origin=ref.origin)
