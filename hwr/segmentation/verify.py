"""The line verifier: which candidate lines are lines of the text.

The line finders find every band of ink: the lines of the text, and also a stamp's
printed lines, a clerk's note, a signature, a flourish, a stray word, a fragment of a
line that was cut in two.  The scrap rules of :mod:`hwr.segmentation.polygons` drop the
obvious scraps; the verifier then weighs, for each candidate, the rules' verdict together
with its ink and width against the page's full lines, where it stands against the text
they make (left, right, above the first line, below the last, the distance to the nearest
line above and below it in line spacings) and its shape (core band, spread about its
medial curve, descenders against ascenders, ink density): :func:`line_features`.

It is a small neural network (one hidden layer of ``tanh`` units, a logistic output; a
few hundred weights in ``line_verifier.json``, run with numpy), trained by
``benchmarks/train_line_verifier.py`` on the candidates of the *training* pages of
``../shared/data/pages`` (a candidate is a text line when it matches a ground-truth line
with IoU >= 0.5); the held-back pages are left for the benchmark.  Without the file (or
with ``verifier=False``) the rules decide alone.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from hwr.segmentation.crops import neighbour_gaps
from hwr.segmentation.polygons import full_lines

#: The verifier's inputs, in order (see :func:`line_features`).
FEATURES = ("log_ink", "width", "left", "right", "above_text", "below_text", "gap_up", "gap_down",
            "band", "spread", "descent", "density", "rules_keep", "full", "log_lines", "biggest")

WEIGHTS = Path(__file__).with_name("line_verifier.json")


def line_features(lines: list, grid: float, xh: float, min_ink: float = 3.0,
                  rel_ink: float = 0.6) -> np.ndarray:
    """An (n, len(FEATURES)) array for the candidate ``lines`` (:class:`WorkLine`, with the
    rules' ``keep`` set) of one page; ``grid`` is the page's line spacing, ``xh`` its
    x-height, both in work pixels.

    The page's *full* lines are those with at least ``min_ink`` x-heights squared of ink and
    ``rel_ink`` of the median line's ink; the text's extent is the 20th percentile of
    their left ends to the 80th of their right ends, and from their first to their last."""
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    typical, full = full_lines(lines, xh, min_ink, rel_ink)
    full = full or list(lines)
    full_ids = {id(f) for f in full}
    g = max(float(grid), 1.0)
    x = max(float(xh), 1.0)
    fx0 = float(np.percentile([f.x0 for f in full], 20))
    fx1 = float(np.percentile([f.x1 for f in full], 80))
    tw = max(fx1 - fx0, x)
    fy0 = min(f.ymid for f in full)
    fy1 = max(f.ymid for f in full)
    fw = max(float(np.median([f.x1 - f.x0 for f in full])), 1.0)
    out = np.zeros((n, len(FEATURES)))
    gaps = neighbour_gaps([(ln.x0, ln.x1, ln.ymid) for ln in lines])
    for i, (ln, (gap_up, gap_down)) in enumerate(zip(lines, gaps)):
        w = max(ln.x1 - ln.x0, 1.0)
        up, down = min(gap_up / g, 5.0), min(gap_down / g, 5.0)  # in line spacings, capped
        out[i] = (np.log(max(ln.npix, 1) / typical), w / fw,
                  (ln.x0 - fx0) / tw, (ln.x1 - fx1) / tw,
                  np.clip((fy0 - ln.ymid) / g, -1.0, 5.0), np.clip((ln.ymid - fy1) / g, -1.0, 5.0),
                  up, down, ln.band / x, ln.spread / x,
                  (ln.below - ln.above) / max(1, ln.above + ln.below),
                  ln.npix / (w * g), float(ln.keep), float(id(ln) in full_ids), np.log(len(full)),
                  ln.biggest)
    return out


class Verifier:
    """A one-hidden-layer network over standardised :data:`FEATURES`."""

    def __init__(self, spec: dict):
        if list(spec.get("features", [])) != list(FEATURES):
            raise ValueError("line verifier: its features are not this version's")
        self.mean = np.asarray(spec["mean"], np.float64)
        self.scale = np.asarray(spec["scale"], np.float64)
        self.w1 = np.asarray(spec["w1"], np.float64)  # (hidden, features)
        self.b1 = np.asarray(spec["b1"], np.float64)
        self.w2 = np.asarray(spec["w2"], np.float64)  # (hidden,)
        self.b2 = float(spec["b2"])
        self.threshold = float(spec.get("threshold", 0.5))
        k = len(FEATURES)
        if (self.mean.shape != (k,) or self.scale.shape != (k,) or self.w1.ndim != 2
                or self.w1.shape[1] != k or self.b1.shape != self.w1.shape[:1]
                or self.w2.shape != self.w1.shape[:1]):
            raise ValueError("line verifier: weights of the wrong shape")

    def probability(self, feats: np.ndarray) -> np.ndarray:
        z = (np.asarray(feats, np.float64) - self.mean) / self.scale
        h = np.tanh(z @ self.w1.T + self.b1)
        return 1.0 / (1.0 + np.exp(-(h @ self.w2 + self.b2)))

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "w1": self.w1.tolist(), "b1": self.b1.tolist(), "w2": self.w2.tolist(), "b2": self.b2,
                "threshold": self.threshold}


@lru_cache(maxsize=1)
def default_verifier() -> Verifier | None:
    """The shipped verifier, or None when its file is missing or unreadable."""
    try:
        return Verifier(json.loads(WEIGHTS.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def verify(lines: list, grid: float, xh: float, verifier: Verifier | None = None,
           min_ink: float = 3.0, rel_ink: float = 0.6) -> list:
    """Set each candidate's ``keep`` by the verifier (the shipped one by default); the rules'
    verdicts stand where there is none.  Returns ``lines``."""
    v = verifier or default_verifier()
    if v is None or not lines:
        return lines
    p = v.probability(line_features(lines, grid, xh, min_ink=min_ink, rel_ink=rel_ink))
    for ln, q in zip(lines, p):
        ln.keep = bool(q >= v.threshold)
    return lines
