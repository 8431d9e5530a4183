"""How foreign each page reads to the decoder's LM: the figures behind
``hwr.pipeline.FOREIGN_PERPLEXITY``, the threshold above which ``recognize_page`` drops the
LM for a page.

For every real page of ../shared/data/pages (``Recognizer.page_log_probs`` and
``greedy_texts``, as ``recognize_page`` reads it before it chooses the decoder) and for the IAM-OnDB validation lines rendered to images, grouped into
pages of 12 lines (cached posteriors, ``_posteriors.py``), it prints the per-character
perplexity of the greedy text under the model's LM (and under ``--compare-lm``), per
collection and split (training pages / held-back pages: ``hwr.data.pages.split_pages``), and how
many pages each side of the threshold.  The training pages are biased low: the embedded image
model was trained on their lines, so it reads them better than a user's page.

    python benchmarks/foreign_pages.py [--model PATH] [--compare-lm OLD.arpa.gz] [--per-page]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from _data import SHARED
from _posteriors import validation_posteriors
from hwr.data.pages import find_pages, page_image_path, read_page, split_pages
from hwr.decoding.lm import CharNgramLM
from hwr.pipeline import FOREIGN_PERPLEXITY, Recognizer


def summary(name: str, values: list[float]) -> str:
    v = np.array([x for x in values if np.isfinite(x)])
    if not len(v):
        return f"{name:44} no pages"
    over = int((v > FOREIGN_PERPLEXITY).sum())
    return (f"{name:44}{len(v):>6}{v.min():>8.1f}{np.median(v):>8.1f}{v.max():>8.1f}"
            f"{over:>7} above {FOREIGN_PERPLEXITY:g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="image model (default: the embedded one)")
    ap.add_argument("--compare-lm", help="a second ARPA LM to score the same texts with")
    ap.add_argument("--per-page", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rec = Recognizer(args.model, kind="image")
    lms = {"model's LM": rec.decoder.lm}
    if args.compare_lm:
        lms[Path(args.compare_lm).name] = CharNgramLM.load(args.compare_lm)
    rows: dict[tuple[str, str], list[list[float]]] = {}

    def score(texts: list[str]) -> list[float]:
        if sum(len(t) for t in texts) < 20:  # recognize_page keeps the LM for so little text
            return [float("nan")] * len(lms)
        return [lm.perplexity(texts) for lm in lms.values()]

    pages = find_pages(SHARED / "pages")
    for coll, (train, held) in split_pages(pages).items():
        for split, xmls in (("training", train), ("held back", held)):
            for xml in xmls:
                s = score(rec.greedy_texts(rec.page_log_probs(page_image_path(read_page(xml)))[2]))
                rows.setdefault((coll, split), []).append(s)
                if args.per_page:
                    print(f"{coll[:20]:20} {split:9} {xml.stem[:44]:44} " + " ".join(f"{x:7.1f}" for x in s),
                          flush=True)
    sets, _ = validation_posteriors(args.model, "image")
    for ps in sets:
        for k in range(0, len(ps.log_probs) - 11, 12):
            rows.setdefault(("IAM-OnDB " + ps.name, "12-line pages"), []).append(
                score(rec.greedy_texts(ps.log_probs[k:k + 12])))
    for j, lm_name in enumerate(lms):
        print(f"\nper-character perplexity of the greedy page text under {lm_name}")
        print(f"{'pages':44}{'n':>6}{'min':>8}{'median':>8}{'max':>8}")
        for (coll, split), vals in rows.items():
            print(summary(f"{coll} ({split})", [v[j] for v in vals]))


if __name__ == "__main__":
    main()
