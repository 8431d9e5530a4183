"""Choosing the compute device at run time."""

from __future__ import annotations


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
