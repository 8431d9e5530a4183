"""Fine-tuning the embedded image model on the Joseph Hooker letters, and training
throughput of hwr against kraken's ``ketos train`` on the same lines (issue 8).

The pages of ``../shared/data/pages/joseph-hooker-htr`` (sorted by name) are split by the
rule of ``hwr import pages --holdout-every 5``: every 5th page is set aside for validation,
the others are the fine-tuning pages.  The embedded image model was trained with the same
rule, so its held-back pages are exactly the set-aside ones here, and the fine-tuning pages
were already among its training data (with IAM-OnDB and ImadocSen rendered to images and
the French wills); fine-tuning specialises it on this one hand.

1. The line crops are imported by ``hwr import pages --cut band`` into ``$HWR_BENCH_CACHE/h5``:
   each line is cut by the reading band of its baseline, because this collection's polygons
   take in the neighbouring lines' ascenders and descenders (``--cut polygon``: by the
   polygons, as the embedded model's own training and validation crops were cut).  The
   fine-tuning lines are also imported with ``--band-variants`` (each cut by the band, a
   narrower and a wider one, as ``hwr train`` cuts a folder of pages) and fine-tuned on
   so; ``--one-band``: by the band alone, as before 2026-11-27.
2. CER (greedy, and beam search + LM, the embedded model's default decoder) of the embedded
   model on the set-aside lines; then ``hwr train --kind image --base image_default --data
   TRAIN --val VAL --max-minutes M --anneal --augment A``.  With ``--val-on set-aside`` (the default)
   TRAIN is all the fine-tuning pages and VAL the set-aside ones, so the epoch kept and the
   decoder are chosen on the lines measured; with ``--val-on finetune`` every 5th
   fine-tuning page is VAL and the others TRAIN, so the set-aside pages decide nothing, but
   image_default was trained on those pages and reads them far better than new ones (8 %
   greedy against 29 % on the band-cut lines since 2026-11-27; 12 against 32 % before), so
   validation keeps the first epoch or so.
   ``hwr train`` also chooses the new model's decoder on VAL (an LM of the training text,
   alone or mixed with the base's LM, or the base's decoder: ``hwr.training.lm_adapt``).
   The result's CER on the set-aside lines: greedy, with image_default's decoder, and with
   its own; with the band cut and all pages, also with its own decoder and each set-aside line
   read by three bands, as ``hwr recognize --bands 3`` reads (``band_views.py``), for both
   models.
3. Throughput: the same fine-tuning lines, exported as ``LINE.png`` + ``LINE.gt.txt`` pairs
   (hwr's raw line crops, before normalisation), are trained on for ``--epochs`` epochs by
   ``ketos train -f path`` (kraken's default VGSL network from scratch, batch 1 or --ketos-batch, its
   defaults) and by ``hwr train`` (the embedded model's network, batch 24, its defaults),
   with the same torch threads and data-loader workers; lines/s of the last epoch of each
   (training only, validation excluded) and their ratio are printed.

    python benchmarks/finetune_hooker.py [--minutes 30] [--epochs 2] [--threads 1] [--workers N] [--ketos-batch 1]
        [--cut band|polygon] [--one-band] [--val-on set-aside|finetune] [--augment warp|page|mild|off] [--dropout P]
        [--members N [--ensemble]] [--pages N] [--finetune-subset START:STEP] [--split pages|lines]
        [--device cuda] [--no-lm-adapt]
        [--throughput-lines N]
        [--no-finetune] [--no-kraken]

``--pages N`` takes the first N pages only (the split rule unchanged: a smoke run).
``--finetune-subset START:STEP`` fine-tunes on every STEP-th fine-tuning page from START only
(``0:4``: 8 of the 32 pages), validated on the same set-aside pages: how the result grows with
the pages of the hand.
``--split lines`` measures as a random split of the lines does (``ketos train``'s validation,
and so likely the published figure): the set-aside lines are dealt into two folds, every page
in both, and each fold is read by a fine-tuning that also trained on the other fold, so on
half of the other lines of its page (:func:`line_split_run`).
``--device cuda`` fine-tunes on a GPU (the members one after another) and reads the CERs
there too; ``--no-lm-adapt`` leaves out the decoder choice after training.
kraken is not a dependency of hwr: the script installs it on first use into a venv of its own
(``$HWR_BENCH_CACHE/kraken-7.1.1``, :mod:`_kraken`), or uses the venv ``$HWR_KRAKEN_VENV`` names;
``--no-kraken`` leaves it out, and when it cannot be installed the kraken row is skipped with the
reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _data import CACHE, REPO, SHARED  # noqa: E402

HOOKER = SHARED / "pages" / "joseph-hooker-htr"
KRAKEN_REFERENCE = ("the kraken model published for this collection reports 11-12 % CER "
                    "(its own test lines, not these)")


def split_hooker(xmls: list[Path], holdout_every: int = 5, pages: int | None = None
                 ) -> tuple[list[Path], list[Path]]:
    """(fine-tuning pages, set-aside pages) by ``hwr import pages``'s rule (every
    ``holdout_every``-th page in sorted order set aside), of the first ``pages`` pages only
    when given: a prefix, so each page lands on the same side as in the full split."""
    from hwr.data.pages import split_pages

    ordered = sorted(xmls)
    ft, aside = split_pages({"c": ordered}, holdout_every)["c"]
    keep = set(ordered[:pages] if pages is not None else ordered)
    return [p for p in ft if p in keep], [p for p in aside if p in keep]


def hwr_cmd(*args: str) -> list[str]:
    """``hwr ARGS`` run with this checkout's package."""
    return [sys.executable, "-m", "hwr.cli.main", *args]


