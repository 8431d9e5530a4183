"""Image line recognisers side by side, on this CPU, one thread: parameters, ms per line
at batch 1 for a typical IAM-OnDB line rendered to an image (38-42 characters), training
lines/s (a few batches of 16), and, given trained models, CER on a validation line set.

    python benchmarks/image_models.py [--model-crnn PATH] [--model-mdlstm PATH] [--val DATA.h5] [--limit N]

Each architecture in hwr's registry among ``crnn`` and ``mdlstm`` is measured (an
untrained network of its default size when no model is given).  ``--val`` defaults to
the IAM-OnDB testset_t lines rendered to images (one fixed seeded rendering per line).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from _timing import median_ms
from _data import iam_ondb_validation
from hwr.alphabet import Alphabet
from hwr.data.inkset import InkSet
from hwr.imaging.line import line_preprocessing, normalize_line
from hwr.ink.render import render_ink
from hwr.models.registry import _builders, build
from hwr.training.ink import BASE_CHARS

ARCHS = ("crnn", "mdlstm")


def _untrained(arch: str, num_classes: int, height: int):
    cfg_cls = _builders()[arch][0]
    names = {f.name for f in dataclasses.fields(cfg_cls)}
    kw = {"num_classes": num_classes}
    if "height" in names:
        kw["height"] = height
    return build(arch, kw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-crnn")
    ap.add_argument("--model-mdlstm")
    ap.add_argument("--val", help="line or ink dataset for CER (default: rendered IAM-OnDB testset_t)")
    ap.add_argument("--limit", type=int, default=300, help="validation lines used for CER")
    args = ap.parse_args()
    torch.set_num_threads(1)
    val_ink = iam_ondb_validation()[0]
    ds = InkSet(val_ink)
    ds.load_all()
    typical = [i for i, t in enumerate(ds.texts) if 38 <= len(t) <= 42][:16]
    models = {"crnn": args.model_crnn, "mdlstm": args.model_mdlstm}
    known = _builders()
    print(f"{'arch':8}{'params':>10}{'width px':>10}{'ms/line b1':>12}{'train lines/s':>15}{'CER':>9}")
    for arch in ARCHS:
        if arch not in known:
            print(f"{arch:8}  (not in this hwr's registry)")
            continue
        if models[arch]:
            from hwr.models.checkpoint import load_model

            net, info = load_model(models[arch])
            prep = info.preprocessing
        else:
            prep = line_preprocessing()
            net = _untrained(arch, len(Alphabet.from_texts(ds.texts, extra=BASE_CHARS)), int(prep["height"]))
        lines = [normalize_line(render_ink(ds[i], rng=np.random.default_rng(i)), prep) for i in typical]
        width = int(np.median([im.shape[1] for im in lines]))
        params = sum(p.numel() for p in net.parameters())
        net.eval()

        def one(im):
            with torch.inference_mode():
                net(torch.from_numpy(im)[None, None], torch.tensor([im.shape[1]]))

        ms = statistics.median(median_ms(lambda im=im: one(im)) for im in lines[:6])
        # training speed: batches of 16 typical lines
        net.train()
        opt = torch.optim.AdamW(net.parameters(), 1e-4)
        W = max(im.shape[1] for im in lines)
        x = torch.zeros(len(lines), 1, lines[0].shape[0], W)
        for b, im in enumerate(lines):
            x[b, 0, :, : im.shape[1]] = torch.from_numpy(im)
        widths = torch.tensor([im.shape[1] for im in lines])
        targets = torch.randint(1, 10, (len(lines) * 30,))
        tlen = torch.full((len(lines),), 30)

        def step():
            lp, out_len = net(x, widths)
            loss = F.ctc_loss(lp, targets, out_len, tlen, zero_infinity=True)
            opt.zero_grad()
            loss.backward()
            opt.step()

        step()
        t0 = time.perf_counter()
        for _ in range(3):
            step()
        lps = 3 * len(lines) / (time.perf_counter() - t0)
        cer = "-"
        if models[arch]:
            from hwr.evaluation import evaluate_image_model

            ev = evaluate_image_model(models[arch], [args.val or val_ink], limit=args.limit, decoder="greedy")
            cer = f"{100 * ev.rates.cer:.2f}%"
        print(f"{arch:8}{params:>10,}{width:>10}{ms:>12.1f}{lps:>15.1f}{cer:>9}")


if __name__ == "__main__":
    main()
