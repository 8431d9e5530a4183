"""Choosing the compute device at run time, and bounding what torch's CPU kernels keep."""

from __future__ import annotations

import os

#: oneDNN (torch's CPU convolution / LSTM library) keeps up to this many compiled kernels
#: ("primitives") per process, keyed by the exact tensor shapes (default 1,024).
ONEDNN_CACHE_ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
#: hwr's choice: the kernels used on every call (weight reorders) stay, those of one input
#: width soon go.  0 (no cache) made ink recognition ~20 % slower (CPU time).
ONEDNN_CAPACITY = 16
#: ideep (torch's layer between its operators and oneDNN) keeps as many prepared
#: convolutions per thread, also keyed by shapes (default 1,024); hwr keeps 1.
IDEEP_CACHE_ENV = "LRU_CACHE_CAPACITY"


def bound_onednn_cache() -> None:
    """Bound the shape-keyed kernel caches of torch's CPU kernels (oneDNN's primitive
    cache: 16 kernels instead of 1,024; ideep's: 1 entry) unless the user chose a capacity.

    Recognition feeds every page's lines (and every ink) at a new width, so a kernel
    cached for a shape is almost never used again, yet each one stays until 1,024 are
    there: ``hwr transcribe`` grew by about 0.4 MiB a page (measured by
    ``benchmarks/batch_memory.py``; pytorch issue #27971).  With these capacities the heap
    stays flat page after page, and page and ink recognition take the same CPU time
    (``benchmarks/kernel_caches.py``).  ideep reads its variable when torch is imported,
    oneDNN when it builds its first kernel, so this runs when ``hwr`` is imported (before
    torch in the CLI, the GUI and spawned batch workers, which also inherit the
    environment); once the libraries have read them, calls change nothing.
    """
    if ONEDNN_CACHE_ENV not in os.environ and "DNNL_PRIMITIVE_CACHE_CAPACITY" not in os.environ:
        os.environ[ONEDNN_CACHE_ENV] = str(ONEDNN_CAPACITY)
    os.environ.setdefault(IDEEP_CACHE_ENV, "1")


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``.  Asking for ``cuda`` on a
    machine without one raises ``RuntimeError`` with a clear message (never a silent CPU run)."""
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but no CUDA GPU is available "
                               "(this torch build: " + torch.__version__ + "); use --device cpu or auto")
        idx = device.partition(":")[2]
        if idx and (not idx.isdigit() or int(idx) >= torch.cuda.device_count()):
            raise RuntimeError(f"device {device!r}: only {torch.cuda.device_count()} GPU(s) present")
        return device
    raise RuntimeError(f"unknown device {device!r} (use auto, cpu, cuda or cuda:N)")


#: DataLoader workers of a GPU training run, at most (one per CPU core but one, up to this)
MAX_GPU_WORKERS = 8


def default_workers(device: str) -> int:
    """DataLoader worker processes for training on ``device`` when none are asked for.

    On a CPU, none: the lines are prepared in the training process, which the cores are
    busy with anyway.  On a GPU, one per CPU core but one (shared among the processes
    torchrun starts on this machine), at most :data:`MAX_GPU_WORKERS`.  One process
    distorts stored line images (``--augment page``) at about 470 lines/s and renders ink to
    images at about 140 on a core of the development machine, and one H200 with 14 workers
    fine-tuned the image model at about 500 lines/s: done in the training process, the data
    would take about as long as the GPU's work for stored lines, and several times as long
    for rendered ink (an estimate from these rates; not measured on a GPU without workers).
    Eight render ink faster than that GPU trained.
    """
    if not str(device).startswith("cuda"):
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, min(MAX_GPU_WORKERS, (cores - 1) // local))
