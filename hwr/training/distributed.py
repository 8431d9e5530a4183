"""Training on several processes (GPUs, nodes, or CPU processes) with PyTorch
DistributedDataParallel, driven by ``torchrun`` with no change to the command:

    torchrun --nproc-per-node 2 --no-python hwr train --data ... --out model.safetensors

Each process reads its share of every epoch's batches (the same number on every rank),
gradients are averaged by DDP, validation error counts are summed over the ranks, and
decisions that must agree (stop now, learning rate, early stop) are taken from values
reduced over the ranks. Only rank 0 writes checkpoints, models and progress.
``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


def world() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) when not distributed."""
    try:
        return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 0, 1


def setup(device: str) -> str:
    """Join the process group when run by torchrun (gloo on CPU, NCCL on CUDA); returns the
    device this process trains on (``cuda:LOCAL_RANK`` on GPUs)."""
    import torch.distributed as dist

    rank, size = world()
    if size <= 1:
        return device
    cuda = device.startswith("cuda")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return device


def active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def reduce(values: list[float], op: str = "sum") -> list[float]:
    """Element-wise sum (or max) of ``values`` over the ranks (identity when not distributed)."""
    if not active():
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return t.tolist()


def barrier() -> None:
    if active():
        import torch.distributed as dist

        dist.barrier()


class ShardedBatches(Sampler[list[int]]):
    """Every ``size``-th batch of ``inner`` from ``rank`` on. With ``even``, the batches are cut
    to a multiple of ``size`` so that every rank runs the same number of steps (DDP needs
    that); for validation every batch is kept."""

    def __init__(self, inner, rank: int, size: int, even: bool = True):
        self.inner, self.rank, self.size, self.even = inner, rank, size, even

    @property
    def epoch(self) -> int:
        return getattr(self.inner, "epoch", 0)

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.inner.epoch = value

    def __len__(self) -> int:
        n = len(self.inner)
        if self.even:
            return n // self.size
        return len(range(self.rank, n, self.size))

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(self.inner)
        if self.even:
            batches = batches[: len(batches) // self.size * self.size]
        return iter(batches[self.rank::self.size])
