"""Pages photographed on a table: what flattening the sheet first (hwr.imaging.paper) is worth.

No photographs of handwritten pages with a ground truth are at hand, so this script takes pages
that have one and photographs them itself: each page, in colour, is warped as a camera held at
an angle sees it (its four corners moved inwards by 4-16 % of the frame, each at random),
laid on a dark, grainy table of a random brown or grey, lit unevenly (a gradient across the
frame, darkest at 0.6-0.8 of the brightest), blurred a little (sigma 0.8 px) and saved as a
JPEG (quality 85).  With ``--shadow`` each also has a shadow across it, as a phone or a hand
casts one: a half-plane through the middle part of the frame at a random angle, darkened by
40-60 %, its edge soft over 1 % of the frame; and the page itself, filling the frame, is read
with such a shadow across it too (its own random draws, so the photographs stay the same).
Each photograph is read as ``hwr recognize`` reads it, with the sheet flattened first (the
default) and as it is (``--no-paper``), and each page itself both ways too (flattening must
not touch a scan).  Text: the page's lines joined by newlines in reading
order, against the ground truth's (CER summed over the pages).

The pages: the bundled sample letter (``data/page.jpg``, its text ``data/page.gt.txt``) and,
when ``../shared/data/pages`` is there, the held-back pages of both collections (every 5th,
``hwr.data.pages.split_pages``).  One thread, the embedded image model and its decoder.

    python benchmarks/photo_pages.py [--views 3] [--seed 0] [--limit N] [--shadow] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from _data import SHARED
from hwr.data.pages import find_pages, page_image_path, read_page, split_pages
from hwr.imaging.paper import find_paper
from hwr.training.metrics import ErrorRates

REPO = Path(__file__).resolve().parents[1]
READINGS = ("page, as it is", "page, default", "photo, as it is (--no-paper)", "photo, flattened (default)")
#: a sheet found with its corners within this share of the photograph's diagonal is the sheet
RIGHT = 0.03
SHADED = "page in shadow, default"
SHORT = ("page", "page default", "photo", "photo flattened", "page in shadow")  # the same, in the per-page lines


def photograph(page: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A colour ``page`` seen at an angle on a table (see the module's docstring); returns the
    photograph and the sheet's corners in it."""
    h, w = page.shape[:2]
    W, H = int(w * 1.25), int(h * 1.2)
    inset = rng.uniform(0.04, 0.16, (4, 2))
    corners = np.array([[inset[0, 0], inset[0, 1]], [1 - inset[1, 0], inset[1, 1]],
                        [1 - inset[2, 0], 1 - inset[2, 1]], [inset[3, 0], 1 - inset[3, 1]]]) * [W, H]
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(corners))
    sheet = cv2.warpPerspective(page, M, (W, H), flags=cv2.INTER_LINEAR)
    on = cv2.warpPerspective(np.full((h, w), 255, np.uint8), M, (W, H)) > 127
    brown = rng.uniform(0, 1) < 0.5
    base = np.array([45, 65, 95] if brown else [70, 70, 70], np.float64) * rng.uniform(0.7, 1.2)
    table = base[None, None, :] + rng.normal(0, 8, (H, W, 1))
    out = np.where(on[..., None], sheet.astype(np.float64), table)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:H, 0:W]
    g = (np.cos(angle) * xx / W + np.sin(angle) * yy / H)
    g = (g - g.min()) / max(1e-9, g.max() - g.min())
    out *= (rng.uniform(0.6, 0.8) + (1 - rng.uniform(0.6, 0.8)) * g)[..., None]
    out = cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (0, 0), 0.8)
    return out, corners


