"""Bézier-curve features (Carbune et al. 2020) against the point features, on the
IAM-OnDB validation lines: sequence length, shortening, how far the curves stray
from the pen's trajectory, and the time to compute them.

    python benchmarks/ink_bezier.py [--limit N] [--data FILE.h5]

Sequence length: rows of features per line (point features: resampled points at
spacing 0.3; Bézier features: curves).  Reconstruction error, in core heights, of
each representation against the normalised device points of the line (repeated
points dropped): every device point's distance to the reconstruction of its
stroke (the fitted curves, sampled at 0.01 core heights, or for the point
features the polyline through the resampled points), and every reconstruction
point's distance to the device polyline.  "mean" is the mean over device points,
"max/line" the mean over lines of the largest distance either way (Hausdorff),
"max" the largest over all lines.  Time: CPU ms per line from Ink to features
(normalisation included), one thread.  "CTC ok /1, /2": the share of lines whose
sequence is long enough for CTC to emit the transcription (characters plus one
blank between repeated characters) with the model's convolutional subsampling 1
or 2 (InkBLSTMConfig.subsample).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _data import iam_ondb_validation
from hwr.alphabet import normalize_text
from hwr.data.inkset import InkSet
from hwr.ink.normalize import normalize_raw
from hwr.ink.bezier import (
    BEZIER_SPACING,
    FEATURE_NAMES,
    BezierInk,
    curve_features,
    fit_ink,
    sample_curves,
)
from hwr.ink.features import point_features
from hwr.ink.normalize import DEFAULT_SPACING, NormalizedInk, normalize_ink
from hwr.types import Ink


def _point_to_polyline(q: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance of each point of ``q`` (n, 2) to the polyline ``poly`` (k, 2)."""
    if len(poly) == 1:
        return np.sqrt(((q - poly[0]) ** 2).sum(axis=1))
    a, b = poly[:-1], poly[1:]
    ab = b - a
    ll = (ab ** 2).sum(axis=1)
    out = np.empty(len(q))
    for s in range(0, len(q), 256):  # bounded memory for long strokes
        qq = q[s : s + 256, None, :]
        u = ((qq - a) * ab).sum(axis=2) / np.where(ll > 0, ll, 1.0)
        u = np.clip(u, 0.0, 1.0)
        d = qq - (a + u[..., None] * ab)
        out[s : s + 256] = np.sqrt((d ** 2).sum(axis=2)).min(axis=1)
    return out


def _split(norm: NormalizedInk) -> list[np.ndarray]:
    cuts = np.flatnonzero(norm.stroke[1:] != norm.stroke[:-1]) + 1
    return np.split(norm.xy, cuts)


def _curve_polylines(bez: BezierInk, step: float = 0.01) -> dict[int, np.ndarray]:
    out: dict[int, list[np.ndarray]] = {}
    for c, s in zip(bez.curves, bez.stroke):
        length = float(np.sqrt((np.diff(c, axis=0) ** 2).sum(axis=1)).sum())  # control polygon >= arc
        pts = sample_curves(c[None], max(4, int(np.ceil(length / step)) + 1))[0]
        out.setdefault(int(s), []).append(pts)
    return {k: np.concatenate(v) for k, v in out.items()}


