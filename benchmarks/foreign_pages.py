"""How foreign each page reads to the decoder's LM: the figures behind
``hwr.pipeline.FOREIGN_PERPLEXITY``, the threshold above which ``recognize_page`` drops the
LM for a page.

For every real page of ../shared/data/pages (hwr's segmenter, each found line cut by its
reading band and read greedily by the image model, as ``recognize_page`` does before it
chooses the decoder) and for the IAM-OnDB validation lines rendered to images, grouped into
pages of 12 lines (cached posteriors, ``_posteriors.py``), it prints the per-character
perplexity of the greedy text under the model's LM (and under ``--compare-lm``), per
collection and split (training pages / held-back pages, every 5th page by name), and how
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
from hwr.decoding.greedy import greedy_decode
from hwr.decoding.lm import CharNgramLM
from hwr.errors import InputError
from hwr.pipeline import FOREIGN_PERPLEXITY, Recognizer


def page_texts(rec: Recognizer, image: Path) -> list[str]:
    """The greedy reading of a page's found lines, as recognize_page makes it."""
    from hwr.imaging.load import load_color
    from hwr.segmentation import segment_page
    from hwr.segmentation.crops import cut_line, line_spacings
    from hwr.segmentation.preprocess import load_gray

    gray = load_gray(str(image), image.name)
    page = segment_page(gray, name=image.name, color=load_color(str(image)))
    spacings = line_spacings(page.lines)
    inputs = []
    for i, ln in enumerate(page.lines):
        try:
            inputs.append(rec.line_input(cut_line(gray, ln, spacings[i], f"l{i}"), f"line {i + 1}"))
        except InputError:
            pass
    texts = (greedy_decode(lp, rec.alphabet).text for lp in rec.line_log_probs(inputs))
    return [t for t in texts if t.strip()]


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

    for coll in sorted(p for p in (SHARED / "pages").iterdir() if p.is_dir()):
        for k, img in enumerate(sorted(coll.rglob("*.jpg"))):
            split = "held back" if k % 5 == 4 else "training"
            s = score(page_texts(rec, img))
            rows.setdefault((coll.name, split), []).append(s)
            if args.per_page:
                print(f"{coll.name[:20]:20} {split:9} {img.stem[:44]:44} " + " ".join(f"{x:7.1f}" for x in s),
                      flush=True)
    sets, _ = validation_posteriors(args.model, "image")
    for ps in sets:
        texts = [greedy_decode(lp, rec.alphabet).text for lp in ps.log_probs]
        for k in range(0, len(texts) - 11, 12):
            rows.setdefault(("IAM-OnDB " + ps.name, "12-line pages"), []).append(
                score([t for t in texts[k:k + 12] if t.strip()]))
    for j, lm_name in enumerate(lms):
        print(f"\nper-character perplexity of the greedy page text under {lm_name}")
        print(f"{'pages':44}{'n':>6}{'min':>8}{'median':>8}{'max':>8}")
        for (coll, split), vals in rows.items():
            print(summary(f"{coll} ({split})", [v[j] for v in vals]))


if __name__ == "__main__":
    main()