def _env(threads: int) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": str(threads)}


def link_pages(xmls: list[Path], folder: Path) -> Path:
    """``folder`` (made) with links to the pages ``xmls``, each XML beside its image as in the
    original folder: what ``hwr import pages`` reads for those pages alone."""
    folder.mkdir()
    for xml in xmls:
        for f in xml.parent.glob(xml.stem + ".*"):
            (folder / f.name).symlink_to(f.resolve())
    return folder


def import_pages(ft: list[Path], aside: list[Path], tag: str, threads: int, cut: str = "polygon",
                 names: tuple[str, str] = ("hooker-finetune", "hooker-setaside"),
                 variants: bool = False) -> tuple[Path, Path]:
    """Line datasets of the fine-tuning and set-aside pages, by ``hwr import pages
    --holdout-every 5`` on a folder of links to the chosen pages (cached in
    ``$HWR_BENCH_CACHE/h5`` as ``NAME{tag}.h5``; with ``variants``, ``--band-variants`` and
    ``NAME{tag}v.h5``).  The import splits by the same rule as :func:`split_hooker`, so given
    only the fine-tuning pages it returns their own split."""
    tag += "v" if variants else ""
    out = CACHE / "h5" / f"{names[0]}{tag}.h5"
    val = CACHE / "h5" / f"{names[1]}{tag}.h5"
    if out.exists() and val.exists():
        return out, val
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        folder = link_pages(ft + aside, Path(d) / HOOKER.name)  # the collection's name, as under ../shared/data/pages
        subprocess.run(hwr_cmd("import", "pages", str(folder), "-o", str(out), "--val-out", str(val),
                               "--holdout-every", "5", "--cut", cut, *(["--band-variants"] if variants else [])),
                       check=True, env=_env(threads))
    return out, val


def write_lines(s, out: Path, idx, image=None, preprocessing: dict | None = None) -> int:
    """Lines ``idx`` of the loaded line dataset ``s`` as a new dataset at ``out``, their images
    by ``image(j)`` (default: as stored) normalised with ``preprocessing`` (default: ``s``'s)."""
    from hwr.data.lineset import LineSample, write_lineset

    image = image or s.image
    return write_lineset(out, (LineSample(image(j), s.texts[j], s.writers[j], s.sources[j], s.collections[j], s.ids[j])
                               for j in idx), preprocessing or s.preprocessing, split=s.split)


def subset_lineset(src: Path, n: int, out: Path) -> Path:
    """The first ``n`` lines of line dataset ``src`` as a new dataset."""
    from hwr.data.lineset import LineSet

    s = LineSet(src)
    s.load_all()
    write_lines(s, out, range(min(n, len(s))))
    return out