def _errors(raw: list[np.ndarray], recon: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Distances of the device points to the reconstruction, and the Hausdorff distance."""
    to_recon, worst = [], 0.0
    for r, c in zip(raw, recon):
        d1 = _point_to_polyline(r, c)
        d2 = _point_to_polyline(c, r)
        to_recon.append(d1)
        worst = max(worst, float(d1.max()), float(d2.max()))
    return np.concatenate(to_recon), worst


def _methods(tols: list[float]):
    """(label, tolerance, function Ink -> (features, reconstruction per stroke or None))."""
    def points(ink: Ink):
        norm = normalize_ink(ink, DEFAULT_SPACING)
        return point_features(norm, DEFAULT_SPACING), norm

    def bezier(tol: float, spacing: float | None, method: str = "split"):
        def f(ink: Ink):
            norm = normalize_raw(ink) if spacing is None else normalize_ink(ink, spacing)
            bez = fit_ink(norm, tol, method=method)
            return curve_features(bez), bez
        return f

    rows = [("points (spacing 0.3)", None, points)]
    rows += [(f"bezier split, fit at {BEZIER_SPACING}", t, bezier(t, BEZIER_SPACING)) for t in tols]
    mid = tols[len(tols) // 2]
    rows += [
        ("bezier split, fit at 0.1", mid, bezier(mid, 0.1)),
        ("bezier split, fit on device pts", mid, bezier(mid, None)),
        (f"bezier greedy, fit at {BEZIER_SPACING}", mid, bezier(mid, BEZIER_SPACING, "greedy")),
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=300, help="lines (the first N of the validation set)")
    ap.add_argument("--data", help="an ink HDF5 file instead of the IAM-OnDB validation lines")
    ap.add_argument("--tol", type=float, nargs="+", default=[0.025, 0.05, 0.1],
                    help="fit tolerances (core heights)")
    args = ap.parse_args()
    ds = InkSet(args.data or iam_ondb_validation()[0])
    ds.load_all()
    inks = [ds[i] for i in range(min(args.limit, len(ds)))]
    raws = [_split(normalize_raw(ink)) for ink in inks]
    texts = [normalize_text(ink.text or "") for ink in inks]
    need = np.array([len(t) + sum(a == b for a, b in zip(t, t[1:])) for t in texts])
    print(f"lines: {len(inks)} from {ds.path}; mean {np.mean([i.num_points for i in inks]):.0f} device points, "
          f"{np.mean([len(i.strokes) for i in inks]):.1f} strokes, "
          f"{np.mean([len(t) for t in texts]):.1f} characters per line")
    head = (f"{'features':34}{'tol':>6}{'F':>4}{'len':>8}{'shorter':>9}{'err mean':>10}{'max/line':>10}"
            f"{'max':>8}{'ms/line':>9}{'CTC ok /1':>11}{'/2':>6}")
    print(head)
    print("-" * len(head))
    base_len = None
    stats = {}
    for label, tol, fn in _methods(args.tol):
        fn(inks[0])  # warm up
        t0 = time.process_time()
        outs = [fn(ink) for ink in inks]
        ms = (time.process_time() - t0) * 1000 / len(inks)
        lens = np.array([len(f) for f, _ in outs])
        if base_len is None:
            base_len = lens.mean()
        dists, worst = [], []
        for (feats, rec), raw in zip(outs, raws):
            if isinstance(rec, BezierInk):
                polys = _curve_polylines(rec)
                recon = [polys[k] for k in range(len(raw))]
            else:
                recon = _split(rec)
            d, w = _errors(raw, recon)
            dists.append(d)
            worst.append(w)
        d = np.concatenate(dists)
        nfeat = outs[0][0].shape[1]
        tol_s = "-" if tol is None else f"{tol:g}"
        print(f"{label:34}{tol_s:>6}{nfeat:>4}{lens.mean():>8.1f}{base_len / lens.mean():>8.1f}x{d.mean():>10.4f}"
              f"{np.mean(worst):>10.3f}{np.max(worst):>8.3f}{ms:>9.1f}"
              f"{np.mean(lens >= need):>10.0%}{np.mean((lens + 1) // 2 >= need):>6.0%}", flush=True)
        if tol is not None:
            stats[label, tol] = np.concatenate([f for f, _ in outs])
    # how the per-curve features are distributed (the default fit)
    key = (f"bezier split, fit at {BEZIER_SPACING}", args.tol[len(args.tol) // 2])
    f = stats[key]
    print(f"\nfeatures of '{key[0]}', tol {key[1]:g}: {len(f)} curves")
    q = np.percentile(f, [1, 50, 99], axis=0)
    for i, n in enumerate(FEATURE_NAMES):
        print(f"  {n:12} p1 {q[0, i]:7.3f}  median {q[1, i]:7.3f}  p99 {q[2, i]:7.3f}  "
              f"|max| {np.abs(f[:, i]).max():6.3f}")
    chord = np.hypot(f[:, 0], f[:, 1])
    print(f"  chord < 0.05 (ratios floored): {np.mean(chord < 0.05):.1%} of curves, "
          f"ratio clipped at 4: {np.mean((f[:, 2] >= 4) | (f[:, 3] >= 4)):.1%}")


if __name__ == "__main__":
    main()
