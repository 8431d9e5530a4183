"""End to end on real pages: what `hwr recognize PAGE_IMAGE` reads, against the page's
ground-truth text, on the held-back pages of ../shared/data/pages (every 5th page of each
collection; neither the image model nor the segmenter was tuned on them).

Each page's text is its lines joined by newlines, in reading order.  Three readings of
the same page, per collection (CER/WER summed over the pages):

- ``hwr``: ``Recognizer.recognize_page`` (hwr's segmenter, stamps dropped by colour, each
  line cut out by its polygon and read by the image model), in hwr's reading order;
- ``hwr, GT order``: the same lines put in the ground truth's order (each line goes where
  the ground-truth line it overlaps most is; lines over none go last), which leaves out
  reading-order mistakes and keeps segmentation and recognition errors;
- ``hwr, polygons``: hwr's lines cut out by their whole polygons instead of their reading
  band (:mod:`hwr.segmentation.crops`), in hwr's order: what the band changes;
- ``GT lines``: the ground-truth line polygons cut out and read by the same model, i.e.
  recognition alone, with a perfect segmentation.

Lines the ground truth leaves out (stamps, clerks' notes, signatures on the wills) count as
insertions when hwr reads them.

    python benchmarks/page_text.py [--model PATH] [--decoder greedy|beam] [--bands 1|3] [--all] [--show N]

``--bands 3``: ``hwr`` and ``hwr, GT order`` read each found line cut by three bands
(``hwr recognize --bands 3``); the other two readings are unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from _data import SHARED
from segmentation import ious
from hwr.data.pages import PageLine, crop_line, find_pages, page_image_path, read_page, split_pages
from hwr.errors import InputError
from hwr.imaging.load import load_color, load_page
from hwr.training.metrics import ErrorRates

MODES = ("hwr", "hwr, GT order", "hwr, polygons", "GT lines")


def gt_order(pred_polys: list, gt_polys: list) -> list[int]:
    """Indices of the predicted lines sorted by the ground-truth line each overlaps most
    (then left to right); lines over no ground-truth line keep their order, at the end."""
    if not pred_polys:
        return []
    if not gt_polys:
        return list(range(len(pred_polys)))
    m = ious(pred_polys, gt_polys)
    keys = []
    for i, p in enumerate(pred_polys):
        j = int(m[i].argmax())
        x0 = float(np.min(np.asarray(p)[:, 0]))
        keys.append((j if m[i, j] > 0 else len(gt_polys), x0 if m[i, j] > 0 else i, i))
    return [k[2] for k in sorted(keys)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="image model (default: the embedded one)")
    ap.add_argument("--decoder", choices=["greedy", "beam"], help="default: the model's default decoder")
    ap.add_argument("--bands", type=int, default=1, help="hwr recognize --bands (1 to 3)")
    ap.add_argument("--all", action="store_true", help="all pages, not only the held-back ones")
    ap.add_argument("--train", action="store_true", help="only the training pages (the ones tuned on)")
    ap.add_argument("--show", type=int, default=0, help="print the texts of the first N pages")
    ap.add_argument("--per-page", action="store_true", help="print each page's figures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from hwr.pipeline import Recognizer

    folder = SHARED / "pages"
    if not folder.is_dir():
        sys.exit(f"pages not found at {folder}: set HWR_SHARED to the folder holding data/")
    rec = Recognizer(args.model, kind="image", decoder=args.decoder, bands=args.bands)
    print(f"model: {rec.model_path}\ndecoder: {rec.decoder.settings.decoder}"
          f"{' + LM' if rec.decoder.settings.lm and rec.decoder.settings.lm_weight > 0 else ''}, "
          f"found lines read by {args.bands} band(s)")
    split = split_pages(find_pages(folder))
    rates: dict[tuple[str, str], ErrorRates] = {}
    per_page: dict[tuple[str, str], list[float]] = {}
    secs: dict[str, list[float]] = {}
    nlines: dict[str, int] = {}
    shown = 0
    for coll, (train, val) in split.items():
        for xml in (train + val) if args.all else train if args.train else val:
            doc = read_page(xml)
            gt_lines = [ln for ln in doc.lines if ln.text.strip() and len(ln.polygon) >= 3]
            ref = "\n".join(ln.text.strip() for ln in gt_lines)
            nlines[coll] = nlines.get(coll, 0) + len(gt_lines)
            path = page_image_path(doc)
            t0 = time.perf_counter()
            gray = load_page(path)  # decoded once: read by recognize_page, then cut for the other readings
            page = rec.recognize_page(gray, name=str(path), color=load_color(path))
            secs.setdefault(coll, []).append(time.perf_counter() - t0)
            hyp = "\n".join(ln.text for ln in page.lines if ln.text)
            order = gt_order([ln.polygon for ln in page.lines], [ln.polygon for ln in gt_lines])
            hyp_gt = "\n".join(page.lines[i].text for i in order if page.lines[i].text)
            arrs = []
            for ln in page.lines:
                try:
                    arrs.append(rec.line_input(crop_line(gray, PageLine("l", list(ln.polygon), list(ln.baseline or [])))))
                except InputError:
                    pass
            lps = [rec.line_log_probs([a])[0] for a in arrs]  # each line alone (no batch padding)
            dec = rec.page_decoder(lps)  # the same choice of decoder as recognize_page makes
            hyp_whole = "\n".join(t for t in (dec.decode(lp).text for lp in lps) if t)
            crops, keep = [], []
            for ln in gt_lines:
                try:
                    crops.append(crop_line(gray, ln))
                    keep.append(ln)
                except InputError:
                    pass
            texts = {id(ln): r.text for ln, r in zip(keep, rec.recognize_line_images(crops))}
            hyp_oracle = "\n".join(texts.get(id(ln), "") for ln in gt_lines)
            for mode, h in zip(MODES, (hyp, hyp_gt, hyp_whole, hyp_oracle)):
                rates.setdefault((coll, mode), ErrorRates()).add(ref, h)
                one = ErrorRates()
                one.add(ref, h)
                per_page.setdefault((coll, mode), []).append(100 * one.cer)
            if args.per_page:
                one = [ErrorRates() for _ in MODES]
                for r, h in zip(one, (hyp, hyp_gt, hyp_whole, hyp_oracle)):
                    r.add(ref, h)
                print(f"{xml.stem:40} lines {len(gt_lines):3d} gt / {len(page.lines):3d} hwr  chars {len(ref):5d} gt /"
                      f" {len(hyp):5d} hwr  CER % " + " / ".join(f"{100 * r.cer:.1f}" for r in one), flush=True)
            if shown < args.show:
                shown += 1
                print(f"\n=== {xml.name}\n--- ground truth\n{ref}\n--- hwr recognize\n{hyp}\n")
    print(f"\n{'collection':24}{'pages':>6}{'GT lines':>9}  {'reading':16}{'CER %':>7}{'WER %':>7}"
          f"{'median page CER %':>19}{'s/page':>8}")
    for coll in split:
        for mode in MODES:
            r = rates.get((coll, mode))
            if r is None:
                continue
            s = f"{np.mean(secs[coll]):8.2f}" if mode == "hwr" else ""
            med = float(np.median(per_page[(coll, mode)]))
            print(f"{coll:24}{r.lines:>6}{nlines[coll]:>9}  {mode:16}{100 * r.cer:7.2f}{100 * r.wer:7.2f}{med:19.2f}{s}")
    print("(CER/WER: errors summed over the pages / ground-truth characters or words; median page CER: the\n"
          " middle page's own CER, which one page read upside down cannot move; s/page: hwr recognize_page,\n"
          " segmentation and recognition, one thread)")


if __name__ == "__main__":
    main()
