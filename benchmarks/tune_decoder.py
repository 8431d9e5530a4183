"""Tune the beam decoder's LM weight and insertion bonus, fit confidence calibrations.

Tuning uses IAM-OnDB ``testset_t`` only (``iam-val``; rendered to images for an
image model, one fixed rendering per line); the forms in no listed
split (``iam-unlisted``) stay untouched, and the figures printed for them show
whether the tuning carries over.  Calibrations (raw line confidence ->
expected character accuracy) are fitted on ``iam-val`` too, and their
reliability tables printed on ``iam-unlisted``.

    python benchmarks/tune_decoder.py [--model PATH | --kind image] [--lm PATH] [--limit 600]
        [--rescore-lm PATH [--rescore-weights 0,0.2,...]] [--write]

``--rescore-lm``: the character LSTM LM that rescores the n best readings
(:mod:`hwr.decoding.neural_lm`).  After the LM weight and bonus are chosen, the
search is run once per LM weight of a smaller grid around them, keeping every
reading in its beam, and the readings are re-ranked for every bonus and rescoring
weight (the rescoring LM scores each distinct reading once); weight 0 is the
search without it, so the table shows what rescoring gains at each setting.

``--write`` stores the result as ``<model>.decoder.json`` beside the model
(for the embedded model: ``hwr/models_data/ink_default.decoder.json``).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from _posteriors import validation_posteriors
from hwr.decoding.calibration import Calibration, reliability_table
from hwr.decoding.decoder import Decoder, DecoderSettings, save_model_defaults
from hwr.pipeline import MODELS_DIR
from hwr.training.metrics import ErrorRates


def run(dec: Decoder, ps, limit: int | None = None):
    er = ErrorRates()
    raws, accs, lens = [], [], []
    t0 = time.perf_counter()
    n = len(ps.texts) if limit is None else min(limit, len(ps.texts))
    for lp, ref in zip(ps.log_probs[:n], ps.texts[:n]):
        res = dec.decode(lp)
        one = ErrorRates()
        one.add(ref, res.text)
        er.add(ref, res.text)
        raws.append(res.raw_confidence)
        accs.append(max(0.0, 1.0 - one.cer))
        lens.append(max(1, len(ref)))
    ms = (time.perf_counter() - t0) / max(1, n) * 1000
    return er, np.array(raws), np.array(accs), np.array(lens), ms


def rescore_grid(rec, val, args, w: float, b: float) -> tuple[float, float, float]:
    """The best (LM weight, bonus, rescoring weight) on the first ``--limit`` lines of ``val``,
    with a table of the CERs: one search per LM weight around ``w`` (every beam reading kept),
    re-ranked for each bonus around ``b`` and each rescoring weight."""
    from hwr.decoding.neural_lm import NeuralLM

    nlm = NeuralLM.load(args.rescore_lm)
    n = min(args.limit, len(val.texts))
    lm_weights = sorted({round(w * f, 3) for f in (0.5, 0.75, 1.0)})
    bonuses = sorted({b, b + 0.5, b + 1.0, max(0.0, b - 0.5)})
    rws = [float(x) for x in args.rescore_weights.split(",")]
    cache: dict[str, float] = {}
    print(f"\nrescored by {args.rescore_lm} ({n} lines):")
    print(f"{'weight':>7}{'bonus':>7}{'rescore':>9}{'CER %':>8}{'WER %':>8}")
    best = None
    for lw in lm_weights:
        dec = Decoder(rec.alphabet, DecoderSettings(decoder="beam", beam_width=args.beam_width, lm=args.lm,
                                                    lm_weight=lw, insertion_bonus=b, nbest=args.beam_width,
                                                    backend=args.backend))
        found = [dec.search(lp) for lp in val.log_probs[:n]]
        texts = sorted({h.text for hyps in found for h in hyps} - set(cache))
        cache.update(zip(texts, nlm.score(texts).tolist()))
        for bb, r in itertools.product(bonuses, rws):
            er = ErrorRates()
            for hyps, ref in zip(found, val.texts[:n]):
                top = max(hyps, key=lambda h: h.am_score + lw * h.lm_score + bb * len(h.labels) + r * cache[h.text],
                          default=None)
                er.add(ref, top.text if top else "")
            print(f"{lw:>7.2f}{bb:>7.2f}{r:>9.2f}{100 * er.cer:>8.2f}{100 * er.wer:>8.2f}", flush=True)
            if best is None or er.cer < best[0] - 1e-9:
                best = (er.cer, lw, bb, r)
    return best[1], best[2], best[3]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model (default: the embedded ink model)")
    ap.add_argument("--kind", choices=["ink", "image"], help="with no --model: the embedded model of this kind")
    ap.add_argument("--lm", default=str(MODELS_DIR / "lm_en.arpa.gz"), help="ARPA character LM")
    ap.add_argument("--limit", type=int, default=600, help="iam-val lines used for the grid search")
    ap.add_argument("--weights", default="0.3,0.5,0.7,0.9,1.1")
    ap.add_argument("--bonuses", default="0,0.5,1,1.5,2,3")
    ap.add_argument("--beam-width", type=int, default=16)
    ap.add_argument("--backend", default="auto", choices=["auto", "python", "flashlight"])
    ap.add_argument("--rescore-lm", help="character LSTM LM that rescores the n best (.safetensors)")
    ap.add_argument("--rescore-weights", default="0,0.1,0.2,0.3,0.4,0.5,0.6,0.8")
    ap.add_argument("--write", action="store_true", help="write <model>.decoder.json")
    args = ap.parse_args()

    sets, rec = validation_posteriors(args.model, args.kind)
    val, held = sets[0], sets[1]
    print(f"model {rec.model_path}\nLM    {args.lm}\ngrid search on the first {args.limit} lines of {val.name}:")
    print(f"{'weight':>7}{'bonus':>7}{'CER %':>8}{'WER %':>8}")
    best = None
    for w, b in itertools.product([float(x) for x in args.weights.split(",")],
                                  [float(x) for x in args.bonuses.split(",")]):
        dec = Decoder(rec.alphabet, DecoderSettings(decoder="beam", beam_width=args.beam_width, lm=args.lm,
                                                    lm_weight=w, insertion_bonus=b,
                                                    backend=args.backend))
        er = run(dec, val, args.limit)[0]
        print(f"{w:>7.2f}{b:>7.2f}{100 * er.cer:>8.2f}{100 * er.wer:>8.2f}", flush=True)
        if best is None or er.cer < best[0]:
            best = (er.cer, w, b)
    _, w, b = best
    print(f"best: lm_weight {w}, insertion_bonus {b}")
    rw = 0.0
    if args.rescore_lm:
        w, b, rw = rescore_grid(rec, val, args, w, b)
        print(f"best with rescoring: lm_weight {w}, insertion_bonus {b}, rescore_weight {rw}")

    modes = {"greedy": DecoderSettings(),
             "beam": DecoderSettings(decoder="beam", beam_width=args.beam_width),
             "beam+lm": DecoderSettings(decoder="beam", beam_width=args.beam_width, lm=args.lm, lm_weight=w,
                                        insertion_bonus=b, rescore_lm=args.rescore_lm if rw > 0 else None,
                                        rescore_weight=rw)}
    cals = {}
    rates = {}
    for mode, st in modes.items():
        dec = Decoder(rec.alphabet, st)
        er_v, raw_v, acc_v, len_v, _ = run(dec, val)
        cal = Calibration.fit(raw_v, acc_v, len_v, fitted_on=f"IAM-OnDB {val.name} ({len(raw_v)} lines), {mode}")
        cals[mode] = cal
        er_h, raw_h, acc_h, len_h, ms = run(dec, held)
        rates[mode] = (er_v, er_h, ms)
        print(f"\nreliability on {held.name} ({len(raw_h)} lines, weighted by characters), {mode}:")
        print(f"{'calibrated confidence':>22}{'lines':>7}{'mean':>8}{'accuracy':>10}")
        cal_h = np.array([cal(r) for r in raw_h])
        rows_raw = reliability_table(raw_h, acc_h, len_h)
        rows_cal = reliability_table(cal_h, acc_h, len_h)
        for r in rows_cal[:-1]:
            print(f"{r['bucket']:>22}{r['lines']:>7}{r['confidence']:>8.3f}{r['accuracy']:>10.3f}")
        print(f"expected calibration error: raw {rows_raw[-1]['ece']:.3f}, calibrated {rows_cal[-1]['ece']:.3f}")

    print(f"\n{'decoder':<10}{val.name + ' CER':>16}{'WER':>7}{held.name + ' CER':>20}{'WER':>7}{'ms/line':>9}")
    for mode, (ev, eh, ms) in rates.items():
        print(f"{mode:<10}{100 * ev.cer:>16.2f}{100 * ev.wer:>7.2f}{100 * eh.cer:>20.2f}{100 * eh.wer:>7.2f}{ms:>9.1f}")
    g, lmv = rates["greedy"][1].cer, rates["beam+lm"][1].cer
    print(f"relative CER reduction from the LM on {held.name}: {100 * (g - lmv) / g:.1f} %")

    if args.write:
        st = modes["beam+lm"]
        st.calibrations = cals
        default = "beam" if rates["beam+lm"][0].cer < rates["greedy"][0].cer else "greedy"
        p = save_model_defaults(rec.model_path, st, default, extra={
            "tuned_on": f"IAM-OnDB {val.name}, first {args.limit} lines (LM weight, bonus); all lines (calibration)"})
        print(f"wrote {p}")


if __name__ == "__main__":
    main()
