"""CER/WER of an ink model on the IAM-OnDB validation lines (testset_t + unlisted forms),
with the model's default decoder (the embedded model: beam search + LM) or ``--decoder greedy``.

    python benchmarks/ink_accuracy.py [--model PATH] [--decoder greedy|beam] [--limit N]
"""

from __future__ import annotations

import argparse
import time

import torch

from _data import iam_ondb_validation
from hwr.evaluation import evaluate_ink_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model file (default: the embedded ink model)")
    ap.add_argument("--limit", type=int, help="first N lines of each set only")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--decoder", choices=["greedy", "beam"], help="default: the model's default decoder")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sets = iam_ondb_validation()
    print(f"{'set':<16}{'lines':>7}{'chars':>8}{'CER %':>8}{'WER %':>8}{'s':>7}")
    total = None
    for p in sets + [None]:
        t0 = time.perf_counter()
        if p is None:
            ev = evaluate_ink_model(args.model, sets, limit=args.limit, decoder=args.decoder)
            name = "all validation"
        else:
            ev = evaluate_ink_model(args.model, [p], limit=args.limit, decoder=args.decoder)
            name = p.stem
        er = ev.rates
        print(f"{name:<16}{er.lines:>7}{er.chars:>8}{100 * er.cer:>8.2f}{100 * er.wer:>8.2f}"
              f"{time.perf_counter() - t0:>7.1f}")
        total = ev
    print(f"model: {total.model}  decoder: {total.decoder}")


if __name__ == "__main__":
    main()
