"""Per-point features of normalised ink, the input of the ink recogniser.

For each resampled point: the step from the previous point (dx, dy, in units of
the resampling spacing, so pen-down steps have length ~1), a pen-up flag (1 on
the first point of a stroke: the step before it was made in the air), and the
height above/below the line's centre (in core heights).  All are invariant to
translation, scale, sampling rate and writing speed.
"""

from __future__ import annotations

import numpy as np

from hwr.ink.normalize import DEFAULT_SPACING, NormalizedInk, normalize_ink
from hwr.types import Ink

FEATURE_NAMES = ("dx", "dy", "pen_up", "y")
NUM_FEATURES = len(FEATURE_NAMES)
_JUMP_CLIP = 30.0


def point_features(norm: NormalizedInk, spacing: float = DEFAULT_SPACING) -> np.ndarray:
    """``(N, 4)`` float32 features of a :class:`NormalizedInk`."""
    xy = norm.xy
    n = len(xy)
    f = np.zeros((n, NUM_FEATURES), dtype=np.float32)
    if n == 0:
        return f
    d = np.zeros_like(xy)
    d[1:] = np.diff(xy, axis=0) / spacing
    f[:, 0:2] = np.clip(d, -_JUMP_CLIP, _JUMP_CLIP) / 4.0
    f[0, 2] = 1.0
    f[1:, 2] = norm.stroke[1:] != norm.stroke[:-1]
    f[:, 3] = np.clip(xy[:, 1], -4.0, 4.0)
    return f


def ink_features(ink: Ink, spacing: float = DEFAULT_SPACING) -> np.ndarray:
    """Normalise ``ink`` and return its point features."""
    return point_features(normalize_ink(ink, spacing), spacing)


FEATURE_KINDS = ("points", "bezier")


def preprocessing_for(kind: str = "points") -> dict:
    """The preprocessing settings stored in a model for a feature ``kind``."""
    if kind == "points":
        return {"feature_kind": "points", "spacing": DEFAULT_SPACING, "features": list(FEATURE_NAMES),
                "normalisation": "hwr-ink-v1"}
    if kind == "bezier":
        from hwr.ink import bezier

        return {"feature_kind": "bezier", "spacing": bezier.BEZIER_SPACING, "max_error": bezier.DEFAULT_MAX_ERROR,
                "features": list(bezier.FEATURE_NAMES), "normalisation": "hwr-ink-v1"}
    raise ValueError(f"unknown feature kind {kind!r} (known: {', '.join(FEATURE_KINDS)})")


def num_features(prep: dict) -> int:
    return len(prep.get("features", FEATURE_NAMES))


def line_features(ink: Ink, prep: dict, rng: np.random.Generator | None = None) -> np.ndarray:
    """The model input for one line of ``ink`` under a model's preprocessing settings.

    With ``rng`` (training), the ink is randomly distorted first (:mod:`hwr.ink.augment`)
    and resampled at a randomly perturbed spacing.
    """
    kind = prep.get("feature_kind", "points")
    spacing = float(prep.get("spacing", DEFAULT_SPACING))
    if rng is not None:
        from hwr.ink.augment import distort_ink

        ink = distort_ink(ink, rng)
        spacing *= float(np.exp(rng.normal(0.0, 0.08)))
    norm = normalize_ink(ink, spacing)
    if kind == "points":
        if rng is not None:
            norm.xy = norm.xy + rng.normal(0.0, 0.015, size=norm.xy.shape)
        return point_features(norm, spacing)
    if kind == "bezier":
        from hwr.ink.bezier import bezier_features

        return bezier_features(norm, float(prep.get("max_error", 0.05)))
    raise ValueError(f"unknown feature kind {kind!r}")
