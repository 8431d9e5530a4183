"""Line segmentation accuracy and speed on the real pages of ../shared/data/pages.

A predicted line matches a ground-truth line when their polygons overlap by IoU >= 0.5,
one to one (greedy by decreasing IoU); precision, recall and F1 are summed over pages
(micro), per collection and overall, for all pages and for the held-back pages (every
5th page per collection, ``hwr.data.pages.split_pages``).  Seconds per page are wall
time of ``segment_page`` (loading included) on one thread.

    python benchmarks/segmentation.py [--pages DIR] [--methods smear,strips] [--overlays DIR] [--kraken] [--rules]

``--rules`` also scores each method without the line verifier (``hwr.segmentation.verify``),
with the scrap rules alone, in the same run.

``--kraken`` also scores kraken's ``blla`` segmenter (``kraken -i IMG OUT.json segment -bl``,
one thread; its outputs and times are cached).  kraken is not a dependency of hwr: the script
installs it on first use into a venv of its own (``$HWR_BENCH_CACHE/kraken-7.1.1``,
:mod:`_kraken`), or uses the venv ``$HWR_KRAKEN_VENV`` names; when it cannot be installed,
kraken is skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwr.data.pages import find_pages, page_image_path, read_page, split_pages  # noqa: E402

DEFAULT_PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "pages"
SCALE = 0.25  # masks are rasterised at this scale for IoU


def _mask(poly, shape) -> tuple[np.ndarray, tuple[int, int]]:
    p = np.asarray(poly, np.float64) * SCALE
    x0, y0 = np.floor(p.min(0)).astype(int)
    x1, y1 = np.ceil(p.max(0)).astype(int) + 1
    m = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(m, [np.rint(p - (x0, y0)).astype(np.int32).reshape(-1, 1, 2)], 1)
    return m, (x0, y0)


def ious(pred: list, gt: list) -> np.ndarray:
    out = np.zeros((len(pred), len(gt)))
    pm = [_mask(p, None) for p in pred]
    gm = [_mask(g, None) for g in gt]
    for i, (a, (ax, ay)) in enumerate(pm):
        for j, (b, (bx, by)) in enumerate(gm):
            x0, y0 = max(ax, bx), max(ay, by)
            x1 = min(ax + a.shape[1], bx + b.shape[1])
            y1 = min(ay + a.shape[0], by + b.shape[0])
            if x1 <= x0 or y1 <= y0:
                continue
            inter = int((a[y0 - ay:y1 - ay, x0 - ax:x1 - ax] & b[y0 - by:y1 - by, x0 - bx:x1 - bx]).sum())
            if inter:
                out[i, j] = inter / (int(a.sum()) + int(b.sum()) - inter)
    return out


def match(pred: list, gt: list, thr: float = 0.5, touching: list | None = None) -> int:
    """Number of one-to-one matches with IoU >= thr (greedy by decreasing IoU).  With
    ``touching`` (a list), appends the number of predictions that overlap some truth line."""
    if not pred or not gt:
        if touching is not None:
            touching.append(0)
        return 0
    m = ious(pred, gt)
    if touching is not None:
        touching.append(int((m.max(1) > 0).sum()))
    pairs = sorted(((m[i, j], i, j) for i, j in zip(*np.nonzero(m >= thr))), reverse=True)
    used_p, used_g, n = set(), set(), 0
    for _, i, j in pairs:
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        n += 1
    return n


def prf(tp: int, np_: int, ng: int) -> tuple[float, float, float]:
    p = tp / np_ if np_ else 0.0
    r = tp / ng if ng else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


KRAKEN_CACHE = Path(os.environ.get("HWR_BENCH_CACHE", Path.home() / ".cache" / "hwr-bench")) / "kraken"


def kraken_lines(venv: Path, img: Path, key: str) -> tuple[list, float]:
    """kraken blla's line polygons for ``img`` and its wall seconds (one thread; ``venv``:
    :func:`_kraken.kraken_venv`).

    kraken takes about a minute per page here, so its JSON and time are kept in
    ``$HWR_BENCH_CACHE/kraken/KEY.json`` and ``times.txt`` and reused.
    """
    out = KRAKEN_CACHE / f"{key}.json"
    times = KRAKEN_CACHE / "times.txt"
    recorded = {}
    if times.exists():
        for row in times.read_text().splitlines():
            parts = row.split()
            if len(parts) == 3:
                recorded[f"{parts[0]}--{parts[1]}"] = float(parts[2])
    if not (out.exists() and key in recorded):
        KRAKEN_CACHE.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / "seg.json"
            subprocess.run([str(venv / "bin" / "kraken"), "-i", str(img), str(tmp), "segment", "-bl"],
                           check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            out.write_text(tmp.read_text())
        recorded[key] = time.perf_counter() - t
        with open(times, "a") as f:
            f.write(f"{key.replace('--', ' ', 1)} {recorded[key]:.3f}\n")
    data = json.loads(out.read_text())
    return [ln["boundary"] for ln in data.get("lines", []) if len(ln.get("boundary") or []) >= 3], recorded[key]


def overlay(img_path: Path, pred: list, gt: list, out: Path) -> None:
    im = cv2.imread(str(img_path))
    for g in gt:
        cv2.polylines(im, [np.int32(g).reshape(-1, 1, 2)], True, (0, 0, 255), 3)
    for k, p in enumerate(pred):
        poly = np.int32(p["polygon"]).reshape(-1, 1, 2)
        cv2.polylines(im, [poly], True, (0, 160, 0), 3)
        if p.get("baseline"):
            cv2.polylines(im, [np.int32(p["baseline"]).reshape(-1, 1, 2)], False, (255, 0, 0), 3)
        cv2.putText(im, str(k), tuple(int(v) for v in np.asarray(p["polygon"])[0]), cv2.FONT_HERSHEY_SIMPLEX,
                    1.5, (0, 120, 0), 3)
    s = 1000 / max(im.shape[:2])
    cv2.imwrite(str(out), cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    ap.add_argument("--methods", default="smear,strips")
    ap.add_argument("--overlays", type=Path, help="write downscaled overlay PNGs here (green: predicted, red: truth)")
    ap.add_argument("--kraken", action="store_true",
                    help="also score kraken blla (installed into its own venv on first use)")
    ap.add_argument("--exclude", default="", help="comma-separated page stems to leave out of the scores "
                    "(the held-back split is still computed on the full listing)")
    ap.add_argument("--limit", type=int, default=0, help="at most N pages per collection (0 = all)")
    ap.add_argument("--rules", action="store_true",
                    help="also score each method with the scrap rules alone, without the line verifier "
                    "(printed as METHOD-rules)")
    ap.add_argument("--paper", action="store_true",
                    help="also score each method without flattening a photographed sheet first "
                    "(hwr.imaging.paper; printed as METHOD-nopaper)")
    ap.add_argument("--held-back-only", action="store_true",
                    help="only the held-back pages (kraken needs about a minute per page)")
    args = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    cv2.setNumThreads(1)
    from hwr.segmentation import segment_page

    if not args.pages.is_dir():
        sys.exit(f"no pages at {args.pages}")
    pages = find_pages(args.pages)
    held = {p for _, (_, val) in split_pages(pages).items() for p in val}
    excluded = {e for e in args.exclude.split(",") if e}
    methods = [m for m in args.methods.split(",") if m]
    if args.rules:
        methods = [v for m in methods for v in (m, f"{m}-rules")]
    if args.paper:
        methods = [v for m in methods for v in (m, f"{m}-nopaper")]
    if args.kraken:
        from _kraken import KrakenUnavailable, kraken_venv

        try:
            venv = kraken_venv()
            methods.append("kraken")
        except KrakenUnavailable as e:
            print(f"--kraken: kraken skipped: {e}", file=sys.stderr)
    if args.overlays:
        args.overlays.mkdir(parents=True, exist_ok=True)
    # results[method][(coll, held)] = [tp, npred, ngt, times...]
    for method in methods:
        rows: dict[tuple[str, bool], list] = {}
        for coll, xmls in pages.items():
            for xml in xmls[:args.limit or None]:
                if xml.stem in excluded or (args.held_back_only and xml not in held):
                    continue
                doc = read_page(xml)
                img = page_image_path(doc)
                gt = [ln.polygon for ln in doc.lines if len(ln.polygon) >= 3]
                t = time.perf_counter()
                if method == "kraken":
                    pred, dt = kraken_lines(venv, img, f"{coll}--{xml.stem}")
                    preds = [{"polygon": p} for p in pred]
                else:
                    base = method.removesuffix("-nopaper")
                    page = segment_page(img, method=base.removesuffix("-rules"),
                                        verifier=not base.endswith("-rules"),
                                        paper=not method.endswith("-nopaper"))
                    preds = [ln.to_dict() for ln in page.lines]
                    pred = [ln.polygon for ln in page.lines]
                    dt = time.perf_counter() - t
                touch: list = []
                tp = match(pred, gt, touching=touch)
                r = rows.setdefault((coll, xml in held), [0, 0, 0, [], 0])
                r[4] += touch[0]
                r[0] += tp
                r[1] += len(pred)
                r[2] += len(gt)
                r[3].append(dt)
                if args.overlays:
                    overlay(img, preds, gt, args.overlays / f"{method}_{xml.stem}.png")
                print(f"{method} {xml.stem}: {tp}/{len(pred)} pred, {len(gt)} gt, {dt:.2f} s", file=sys.stderr)
        print(f"\nmethod {method}")
        print(f"{'set':38s} {'pages':>5s} {'P':>6s} {'R':>6s} {'F1':>6s} {'s/page':>7s} {'max s':>6s} {'P*':>6s}")
        sets = [(f"{c} (all)", [k for k in rows if k[0] == c]) for c in pages]
        sets += [(f"{c} (held-back)", [k for k in rows if k[0] == c and k[1]]) for c in pages]
        sets += [("ALL pages", list(rows)), ("ALL held-back pages", [k for k in rows if k[1]]),
                 ("ALL training pages (tuned on)", [k for k in rows if not k[1]])]
        for name, keys in sets:
            tp = sum(rows[k][0] for k in keys)
            npd = sum(rows[k][1] for k in keys)
            ng = sum(rows[k][2] for k in keys)
            ts = [t for k in keys for t in rows[k][3]]
            if not ts:
                continue
            p, r, f = prf(tp, npd, ng)
            touch = sum(rows[k][4] for k in keys)
            print(f"{name:38s} {len(ts):5d} {p:6.3f} {r:6.3f} {f:6.3f} {np.mean(ts):7.2f} {max(ts):6.2f} "
                  f"{tp / touch if touch else 0:6.3f}")
        print("P* = precision over the predicted lines that overlap some ground-truth line (predictions on "
              "text the ground truth leaves unannotated, e.g. stamps, signatures, clerks' notes, not counted)")


if __name__ == "__main__":
    main()
