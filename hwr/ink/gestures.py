"""Editing gestures on ink: which strokes an eraser path touches, and the scratch-out.

Pure geometry on :class:`hwr.types.Stroke` point arrays (any coordinate unit,
y downwards); the desktop app uses it, and so can any other front end.

**Scratch-out** (:func:`scratch_out_targets`): a stroke is taken for a
scratch-out, and not for writing, when all of these hold:

1. it goes back and forth horizontally: its x coordinate reverses direction at
   least :data:`SCRATCH_MIN_REVERSALS` times, a reversal counting only once the pen
   has come back by at least :data:`SCRATCH_REVERSAL_FRACTION` of the stroke's
   width (so the small backtracks of handwriting, loops and retraced
   downstrokes do not count);
2. it is mostly horizontal: the summed horizontal movement is at least
   :data:`SCRATCH_HORIZONTAL_RATIO` times the summed vertical movement;
3. its path is at least :data:`SCRATCH_MIN_PATH_RATIO` times as long as it is
   wide (it covers the same ground several times);
4. it covers ink: the strokes it erases are those with at least
   :data:`SCRATCH_MIN_COVER` of their points within its horizontal range whose
   bounding box meets its vertical range (grown by half its height up and down;
   a scratch across the middle of a word covers its ascenders and descenders);
   with none, the stroke is ink after all.

Cursive "m", "n", "w", "e" fail rule 1 or 2: their downstrokes are retraced
vertically, and loops move as much vertically as horizontally.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwr.types import Stroke

SCRATCH_MIN_REVERSALS = 3
SCRATCH_REVERSAL_FRACTION = 0.3
SCRATCH_HORIZONTAL_RATIO = 2.0
SCRATCH_MIN_PATH_RATIO = 3.0
SCRATCH_MIN_COVER = 0.6


def x_reversals(x: np.ndarray, threshold: float) -> int:
    """How often ``x`` changes direction, counting a change only once it has gone
    back by more than ``threshold`` from the last extreme (hysteresis)."""
    x = np.asarray(x, dtype=np.float64)
    count, direction = 0, 0
    lo = hi = extreme = x[0] if len(x) else 0.0
    for v in x[1:]:
        if direction == 0:  # no direction yet: the first move beyond the threshold sets it
            lo, hi = min(lo, v), max(hi, v)
            if v - lo > threshold:
                direction, extreme = 1, v
            elif hi - v > threshold:
                direction, extreme = -1, v
        elif direction > 0:
            if v > extreme:
                extreme = v
            elif extreme - v > threshold:
                count, direction, extreme = count + 1, -1, v
        elif v < extreme:
            extreme = v
        elif v - extreme > threshold:
            count, direction, extreme = count + 1, 1, v
    return count


def is_scratch_shape(stroke: Stroke) -> bool:
    """Rules 1-3 of the module docstring: a fast horizontal zig-zag."""
    p = stroke.points
    if len(p) < 2 * SCRATCH_MIN_REVERSALS:
        return False
    width = float(np.ptp(p[:, 0]))
    if width <= 0:
        return False
    d = np.abs(np.diff(p, axis=0))
    horizontal, vertical = float(d[:, 0].sum()), float(d[:, 1].sum())
    if horizontal < SCRATCH_HORIZONTAL_RATIO * vertical:
        return False
    if horizontal + vertical < SCRATCH_MIN_PATH_RATIO * width:
        return False
    return x_reversals(p[:, 0], SCRATCH_REVERSAL_FRACTION * width) >= SCRATCH_MIN_REVERSALS


def scratch_out_targets(stroke: Stroke, strokes: Sequence[Stroke]) -> list[int]:
    """Indices of the ``strokes`` that ``stroke`` scratches out; empty when it is no scratch-out
    (see the module docstring for the rule)."""
    if not strokes or not is_scratch_shape(stroke):
        return []
    p = stroke.points
    (x0, y0), (x1, y1) = p.min(axis=0), p.max(axis=0)
    pad = 0.5 * (y1 - y0)
    out = []
    for i, s in enumerate(strokes):
        q = s.points
        if not len(q) or q[:, 1].max() < y0 - pad or q[:, 1].min() > y1 + pad:
            continue
        if ((q[:, 0] >= x0) & (q[:, 0] <= x1)).mean() >= SCRATCH_MIN_COVER:
            out.append(i)
    return out


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each point ``p`` (N, 2) to the segment(s) ``a``-``b`` ((N, 2) or (2,))."""
    ab = b - a
    denom = np.maximum((ab * ab).sum(axis=-1), 1e-300)
    t = np.clip(((p - a) * ab).sum(axis=-1) / denom, 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.sqrt(((p - closest) ** 2).sum(axis=-1))


def segment_hits(points: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> bool:
    """Whether the polyline ``points`` (N, 2) comes within ``radius`` of the segment ``a``-``b``."""
    points = np.asarray(points, dtype=np.float64)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(points) == 0:
        return False
    if np.any(_point_segment_distance(points, a, b) <= radius):
        return True
    if len(points) == 1:
        return False
    s0, s1 = points[:-1], points[1:]
    if np.any(_point_segment_distance(np.broadcast_to(a, s0.shape), s0, s1) <= radius) or \
            np.any(_point_segment_distance(np.broadcast_to(b, s0.shape), s0, s1) <= radius):
        return True
    # proper crossings (both ends of each segment on opposite sides of the other)
    def cross(o, p, q):
        return (p[..., 0] - o[..., 0]) * (q[..., 1] - o[..., 1]) - (p[..., 1] - o[..., 1]) * (q[..., 0] - o[..., 0])

    d1, d2 = cross(s0, s1, a), cross(s0, s1, b)
    d3, d4 = cross(a, b, s0), cross(a, b, s1)
    return bool(np.any((d1 * d2 < 0) & (d3 * d4 < 0)))


def stroke_boxes(strokes: Sequence[Stroke]) -> np.ndarray:
    """``(N, 4)`` bounding boxes (min x, min y, max x, max y) of the strokes; NaN for an empty one."""
    out = np.full((len(strokes), 4), np.nan)
    for i, s in enumerate(strokes):
        if len(s):
            out[i] = s.x.min(), s.y.min(), s.x.max(), s.y.max()
    return out


def strokes_hit(strokes: Sequence[Stroke], path: np.ndarray, radius: float,
                boxes: np.ndarray | None = None) -> list[int]:
    """Indices of the ``strokes`` that the eraser ``path`` ((M, 2) points; one point: a tap)
    touches, within ``radius``.  ``boxes``: the strokes' :func:`stroke_boxes`, when known."""
    path = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    if not len(path) or not len(strokes):
        return []
    segs = list(zip(path[:-1], path[1:])) if len(path) > 1 else [(path[0], path[0])]
    lo, hi = path.min(axis=0) - radius, path.max(axis=0) + radius
    b = stroke_boxes(strokes) if boxes is None else np.asarray(boxes, dtype=np.float64)
    near = (b[:, 2] >= lo[0]) & (b[:, 3] >= lo[1]) & (b[:, 0] <= hi[0]) & (b[:, 1] <= hi[1])  # NaN: False
    return [int(i) for i in np.flatnonzero(near)
            if any(segment_hits(strokes[i].points, a, c, radius) for a, c in segs)]
