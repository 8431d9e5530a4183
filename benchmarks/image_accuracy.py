"""Accuracy of an image line model: CER/WER on IAM-OnDB validation lines rendered
to images (testset_t and the unlisted forms; one fixed seeded rendering per line, as in
training validation) and on the line crops of the held-back real pages, per collection,
with the model's default decoder or ``--decoder greedy|beam``.

    python benchmarks/image_accuracy.py [--model PATH] [--decoder greedy|beam] [--limit N]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from _data import iam_ondb_validation, pages_validation
from hwr.evaluation import evaluate_image_model
from hwr.models.checkpoint import read_info
from hwr.training.metrics import ErrorRates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="image model (default: the embedded one)")
    ap.add_argument("--decoder", choices=["greedy", "beam"], help="default: the model's default decoder")
    ap.add_argument("--limit", type=int, help="only the first N lines of each set")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from hwr.pipeline import resolve_model

    args.model = str(resolve_model(args.model, "image"))
    info = read_info(args.model)
    height = int(info.preprocessing["height"])
    print(f"model: {args.model} ({info.arch}, height {height}, {len(info.alphabet)} characters)")
    print(f"{'set':34}{'lines':>7}{'CER %':>8}{'WER %':>8}{'s':>7}")
    sets = [(p.stem + " (rendered)", p) for p in iam_ondb_validation()] + [("pages held back", pages_validation(height))]
    iam = []
    for name, path in sets:
        t0 = time.perf_counter()
        ev = evaluate_image_model(args.model, [path], limit=args.limit, decoder=args.decoder)
        secs = time.perf_counter() - t0
        r = ev.rates
        print(f"{name:34}{r.lines:>7}{100 * r.cer:>8.2f}{100 * r.wer:>8.2f}{secs:>7.0f}")
        if name.startswith("iam"):
            iam.append(dataclasses.astuple(r))
            if len(iam) == 2:  # both IAM-OnDB sets read: the figure the project's aim is about
                a = ErrorRates(*map(sum, zip(*iam)))
                print(f"{'  all IAM-OnDB validation':34}{a.lines:>7}{100 * a.cer:>8.2f}{100 * a.wer:>8.2f}")
        if name.startswith("pages"):
            decoder = ev.decoder
            for coll, g in sorted(ev.groups.items()):
                print(f"  {coll:32}{g.lines:>7}{100 * g.cer:>8.2f}{100 * g.wer:>8.2f}")
    print(f"decoder: {decoder}")


if __name__ == "__main__":
    main()
