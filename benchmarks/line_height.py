"""Does a taller line image read the Joseph Hooker letters better?  (Issue 8.)

The embedded image model reads lines normalised to 48 px; kraken's published model for this
collection reads 120 px.  This script trains one network per line height in the same way,
side by side, and fine-tunes each on the Hooker letters as ``finetune_hooker.py`` does:

1. The page lines of ``../shared/data/pages`` are cut once, at the tallest height, by the band
   around each baseline (``hwr import pages --height H --band-variants``: three cuts of each
   training line, every 5th page of each collection held back), and resized (``INTER_AREA``)
   to every other height, so that the arms see the same crops and differ only in resolution.
   The Hooker fine-tuning / set-aside lines are those pages' lines of that collection (the
   split of ``finetune_hooker.py``).
2. Stage 1 (the embedded model's own recipe, its card's *Stage 1*): image_default's conv
   blocks (they fit any height) under a fresh 3 x 256 BLSTM and output layer, trained on
   IAM-OnDB ``trainset`` rendered on the fly and the training pages' lines, validated on the
   held-back pages' lines: ``hwr train --base WARM --update-norm --anneal --lr 1.5e-3
   --warmup 150 --batch-size 64 --max-minutes M``.
3. Fine-tuning on the Hooker lines by the recipe of ``finetune_hooker.py`` (``--augment page
   --dropout 0.5 --anneal``, one member), validated on the set-aside pages.
4. CER of each stage-1 model on the held-back pages' lines (greedy), and of each fine-tuned
   model on the set-aside Hooker lines, greedy and with image_default's decoder (beam search,
   width 32, ``lm_en`` weight 0.8, bonus 2.0).

All arms train at once (on a GPU they share it; ``--workers`` DataLoader workers each render
the ink), so they get the same wall-clock budget.  Stage 1 needs a GPU to mean anything:
on a 2-core CPU five minutes is a fraction of one epoch.

    python benchmarks/line_height.py [--heights 48,64] [--device cuda] [--minutes 5.5]
        [--finetune-minutes 1.5] [--workers 7] [--limit N] [--keep DIR]

``--limit N`` keeps only N lines of each page set and leaves out IAM-OnDB (a smoke run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _data import CACHE, SHARED, iam_ondb_train  # noqa: E402
from finetune_hooker import cer as dataset_cer, hwr_cmd, write_lines  # noqa: E402

HOOKER = "joseph-hooker-htr"


def cut_pages(height: int) -> tuple[Path, Path]:
    """(training lines, three band cuts each; held-back lines) of ../shared/data/pages at ``height``."""
    from hwr.data.pages import BAND_CUT_VERSION

    out = CACHE / "h5" / f"pages-train-bandv{height}-{BAND_CUT_VERSION}.h5"
    val = CACHE / "h5" / f"pages-val-band{height}-{BAND_CUT_VERSION}.h5"
    if not (out.exists() and val.exists()):
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(hwr_cmd("import", "pages", str(SHARED / "pages"), "-o", str(out), "--val-out", str(val),
                               "--height", str(height), "--cut", "band", "--band-variants"), check=True, env=_env())
    return out, val


def derive(src: Path, dst: Path, height: int, collection: str | None = None, limit: int | None = None) -> int:
    """The lines of ``src`` (of ``collection`` only, the first ``limit`` only) resized to ``height``."""
    import cv2

    from hwr.data.lineset import LineSet

    s = LineSet(src)
    s.load_all()
    idx = [j for j in range(len(s)) if collection is None or s.collections[j] == collection][:limit]

    def image(j):
        im = s.image(j)
        if im.shape[0] == height:
            return im
        return cv2.resize(im, (max(1, round(im.shape[1] * height / im.shape[0])), height),
                          interpolation=cv2.INTER_AREA)

    return write_lines(s, dst, idx, image, {**s.preprocessing, "height": height})


def warm_model(height: int, out: Path, seed: int = 1) -> Path:
    """image_default's conv blocks (weights and batch-norm statistics) under a fresh BLSTM and
    output layer of its size, for lines of ``height``."""
    import torch

    from hwr.models.checkpoint import ModelInfo, load_model, save_model
    from hwr.models.registry import build
    from hwr.pipeline import resolve_model

    base, info = load_model(resolve_model("image_default"))
    torch.manual_seed(seed)
    net = build("crnn", {**base.cfg.to_dict(), "height": height})
    have = base.state_dict()
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if k.startswith("cnn."):
                v.copy_(have[k])
    return save_model(net, ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=info.alphabet,
                                     preprocessing={**info.preprocessing, "height": height},
                                     training={"warm_start": "image_default's conv blocks; BLSTM and head fresh"},
                                     name=out.stem), out)


def _env() -> dict:
    repo = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]),
            "PYTHONUNBUFFERED": "1"}


def train_side_by_side(jobs: dict[int, list[str]], logs: Path, tag: str) -> None:
    """Run the ``hwr train`` commands of ``jobs`` (one per height) at once; each one's log goes
    to ``logs/TAG-H.log`` and its last lines to stderr."""
    procs = {}
    for h, args in jobs.items():
        log = open(logs / f"{tag}-{h}.log", "w")
        procs[h] = (subprocess.Popen(hwr_cmd("train", "--kind", "image", *args), stdout=log, stderr=log, env=_env()), log)
    for h, (p, log) in procs.items():
        p.wait()
        log.close()
        tail = (logs / f"{tag}-{h}.log").read_text().splitlines()[-3:]
        print(f"{tag} {h} px (exit {p.returncode}):\n  " + "\n  ".join(tail), file=sys.stderr)


def cer(model: Path, data: Path, decoder: str, device: str) -> float:
    """CER of ``model`` on ``data``: greedy, or with image_default's decoder ("beam")."""
    kw = {} if decoder == "greedy" else {"lm": str(_lm()), "lm_weight": 0.8, "insertion_bonus": 2.0, "beam_width": 32}
    return dataset_cer(model, data, decoder, device, **kw)[1]


