"""Timing helper shared by the speed benchmarks."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, repeat: int = 10, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1000
