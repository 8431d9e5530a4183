"""CER, WER and decoding time of each decoder on the same posteriors.

The ink model runs once over the IAM-OnDB validation lines (testset_t and the
forms in no listed split; posteriors cached), then each decoder decodes the
same posteriors: greedy, beam search without LM, beam + LM, beam + LM +
lexicon, each with hwr's own implementation and (where it applies) the
flashlight-text backend.  Times are milliseconds per line of decoding alone,
one thread, on this machine.

    python benchmarks/decoding.py [--model PATH] [--limit N] [--lexicon WORDS.txt] [--lexicon-penalty -3]

The LM weight and insertion bonus are the model's tuned values
(``<model>.decoder.json``, see benchmarks/tune_decoder.py), tuned on testset_t
only: the unlisted forms are the fairer figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from _posteriors import validation_posteriors
from hwr.decoding import flashlight_backend
from hwr.decoding.decoder import Decoder, DecoderSettings, load_model_defaults
from hwr.training.metrics import ErrorRates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model (default: the embedded ink model)")
    ap.add_argument("--kind", choices=["ink", "image"], help="with no --model: the embedded model of this kind")
    ap.add_argument("--limit", type=int, help="first N lines of each set")
    ap.add_argument("--lexicon", help="word list for the lexicon rows (e.g. Debian's wamerican)")
    ap.add_argument("--lexicon-penalty", type=float, default=-3.0)
    ap.add_argument("--beam-width", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(1)

    sets, rec = validation_posteriors(args.model, args.kind)
    tuned = load_model_defaults(rec.model_path)
    if not tuned.lm:
        raise SystemExit(f"{rec.model_path} has no tuned LM settings: run benchmarks/tune_decoder.py --write")
    base = DecoderSettings(decoder="beam", beam_width=args.beam_width)
    with_lm = dataclasses.replace(base, lm=tuned.lm, lm_weight=tuned.lm_weight, insertion_bonus=tuned.insertion_bonus)
    rows = [("greedy", DecoderSettings())]
    backends = ["python"] + (["flashlight"] if flashlight_backend.available() else [])
    for b in backends:
        rows.append((f"beam ({b})", dataclasses.replace(base, backend=b)))
    # flashlight-text cannot add a positive character bonus: both backends once without it
    # (same search: compare their times), then the tuned setting (the default decoder)
    no_bonus = dataclasses.replace(with_lm, insertion_bonus=min(0.0, with_lm.insertion_bonus))
    if with_lm.insertion_bonus > 0:
        for b in backends:
            rows.append((f"beam+LM, no bonus ({b})", dataclasses.replace(no_bonus, backend=b)))
    rows.append(("beam+LM (tuned, default)", with_lm))
    if args.lexicon:
        rows.append(("beam+LM+lexicon", dataclasses.replace(
            with_lm, backend="python", lexicon=args.lexicon, lexicon_penalty=args.lexicon_penalty)))

    print(f"model {rec.model_path}; beam width {args.beam_width}; LM {tuned.lm} "
          f"(weight {tuned.lm_weight}, bonus {tuned.insertion_bonus})")
    if args.lexicon:
        print(f"lexicon {args.lexicon} (penalty {args.lexicon_penalty} per word outside it)")
    head = f"{'decoder':<30}" + "".join(f"{ps.name + ' CER':>18}{'WER':>7}" for ps in sets) + f"{'ms/line':>9}"
    print(head)
    greedy_cer = None
    for name, st in rows:
        dec = Decoder(rec.alphabet, st)
        cells = ""
        secs = lines = 0
        cers = []
        for ps in sets:
            n = len(ps.texts) if args.limit is None else min(args.limit, len(ps.texts))
            er = ErrorRates()
            t0 = time.perf_counter()
            hyps = [dec.decode(lp).text for lp in ps.log_probs[:n]]
            secs += time.perf_counter() - t0
            lines += n
            for ref, hyp in zip(ps.texts[:n], hyps):
                er.add(ref, hyp)
            cers.append(er.cer)
            cells += f"{100 * er.cer:>18.2f}{100 * er.wer:>7.2f}"
        print(f"{name:<30}{cells}{1000 * secs / lines:>9.1f}  {dec.backend}", flush=True)
        if greedy_cer is None:
            greedy_cer = cers
        elif name.startswith("beam+LM (tuned"):
            rel = ", ".join(f"{ps.name} {100 * (g - c) / g:.1f} %" for ps, g, c in zip(sets, greedy_cer, cers))
            print(f"{'':<30}relative CER reduction vs greedy: {rel}")


if __name__ == "__main__":
    main()
