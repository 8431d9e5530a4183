"""How hwr reads its own samples in ``data/`` (made by ``tools/make_samples.py``).

Prints, for the page ``data/page.jpg`` against ``data/page.page.xml``: the lines that
``segment_page`` finds and how many match a ground-truth line (IoU >= 0.5, one to one,
as in ``benchmarks/segmentation.py``); the recognised page text and its CER / WER
against the ground truth (lines joined by newlines: a missed line counts as deleted
text); and the CER / WER of the image model on the ground-truth line polygons
(recognition alone, segmentation left out).  For each ``data/line*.inkml``: the ink
model's text and CER / WER against the transcription inside the file.

    python benchmarks/samples.py [--decoder greedy|beam] [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hwr.data.pages import crop_line, read_page  # noqa: E402
from hwr.imaging.load import load_image  # noqa: E402
from hwr.ink.io import load_ink  # noqa: E402
from hwr.pipeline import Recognizer  # noqa: E402
from hwr.segmentation import segment_page  # noqa: E402
from hwr.training.metrics import error_rates  # noqa: E402
from segmentation import match  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--decoder", choices=["greedy", "beam"], default=None,
                    help="CTC decoder (default: each model's tuned choice, beam search + LM)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    gt = read_page(args.data / "page.page.xml")
    image = args.data / gt.image
    ref_lines = [ln.text for ln in gt.lines]

    seg = segment_page(image)
    found = [ln.polygon for ln in seg.lines]
    tp = match(found, [ln.polygon for ln in gt.lines])
    print(f"segmentation: {len(found)} lines found, {len(gt.lines)} in the ground truth, "
          f"{tp} matched (IoU >= 0.5)")

    rec = Recognizer(kind="image", decoder=args.decoder)
    page = rec.recognize_page(image)
    hyp = "\n".join(ln.text for ln in page.lines)
    er = error_rates([("\n".join(ref_lines), hyp)])
    print(f"\npage text ({rec.decoder.settings.decoder}):\n{hyp}\n")
    print(f"page CER {100 * er.cer:.1f} %  WER {100 * er.wer:.1f} %  (segmentation + recognition)")

    gray = load_image(image)
    crops = [crop_line(gray, ln) for ln in gt.lines]
    res = rec.recognize_line_images(crops)
    er = error_rates(zip(ref_lines, (r.text for r in res)))
    for ref, r in zip(ref_lines, res):
        print(f"  {ref!r:48} -> {r.text!r}")
    print(f"ground-truth lines: CER {100 * er.cer:.1f} %  WER {100 * er.wer:.1f} %  (recognition alone)")

    ink_rec = Recognizer(kind="ink", decoder=args.decoder)
    pairs = []
    print()
    for path in sorted(args.data.glob("line*.inkml")):
        ink = load_ink(path)
        text = ink_rec.recognize_ink(ink).text
        pairs.append((ink.text or "", text))
        print(f"  {path.name}: {ink.text!r:48} -> {text!r}")
    er = error_rates(pairs)
    print(f"ink lines ({ink_rec.decoder.settings.decoder}): CER {100 * er.cer:.1f} %  WER {100 * er.wer:.1f} %")


if __name__ == "__main__":
    main()
