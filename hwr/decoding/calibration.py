"""Calibrated line confidence.

A decoder's raw line confidence (a geometric mean of character posteriors) is
a good *ranking* of lines but not a probability: a model trained with CTC is
over-confident.  :class:`Calibration` maps raw confidence to the expected
character accuracy of the line (``1 - CER`` of the line, clipped at 0) with an
isotonic (monotone, non-decreasing) fit by pool-adjacent-violators on
validation lines, stored as knots and applied by linear interpolation.  So a
line shown with confidence 0.9 has, on data like the validation set, about
90 % of its characters right.  :func:`reliability_table` shows how well that
holds: confidence bucket against observed accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pav(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted isotonic regression of ``y`` (already in x order)."""
    vals: list[float] = []
    wts: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(y, w):
        vals.append(float(yi))
        wts.append(float(wi))
        counts.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v2, w2, c2 = vals.pop(), wts.pop(), counts.pop()
            v1, w1, c1 = vals.pop(), wts.pop(), counts.pop()
            ww = w1 + w2
            vals.append((v1 * w1 + v2 * w2) / ww if ww > 0 else (v1 + v2) / 2)
            wts.append(ww)
            counts.append(c1 + c2)
    return np.repeat(vals, counts)


@dataclass
class Calibration:
    x: list[float]  # raw confidence knots, increasing
    y: list[float]  # calibrated value at each knot, non-decreasing
    fitted_on: str = ""
    lines: int = 0

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=float)
        y = np.asarray(self.y, dtype=float)
        if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
            raise ValueError("a calibration needs at least two (x, y) knots of equal count")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("calibration knots must be finite")
        if np.any(np.diff(x) < 0) or np.any(np.diff(y) < -1e-9):
            raise ValueError("calibration knots must be non-decreasing")
        if np.any(y < 0) or np.any(y > 1):
            raise ValueError("calibrated values must lie in [0, 1]")

    def __call__(self, raw: float) -> float:
        return float(np.interp(raw, self.x, self.y))

    @classmethod
    def fit(cls, raw: np.ndarray, accuracy: np.ndarray, weights: np.ndarray | None = None,
            knots: int = 24, fitted_on: str = "") -> "Calibration":
        """Fit raw confidence -> accuracy; ``weights`` are typically the reference lengths."""
        raw = np.asarray(raw, dtype=float)
        acc = np.clip(np.asarray(accuracy, dtype=float), 0.0, 1.0)
        w = np.ones_like(raw) if weights is None else np.asarray(weights, dtype=float)
        if len(raw) < 2:
            raise ValueError("need at least two lines to fit a calibration")
        order = np.argsort(raw, kind="stable")
        xs, ys, ws = raw[order], acc[order], w[order]
        fit = _pav(ys, ws)
        # knots at quantiles of the raw confidence (plus the ends) keep the table small
        qs = np.unique(np.quantile(xs, np.linspace(0, 1, knots)))
        kx = np.concatenate(([0.0], qs, [1.0])) if qs[0] > 0 or qs[-1] < 1 else qs
        kx = np.unique(np.clip(kx, 0, 1))
        ky = np.interp(kx, xs, fit)
        ky = np.maximum.accumulate(np.clip(ky, 0, 1))
        return cls([round(float(v), 6) for v in kx], [round(float(v), 6) for v in ky], fitted_on, int(len(raw)))

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "fitted_on": self.fitted_on, "lines": self.lines}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        return cls(list(d["x"]), list(d["y"]), str(d.get("fitted_on", "")), int(d.get("lines", 0)))


def reliability_table(confidence: np.ndarray, accuracy: np.ndarray, weights: np.ndarray | None = None,
                      edges=(0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0001)) -> list[dict]:
    """Rows of (bucket, lines, mean confidence, observed accuracy), weighted by ``weights``.

    Also returns, as the last row, the expected calibration error (``ece``):
    the weighted mean gap between confidence and accuracy over buckets.
    """
    c = np.asarray(confidence, dtype=float)
    a = np.clip(np.asarray(accuracy, dtype=float), 0, 1)
    w = np.ones_like(c) if weights is None else np.asarray(weights, dtype=float)
    rows = []
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (c >= lo) & (c < hi)
        if not m.any():
            continue
        wm = w[m].sum()
        conf = float((c[m] * w[m]).sum() / wm)
        acc = float((a[m] * w[m]).sum() / wm)
        ece += wm * abs(conf - acc)
        rows.append({"bucket": f"{lo:.2f}-{min(hi, 1.0):.2f}", "lines": int(m.sum()),
                     "confidence": conf, "accuracy": acc})
    rows.append({"ece": float(ece / w.sum()) if w.sum() > 0 else 0.0})
    return rows