def shadow(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``photo`` with a shadow across it (see the module's docstring)."""
    H, W = photo.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:H, 0:W]
    d = np.cos(angle) * (xx - W * rng.uniform(0.3, 0.7)) + np.sin(angle) * (yy - H * rng.uniform(0.3, 0.7))
    soft = 1.0 / (1.0 + np.exp(-d / (0.01 * max(H, W))))
    return np.clip(photo * (1.0 - rng.uniform(0.4, 0.6) * soft)[..., None], 0, 255).astype(np.uint8)


def pages_with_text() -> list[tuple[str, Path, str]]:
    out = [("sample", REPO / "data" / "page.jpg", (REPO / "data" / "page.gt.txt").read_text(encoding="utf-8").strip())]
    folder = SHARED / "pages"
    if folder.is_dir():
        for coll, (_, val) in split_pages(find_pages(folder)).items():
            for xml in val:
                doc = read_page(xml)
                ref = "\n".join(ln.text.strip() for ln in doc.lines if ln.text.strip() and len(ln.polygon) >= 3)
                out.append((coll, page_image_path(doc), ref))
    else:
        print(f"(no pages at {folder}: the sample letter alone)", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=3, help="photographs of each page (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="at most N pages of each collection (0: all)")
    ap.add_argument("--shadow", action="store_true", help="a shadow across each photograph")
    ap.add_argument("--keep", type=Path, help="keep the photographs in this folder")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from hwr.pipeline import Recognizer

    flat_rec = Recognizer(kind="image")
    raw_rec = Recognizer(kind="image", paper=False)
    rng = np.random.default_rng(args.seed)
    shade_rng = np.random.default_rng(args.seed + 1)  # the photographs stay the same with --shadow
    rates: dict[tuple[str, str], ErrorRates] = {}
    found: dict[str, list[float]] = {}
    secs: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="hwr-photos-"))
    tmp.mkdir(parents=True, exist_ok=True)
    for coll, path, ref in pages_with_text():
        counts[coll] = counts.get(coll, 0) + 1
        if args.limit and counts[coll] > args.limit:
            continue
        for reading, rec in zip(READINGS[:2], (raw_rec, flat_rec)):
            text = "\n".join(ln.text for ln in rec.recognize_page(path).lines if ln.text)
            rates.setdefault((coll, reading), ErrorRates()).add(ref, text)
        page = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if args.shadow:  # the page itself, filling the frame, a shadow across it (its own draws)
            shot = tmp / f"{coll}--{path.stem}--shaded.jpg"
            cv2.imwrite(str(shot), shadow(page, shade_rng), [cv2.IMWRITE_JPEG_QUALITY, 85])
            text = "\n".join(ln.text for ln in flat_rec.recognize_page(shot).lines if ln.text)
            rates.setdefault((coll, SHADED), ErrorRates()).add(ref, text)
            if not args.keep:
                shot.unlink()
        for v in range(args.views):
            photo, corners = photograph(page, rng)
            if args.shadow:
                photo = shadow(photo, rng)
            shot = tmp / f"{coll}--{path.stem}--{v}.jpg"
            cv2.imwrite(str(shot), photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
            gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
            t = time.perf_counter()
            sheet = find_paper(gray)
            if sheet is not None:
                sheet.warp(gray)
            secs.setdefault(coll, []).append(time.perf_counter() - t)
            err = (np.abs(sheet.quad - corners).max() / np.hypot(*gray.shape)) if sheet is not None else np.inf
            found.setdefault(coll, []).append(err)
            for reading, rec in zip(READINGS[2:], (raw_rec, flat_rec)):
                text = "\n".join(ln.text for ln in rec.recognize_page(shot).lines if ln.text)
                rates.setdefault((coll, reading), ErrorRates()).add(ref, text)
            if not args.keep:
                shot.unlink()
        print(f"{coll} {path.stem} (CER % so far): " + "  ".join(
            f"{s} {100 * rates[(coll, r)].cer:.1f}" for s, r in zip(SHORT, READINGS + (SHADED,)) if (coll, r) in rates),
            file=sys.stderr, flush=True)
    if not args.keep:
        tmp.rmdir()
    print(f"\n{'pages':24}{'n':>4}  {'reading':32}{'CER %':>7}{'WER %':>7}")
    for coll in counts:
        n = min(counts[coll], args.limit or counts[coll])
        for reading in READINGS + (SHADED,):
            if (coll, reading) not in rates:
                continue
            r = rates[(coll, reading)]
            print(f"{coll:24}{n if reading.startswith('page') else n * args.views:4d}  {reading:32}"
                  f"{100 * r.cer:7.2f}{100 * r.wer:7.2f}")
        if coll not in found:
            continue
        errs = np.array(found[coll])
        ok = np.isfinite(errs)
        right = errs <= RIGHT
        print(f"{'':28}sheet found in {ok.sum()} of {len(errs)} photographs, its corners within "
              f"{100 * RIGHT:.0f} % of the diagonal in {right.sum()} (at most "
              f"{100 * errs[right].max() if right.any() else float('nan'):.2f} % off there); "
              f"finding and flattening: {1000 * np.mean(secs[coll]):.0f} ms a photograph")


if __name__ == "__main__":
    main()
