"""Train the line verifier (``hwr/segmentation/line_verifier.json``) on the training pages.

Every page of ``../shared/data/pages`` is segmented with the verifier off; each candidate
line (``hwr.segmentation.analyse_page``) gets its features (``hwr.segmentation.verify``)
and a label: 1 when it matches a ground-truth line (polygon IoU >= 0.5, one to one, as
``benchmarks/segmentation.py`` scores).  Only the training pages are used (every 5th page
per collection is held back, ``hwr.data.pages.split_pages``); the held-back pages are
scored by ``benchmarks/segmentation.py``.

The script prints, for each network size tried, the F1 of the kept lines over the training
pages in 5-fold cross-validation by page (each page scored by a network that did not see
it), beside the rules' F1 on the same candidates; it then fits the chosen size on all
training pages and, with ``--write``, writes the weights.

    python benchmarks/train_line_verifier.py [--pages DIR] [--write]

It takes about 20 s on two cores (two processes segment the pages; the fits take seconds).  The fit is
deterministic (fixed seed, one thread).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwr.data.pages import find_pages, page_image_path, read_page, split_pages  # noqa: E402


@lru_cache(maxsize=1)
def _scoring():
    """``benchmarks/segmentation.py``, loaded by path once (a package named ``segmentation``
    may shadow it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hwr_bench_segmentation", Path(__file__).with_name("segmentation.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ious(pred: list, gt: list) -> np.ndarray:
    """IoU of every predicted with every true polygon, as ``benchmarks/segmentation.py`` computes it."""
    return _scoring().ious(pred, gt)

CONFIGS = [(0, 1e-3), (8, 1e-3), (16, 1e-2), (32, 1e-2)]  # (hidden units, weight decay)
CHOSEN = (16, 1e-2)
FOLDS = 5
THRESHOLD = 0.5


def page_candidates(xml: Path) -> dict:
    """Features and labels of the candidate lines of one page (verifier off)."""
    import cv2

    cv2.setNumThreads(1)
    from hwr.segmentation import analyse_page
    from hwr.segmentation.polygons import simplify
    from hwr.segmentation.verify import line_features

    doc = read_page(xml)
    gt = [ln.polygon for ln in doc.lines if len(ln.polygon) >= 3]
    found = analyse_page(page_image_path(doc), verifier=False)
    feats = line_features(found.candidates, found.grid, found.prep.xheight)
    polys = [found.prep.to_original(simplify(ln.polygon, True, 0.5)) for ln in found.candidates]
    label = np.zeros(len(polys), int)
    if polys and gt:
        m = ious(polys, gt)
        used_p, used_g = set(), set()
        for _, i, j in sorted(((m[i, j], i, j) for i, j in zip(*np.nonzero(m >= 0.5))), reverse=True):
            if i not in used_p and j not in used_g:
                used_p.add(i)
                used_g.add(j)
                label[i] = 1
    return {"page": xml.stem, "x": feats, "y": label, "ngt": len(gt)}


def f1(pages: list[dict], keep: list[np.ndarray]) -> tuple[float, float, float]:
    tp = sum(int((p["y"] * k).sum()) for p, k in zip(pages, keep))
    npred = sum(int(k.sum()) for k in keep)
    ngt = sum(p["ngt"] for p in pages)
    pr, rc = tp / max(npred, 1), tp / max(ngt, 1)
    return pr, rc, (2 * pr * rc / (pr + rc) if pr + rc else 0.0)


def fit(pages: list[dict], hidden: int, decay: float, seed: int = 0, epochs: int = 400):
    """A one-hidden-layer network (logistic regression for ``hidden == 0``) by full-batch
    Adam on the binary cross-entropy; returns a :class:`hwr.segmentation.verify.Verifier`."""
    import torch

    from hwr.segmentation.verify import FEATURES, Verifier

    torch.set_num_threads(1)
    x = np.concatenate([p["x"] for p in pages])
    y = np.concatenate([p["y"] for p in pages]).astype(np.float32)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    torch.manual_seed(seed)
    xt = torch.tensor((x - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(y)
    k = len(FEATURES)
    h = hidden or 1
    l1 = torch.nn.Linear(k, h)
    l2 = torch.nn.Linear(h, 1)
    params = list(l1.parameters()) + list(l2.parameters())
    opt = torch.optim.Adam(params, lr=0.01, weight_decay=decay)
    for _ in range(epochs):
        opt.zero_grad()
        z = l1(xt)
        out = l2(torch.tanh(z) if hidden else z).squeeze(1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out, yt)
        loss.backward()
        opt.step()
    w1, b1 = l1.weight.detach().double().numpy(), l1.bias.detach().double().numpy()
    w2, b2 = l2.weight.detach().double().numpy()[0], float(l2.bias.detach()[0])
    if not hidden:
        # a linear model in the same form: tanh(s * z) / s -> z as s -> 0, so write the logistic
        # regression with a tiny input scale (exact to ~1e-8 in the logit for |z| < 1e3)
        s = 1e-4
        w1, b1, w2 = w1 * s, b1 * s, w2 / s
    return Verifier({"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
                     "w1": w1.tolist(), "b1": b1.tolist(), "w2": w2.tolist(), "b2": b2,
                     "threshold": THRESHOLD})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=Path, default=_scoring().DEFAULT_PAGES)
    ap.add_argument("--write", action="store_true", help="write hwr/segmentation/line_verifier.json")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if not args.pages.is_dir():
        sys.exit(f"no pages at {args.pages}")
    from hwr.segmentation.verify import FEATURES, WEIGHTS

    train = [x for _, (tr, _) in split_pages(find_pages(args.pages)).items() for x in tr]
    with mp.Pool(args.workers) as pool:
        pages = [p for p in pool.map(page_candidates, train, chunksize=1) if len(p["y"])]
    rules = [p["x"][:, FEATURES.index("rules_keep")] > 0.5 for p in pages]
    ncand = sum(len(p["y"]) for p in pages)
    print(f"{len(pages)} training pages, {ncand} candidate lines, {sum(int(p['y'].sum()) for p in pages)} "
          f"of them text lines, {sum(p['ngt'] for p in pages)} ground-truth lines")
    print("rules alone:                 P %.3f R %.3f F1 %.3f" % f1(pages, rules))
    for hidden, decay in CONFIGS:
        keep: list = [None] * len(pages)
        for k in range(FOLDS):
            v = fit([p for i, p in enumerate(pages) if i % FOLDS != k], hidden, decay)
            for i, p in enumerate(pages):
                if i % FOLDS == k:
                    keep[i] = v.probability(p["x"]) >= v.threshold
        mark = "  (chosen)" if (hidden, decay) == CHOSEN else ""
        print(f"verifier, {hidden:2d} hidden, decay {decay:g}: P %.3f R %.3f F1 %.3f (5-fold CV by page){mark}"
              % f1(pages, keep))
    v = fit(pages, *CHOSEN)
    print("chosen, fitted on all training pages (training F1, optimistic): P %.3f R %.3f F1 %.3f"
          % f1(pages, [v.probability(p["x"]) >= v.threshold for p in pages]))
    if args.write:
        spec = v.to_dict()
        spec["trained_on"] = (f"{len(pages)} training pages of ../shared/data/pages ({ncand} candidate lines), "
                              f"benchmarks/train_line_verifier.py, hidden {CHOSEN[0]}, weight decay {CHOSEN[1]:g}")
        WEIGHTS.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS}")


if __name__ == "__main__":
    main()
