"""CPU time of recognition with torch's shape-keyed kernel caches bounded (hwr's default)
or at other capacities: a page image (3 lines) and an ink (3 to 42 glyphs, each of another
length, as in live recognition and in a batch).

    python benchmarks/kernel_caches.py [--modes default,1024,0/1] [--repeats 2]

A mode is ``default`` (hwr's choice, see ``hwr.device.bound_onednn_cache``), ``N`` (both
caches N) or ``A/B`` (oneDNN's A, ideep's B).  Each run is a fresh process (the libraries
read the capacities once); CPU time, not wall time, so that a busy machine blurs it less.
Modes alternate, ``--repeats`` times.  (ideep at capacity 0 crashes torch 2.13: keep it >= 1.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"

CHILD = r"""
import hwr  # first: it sets the capacities before torch reads them
import random, sys, time
sys.path.insert(0, %r)
import torch
torch.set_num_threads(1)
from synth import synth_ink, synth_page
from hwr.pipeline import Recognizer

img = Recognizer(kind="image", decoder="greedy")
pages = [synth_page(s, 3) for s in range(100, 116)]
for p in pages[:2]:
    img.recognize_page(p)
t = time.process_time()
for p in pages[2:]:
    img.recognize_page(p)
page_ms = (time.process_time() - t) / 14 * 1000
ink = Recognizer(kind="ink", decoder="greedy")
rnd = random.Random(0)
inks = [synth_ink("".join(rnd.choice("olvzj ") for _ in range(3 + k)).strip() or "o", seed=k) for k in range(40)]
for i in inks[:3]:
    ink.recognize_ink(i)
t = time.process_time()
for i in inks[3:]:
    ink.recognize_ink(i)
ink_ms = (time.process_time() - t) / 37 * 1000
import os
print(os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), os.environ.get("LRU_CACHE_CAPACITY"),
      f"{page_ms:.0f}", f"{ink_ms:.1f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="default,1024,0/1")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    modes = args.modes.split(",")
    rows: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    caps: dict[str, str] = {}
    for _ in range(args.repeats):
        for mode in modes:
            env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY",
                                                                  "LRU_CACHE_CAPACITY")}
            if mode != "default":
                a, _, b = mode.partition("/")
                env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"], env["LRU_CACHE_CAPACITY"] = a, b or a
            p = subprocess.run([sys.executable, "-c", CHILD % str(TESTS)], env=env, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"mode {mode}: the child failed (exit status {p.returncode}): {p.stderr[-500:]}")
            out = p.stdout.split()
            caps[mode] = f"{out[0]} / {out[1]}"
            rows[mode].append((float(out[2]), float(out[3])))
    print(f"CPU time per input, median of {args.repeats} runs, 1 torch thread, {os.cpu_count()} CPUs")
    print("| caches (oneDNN / ideep) | page, 3 lines (ms) | ink (ms) |\n| --- | --- | --- |")
    for mode in modes:
        page = sorted(r[0] for r in rows[mode])[len(rows[mode]) // 2]
        ink = sorted(r[1] for r in rows[mode])[len(rows[mode]) // 2]
        label = caps[mode] + (" (hwr's default)" if mode == "default" else "")
        print(f"| {label} | {page:.0f} | {ink:.1f} |")


if __name__ == "__main__":
    main()
