"""Ink as a sequence of cubic Bézier curves (Carbune et al. 2020, IJDAR, sec. 3.2).

Each stroke of the normalised ink is approximated by a chain of cubic Bézier
curves.  A curve ``B(t) = sum_k b_k(t) P_k`` (Bernstein basis, control points
``P0..P3``) is fitted by least squares to the points of a stroke with ``P0`` and
``P3`` fixed to the first and last point and parameter values ``t_i`` from the
cumulative chord length.  If that is close (within a few tolerances), the
parameters and ``P1, P2`` are refined jointly (Levenberg-Marquardt: the
"Newton reparameterisation" of Schneider 1990, "An algorithm for automatically
fitting digitized curves", without its linear convergence).  Where a point lies
further than ``max_error`` (core heights) from its curve point, or the curve
strays further than that, halfway between two points, from the segment joining
them, the points are split at the worst point and both halves are fitted again,
recursively (``method="split"``, the default).  ``method="greedy"`` instead makes
each curve as long as it can be (bisection on its end point): ~20% fewer curves,
~2.7x the time.  The curves of a stroke join end to end (a stroke is split at one
of its points, which both halves keep).

Fitting is done on :func:`hwr.ink.normalize.normalize_ink` output resampled at a
small spacing (:data:`BEZIER_SPACING` = 0.05 core heights, ~6x denser than the
point features; fitting the device points themselves gives ~25% more curves and
larger worst-case errors).  On 300 IAM-OnDB validation lines (``benchmarks/ink_bezier.py``)
the default tolerance of 0.05 core heights gives 73 curves per line against 424
points of the point features (5.8x shorter, ~2.5 curves per character) and
follows the pen more closely than the point features do (mean distance 0.013
against 0.019 core heights); 0.1 gives 57 curves (7.5x) at the point features'
fidelity.  Carbune et al.'s tenfold shortening is against the device points.
Beware CTC: ~2.5 rows per character leaves no room for a model that halves
the sequence (``InkBLSTMConfig.subsample`` must be 1).

Features, one row per curve, all in core heights / radians of the normalised ink
(so invariant to translation, scale, sampling rate and writing speed, like
:mod:`hwr.ink.features`):

====  ==============  ==============================================================
  0   ``dx``          end point minus start point (the chord ``c = P3 - P0``), x
  1   ``dy``          ... y (y grows downwards); both clipped to +-8
  2   ``ctrl1_dist``  ``|P1 - P0| / d``, ``d = max(|c|, 0.05)``; clipped to [0, 4]
  3   ``ctrl2_dist``  ``|P2 - P3| / d``; clipped to [0, 4]
  4   ``ctrl1_angle`` signed angle from ``c`` to ``P1 - P0``, divided by pi (-1..1]
  5   ``ctrl2_angle`` signed angle from ``-c`` to ``P2 - P3``, divided by pi
  6   ``pen_up``      1 on the first curve of a stroke (the pen moved in the air
                      before it), else 0
  7   ``jump_dx``     on the first curve of a stroke: its start minus the end of
  8   ``jump_dy``     the previous stroke (0 on the first stroke and on the other
                      curves); clipped to +-8
  9   ``y``           y of the curve's start (height above/below the line centre),
                      clipped to +-4
====  ==============  ==============================================================

A straight segment has ``ctrl*_dist = 1/3`` and angles 0; a 1-point stroke (a dot)
is one degenerate curve with ``dx = dy = 0``, distances 0 and angles 0, so the
features never hold NaN.  Unlike Carbune et al. there are no time coefficients:
the normalised ink has no time (the point features have none either), and the
in-air move is carried by the first curve of each stroke (``jump_dx/dy``) rather
than by a separate pen-up curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwr.ink.normalize import NormalizedInk, drop_repeated, normalize_ink
from hwr.types import Ink

FEATURE_NAMES = ("dx", "dy", "ctrl1_dist", "ctrl2_dist", "ctrl1_angle", "ctrl2_angle",
                 "pen_up", "jump_dx", "jump_dy", "y")
NUM_FEATURES = len(FEATURE_NAMES)

#: spacing (core heights) of the resampled points the curves are fitted to
BEZIER_SPACING = 0.05
#: largest distance (core heights) of a fitted point from its curve
DEFAULT_MAX_ERROR = 0.05
#: how a stroke is cut into curves: "split" (Schneider) or "greedy" (longest curve first)
DEFAULT_METHOD = "split"

_REFINE_STEPS = 12
#: a chord-length fit worse than this many tolerances, and worse than this fraction of the
#: points' extent, is split without reparameterising (Schneider's heuristic, made scale-aware)
_HOPELESS = 4.0
_HOPELESS_REL = 0.05
#: reparameterisation stops when a step shrinks the squared error by less than this factor
_STALL = 0.7
_OFFSET_CLIP = 8.0
_RATIO_CLIP = 4.0
_MIN_CHORD = 0.05  # core heights: chords shorter than this do not blow the distance ratios up
_RIDGE = 1e-9


# --------------------------------------------------------------------------- curve maths


def _bernstein(t: np.ndarray) -> np.ndarray:
    """``(n, 4)`` cubic Bernstein basis at ``t``."""
    s = 1.0 - t
    b = np.empty((len(t), 4))
    b[:, 0] = s * s * s
    b[:, 1] = 3.0 * s * s * t
    b[:, 2] = 3.0 * s * t * t
    b[:, 3] = t * t * t
    return b


def bezier_points(ctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points ``(n, 2)`` of the cubic with control points ``ctrl`` (4, 2) at parameters ``t``."""
    return _bernstein(np.asarray(t, dtype=np.float64)) @ ctrl