def _start_step(value: str) -> tuple[int, int]:
    """``START:STEP`` (START >= 0, STEP >= 1) for --finetune-subset."""
    try:
        start, step = (int(v) for v in value.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected START:STEP, e.g. 0:2") from None
    if start < 0 or step < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: START must be 0 or more and STEP 1 or more")
    return start, step


def lines_subset(src: Path, keep, out: Path) -> Path:
    """The lines of line dataset ``src`` whose id passes ``keep(id)`` (all the cuts of a line
    share its id), in their order, as a new dataset."""
    from hwr.data.lineset import LineSet

    s = LineSet(src)
    s.load_all()
    write_lines(s, out, [j for j in range(len(s)) if keep(s.ids[j])])
    return out


def pages_subset(src: Path, pages: list[Path], out: Path) -> Path:
    """The lines of line dataset ``src`` that come from ``pages`` (ids ``COLLECTION/PAGE/LINE``)
    as a new dataset: a line's cuts depend on its own page only, so this is what importing
    those pages alone gives."""
    keep = {p.stem for p in pages}
    return lines_subset(src, lambda line_id: line_id.split("/")[1] in keep, out)


def line_folds(ids: list[str], folds: int = 2, seed: int = 0) -> list[set[str]]:
    """The distinct line ids ``ids`` (``COLLECTION/PAGE/LINE``) dealt into ``folds`` sets,
    page by page: each page's lines are shuffled (seeded) and dealt in turn, so every fold
    holds a share of every page (at most one line more than another fold), and a page's
    first fold is the one after the previous page's last, so no fold is always the fuller."""
    import random

    pages: dict[str, list[str]] = {}
    for line_id in dict.fromkeys(ids):
        pages.setdefault(line_id.split("/")[1], []).append(line_id)
    out: list[set[str]] = [set() for _ in range(folds)]
    turn = 0
    for page in sorted(pages):
        lines = sorted(pages[page])
        random.Random(f"{seed}/{page}").shuffle(lines)
        for line_id in lines:
            out[turn % folds].add(line_id)
            turn += 1
    return out


def export_pairs(xmls: list[Path], ids: list[str], folder: Path, cut: str = "polygon") -> list[Path]:
    """The raw crops (``hwr.data.pages.crop_line``, before normalisation) of the lines
    ``ids`` (``COLLECTION/PAGE/LINE``, as ``hwr import pages`` names them) as PNG + .gt.txt
    pairs, the kraken/Tesseract convention.  Returns the images, in ``ids`` order."""
    import cv2

    from hwr.data.pages import iter_page_lines

    folder.mkdir(parents=True, exist_ok=True)
    wanted = {k: i for i, k in enumerate(ids)}
    found: dict[int, Path] = {}
    for xml in xmls:
        for line, crop in iter_page_lines(xml, HOOKER.name, cut=cut):
            k = wanted.get(f"{HOOKER.name}/{xml.stem}/{line.id}")
            if k is None:
                continue
            img = folder / f"{k:05d}.png"
            cv2.imwrite(str(img), crop)
            (folder / f"{k:05d}.gt.txt").write_text(line.text, encoding="utf-8")
            found[k] = img
    if len(found) != len(ids):
        raise SystemExit(f"exported {len(found)} of {len(ids)} lines: the pages changed since the import?")
    return [found[k] for k in range(len(ids))]


def cer(model: str | Path, data: Path, decoder: str | None, device: str = "cpu", **decoder_options
        ) -> tuple[int, float, float]:
    """(lines, CER, seconds) of ``model`` on line dataset ``data`` (``decoder_options``: as
    :func:`hwr.evaluation.evaluate_image_model` takes them)."""
    from hwr.evaluation import evaluate_image_model

    t = time.perf_counter()
    ev = evaluate_image_model(str(model), [data], device=device, decoder=decoder, **decoder_options)
    return ev.rates.lines, ev.rates.cer, time.perf_counter() - t


def combined_lines_per_s(rates: list[float], one_after_another: bool) -> float:
    """Lines trained per second by members training at ``rates`` each: their sum when they
    train side by side (a CPU), one member's (their mean) when one after another (a GPU)."""
    if not rates:
        return 0.0
    return sum(rates) / len(rates) if one_after_another else sum(rates)


def combined_seconds(seconds: list[float], one_after_another: bool) -> float:
    """Seconds of training of members that trained ``seconds`` each: the longest when they
    train side by side (a CPU), their sum when one after another (a GPU)."""
    if not seconds:
        return 0.0
    return sum(seconds) if one_after_another else max(seconds)


def hwr_train(data: Path | list[Path], val: Path, out: Path, threads: int, workers: int | None, extra: list[str],
              members: int = 1, ensemble: bool = False, device: str | None = None) -> dict:
    """Run ``hwr train --kind image --base image_default`` (its messages pass through to
    stderr), with ``members`` fine-tunings side by side of ``threads`` threads each; returns
    the run's ``state.json`` (the first member's with several: per-epoch history with
    lines/s), the lines trained per second of training (by all members together on a CPU,
    where they train side by side; by one on a GPU, where they train one after another), and
    the wall seconds.  ``data``: one dataset or several (``--data`` each).  ``device``: ``hwr
    train --device`` (default: its own choice)."""
    from hwr.data.lineset import LineSet
    from hwr.device import resolve_device
    from hwr.training.members import member_dir

    datas = [data] if isinstance(data, Path) else list(data)
    run_dir = out.with_suffix(".run")
    cmd = hwr_cmd("train", "--kind", "image", "--base", "image_default",
                  *(x for d in datas for x in ("--data", str(d))), "--val", str(val), "--out", str(out),
                  "--run-dir", str(run_dir), "--restart", "--threads", str(threads * members),
                  *([] if workers is None else ["--workers", str(workers)]),
                  *([] if device is None else ["--device", device]), *extra,
                  *(["--members", str(members)] if members > 1 else []),
                  *(["--ensemble"] if ensemble and members > 1 else []))
    sys.stderr.write("$ hwr " + " ".join(cmd[3:]) + "\n")  # one write: --split lines starts two side by side
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=_env(threads))
    files = [run_dir / "state.json"] if members == 1 else [member_dir(run_dir, i) / "state.json"
                                                           for i in range(1, members + 1)]
    states = [json.loads(f.read_text()) for f in files]
    n = sum(len(LineSet(d)) for d in datas)
    state = states[0]
    finished = [(len(st["history"]), st["history"][-1]["seconds"]) for st in states if st["history"]]
    gpu = resolve_device(device or "auto").startswith("cuda")  # members train one after another there
    state["lines_per_s"] = combined_lines_per_s([n * k / max(secs, 1e-9) for k, secs in finished],
                                                one_after_another=gpu)
    state["train_seconds"] = combined_seconds([secs for _, secs in finished], one_after_another=gpu)
    state["wall_seconds"] = time.perf_counter() - t
    return state


