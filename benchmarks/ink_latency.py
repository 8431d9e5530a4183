"""Latency of recognising one typical ink line (~40 characters) at batch 1, and the effect
of torch's thread count; throughput in batches.

    python benchmarks/ink_latency.py [--model PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from _timing import median_ms
from _data import iam_ondb_validation
from hwr.data.inkset import InkSet
from hwr.pipeline import Recognizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--decoder", choices=["greedy", "beam"], help="default: the model's default decoder")
    args = ap.parse_args()
    ds = InkSet(iam_ondb_validation()[0])
    # the lines of 38-42 characters: "a typical line"
    idx = [i for i, t in enumerate(ds.texts) if 38 <= len(t) <= 42][:20]
    inks = [ds[i] for i in idx]
    rec = Recognizer(args.model, device="cpu", decoder=args.decoder)
    print(f"model: {rec.model_path}; decoder: {rec.decoder.describe()}")
    print(f"lines: {len(inks)} of 38-42 characters, mean {sum(i.num_points for i in inks) / len(inks):.0f} points")
    t_feat = statistics.median(median_ms(lambda i=i: rec.features(i), args.repeat, warmup=2) for i in inks[:5])
    print(f"features (normalise + resample): {t_feat:.2f} ms/line")
    print(f"{'threads':>8}{'ms/line batch 1':>18}{'lines/s batch 32':>18}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        ms = statistics.median(median_ms(lambda i=i: rec.recognize_ink(i), args.repeat, warmup=2) for i in inks[:8])
        batch = [ds[i] for i in range(64)]
        t0 = time.perf_counter()
        rec.recognize_inks(batch, batch_size=32)
        lps = len(batch) / (time.perf_counter() - t0)
        print(f"{threads:>8}{ms:>18.2f}{lps:>18.1f}")


if __name__ == "__main__":
    main()