def _lm() -> Path:
    from hwr.pipeline import resolve_model

    return resolve_model("image_default").with_name("lm_en.arpa.gz")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--heights", default="48,64", help="line heights, comma-separated (multiples of 16)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--minutes", type=float, default=5.5, help="stage 1 budget of each arm (hwr train --max-minutes)")
    ap.add_argument("--finetune-minutes", type=float, default=1.5, help="Hooker fine-tuning budget of each arm")
    ap.add_argument("--workers", type=int, default=7, help="DataLoader workers of each arm")
    ap.add_argument("--limit", type=int, help="only N lines of each page set, no IAM-OnDB: a smoke run")
    ap.add_argument("--keep", type=Path, help="keep the models and logs in this folder")
    args = ap.parse_args()
    heights = sorted({int(h) for h in args.heights.split(",")})
    if not (SHARED / "pages" / HOOKER).is_dir():
        sys.exit(f"{SHARED / 'pages' / HOOKER} not found: set HWR_SHARED to the folder holding data/")

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        logs = d / "logs"
        logs.mkdir(exist_ok=True)
        train64, val64 = cut_pages(max(heights))
        ink = [] if args.limit else ["--data", str(iam_ondb_train())]
        for h in heights:
            derive(train64, d / f"ptrain{h}.h5", h, limit=args.limit)
            derive(val64, d / f"pval{h}.h5", h, limit=args.limit)
            derive(train64, d / f"hft{h}.h5", h, HOOKER, limit=args.limit)
            derive(val64, d / f"haside{h}.h5", h, HOOKER, limit=args.limit)
            warm_model(h, d / f"warm{h}.safetensors")
        print(f"data ready after {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        common = ["--device", args.device, "--workers", str(args.workers), "--no-lm-adapt"]
        train_side_by_side({h: ["--base", str(d / f"warm{h}.safetensors"), *ink, "--data", str(d / f"ptrain{h}.h5"),
                                "--val", str(d / f"pval{h}.h5"), "--batch-size", "64", "--lr", "1.5e-3",
                                "--warmup", "150", "--update-norm", "--anneal", "--patience", "1000", "--epochs",
                                "1000", "--max-minutes", str(args.minutes), "--seed", "1",
                                "--out", str(d / f"s1-{h}.safetensors"), *common] for h in heights}, logs, "stage1")
        train_side_by_side({h: ["--base", str(d / f"s1-{h}.safetensors"), "--data", str(d / f"hft{h}.h5"),
                                "--val", str(d / f"haside{h}.h5"), "--max-minutes", str(args.finetune_minutes),
                                "--anneal", "--augment", "page", "--dropout", "0.5", "--seed", "3",
                                "--out", str(d / f"ft-{h}.safetensors"), *common]
                            for h in heights if (d / f"s1-{h}.safetensors").exists()}, logs, "finetune")
        from hwr.models.checkpoint import read_info

        dev = "cuda" if args.device.startswith("cuda") else "cpu"
        rows = []
        for h in heights:
            s1, ft = d / f"s1-{h}.safetensors", d / f"ft-{h}.safetensors"
            tr = read_info(s1).training if s1.exists() else {}
            epochs = f"{tr['stopped_at_epoch']} ({tr['epochs']} kept)" if "epochs" in tr else None
            rows.append((h, epochs, cer(s1, d / f"pval{h}.h5", "greedy", dev) if s1.exists() else None,
                         *((cer(ft, d / f"haside{h}.h5", "greedy", dev), cer(ft, d / f"haside{h}.h5", "beam", dev))
                           if ft.exists() else (None, None))))
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
    print(f"\nline height experiment, {args.minutes} + {args.finetune_minutes} minutes per arm, device {args.device}, "
          f"{time.perf_counter() - t0:.0f} s in all")
    print("| height | stage-1 epochs | held-back pages, greedy CER % | Hooker set-aside after fine-tuning, greedy | "
          "beam + LM |")
    print("| --- | --- | --- | --- | --- |")
    for h, ep, v, g, b in rows:
        print(f"| {h} px | {ep if ep is not None else '-'} | {pct(v)} | {pct(g)} | {pct(b)} |")


if __name__ == "__main__":
    main()
