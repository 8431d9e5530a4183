"""Peak memory of `hwr transcribe` on 50 and on 500 pages (issue 10's load case): a batch
must run in bounded memory, whatever the number of inputs.

    python benchmarks/batch_memory.py [--counts 50,500] [--workers 1] [--kernel-caches N]

Draws small synthetic pages (4 lines of OpenCV script text, 900 x 560 px) into a temporary
folder, runs `hwr transcribe` on the first N of them in a child process for each N (greedy
decoding, txt + json + alto + page), and prints the child's peak RSS (from ``os.wait4``) and
its time.

``--kernel-caches N`` runs the children with ``ONEDNN_PRIMITIVE_CACHE_CAPACITY=N`` and
``LRU_CACHE_CAPACITY=N`` (the shape-keyed kernel caches of oneDNN and ideep under torch):
1024 is their own default, i.e. how hwr ran before it bounded them (see
``hwr.device.bound_onednn_cache``), for a before/after comparison on the same machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synth import synth_page  # noqa: E402  (the tests' synthetic page: 4 lines of OpenCV script text)


def page(seed: int) -> np.ndarray:
    return synth_page(seed, 4)


def outputs_check(out: Path, n: int) -> tuple[int, int]:
    """(lost, duplicated): inputs without exactly one ``done`` record in report.jsonl or with
    an output missing (4 formats each), and records beyond one per input."""
    import json

    recs = [json.loads(line) for line in (out / "report.jsonl").read_text(encoding="utf-8").splitlines() if line]
    inputs = [r["input"] for r in recs]
    done = {r["input"]: r for r in recs if r.get("status") == "done"}
    lost = sum(1 for i in range(n) if f"p{i:04d}.png" not in done
               or len(done[f"p{i:04d}.png"]["outputs"]) != 4
               or not all((out / o).is_file() for o in done[f"p{i:04d}.png"]["outputs"]))
    return lost, len(inputs) - len(set(inputs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", default="50,500")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--kernel-caches", type=int, default=None,
                    help="capacity of torch's oneDNN and ideep kernel caches in the children (default: hwr's "
                         "choice, 16 and 1; 1024: the libraries' default)")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    env = dict(os.environ)
    if args.kernel_caches is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = env["LRU_CACHE_CAPACITY"] = str(args.kernel_caches)
    cache = "16 / 1 (hwr's default)" if args.kernel_caches is None else str(args.kernel_caches)
    with tempfile.TemporaryDirectory(prefix="hwr-batch-mem-") as tmp:
        tmp = Path(tmp)
        print("| pages | workers | kernel caches | seconds | pages/min | peak RSS MiB (main process) | failed "
              "| lost / duplicated outputs |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for n in counts:
            src = tmp / f"in{n}"
            src.mkdir(exist_ok=True)
            for i in range(n):
                cv2.imwrite(str(src / f"p{i:04d}.png"), page(i))
            cmd = [sys.executable, "-c", "from hwr.cli.main import main; main()", "transcribe", str(src), "--out",
                   str(tmp / f"out{n}"), "--workers", str(args.workers), "--decoder", "greedy", "-q",
                   "--formats", "txt,json,alto,page"]
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=env)
            _, status, usage = os.wait4(p.pid, 0)
            secs = time.perf_counter() - t0
            err = p.stderr.read()
            failed = "?" if "failed" not in err else err.split(" failed")[0].split()[-1]
            lost, dup = outputs_check(tmp / f"out{n}", n)
            print(f"| {n} | {args.workers} | {cache} | {secs:.0f} | {n / secs * 60:.0f} "
                  f"| {usage.ru_maxrss / 1024:.0f} | {failed} "
                  f"| {lost} / {dup} |",
                  flush=True)


if __name__ == "__main__":
    main()
