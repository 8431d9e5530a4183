"""Random distortions of ink for training: the ways real writers and devices differ."""

from __future__ import annotations

import numpy as np

from hwr.types import Ink, Stroke


def distort_ink(ink: Ink, rng: np.random.Generator, strength: float = 1.0) -> Ink:
    """A random affine distortion (aspect, shear, rotation) plus small per-stroke offsets."""
    sx = np.exp(rng.normal(0.0, 0.10 * strength))
    sy = np.exp(rng.normal(0.0, 0.10 * strength))
    shear = rng.normal(0.0, 0.15 * strength)
    rot = rng.normal(0.0, 0.04 * strength)
    c, s = np.cos(rot), np.sin(rot)
    m = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    x0, y0, x1, y1 = ink.bounds()
    size = max(y1 - y0, (x1 - x0) / 10.0, 1e-9)
    strokes = []
    for st in ink.strokes:
        p = np.stack([st.x, st.y], axis=1) @ m.T
        # a small independent shift per stroke: pen-up placement varies between writers
        p = p + rng.normal(0.0, 0.01 * strength * size, size=2)
        strokes.append(Stroke(p[:, 0], p[:, 1], st.t, st.pressure))
    return Ink(strokes=strokes, text=ink.text, writer=ink.writer, source=ink.source, meta=ink.meta)
