"""Weight averages ("model soups") of fine-tuned models, against the models themselves.

``hwr train --members N`` trains N fine-tunings of one base side by side and keeps the
average of their weights when it validates better (:mod:`hwr.training.members`).  This
script measures what averaging gives for models trained apart (say by ``hwr train --seed
1``, ``--seed 2`` ... on the two cores of a laptop, or on other machines): CER of every
model and of the average of every combination of two or more, on one line dataset, greedy
and with a decoder (by default the first model's own, e.g. beam search with its LM).

    python benchmarks/soups.py --data hooker-setaside-band.h5 A.safetensors B.safetensors [C ...]
        [--decoder beam|greedy] [--threads 1] [--keep DIR]

The models must be alike (architecture, alphabet, preprocessing) and should come from one
base model: averaging networks trained afresh gives nothing useful.  The averages are
written to a temporary folder (``--keep DIR`` keeps them there).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path, help="two or more fine-tuned models of one base")
    ap.add_argument("--data", required=True, type=Path, help="a line dataset (.h5 from hwr import)")
    ap.add_argument("--decoder", choices=["beam", "greedy"], help="default: the first model's own")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="write the averaged models into this folder")
    args = ap.parse_args()
    if len(args.models) < 2:
        sys.exit("give two or more models")
    import torch

    torch.set_num_threads(args.threads)
    from hwr.decoding.decoder import load_model_defaults
    from hwr.evaluation import evaluate_image_model
    from hwr.models.checkpoint import load_model, save_model
    from hwr.training.members import average_nets

    own = load_model_defaults(args.models[0])  # every model and average is read with this decoder
    options = {"lm": own.lm or "none", "lm_weight": own.lm_weight, "insertion_bonus": own.insertion_bonus,
               "beam_width": own.beam_width}
    decoder = args.decoder or own.decoder

    def cer(path: Path) -> tuple[float, float, int]:
        ev = evaluate_image_model(str(path), [args.data], decoder=decoder, greedy_too=True, **options)
        return 100 * ev.greedy.cer, 100 * ev.rates.cer, ev.rates.lines

    names = [p.stem for p in args.models]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        label = "greedy" if decoder == "greedy" else ("beam + " + Path(own.lm).name if own.lm else "beam, no LM")
        t0 = time.perf_counter()
        rows = []
        for name, path in zip(names, args.models):
            rows.append((name, *cer(path)))
            print(f"  {rows[-1][0]}: {rows[-1][1]:.2f} / {rows[-1][2]:.2f}", file=sys.stderr)
        singles = list(rows)
        for n in range(2, len(args.models) + 1):
            for combo in itertools.combinations(range(len(args.models)), n):
                loaded = [load_model(args.models[i]) for i in combo]
                net = average_nets([m for m, _ in loaded], [i for _, i in loaded])
                path = save_model(net, loaded[0][1], folder / f"average-{'-'.join(str(i + 1) for i in combo)}.safetensors")
                rows.append(("average of " + " + ".join(names[i] for i in combo), *cer(path)))
                print(f"  {rows[-1][0]}: {rows[-1][1]:.2f} / {rows[-1][2]:.2f}", file=sys.stderr)
        print(f"{args.data.name}: {rows[0][3]} lines; decoder: {label}"
              + (f" (weight {own.lm_weight:g}, bonus {own.insertion_bonus:g}, width {own.beam_width})"
                 if decoder == "beam" and own.lm else "") + f"; {time.perf_counter() - t0:.0f} s")
        print(f"| model | CER % greedy | CER % {label} |")
        print("| --- | --- | --- |")
        for name, g, d, _ in rows:
            print(f"| {name} | {g:.2f} | {d:.2f} |")
        mean = lambda vals: sum(vals) / len(vals)  # noqa: E731
        pairs = [r for r in rows[len(singles):] if r[0].count(" + ") == 1]
        print(f"| mean of the models | {mean([r[1] for r in singles]):.2f} | {mean([r[2] for r in singles]):.2f} |")
        print(f"| mean of the averages of two | {mean([r[1] for r in pairs]):.2f} | {mean([r[2] for r in pairs]):.2f} |")


if __name__ == "__main__":
    main()
