"""What reading with several image models at once would give: their per-frame character
probabilities averaged before decoding (a posterior ensemble), against each model alone.

Fine-tunings of one base model with other seeds make different mistakes; ``hwr train
--members`` averages their *weights* into one network. This script measures the other way,
averaging their *outputs* (which costs one network pass per model when reading), so the two
can be compared on the same lines.  Every model must share the alphabet and preprocessing
(fine-tunings of one base do).  All are decoded greedily and with one beam search + LM
(``--decoder-of``'s, by default image_default's: the decoder fine-tunings inherit).

    python benchmarks/ensemble.py --data hooker-setaside-band.h5 A.safetensors B.safetensors [C ...]
        [--decoder-of MODEL] [--threads 1]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="two or more image models (files or embedded names)")
    ap.add_argument("--data", required=True, type=Path, help="a line dataset (.h5 from hwr import)")
    ap.add_argument("--decoder-of", default="image_default",
                    help="decode with this model's beam search and LM (default: image_default)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if len(args.models) < 2:
        ap.error("an ensemble needs two models or more")
    import torch
    from rapidfuzz.distance import Levenshtein

    from hwr.decoding.decoder import load_model_defaults
    from hwr.decoding.greedy import greedy_decode
    from hwr.evaluation import image_line_posteriors
    from hwr.pipeline import Recognizer, resolve_model

    torch.set_num_threads(args.threads)
    st = load_model_defaults(resolve_model(args.decoder_of, "image"))
    if not st.lm:
        raise SystemExit(f"{args.decoder_of} has no beam search + LM to decode with")
    recs = [Recognizer(m, kind="image", decoder="beam", lm=st.lm, lm_weight=st.lm_weight,
                       insertion_bonus=st.insertion_bonus, beam_width=st.beam_width) for m in args.models]
    first = recs[0]
    for m, r in zip(args.models[1:], recs[1:]):
        if r.alphabet.chars != first.alphabet.chars or r.preprocessing != first.preprocessing:
            raise SystemExit(f"{m}: another alphabet or preprocessing than {args.models[0]}'s; "
                             "only fine-tunings of one base can be averaged frame by frame")
    names = [Path(m).name for m in args.models] + ["ensemble, mean of log-probabilities",
                                                   "ensemble, mean of probabilities"]
    errors = [[0, 0] for _ in names]  # greedy, beam + LM, per row (a model may be named twice)
    chars = lines = 0
    # every model reads the same lines in the same order
    for outs in zip(*(image_line_posteriors(r, args.data) for r in recs)):
        ref = outs[0][1]
        chars += len(ref)
        lines += 1
        lps = [torch.as_tensor(lp) for _, _, lp in outs]
        stack = torch.stack(lps)
        logmean = stack.mean(0)
        logmean = logmean - torch.logsumexp(logmean, -1, keepdim=True)  # renormalised geometric mean
        probmean = torch.logsumexp(stack, 0) - math.log(len(lps))
        for e, lp in zip(errors, lps + [logmean, probmean]):
            lp = lp.numpy()
            e[0] += Levenshtein.distance(ref, greedy_decode(lp, first.alphabet).text)
            e[1] += Levenshtein.distance(ref, first.decoder.decode(lp).text)
    print(f"data     {args.data}: {lines} lines, {chars} characters")
    print(f"decoder  beam width {st.beam_width}, {Path(st.lm).name} weight {st.lm_weight:g}, "
          f"bonus {st.insertion_bonus:g} (from {args.decoder_of}); CER %, greedy / beam + LM")
    width = max(len(n) for n in names)
    for n, e in zip(names, errors):
        g, b = (100 * x / max(chars, 1) for x in e)
        print(f"  {n:<{width}}  {g:6.2f} / {b:6.2f}")


if __name__ == "__main__":
    main()
