"""CER of image models on a line dataset, page by page, all read with one decoder.

Which pages a change helps says more than one figure: a fine-tuning with ``--augment page``
(another line showing through, mirrored) should help the pages whose back shows through and
leave the others as they were.  Every model is read greedily and with one beam search + LM
for all (by default ``--decoder-of image_default``'s: the decoder a fine-tuning of it
inherits), so the figures compare the networks, not the decoders ``hwr train`` chose.

    python benchmarks/page_errors.py --data hooker-setaside-band.h5 A.safetensors [B ...]
        [--decoder-of MODEL] [--threads 1]
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="image models (files or embedded names)")
    ap.add_argument("--data", required=True, type=Path, help="a line dataset (.h5 from hwr import)")
    ap.add_argument("--decoder-of", default="image_default",
                    help="read every model with this model's beam search and LM (default: image_default)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch
    from rapidfuzz.distance import Levenshtein

    from hwr.data.lineset import LineSet
    from hwr.decoding.decoder import load_model_defaults
    from hwr.evaluation import evaluate_image_model
    from hwr.pipeline import resolve_model

    torch.set_num_threads(args.threads)
    st = load_model_defaults(resolve_model(args.decoder_of, "image"))
    if not st.lm:
        raise SystemExit(f"{args.decoder_of} has no beam search + LM to read with")
    options = dict(decoder="beam", lm=st.lm, lm_weight=st.lm_weight, insertion_bonus=st.insertion_bonus,
                   beam_width=st.beam_width)
    lines = LineSet(args.data)
    lines.load_all()
    pages = [Path(s).stem for s in lines.sources]
    names = sorted(set(pages))
    print(f"data     {args.data}: {len(pages)} lines of {len(names)} pages")
    print(f"decoder  beam width {st.beam_width}, {Path(st.lm).name} weight {st.lm_weight:g}, "
          f"bonus {st.insertion_bonus:g} (from {args.decoder_of}); CER %, greedy / beam + LM")
    width = max(len(n) for n in names)
    for model in args.models:
        ev = evaluate_image_model(model, [args.data], greedy_too=True, **options)
        chars = collections.Counter()
        errs = {"greedy": collections.Counter(), "beam": collections.Counter()}
        for page, (ref, hyp), (_, ghyp) in zip(pages, ev.pairs, ev.greedy_pairs):
            chars[page] += len(ref)
            errs["beam"][page] += Levenshtein.distance(ref, hyp)
            errs["greedy"][page] += Levenshtein.distance(ref, ghyp)
        for c in (chars, *errs.values()):
            c["all"] = sum(c.values())
        print(f"\n{model}")
        for n in names + ["all"]:
            cer = {d: 100 * e[n] / max(chars[n], 1) for d, e in errs.items()}
            print(f"  {n:<{width}}  {chars[n]:5d} chars  {cer['greedy']:6.2f} / {cer['beam']:6.2f}")


if __name__ == "__main__":
    main()
