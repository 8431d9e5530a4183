"""Does ink from other devices read as well?  CER on the IAM-OnDB validation lines
under transformations of the ink: other sampling rates, scales, writing speeds and a
mouse-like canvas (integer screen pixels sampled at 60 Hz).

    python benchmarks/ink_robustness.py [--model PATH] [--limit N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _data import iam_ondb_validation
from hwr.evaluation import evaluate_ink_model
from hwr.types import Ink, Stroke


def _map(ink: Ink, f) -> Ink:
    return Ink(strokes=[f(s) for s in ink.strokes], text=ink.text, writer=ink.writer, source=ink.source)


def decimate(k: int):
    """Keep every k-th point (a device sampling k times slower); stroke ends kept."""
    def f(s: Stroke) -> Stroke:
        idx = np.unique(np.r_[np.arange(0, len(s), k), len(s) - 1])
        return Stroke(s.x[idx], s.y[idx], None if s.t is None else s.t[idx])
    return lambda ink: _map(ink, f)


def upsample(k: int):
    """k times more points by linear interpolation in time (a faster device)."""
    def f(s: Stroke) -> Stroke:
        if len(s) < 2:
            return s
        u = np.linspace(0, len(s) - 1, (len(s) - 1) * k + 1)
        i = np.arange(len(s))
        t = None if s.t is None else np.interp(u, i, s.t)
        return Stroke(np.interp(u, i, s.x), np.interp(u, i, s.y), t)
    return lambda ink: _map(ink, f)


def scale(c: float):
    return lambda ink: _map(ink, lambda s: Stroke(s.x * c, s.y * c, s.t))


def speed(c: float):
    """Written c times slower (time stretched; the points are the same)."""
    return lambda ink: _map(ink, lambda s: Stroke(s.x, s.y, None if s.t is None else s.t * c))


def mouse(height_px: float = 40.0, hz: float = 60.0):
    """A mouse on a canvas: the line scaled to ~height_px pixels, points resampled in time at
    ``hz`` and rounded to whole pixels."""
    def tf(ink: Ink) -> Ink:
        x0, y0, x1, y1 = ink.bounds()
        c = height_px / max(y1 - y0, 1e-9)

        def f(s: Stroke) -> Stroke:
            if s.t is None or len(s) < 2 or s.t[-1] <= s.t[0]:
                tt = None
                x, y = s.x, s.y
            else:
                tt = np.arange(s.t[0], s.t[-1] + 1e-9, 1.0 / hz)
                tt = np.r_[tt, s.t[-1]] if tt[-1] < s.t[-1] else tt
                x, y = np.interp(tt, s.t, s.x), np.interp(tt, s.t, s.y)
            return Stroke(np.round((x - x0) * c), np.round((y - y0) * c), tt)
        return _map(ink, f)
    return tf


TRANSFORMS = [
    ("original", None),
    ("1/2 sampling rate", decimate(2)),
    ("1/3 sampling rate", decimate(3)),
    ("2x sampling rate", upsample(2)),
    ("scale x0.05", scale(0.05)),
    ("scale x20", scale(20.0)),
    ("written 2x slower", speed(2.0)),
    ("written 2x faster", speed(0.5)),
    ("mouse 40px @60Hz", mouse(40.0, 60.0)),
    ("mouse 25px @60Hz", mouse(25.0, 60.0)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--limit", type=int, default=500, help="first N lines of each validation set (default 500)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sets = iam_ondb_validation()
    base = None
    print(f"{'transformation':<22}{'CER %':>8}{'delta':>8}{'WER %':>8}{'s':>7}")
    for name, tf in TRANSFORMS:
        t0 = time.perf_counter()
        er = evaluate_ink_model(args.model, sets, limit=args.limit, transform=tf, decoder="greedy").rates
        if base is None:
            base = er.cer
        print(f"{name:<22}{100 * er.cer:>8.2f}{100 * (er.cer - base):>+8.2f}{100 * er.wer:>8.2f}"
              f"{time.perf_counter() - t0:>7.1f}")
    print(f"lines per transformation: {er.lines}")


if __name__ == "__main__":
    main()