_KETOS_EPOCH = re.compile(r"stage (\d+)/\S+ \S+ (\d+)/(\d+) (\d+):(\d\d):(\d\d) \S+ \S+ ([\d.]+)it/s")


def parse_ketos_epochs(log: str) -> list[dict]:
    """One dict per finished epoch of ``ketos train``'s progress output (PyTorch Lightning's
    rich bar, printed once per epoch when not on a terminal): ``batches``, ``seconds`` (its
    elapsed time, whole seconds) and ``it_s`` (batches per second)."""
    out = {}
    for m in _KETOS_EPOCH.finditer(log):
        done, total = int(m[2]), int(m[3])
        if done == total:
            out[int(m[1])] = {"batches": total, "seconds": int(m[4]) * 3600 + int(m[5]) * 60 + int(m[6]),
                              "it_s": float(m[7])}
    return [out[k] for k in sorted(out)]


def ketos_train(venv: Path, images: list[Path], val_images: list[Path], epochs: int, threads: int, workers: int,
                work: Path, batch: int = 1) -> dict:
    """``ketos train -f path`` for ``epochs`` epochs on CPU; returns the parsed epochs, the
    parameter count and the wall seconds."""
    (work / "train.txt").write_text("".join(f"{p}\n" for p in images))
    (work / "val.txt").write_text("".join(f"{p}\n" for p in val_images))
    cmd = [str(venv / "bin" / "ketos"), "-d", "cpu", "--threads", str(threads), "--workers", str(workers),
           "train", "-f", "path", "-q", "fixed", "-N", str(epochs), "-B", str(batch), "-o", str(work / "model"),
           "-t", str(work / "train.txt"), "-e", str(work / "val.txt")]
    print("$ " + " ".join(cmd), file=sys.stderr)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads))
    wall = time.perf_counter() - t
    if r.returncode:
        sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:])
        raise SystemExit(f"ketos train failed (exit status {r.returncode})")
    eps = parse_ketos_epochs(r.stdout + r.stderr)
    if not eps:
        sys.stderr.write(r.stdout[-3000:])
        raise SystemExit("no finished epoch found in ketos train's output")
    params = re.search(r"Total params: ([\d.]+ \S+)", r.stdout + r.stderr)
    return {"epochs": eps, "wall_seconds": wall, "params": params[1] if params else "?"}


