"""Training throughput on this machine: one process with 1 thread, one process with N
threads, and N processes of 1 thread under torchrun (DDP, gloo), in the same run, on the
same lines (IAM-OnDB trainset ink, the default ink network, batches of 16 per process).

    python benchmarks/ddp_throughput.py [--lines 800] [--epochs 1] [--procs 2]

Prints lines/s per configuration and its ratio to one process with one thread; the faster
of "N threads" and "N processes" is the one to use on this machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import iam_ondb_validation  # noqa: E402,F401  (keeps the data helpers importable)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _subset(src: Path, n: int, out: Path) -> None:
    from hwr.data.inkset import InkSet, write_inkset

    ks = InkSet(src)
    write_inkset(out, [(ks.ids[i], ks[i]) for i in range(min(n, len(ks)))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=800)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--train", type=Path, help="ink dataset (default: the IAM-OnDB trainset made by the benchmarks)")
    args = ap.parse_args()
    from _data import CACHE

    src = args.train or CACHE / "h5" / "iam-train.h5"
    if not src.exists():
        sys.exit(f"{src}: not found; give --train with an ink dataset (hwr import iam-ondb ...)")
    from hwr.models.checkpoint import read_info

    with tempfile.TemporaryDirectory(prefix="hwr-ddp-") as tmp:
        tmp = Path(tmp)
        data = tmp / "train.h5"
        _subset(src, args.lines, data)
        base = [sys.executable, "-m", "hwr.cli.main", "train", "--data", str(data), "--val", str(data),
                "--epochs", str(args.epochs), "--batch-size", "16", "--device", "cpu", "--patience", "100"]
        configs = [("1 process, 1 thread", 1, 1), (f"1 process, {args.procs} threads", 1, args.procs),
                   (f"{args.procs} processes (DDP), 1 thread each", args.procs, 1)]
        print(f"{args.lines} lines, {args.epochs} epoch(s), batches of 16 per process, {os.cpu_count()} cores")
        print("| configuration | lines/s | ratio |")
        print("| --- | --- | --- |")
        ref = None
        for name, procs, threads in configs:
            out = tmp / f"m{procs}{threads}.safetensors"
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            cmd = base + ["--out", str(out), "--threads", str(threads)]
            if procs > 1:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(procs),
                       "--master-addr", "127.0.0.1", "--master-port", str(_free_port())] + cmd[1:]
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode != 0:
                print(f"| {name} | failed: {r.stderr.strip().splitlines()[-1:]} | |")
                continue
            tr = read_info(out).training
            hist = tr["history"]
            secs = sum(h["seconds"] - (hist[i - 1]["seconds"] if i else 0) for i, h in enumerate(hist))
            lines = sum(h["step"] - (hist[i - 1]["step"] if i else 0) for i, h in enumerate(hist)) * 16 * procs
            rate = lines / max(secs, 1e-9)
            ref = ref or rate
            print(f"| {name} | {rate:.1f} | {rate / ref:.2f} |  (wall {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