def sample_curves(curves: np.ndarray | list[np.ndarray], n: int = 20) -> np.ndarray:
    """``(M, n, 2)`` points at ``n`` equally spaced parameters of each curve of ``curves`` (M, 4, 2)."""
    c = np.asarray(curves, dtype=np.float64).reshape(-1, 4, 2)
    b = _bernstein(np.linspace(0.0, 1.0, n))  # (n, 4)
    return np.einsum("nk,mkd->mnd", b, c)


def _chord_params(p: np.ndarray) -> np.ndarray:
    seg = np.sqrt((np.diff(p, axis=0) ** 2).sum(axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return np.linspace(0.0, 1.0, len(p))
    return s / s[-1]


def _fit_inner(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Least-squares ``P1, P2`` for points ``p`` at parameters ``t`` with the ends fixed.

    A tiny ridge towards the straight line (P1, P2 at 1/3 and 2/3 of the chord)
    keeps the 2x2 system solvable when the points do not determine the curve
    (3 points, all points at the ends).
    """
    p0, p3 = p[0], p[-1]
    b = _bernstein(t)
    a = b[:, 1:3]  # (n, 2)
    r = p - b[:, 0:1] * p0 - b[:, 3:4] * p3  # (n, 2)
    chord = p3 - p0
    lam = _RIDGE * len(p)
    (a11, a12), (_, a22) = a.T @ a
    atr = a.T @ r
    atr[0] += lam * (p0 + chord / 3.0)
    atr[1] += lam * (p0 + 2.0 * chord / 3.0)
    a11 += lam
    a22 += lam
    det = a11 * a22 - a12 * a12
    ctrl = np.empty((4, 2))
    ctrl[0], ctrl[3] = p0, p3
    ctrl[1] = (a22 * atr[0] - a12 * atr[1]) / det
    ctrl[2] = (a11 * atr[1] - a12 * atr[0]) / det
    return ctrl


def _derivatives(ctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``B'(t)`` (n, 2)."""
    s = 1.0 - t
    return 3.0 * (np.outer(s * s, ctrl[1] - ctrl[0]) + np.outer(2 * s * t, ctrl[2] - ctrl[1])
                  + np.outer(t * t, ctrl[3] - ctrl[2]))


def _refine(p: np.ndarray, t: np.ndarray, ctrl: np.ndarray, steps: int,
            tol2: float) -> tuple[np.ndarray, np.ndarray]:
    """Levenberg-Marquardt on ``P1, P2`` and the interior parameters ``t`` jointly.

    The residuals ``B(t_i) - p_i`` depend on their own ``t_i`` and on the four
    coordinates of ``P1, P2``, so the normal equations are solved by eliminating
    the diagonal ``t`` block (Schur complement, 4x4).  This converges in a few
    steps where alternating "Newton on t, least squares on P" crawls linearly.
    Returns the best (ctrl, t) seen.
    """
    def residual(c: np.ndarray, tt: np.ndarray) -> np.ndarray:
        return _bernstein(tt) @ c - p

    r = residual(ctrl, t)
    sse = sse_before = float((r * r).sum())
    lam = 1e-3
    for step in range(steps):
        if float((r * r).sum(axis=1).max()) <= tol2:
            break
        if step >= 2 and sse > _STALL * sse_before:
            break  # converging to a fit worse than the tolerance: let the caller split
        sse_before = sse
        b = _bernstein(t)
        g = _derivatives(ctrl, t)  # dr_i/dt_i
        b12 = b[:, 1:3]
        # unknowns P1x, P1y, P2x, P2y: dr_i/dP1 = b1(t_i) I, dr_i/dP2 = b2(t_i) I
        bb = b12.T @ b12
        hcc = np.zeros((4, 4))
        hcc[0::2, 0::2] = bb
        hcc[1::2, 1::2] = bb
        gc = (b12.T @ r).reshape(4)
        h = (b12[:, :, None] * g[:, None, :]).reshape(len(p), 4)  # coupling of t_i and P (n, 4)
        d = (g * g).sum(axis=1)
        gt = (g * r).sum(axis=1)
        d[0] = d[-1] = np.inf  # end parameters are fixed
        gt[0] = gt[-1] = 0.0
        h[0] = h[-1] = 0.0
        improved = False
        for _ in range(6):
            dd = d * (1.0 + lam) + 1e-12
            s_mat = hcc + lam * np.diag(np.diag(hcc)) + 1e-12 * np.eye(4) - (h / dd[:, None]).T @ h
            rhs = -(gc - (h * (gt / dd)[:, None]).sum(axis=0))
            try:
                dc = np.linalg.solve(s_mat, rhs)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            dt = -(gt + h @ dc) / dd
            t_new = np.clip(t + dt, 0.0, 1.0)
            t_new[0], t_new[-1] = 0.0, 1.0
            t_new = np.maximum.accumulate(t_new)  # the points stay in order along the curve
            c_new = ctrl.copy()
            c_new[1] += dc[0:2]
            c_new[2] += dc[2:4]
            r_new = residual(c_new, t_new)
            sse_new = float((r_new * r_new).sum())
            if sse_new < sse:
                ctrl, t, r, sse = c_new, t_new, r_new, sse_new
                lam = max(lam * 0.1, 1e-9)
                improved = True
                break
            lam *= 10.0
        if not improved:
            break
    return ctrl, t


def _between_excess(ctrl: np.ndarray, p: np.ndarray, t: np.ndarray, max_error: float) -> np.ndarray:
    """How far ``B`` halfway between consecutive parameters lies from the segment joining
    the two points, beyond what is allowed: ``max_error`` plus a quarter of the segment's
    length (the polyline itself cuts the bends of the pen's path).  Positive where the
    curve passes its points but loops between them."""
    q = bezier_points(ctrl, 0.5 * (t[1:] + t[:-1]))
    a, ab = p[:-1], p[1:] - p[:-1]
    ll = (ab * ab).sum(axis=1)
    u = np.clip(((q - a) * ab).sum(axis=1) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    d = np.sqrt(((q - a - u[:, None] * ab) ** 2).sum(axis=1))
    return d - (max_error + 0.25 * np.sqrt(ll))


def _fit_one(p: np.ndarray, max_error: float, refine_steps: int) -> tuple[np.ndarray, bool, int]:
    """Best single cubic for ``p``: (control points, whether it fits, index to split at).

    The parameters are optimised with the control points (:func:`_refine`) only
    when the chord-length fit is within ``_HOPELESS`` times the tolerance (or a
    small fraction of the points' extent): a worse fit is split at once
    (Schneider's heuristic).  The curve fits when every point lies within
    ``max_error`` of its curve point and the curve does not stray between two
    points (:func:`_between_excess`).
    """
    t = _chord_params(p)
    ctrl = _fit_inner(p, t)
    err = ((bezier_points(ctrl, t) - p) ** 2).sum(axis=1)
    tol2 = max_error * max_error
    e = err.max()
    extent2 = float((np.ptp(p, axis=0) ** 2).sum())
    if tol2 < e <= max(_HOPELESS ** 2 * tol2, _HOPELESS_REL ** 2 * extent2):
        ctrl, t = _refine(p, t, ctrl, refine_steps, tol2)
        err = ((bezier_points(ctrl, t) - p) ** 2).sum(axis=1)
    k = int(np.argmax(err))
    if err[k] > tol2:
        return ctrl, False, k
    excess = _between_excess(ctrl, p, t, max_error)
    m = int(np.argmax(excess))
    if excess[m] > 0:
        return ctrl, False, m if m > 0 else 1
    return ctrl, True, k


def _line(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    return np.stack([a, a + d / 3.0, a + 2.0 * d / 3.0, b])


def _fit_split(p: np.ndarray, max_error: float, refine_steps: int) -> list[np.ndarray]:
    """Schneider: fit all points, split at the worst point, recurse on both halves."""
    curves: list[np.ndarray] = []
    stack = [(0, len(p) - 1)]  # inclusive index ranges, processed left to right
    while stack:
        i, j = stack.pop()
        if j - i == 1:
            curves.append(_line(p[i], p[j]))
            continue
        ctrl, ok, k = _fit_one(p[i : j + 1], max_error, refine_steps)
        if ok:
            curves.append(ctrl)
            continue
        k = min(max(k, 1), j - i - 1)
        stack.append((i + k, j))  # right half after the left one
        stack.append((i, i + k))
    return curves


def _fit_greedy(p: np.ndarray, max_error: float, refine_steps: int) -> list[np.ndarray]:
    """Each curve as long as it can be: from its start, the furthest end point that
    still fits (doubling, then bisection on the end index)."""
    curves: list[np.ndarray] = []
    n = len(p)
    i = 0
    guess = 8
    while i < n - 1:
        good, good_ctrl = i + 1, _line(p[i], p[i + 1])
        bad = None
        j = min(i + guess, n - 1)
        while True:  # grow until a fit fails or the stroke ends
            if j <= good:
                break
            ctrl, ok, _ = _fit_one(p[i : j + 1], max_error, refine_steps)
            if ok:
                good, good_ctrl = j, ctrl
                if j == n - 1:
                    break
                j = min(i + 2 * (j - i), n - 1)
            else:
                bad = j
                break
        while bad is not None and bad - good > 1:
            j = (good + bad) // 2
            ctrl, ok, _ = _fit_one(p[i : j + 1], max_error, refine_steps)
            if ok:
                good, good_ctrl = j, ctrl
            else:
                bad = j
        curves.append(good_ctrl)
        guess = max(2, good - i)
        i = good
    return curves


def fit_stroke(points: np.ndarray, max_error: float = DEFAULT_MAX_ERROR,
               refine_steps: int = _REFINE_STEPS, method: str = DEFAULT_METHOD) -> list[np.ndarray]:
    """Cubic Bézier curves ``[(4, 2), ...]`` through the points ``(N, 2)`` of one stroke.

    Every point lies within ``max_error`` of its curve (measured at its fitted
    parameter, which bounds the distance to the curve).  Consecutive curves share
    their end points; the first starts at ``points[0]`` and the last ends at
    ``points[-1]``.  One point gives one degenerate curve (all four control points
    equal); two give a straight line.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        return []
    if not np.all(np.isfinite(p)):
        raise ValueError("stroke points must be finite")
    if max_error <= 0:
        raise ValueError("max_error must be positive")
    p = drop_repeated(p)[0]
    if len(p) == 1:
        return [np.repeat(p, 4, axis=0)]
    if method == "split":
        return _fit_split(p, max_error, refine_steps)
    if method == "greedy":
        return _fit_greedy(p, max_error, refine_steps)
    raise ValueError(f"unknown fitting method {method!r} (split, greedy)")


# --------------------------------------------------------------------------- whole lines


@dataclass
class BezierInk:
    """The curves of one line: ``curves`` (M, 4, 2) in writing order and ``stroke`` (M,) their stroke numbers."""

    curves: np.ndarray
    stroke: np.ndarray

    def __len__(self) -> int:
        return len(self.curves)


def fit_ink(norm: NormalizedInk, max_error: float = DEFAULT_MAX_ERROR,
            refine_steps: int = _REFINE_STEPS, method: str = DEFAULT_METHOD) -> BezierInk:
    """Fit every stroke of ``norm`` (see :func:`fit_stroke`)."""
    xy, ids = np.asarray(norm.xy, dtype=np.float64), np.asarray(norm.stroke)
    if len(xy) == 0:
        return BezierInk(np.zeros((0, 4, 2)), np.zeros(0, dtype=np.int32))
    # points of a stroke are consecutive: cut where the stroke number changes
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    bounds = np.concatenate([[0], cuts, [len(xy)]])
    curves, sids = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        cs = fit_stroke(xy[a:b], max_error, refine_steps, method)
        curves.extend(cs)
        sids.extend([int(ids[a])] * len(cs))
    return BezierInk(np.asarray(curves, dtype=np.float64).reshape(-1, 4, 2), np.asarray(sids, dtype=np.int32))


def _signed_angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle from ``u`` to ``v`` (rows), in (-pi, pi]; 0 where either is zero."""
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = (u * v).sum(axis=1)
    return np.arctan2(cross, dot)


def curve_features(bez: BezierInk) -> np.ndarray:
    """``(M, 10)`` float32 features of fitted curves (see the module docstring)."""
    c = bez.curves
    m = len(c)
    f = np.zeros((m, NUM_FEATURES), dtype=np.float32)
    if m == 0:
        return f
    p0, p1, p2, p3 = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    chord = p3 - p0
    d = np.maximum(np.sqrt((chord ** 2).sum(axis=1)), _MIN_CHORD)
    v1, v2 = p1 - p0, p2 - p3
    f[:, 0:2] = np.clip(chord, -_OFFSET_CLIP, _OFFSET_CLIP)
    f[:, 2] = np.clip(np.sqrt((v1 ** 2).sum(axis=1)) / d, 0.0, _RATIO_CLIP)
    f[:, 3] = np.clip(np.sqrt((v2 ** 2).sum(axis=1)) / d, 0.0, _RATIO_CLIP)
    f[:, 4] = _signed_angle(chord, v1) / np.pi
    f[:, 5] = _signed_angle(-chord, v2) / np.pi
    first = np.ones(m, dtype=bool)
    first[1:] = bez.stroke[1:] != bez.stroke[:-1]
    f[:, 6] = first
    jump = np.zeros((m, 2))
    jump[1:] = p0[1:] - p3[:-1]
    jump[~first] = 0.0
    jump[0] = 0.0
    f[:, 7:9] = np.clip(jump, -_OFFSET_CLIP, _OFFSET_CLIP)
    f[:, 9] = np.clip(p0[:, 1], -4.0, 4.0)
    return f


def bezier_features(norm: NormalizedInk, max_error: float = DEFAULT_MAX_ERROR,
                    refine_steps: int = _REFINE_STEPS, method: str = DEFAULT_METHOD) -> np.ndarray:
    """``(M, 10)`` float32 per-curve features of a :class:`NormalizedInk`.

    ``norm`` should be sampled densely (``normalize_ink(ink, BEZIER_SPACING)``) so
    that the fit sees the shape of the strokes.
    """
    return curve_features(fit_ink(norm, max_error, refine_steps, method))


def ink_bezier_features(ink: Ink, max_error: float = DEFAULT_MAX_ERROR,
                        spacing: float = BEZIER_SPACING) -> np.ndarray:
    """Normalise ``ink`` (resampled at ``spacing``) and return its Bézier features."""
    return bezier_features(normalize_ink(ink, spacing), max_error)