def line_split_run(args, train_h5: Path, aside: Path, base: Path, ev_dev: str) -> None:
    """``--split lines``: the set-aside pages' lines dealt into two folds (:func:`line_folds`,
    every page in both); for each fold, image_default is fine-tuned on the fine-tuning pages
    and the other fold's lines (each cut by the three bands), validated on this fold's lines,
    the two side by side (``--threads`` each).  Every set-aside line is so read once, by a model
    that trained on the other lines of its page, as a random split of the lines measures
    (``ketos train``'s own validation).  Prints the CERs over both folds beside image_default's
    on the same lines."""
    from concurrent.futures import ThreadPoolExecutor

    from band_views import held_back_cuts
    from hwr.data.lineset import LineSet
    from hwr.evaluation import evaluate_image_model
    from hwr.training.metrics import error_rates

    cuts = held_back_cuts(HOOKER)  # the set-aside lines, each cut by the three bands
    folds = line_folds(LineSet(aside).ids, 2)
    drop = [] if args.dropout is None else ["--dropout", f"{args.dropout:g}"]
    extra = ["--max-minutes", str(args.minutes), "--anneal", "--augment", args.augment, *drop,
             *(["--no-lm-adapt"] if args.no_lm_adapt else [])]
    jobs = []
    for k, held in enumerate(folds, 1):
        name = f"hooker-split-lines-fold{k}of{len(folds)}"
        jobs.append({"held": held,
                     "train": lines_subset(cuts, lambda i, held=held: i not in held, args.out_dir / f"{name}-train.h5"),
                     "val": lines_subset(aside, lambda i, held=held: i in held, args.out_dir / f"{name}-val.h5"),
                     "cuts": lines_subset(cuts, lambda i, held=held: i in held, args.out_dir / f"{name}-val-bands.h5"),
                     "out": args.out_dir / f"{name}-{args.augment}{'-d%g' % args.dropout if drop else ''}.safetensors"})
    print(f"  --split lines: the {len(LineSet(aside))} set-aside lines dealt into {len(folds)} folds, every page in "
          f"each ({' / '.join(str(len(j['held'])) for j in jobs)} lines); per fold, hwr train fine-tunes on the "
          f"{len(LineSet(train_h5))} fine-tuning line images and the other fold's lines (three bands each) and "
          f"validates on the fold; the folds train side by side")
    with ThreadPoolExecutor(len(jobs)) as pool:
        states = list(pool.map(lambda j: hwr_train([train_h5, j["train"]], j["val"], j["out"], args.threads,
                                                   args.workers, extra, device=args.device), jobs))

    def read(model, lines: Path, cuts_of_lines: Path) -> dict[str, list[tuple[str, str]]]:
        """(reference, reading) pairs: greedy and with the model's decoder from one pass over
        ``lines``, and the three bands of ``cuts_of_lines`` read as one."""
        one = evaluate_image_model(str(model), [lines], device=ev_dev, greedy_too=True)
        three = evaluate_image_model(str(model), [cuts_of_lines], device=ev_dev, views=True)
        return {"greedy": one.greedy_pairs, "own": one.pairs, "three": three.pairs}

    pairs: dict[str, list[tuple[str, str]]] = {"greedy": [], "own": [], "three": []}
    rows = []
    for j, state in zip(jobs, states):
        got = read(j["out"], j["val"], j["cuts"])
        for m, p in got.items():
            pairs[m] += p
        rows.append((j["out"].stem, {m: error_rates(p) for m, p in got.items()}, state))
    total = {m: error_rates(p) for m, p in pairs.items()}
    ref = {m: error_rates(p) for m, p in read(base, aside, cuts).items()}
    print(f"\nfine-tuning image_default with half of each set-aside page's lines (--split lines; --max-minutes "
          f"{args.minutes:g} --anneal --augment {args.augment}{' ' + ' '.join(drop) if drop else ''}, "
          f"{args.threads} thread(s) each{', --no-lm-adapt' if args.no_lm_adapt else ''}):")
    print("| model | set-aside lines read | CER % greedy | CER % beam + LM (its decoder) | the same, three bands | "
          "epochs | training minutes |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    pct = lambda r: f"{100 * r.cer:.2f}"  # noqa: E731
    print(f"| image_default (embedded) | {ref['own'].lines} | {pct(ref['greedy'])} | {pct(ref['own'])} | "
          f"{pct(ref['three'])} | | |")
    for name, got, state in rows:
        print(f"| {name} | {got['own'].lines} | {pct(got['greedy'])} | {pct(got['own'])} | {pct(got['three'])} | "
              f"{state['epoch']} | {state['train_seconds'] / 60:.1f} |")
    print(f"| both folds | {total['own'].lines} | **{pct(total['greedy'])}** | **{pct(total['own'])}** | "
          f"**{pct(total['three'])}** | | |")
    print(f"reference: {KRAKEN_REFERENCE}; `ketos train` measures on a random share of the lines it is given, "
          "so its validation lines come from pages it trains on, as here, and it reads them greedily")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30, help="fine-tuning budget (hwr train --max-minutes)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs of each tool in the throughput comparison")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of both tools (default 1: 2-core machine)")
    ap.add_argument("--workers", type=int,
                    help="data-loader worker processes of both tools (default: hwr train's own choice, none on a "
                         "CPU; none for ketos)")
    ap.add_argument("--pages", type=int, help="only the first N pages (smoke runs)")
    ap.add_argument("--finetune-subset", metavar="START:STEP", type=_start_step,
                    help="fine-tune on every STEP-th fine-tuning page from START (sorted by name; 0:2 is half of "
                         "them): how the result grows with the pages of the hand")
    ap.add_argument("--throughput-lines", type=int, help="only the first N fine-tuning lines in the throughput runs")
    ap.add_argument("--ketos-batch", type=int, default=1, help="ketos train's batch size (default 1, its own)")
    ap.add_argument("--cut", choices=["polygon", "band"], default="band",
                    help="how the lines are cut out of the pages (hwr import pages --cut; default band)")
    ap.add_argument("--one-band", action="store_true",
                    help="fine-tune on the fine-tuning lines cut by the band alone, not also by a narrower and a "
                         "wider one (hwr import pages --band-variants; what hwr train does with a folder of pages)")
    ap.add_argument("--val-on", choices=["set-aside", "finetune"], default="set-aside",
                    help="the lines hwr train validates on (early stopping, checkpoint and decoder choice): the "
                         "set-aside pages (default), or every 5th fine-tuning page, so that the set-aside pages "
                         "only measure (but image_default was trained on those pages: it reads them at 8 %% "
                         "greedy, and validation then keeps the first epoch)")
    ap.add_argument("--split", choices=["pages", "lines"], default="pages",
                    help="pages (default): no line of a set-aside page is trained on; lines: each set-aside line "
                         "is read by a fine-tuning that also trained on half of its page's other lines (two folds "
                         "side by side), as a random split of the lines (ketos train's) measures")
    ap.add_argument("--augment", choices=["warp", "page", "mild", "off"], default="warp",
                    help="hwr train --augment of the fine-tuning (default warp, hwr train's own default)")
    ap.add_argument("--members", type=int, default=1,
                    help="hwr train --members: fine-tunings side by side, --threads each, their weights averaged")
    ap.add_argument("--ensemble", action="store_true",
                    help="with --members: hwr train --ensemble, the members kept as one ensemble (outputs averaged)")
    ap.add_argument("--dropout", type=float,
                    help="hwr train --dropout of the fine-tuning (default: image_default's, 0.25)")
    ap.add_argument("--device", help="hwr train --device of the fine-tuning and of hwr's throughput run (ketos "
                                     "stays on the CPU), and where the CERs are read (default: hwr train's own "
                                     "choice, the CERs on the CPU)")
    ap.add_argument("--no-lm-adapt", action="store_true",
                    help="hwr train --no-lm-adapt: the fine-tuned model keeps image_default's decoder")
    ap.add_argument("--no-finetune", action="store_true", help="only the throughput comparison")
    ap.add_argument("--no-kraken", action="store_true", help="skip ketos train")
    ap.add_argument("--out-dir", type=Path, default=CACHE / "finetune-hooker", help="models and runs go here")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    workers_text = ("hwr train's default workers" if args.workers is None else f"{args.workers} worker(s)")
    if not HOOKER.is_dir():
        sys.exit(f"{HOOKER} not found: set HWR_SHARED to the folder holding data/")
    ft_pages, aside_pages = split_hooker(list(HOOKER.glob("*.xml")), 5, args.pages)
    from hwr.data.pages import BAND_CUT_VERSION, TRAIN_BANDS

    # the cut's version in the cached files' names: hooker-finetune-band2.h5 since 2026-11-27,
    # -band3.h5 and -cut3.h5 (the polygon cut) since 2026-11-28
    tag = (f"-first{args.pages}" if args.pages else "") + (
        f"-band{BAND_CUT_VERSION}" if args.cut == "band" else f"-cut{BAND_CUT_VERSION}")
    ft, aside = import_pages(ft_pages, aside_pages, tag, args.threads, args.cut)
    from hwr.data.lineset import LineSet
    from hwr.pipeline import resolve_model

    n_ft, n_aside = len(LineSet(ft)), len(LineSet(aside))
    smoke = "SMOKE RUN (first %d pages) " % args.pages if args.pages else ""
    print(f"{smoke}Joseph Hooker pages, sorted by name, every 5th set aside (as `hwr import pages --holdout-every 5`):")
    print(f"  fine-tuning: {len(ft_pages)} pages, {n_ft} lines; set aside: {len(aside_pages)} pages, {n_aside} lines "
          f"({' '.join(p.stem for p in aside_pages)})")
    print("  the embedded image model was trained with the same split: the set-aside pages are its held-back "
          "pages, and it has already seen the fine-tuning pages (among its other training data)")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    base = resolve_model("image_default", "image")

    if not args.no_finetune:
        from hwr.decoding.decoder import load_model_defaults
        from hwr.training.lm_adapt import read_tuning

        variants = args.cut == "band" and not args.one_band  # the fine-tuning lines cut by several bands
        train_h5, val_h5 = (import_pages(ft_pages, aside_pages, tag, args.threads, args.cut, variants=True)[0]
                            if variants else ft), aside
        if args.finetune_subset:
            if args.val_on == "finetune":
                sys.exit("--finetune-subset takes the validation lines from the set-aside pages: not with "
                         "--val-on finetune")
            start, step = args.finetune_subset
            chosen = ft_pages[start::step]
            train_h5 = pages_subset(train_h5, chosen, CACHE / "h5" / f"{train_h5.stem}-pages{start}-{step}.h5")
            print(f"  --finetune-subset {start}:{step}: {len(chosen)} of the {len(ft_pages)} fine-tuning pages, "
                  f"{len(LineSet(train_h5))} line images ({' '.join(p.stem for p in chosen)})")
        if args.split == "lines" and (args.val_on != "set-aside" or args.finetune_subset or not variants
                                      or args.members > 1 or args.pages):
            sys.exit("--split lines takes the fine-tuning pages whole and the set-aside lines cut by three bands: "
                     "not with --val-on finetune, --finetune-subset, --cut polygon, --one-band, --members or --pages")
        if args.val_on == "finetune":
            ft2, val2 = split_hooker(ft_pages, 5)
            train_h5, val_h5 = import_pages(ft_pages, [], tag, args.threads, args.cut,
                                            names=("hooker-finetune-train", "hooker-finetune-val"), variants=variants)
            print(f"  hwr train validates on every 5th fine-tuning page: {len(val2)} pages, {len(LineSet(val_h5))} "
                  f"lines ({' '.join(p.stem for p in val2)}); it trains on the other {len(ft2)} pages, "
                  f"{len(LineSet(train_h5))} line images; the set-aside pages only measure")
        elif args.split == "pages":
            print("  hwr train validates on the set-aside pages (early stopping, checkpoint and decoder choice): "
                  "the figures after fine-tuning are tuned on the lines they are measured on")
        if variants:
            print(f"  hwr train fine-tunes on each line cut by {len(TRAIN_BANDS)} bands (hwr import pages "
                  f"--band-variants: {', '.join(f'{u:g}/{d:g}' for u, d in TRAIN_BANDS)} line spacings above/below "
                  f"the baseline): {len(LineSet(train_h5))} line images")
        ev_dev = args.device or "cpu"
        if args.split == "lines":
            line_split_run(args, train_h5, aside, base, ev_dev)
    if not args.no_finetune and args.split == "pages":
        before = {d: cer(base, aside, d, ev_dev) for d in ("greedy", None)}
        members = (f"-members{args.members}" + ("-ensemble" if args.ensemble else "")) if args.members > 1 else ""
        drop = [] if args.dropout is None else ["--dropout", f"{args.dropout:g}"]
        subset = "-pages{}-{}".format(*args.finetune_subset) if args.finetune_subset else ""
        out = args.out_dir / (f"hooker{tag}{'v' if variants else ''}{subset}-val-{args.val_on}-{args.augment}{members}"
                              f"{'-d%g' % args.dropout if drop else ''}"
                              f"{'-' + args.device.replace(':', '') if args.device else ''}.safetensors")
        state = hwr_train(train_h5, val_h5, out, args.threads, args.workers,
                          ["--max-minutes", str(args.minutes), "--anneal", "--augment", args.augment, *drop,
                           *(["--no-lm-adapt"] if args.no_lm_adapt else [])],
                          args.members, args.ensemble, device=args.device)
        own = load_model_defaults(out)  # the decoder hwr train chose on the validation lines
        chosen = (read_tuning(out) or {}).get("chosen", "inherited")
        b = load_model_defaults(base)  # the same network read with image_default's decoder
        after = {"greedy": cer(out, aside, "greedy", ev_dev), "own": cer(out, aside, None, ev_dev),
                 "base": cer(out, aside, b.decoder, ev_dev, lm=b.lm or "none", lm_weight=b.lm_weight,
                             insertion_bonus=b.insertion_bonus, beam_width=b.beam_width)}
        three = {}  # the model's own decoder, each set-aside line read by three bands (hwr recognize --bands 3)
        if args.cut == "band" and not args.pages:
            from band_views import held_back_cuts

            cuts = held_back_cuts(HOOKER)
            three = {m: cer(m, cuts, None, ev_dev, views=True)[1] for m in (base, out)}
        secs = state["train_seconds"]  # finished epochs, of all members
        print(f"\n{smoke}fine-tuning image_default on the fine-tuning lines ({state['epoch']} epochs, "
              f"--max-minutes {args.minutes:g} --anneal --augment {args.augment}{' ' + ' '.join(drop) if drop else ''}"
              + (f" --members {args.members}{' --ensemble' if args.ensemble else ''}, {args.threads} thread(s) each"
                 if args.members > 1 else
                 f", {args.threads} thread(s)") + f", {workers_text}"
              + (f", --device {args.device}" if args.device else "") + (", --no-lm-adapt" if args.no_lm_adapt else "") + "):")
        pct3 = lambda m: f"{100 * three[m]:.2f}" if m in three else "-"  # noqa: E731
        print("| model | set-aside lines | CER % greedy | CER % beam + LM (image_default's decoder) "
              "| CER % the model's own decoder | the same, three bands (--bands 3) | training minutes | lines/s |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        print(f"| image_default (embedded) | {before['greedy'][0]} | {100 * before['greedy'][1]:.2f} | "
              f"{100 * before[None][1]:.2f} | {100 * before[None][1]:.2f} | {pct3(base)} | | |")
        print(f"| fine-tuned | {after['greedy'][0]} | {100 * after['greedy'][1]:.2f} | {100 * after['base'][1]:.2f} | "
              f"{100 * after['own'][1]:.2f} | {pct3(out)} | {secs / 60:.1f} ({state['wall_seconds'] / 60:.1f} wall, "
              f"validation and decoder choice included) | {state['lines_per_s']:.1f} |")
        print(f"the fine-tuned model's own decoder, chosen by hwr train on its validation lines: {chosen}"
              + (f" (weight {own.lm_weight:g}, bonus {own.insertion_bonus:g})"
                 if own.lm_weight and not chosen.startswith("inherited") else ""))
        if args.members > 1:
            from hwr.models.checkpoint import read_info
            from hwr.training.card import members_sentence

            print(members_sentence(read_info(out)))
        print(f"reference: {KRAKEN_REFERENCE}")
        print(f"model: {out} (card {out.with_suffix('.md')})")

    # throughput: the same lines for both tools
    n = min(args.throughput_lines or n_ft, n_ft)
    data = ft if n == n_ft else subset_lineset(ft, n, args.out_dir / f"throughput{tag}-{n}.h5")
    print(f"\n{smoke}training throughput on the same {n} fine-tuning lines, {args.epochs} epoch(s) each, "
          f"{args.threads} torch thread(s), {workers_text}; last epoch, training only:")
    st = hwr_train(data, aside, args.out_dir / f"throughput{tag}.safetensors", args.threads, args.workers,
                   ["--epochs", str(args.epochs), "--patience", str(args.epochs + 1), "--no-lm-adapt"],
                   device=args.device)
    hwr_ls = st["history"][-1]["lines_per_s"]
    from hwr.models.checkpoint import load_model

    n_params = sum(p.numel() for p in load_model(base)[0].parameters())
    rows = [(f"hwr train (image_default's CRNN, {n_params / 1e6:.1f} M parameters, batch 24, augmentation)", hwr_ls,
             f"{st['wall_seconds']:.0f}")]
    venv = None
    if not args.no_kraken:
        from _kraken import KrakenUnavailable, kraken_venv

        try:
            venv = kraken_venv()
        except KrakenUnavailable as e:
            print(f"kraken skipped: {e}", file=sys.stderr)
    if venv is not None:
        with tempfile.TemporaryDirectory() as d:
            ids = LineSet(data).ids
            images = export_pairs(ft_pages, ids, Path(d) / "train", args.cut)
            aside_ids = LineSet(aside).ids[:16]  # validation is not timed; a few lines keep it short
            val_images = export_pairs(aside_pages, aside_ids, Path(d) / "val", args.cut)
            k = ketos_train(venv, images, val_images, args.epochs, args.threads, args.workers or 0, Path(d),
                            args.ketos_batch)
        last = k["epochs"][-1]  # every line once per epoch, in batches of --ketos-batch
        rows.append((f"ketos train -f path (kraken's default VGSL network, {k['params']} parameters, "
                     f"batch {args.ketos_batch})", min(len(images), last["batches"] * args.ketos_batch)
                     / max(last["seconds"], 1), f"{k['wall_seconds']:.0f}"))
    print("| trainer | lines/s | wall s (all epochs, start-up and validation included) |")
    print("| --- | --- | --- |")
    for name, ls, wall in rows:
        print(f"| {name} | {ls:.1f} | {wall} |")
    if len(rows) == 2:
        print(f"hwr / kraken: {rows[0][1] / max(rows[1][1], 1e-9):.1f}x")


if __name__ == "__main__":
    main()
