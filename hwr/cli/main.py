"""``hwr`` command line.  Heavy modules (torch) are imported inside commands so that
``hwr --help`` starts fast."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from hwr import __version__


def _setup_logging(verbose: int) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _set_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hwr")
@click.option("-v", "--verbose", count=True, help="More messages on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """hwr: handwriting recognition for pen strokes (ink) and images."""
    _setup_logging(verbose)


# ---------------------------------------------------------------------------------- import


@cli.group("import")
def import_() -> None:
    """Turn datasets into hwr HDF5 files (one per split)."""


@import_.command("iam-ondb")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", "splits", multiple=True, metavar="NAME=FORMS.txt",
              help="A split and its file of form ids (e.g. train=trainset.txt). Repeatable.")
@click.option("--unlisted", metavar="NAME", help="Also write the forms in no given split under this name.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the NAME.h5 files.")
@click.option("--keep-tokenization", is_flag=True,
              help="Keep IAM's LOB tokenisation ('Mr . Foot ,') instead of normal spacing ('Mr. Foot,').")
def import_iam_ondb(root: Path, splits: tuple[str, ...], unlisted: str | None, out_dir: Path,
                    keep_tokenization: bool) -> None:
    """Import IAM-OnDB (ROOT holds lineStrokes/ and ascii/)."""
    from hwr.data.importers import iam_ondb_forms, iter_iam_ondb, read_split_file
    from hwr.data.inkset import write_inkset

    if not (root / "lineStrokes").is_dir() or not (root / "ascii").is_dir():
        raise click.UsageError(f"{root} must contain lineStrokes/ and ascii/")
    out_dir.mkdir(parents=True, exist_ok=True)
    all_forms = iam_ondb_forms(root)
    used: set[str] = set()
    jobs = []
    for spec in splits:
        name, _, file = spec.partition("=")
        if not name or not file:
            raise click.UsageError(f"--split wants NAME=FILE, got {spec!r}")
        forms = read_split_file(Path(file))
        used.update(forms)
        jobs.append((name, forms))
    if unlisted:
        jobs.append((unlisted, [f for f in all_forms if f not in used]))
    if not jobs:
        jobs.append(("all", all_forms))
    problems: list[str] = []
    for name, forms in jobs:
        n = write_inkset(out_dir / f"{name}.h5", iter_iam_ondb(root, forms, detokenize=not keep_tokenization,
                                                               on_error=problems.append), split=name)
        click.echo(f"{name}: {n} lines from {len(forms)} forms -> {out_dir / (name + '.h5')}", err=True)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)


@import_.command("ink")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .h5 file to write.")
@click.option("--source", default="", help="Dataset name stored with every line.")
@click.option("--split", default="", help="Split name stored in the file.")
def import_ink(folders: tuple[Path, ...], out: Path, source: str, split: str) -> None:
    """Import folders of ink files with transcriptions (InkML with ground truth, hwr JSON
    with "text", or any ink file with a FILE.gt.txt / FILE.txt beside it); the writer is
    the file's folder name."""
    from hwr.data.importers import iter_ink_folder
    from hwr.data.inkset import write_inkset

    problems: list[str] = []

    def gen():
        for folder in folders:
            for sid, ink in iter_ink_folder(folder, source=source or folder.name, on_error=problems.append):
                yield f"{folder.name}/{sid}", ink

    import itertools

    lines = gen()
    first = next(lines, None)
    if first is None:  # as `hwr import lines`: an error, and an existing OUT is left as it was
        for p in problems:
            click.echo(f"skipped: {p}", err=True)
        raise click.ClickException(f"no ink file with a transcription in {', '.join(map(str, folders))}; "
                                   f"{out} not written")
    n = write_inkset(out, itertools.chain([first], lines), split=split)
    click.echo(f"{n} lines -> {out}", err=True)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)


@import_.command("pages")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Line dataset (.h5) of the training pages.")
@click.option("--val-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Line dataset (.h5) of the held-back pages (default: OUT with -val before .h5).")
@click.option("--holdout-every", default=5, show_default=True,
              help="Hold back every N-th page of each collection (sorted by path) for validation; 0: none.")
@click.option("--split-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instead: a file of page names (XML stems), one a line, to hold back.")
@click.option("--height", default=48, show_default=True, help="Height of the normalised line images.")
# hwr.data.pages.CUTS / DEFAULT_CUT, spelt out: that module needs numpy, which the CLI does not load to start
@click.option("--cut", type=click.Choice(["band", "polygon"]), default="band", show_default=True,
              help="Cut each line by the band of its baseline (0.6 line spacings above it, 0.25 "
                   "below; a short line squeezed between two, an interlinear insertion, by a band of its own "
                   "size; a line without a baseline by its polygon), or by its polygon.")
@click.option("--band-variants", is_flag=True,
              help="With --cut band: cut each line of the training pages three ways, by the band and by a "
                   "narrower (0.5 above, 0.2 below) and a wider one (0.75, 0.35), for training (as `hwr train` "
                   "does with a folder of pages); the held-back pages are cut once.")
def import_pages(folder: Path, out: Path, val_out: Path | None, holdout_every: int, split_file: Path | None,
                 height: int, cut: str, band_variants: bool) -> None:
    """Crop the transcribed lines of PAGE XML / ALTO pages under FOLDER (one subfolder per
    collection; each XML beside its image) into normalised line datasets, split by page."""
    from hwr.data.lineset import write_lineset
    from hwr.data.pages import TRAIN_BANDS, find_pages, page_line_samples, split_pages
    from hwr.imaging.line import line_preprocessing

    if band_variants and cut != "band":
        raise click.UsageError("--band-variants cuts lines by several bands: it needs --cut band")
    prep = line_preprocessing(height=height)
    pages = find_pages(folder)
    if not pages:
        raise click.UsageError(f"no .xml files under {folder}")
    held = None
    if split_file:
        held = {ln.strip() for ln in split_file.read_text(encoding="utf-8").splitlines() if ln.strip()}
    split = split_pages(pages, holdout_every, held)
    val_out = val_out or out.with_name(out.stem + "-val" + (out.suffix or ".h5"))
    problems: list[str] = []
    for coll, (tr, va) in split.items():
        click.echo(f"{coll}: {len(tr)} training pages, {len(va)} held back: {' '.join(p.stem for p in va)}", err=True)

    def lines(which: int):
        return page_line_samples({c: parts[which] for c, parts in split.items()}, prep, problems, cut=cut,
                                 bands=TRAIN_BANDS if band_variants and which == 0 else None)

    n = write_lineset(out, lines(0), prep, split="train")
    click.echo(f"train: {n} {f'line images ({len(TRAIN_BANDS)} cuts of each line)' if band_variants else 'lines'} "
               f"-> {out}", err=True)
    if any(parts[1] for parts in split.values()):
        n = write_lineset(val_out, lines(1), prep, split="val")
        click.echo(f"val: {n} lines -> {val_out}", err=True)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)


@import_.command("lines")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Line dataset (.h5).")
@click.option("--val-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a validation dataset of the lines --val-fraction picks.")
@click.option("--val-fraction", default=0.1, show_default=True, type=click.FloatRange(0, 0.9),
              help="With --val-out: the share of lines held back (chosen by file name, so always the same).")
@click.option("--collection", default="", help="Collection name stored with every line (default: the folder's name).")
@click.option("--height", default=48, show_default=True, help="Height of the normalised line images.")
def import_lines(folders: tuple[Path, ...], out: Path, val_out: Path | None, val_fraction: float,
                 collection: str, height: int) -> None:
    """Import folders of line images with LINE.gt.txt transcriptions beside them (the
    kraken/Tesseract convention; also the desktop app's page-line corrections) into a
    normalised line dataset."""
    from hwr.data.linefolder import line_folder_samples
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import line_preprocessing

    prep = line_preprocessing(height=height)
    problems: list[str] = []
    kept: list[list[LineSample]] = [[], []]
    for folder in folders:
        for held, sample in line_folder_samples(folder, prep, problems, collection,
                                                val_fraction if val_out is not None else 0.0):
            kept[int(held)].append(sample)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)
    if not kept[0]:
        raise click.ClickException(f"no usable line image + .gt.txt pair in {', '.join(map(str, folders))}")
    n = write_lineset(out, kept[0], prep, split="train")
    click.echo(f"train: {n} lines -> {out}", err=True)
    if val_out is not None:
        n = write_lineset(val_out, kept[1], prep, split="val")
        click.echo(f"val: {n} lines -> {val_out}", err=True)


@import_.command("rendered-ink")
@click.argument("ink_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Line dataset (.h5).")
@click.option("--copies", default=1, show_default=True, help="Renderings per ink line.")
@click.option("--seed", default=0, show_default=True, help="Seed of the rendering variation.")
@click.option("--clean", is_flag=True, help="Render without variation (black pen on white).")
@click.option("--height", default=48, show_default=True, help="Height of the normalised line images.")
def import_rendered_ink(ink_file: Path, out: Path, copies: int, seed: int, clean: bool, height: int) -> None:
    """Render the lines of an ink dataset to images (with realistic variation) into a line dataset."""
    import numpy as np

    from hwr.data.inkset import InkSet
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.errors import InputError
    from hwr.imaging.line import line_preprocessing, normalize_line, to_uint8
    from hwr.ink.render import render_ink

    prep = line_preprocessing(height=height)
    ds = InkSet(ink_file)
    ds.load_all()
    problems: list[str] = []

    def gen():
        for j in range(len(ds)):
            ink = ds[j]
            for c in range(copies):
                rng = None if clean else np.random.default_rng((seed, j, c))
                try:
                    img = to_uint8(normalize_line(render_ink(ink, rng=rng), prep, ds.ids[j]))
                except InputError as e:
                    problems.append(f"{ds.ids[j]}: {e}")
                    continue
                yield LineSample(img, ink.text or "", writer=ink.writer or "", source=ds.ids[j],
                                 collection=ds.sources[j] or ink_file.stem, id=f"{ds.ids[j]}#{c}")

    n = write_lineset(out, gen(), prep, split=ds.split)
    click.echo(f"{n} line images from {len(ds)} ink lines -> {out}", err=True)
    for p in problems:
        click.echo(f"skipped: {p}", err=True)


# ---------------------------------------------------------------------------------- train


def _resolve_device(device: str) -> str:
    from hwr.device import resolve_device

    try:
        return resolve_device(device)
    except RuntimeError as e:
        raise click.UsageError(str(e)) from e


@cli.command()
@click.option("--kind", type=click.Choice(["ink", "image"]),
              help="Model kind (default: image if a --data file is a line dataset, else ink). "
                   "An image model renders ink datasets to images on the fly.")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(exists=True),
              help="Training data, repeatable: a dataset (.h5 from `hwr import`), or a folder of line images "
                   "with .gt.txt files, of page images with PAGE/ALTO XML (lines cut as `hwr import pages "
                   "--band-variants` cuts them: three bands each for training, one for validation), or of ink files with transcriptions (the app's corrections are such folders).")
@click.option("--val", "val", multiple=True, type=click.Path(exists=True),
              help="Validation data (the same kinds), repeatable. Default: --val-fraction of --data is held out "
                   "(the same lines every time).")
@click.option("--val-fraction", default=0.1, show_default=True, type=click.FloatRange(0.01, 0.5),
              help="Without --val: the share of lines (of pages, for page folders) held out for validation.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Model file to write (.safetensors; a .json is written beside it).")
@click.option("--base", help="Fine-tune this model (a file, or an embedded model: ink_default, image_default) "
              "instead of starting afresh.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Checkpoint folder (default: OUT.run). A run found there is resumed.")
@click.option("--restart", is_flag=True, help="Ignore a checkpoint in the run folder and start afresh.")
@click.option("--epochs", default=100, show_default=True)
@click.option("--batch-size", default=24, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None,
              help="Peak learning rate (default 1.5e-3; fine-tuning an image model with --base: 3e-3).")
@click.option("--patience", default=12, show_default=True, help="Stop after this many epochs without improvement.")
@click.option("--min-epoch-lines", default=240, show_default=True, type=click.IntRange(min=0),
              help="A training set smaller than this is gone through several times an epoch, each time "
                   "distorted anew (so that a few dozen corrections still make an epoch of several steps); "
                   "0: once.")
@click.option("--max-minutes", type=float,
              help="Time budget of this run: no epoch is started that would not finish within it.")
@click.option("--anneal", is_flag=True,
              help="Cosine decay of the learning rate to the end of this run (--max-minutes, else --epochs).")
@click.option("--hidden", type=int, help="LSTM units per direction (default: ink 128, image 128). Image models "
              "with --base: a resized network that keeps the base's layers up to the first one that changes.")
@click.option("--layers", type=int, help="BLSTM layers (default: ink 4, image 2).")
@click.option("--arch", type=click.Choice(["crnn", "mdlstm"]), default="crnn", show_default=True,
              help="Image models: CNN + BLSTM, or Graves-style multidimensional LSTM (its default size).")
@click.option("--channels", help="Image models: conv channels per block, e.g. 16,32,64,96 (the default).")
@click.option("--subsample", type=int, help="Image models: width reduction of the CNN (2, 4 or 8; default 4).")
@click.option("--height", type=int, help="Image models: line height when no line dataset fixes it (default 48).")
@click.option("--features", type=click.Choice(["points", "bezier"]), default="points", show_default=True,
              help="Ink features: resampled points, or cubic Bezier curves (Carbune et al. 2020; ~6x shorter).")
@click.option("--seed", default=1, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=int, help="torch threads on CPU (default: torch's choice).")
@click.option("--workers", type=click.IntRange(min=0),
              help="DataLoader worker processes (default: none on a CPU; on a GPU one per CPU core but one, "
                   "at most 8, so that preparing the lines does not hold the GPU back).")
@click.option("--amp/--no-amp", default=True, show_default=True, help="bfloat16 mixed precision on CUDA.")
@click.option("--progress-json", is_flag=True,
              help="Also print one JSON object per line on stdout: {\"event\": \"epoch\", ...} after each epoch, "
                   "{\"event\": \"done\", \"model\": ..., \"base_val_cer\": ..., \"best_val_cer\": ..., "
                   "\"base_read_val_cer\": ..., \"read_val_cer\": ..., \"verdict\": ...} at the end "
                   "(for programs such as the desktop app).")
@click.option("--freeze-norm/--update-norm", default=None,
              help="Keep the batch-norm running statistics (default: kept when fine-tuning with --base, "
                   "unless --hidden/--layers/--channels/--subsample resize the base).")
@click.option("--warmup", type=click.IntRange(0), default=None,
              help="Learning-rate warm-up steps (default 400; fine-tuning with --base: 50).")
@click.option("--augment", type=click.Choice(["warp", "page", "mild", "off"]), default="warp", show_default=True,
              help="Random distortions of the training lines. Line images: warp (shear, height scale and shift, an "
                   "elastic warp, and what mild does), page (warp, and in 3 lines of 10 another training line "
                   "showing through the paper, mirrored and faint: for pages written on both sides of thin paper) "
                   "or mild (width scale, stroke weight, contrast, blur, noise); ink and rendered ink are "
                   "distorted alike by any; off: none.")
@click.option("--members", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Fine-tune this many models side by side (seeds SEED, SEED+1, ...; on a CPU one process each, "
                   "the threads shared out, on a GPU one after another) and average their weights; the average "
                   "is kept only if it validates better than the best member. Needs --base.")
@click.option("--ensemble", is_flag=True,
              help="With --members: keep the members as one ensemble model that reads with all of them, their "
                   "outputs averaged (better than averaging their weights, but reading takes N times as long; "
                   "see `hwr ensemble`), if it validates better than the best member.")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Dropout around the network's recurrent layers (default: the base's with --base, "
                   "else 0.25). More holds back learning a few hundred lines by heart: see the README.")
@click.option("--lm-adapt/--no-lm-adapt", default=True, show_default=True,
              help="After training, train a character LM on the training text and choose the decoder (the "
                   "inherited one, or beam search with that LM, alone or mixed with the base's LM) on the "
                   "validation lines; takes a minute or two after the time budget.")
def train(kind, data, val, val_fraction, out, base, run_dir, restart, epochs, batch_size, lr, patience, min_epoch_lines,
          max_minutes,
          anneal, hidden, layers, arch, channels, subsample, height, features, seed, device, threads, workers,
          amp, progress_json, freeze_norm, warmup, augment, members, ensemble, dropout, lm_adapt) -> None:
    """Train a recogniser (or fine-tune one with --base) on datasets or folders of ground truth,
    with validation CER, checkpoints and resume."""
    _set_threads(threads)
    from hwr.errors import InputError, TrainingError
    from hwr.training.ink import train_ink
    from hwr.training.sources import prepare_sources
    from hwr.training.trainer import FINE_TUNE_IMAGE_LR, TrainConfig

    if base is not None:
        from hwr.errors import ModelError
        from hwr.pipeline import resolve_model

        try:
            base = str(resolve_model(base))
        except ModelError as e:
            raise click.BadParameter(str(e), param_hint="--base") from e
    line_height = height
    if line_height is None and base is not None:
        from hwr.models.checkpoint import read_info

        try:
            line_height = int((read_info(base).preprocessing or {}).get("height", 0)) or None
        except Exception:
            line_height = None
    try:
        from hwr.training.distributed import world

        quiet = world()[0] != 0
        src = prepare_sources(data, val, kind=kind, height=line_height or 48, val_fraction=val_fraction,
                              on_message=lambda m: None if quiet else click.echo(m, err=True))
    except InputError as e:
        raise click.ClickException(str(e)) from e
    for note in src.notes if not quiet else ():
        click.echo(note, err=True)
    kind, data, val = src.kind, [str(p) for p in src.train], [str(p) for p in src.val]
    if base is not None and Path(base).resolve() == Path(out).resolve():
        raise click.BadParameter("write the new model next to its base, not over it: the base stays the "
                                 "one in use until you choose the new one", param_hint="--out")

    if (lm_adapt or base) and not quiet:  # say what the decoder choice and the comparison as read do, even without -v
        import logging

        lg = logging.getLogger("hwr.training.lm_adapt")
        if not lg.handlers:
            h = logging.StreamHandler(sys.stderr)
            h.setFormatter(logging.Formatter("%(message)s"))
            lg.addHandler(h)
            lg.setLevel(logging.INFO)
            lg.propagate = False
    if ensemble and members < 2:
        raise click.UsageError("--ensemble keeps the members of --members N (2 or more) as one ensemble")
    dev = _resolve_device(device)
    if workers is None:
        from hwr.device import default_workers

        workers = default_workers(dev)
    if lr is None:
        lr = FINE_TUNE_IMAGE_LR if base and kind == "image" else TrainConfig.lr
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, device=dev,
                      max_minutes=max_minutes, workers=workers, anneal=anneal, amp=amp,
                      freeze_norm=freeze_norm, warmup_steps=warmup if warmup is not None else (50 if base else 400),
                      adapt_lm=lm_adapt, augment=False if augment == "off" else augment, members=members,
                      ensemble=ensemble, min_epoch_lines=min_epoch_lines)

    def report(p):
        who = f"member {p.member}  " if p.member else ""
        click.echo(f"{who}epoch {p.epoch:3d}  loss {p.loss:8.3f}  val CER {100 * p.val_cer:6.2f}%  "
                   f"WER {100 * p.val_wer:6.2f}%  lr {p.lr:.2e}  {p.lines_per_s:5.1f} lines/s  "
                   f"{p.seconds / 60:6.1f} min{'  *' if p.improved else ''}", err=True)
        if progress_json:
            from dataclasses import asdict

            _emit_json({"event": "epoch", **asdict(p)})

    if kind == "image":
        from hwr.training.image import train_image

        net_config = {k: v for k, v in {"hidden": hidden, "layers": layers, "subsample": subsample}.items()
                      if v is not None}
        if channels:
            net_config["channels"] = [int(c) for c in channels.split(",")]
        if arch == "mdlstm" and (net_config or channels):
            raise click.UsageError("--hidden, --layers, --channels and --subsample size a CRNN; "
                                   "--arch mdlstm trains the default MDLSTM (hwr.models.mdlstm.LineMDLSTMConfig)")
        try:
            path = train_image(data, val, out, cfg, net_config=net_config, base=base, run_dir=run_dir,
                               restart=restart, height=height, arch=arch, callbacks=[report], dropout=dropout)
        except (ValueError, TrainingError) as e:
            raise click.ClickException(str(e)) from e
        _report_written(path, progress_json)
        return
    if base is not None and (hidden or layers):
        raise click.UsageError("--hidden and --layers size an ink model trained afresh; with --base the "
                               "base's size is kept (resizing from a base is for image models)")
    try:
        path = train_ink(data, val, out, cfg, net_config={"hidden": hidden or 128, "layers": layers or 4},
                         base=base, run_dir=run_dir, restart=restart, features=features, callbacks=[report],
                         dropout=dropout)
    except (ValueError, TrainingError) as e:
        raise click.ClickException(str(e)) from e
    _report_written(path, progress_json)


def _emit_json(obj: dict) -> None:
    import json
    import math

    def clean(v):  # JSON has no infinity: an unknown figure is null
        return None if isinstance(v, float) and not math.isfinite(v) else v

    click.echo(json.dumps({k: clean(v) for k, v in obj.items()}, ensure_ascii=False))
    sys.stdout.flush()


def _report_written(path, progress_json: bool = False) -> None:
    from hwr.models.checkpoint import read_info
    from hwr.training.card import members_sentence, verdict
    from hwr.training.distributed import world

    if world()[0] != 0:  # under torchrun, rank 0 reports
        return

    click.echo(f"wrote {path} and its model card {Path(path).with_suffix('.md')}", err=True)
    info = read_info(path)
    members = members_sentence(info)
    if members:
        click.echo(members, err=True)
    v = verdict(info)
    if v:
        click.echo(f"the new model is {v}", err=True)
    from hwr.training.lm_adapt import read_tuning, summary

    tuning = read_tuning(path)
    if tuning:
        click.echo(f"decoder: {summary(tuning)}", err=True)
    if progress_json:
        tr = info.training
        _emit_json({"event": "done", "model": str(path), "card": str(Path(path).with_suffix(".md")),
                    "kind": info.kind, "base_val_cer": tr.get("base_val_cer"), "best_val_cer": tr.get("best_val_cer"),
                    "base_read_val_cer": tr.get("base_read_val_cer"), "read_val_cer": tr.get("read_val_cer"),
                    "epochs": tr.get("epochs"), "verdict": v,
                    "decoder": tuning["chosen"] if tuning else None})


# ---------------------------------------------------------------------------------- recognize


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model", help="Model file (.safetensors) or embedded model name (default: the embedded ink model).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]),
              help="CTC decoder (default: the model's tuned choice: beam search with the default LM).")
@click.option("--beam-width", type=click.IntRange(1, 1024),
              help="Beam width (default: the model's tuned width; 16 for the embedded ink model, 32 for "
                   "the image model).")
@click.option("--lm", help="Character LM (ARPA file), or 'none' (default: the model's tuned LM).")
@click.option("--lm-weight", type=click.FloatRange(0, 10), help="LM weight (default: the tuned value).")
@click.option("--insertion-bonus", type=float, help="Score added per character (default: the tuned value).")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False),
              help="Word list (one word per line): words outside it are forbidden (or penalised, "
                   "see --lexicon-penalty); numbers and punctuation pass.")
@click.option("--lexicon-penalty", type=click.FloatRange(max=0), help="Log-score per word outside the "
              "lexicon (default: forbid them).")
@click.option("--rescore-lm", help="Character LSTM LM (.safetensors, hwr.decoding.neural_lm) that re-ranks "
              "the beam's readings, or 'none' (default: the model's tuned one, if any).")
@click.option("--rescore-weight", type=click.FloatRange(0, 10), help="Weight of --rescore-lm (default: the tuned "
              "value; 0 turns rescoring off).")
@click.option("--nbest", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Alternatives per line (jsonl output; beam decoder).")
@click.option("--backend", type=click.Choice(["auto", "python", "flashlight"]), default="auto", show_default=True,
              help="Beam search implementation: flashlight-text when installed, else hwr's own.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: the recognised text; jsonl: one JSON object per input, in input order.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="torch threads (1 is fastest for single lines on most CPUs).")
@click.option("--line", "line", is_flag=True,
              help="Each INPUT is an image of one text line (default model: the embedded image model).")
@click.option("--bands", type=click.IntRange(1, 3), default=1, show_default=True,
              help="Page images: read each found line cut by this many bands about its baseline (the reading "
                   "band, a narrower and a wider one) and keep the text that fits them all best: 3 reads "
                   "difficult hands about a point better, in three times the network time.")
@click.option("--no-paper", is_flag=True,
              help="Page images: read the page as it is, even where it looks like a photograph of a sheet on a "
                   "table (by default such a sheet is found and flattened first; the lines are still given on "
                   "the photograph).")
def recognize(inputs, model, device, decoder, beam_width, lm, lm_weight, insertion_bonus, lexicon,
              lexicon_penalty, rescore_lm, rescore_weight, nbest, backend, fmt, threads, line, bands,
              no_paper) -> None:
    """Recognise handwriting in INPUT files: ink (InkML, IAM-OnDB line XML, hwr ink JSON) or
    page images (segmented into lines), the kind detected from the content; with --line,
    images of single text lines.  Without --model, ink goes to the embedded ink model and
    images to the embedded image model.  Every page of a multi-page TIFF is read (one page
    in memory at a time): its pages' texts are separated by a line holding a form feed, and
    in jsonl each line has its 1-based "page" and the object the number of "pages".
    Errors are reported per input (and page); the exit status is 1 if any input failed."""
    import json

    if line and bands > 1:
        raise click.UsageError("--bands cuts the lines found on a page; with --line each input is a line already cut")
    _set_threads(threads)
    from hwr.errors import HwrError
    from hwr.ink.io import detect_kind
    from hwr.pipeline import Recognizer, Result

    recognizers: dict[str | None, Recognizer] = {}

    def recognizer(kind: str | None) -> Recognizer:
        key = None if model else kind  # one given model serves every input (or refuses it clearly)
        if key not in recognizers:
            recognizers[key] = Recognizer(
                model, device=device, decoder=decoder, kind=None if model else kind,
                beam_width=beam_width, lm=lm, lm_weight=lm_weight, insertion_bonus=insertion_bonus,
                lexicon=lexicon, lexicon_penalty=lexicon_penalty, backend=backend, nbest=nbest, bands=bands,
                rescore_lm=rescore_lm, rescore_weight=rescore_weight, paper=not no_paper)
        return recognizers[key]

    device = _resolve_device(device)  # no GPU for --device cuda: one clear error, before any input
    try:  # a bad model or option stops everything at once, before any input
        if model or line:
            recognizer("image" if line else None)
    except HwrError as e:
        raise click.ClickException(str(e)) from e
    failed = 0
    for path in inputs:
        if line:
            kind = "image"
        else:
            try:
                kind = "image" if detect_kind(path) == "image" else "ink"
            except HwrError:
                kind = "ink"  # the recogniser reports the unreadable file
        try:
            rec = recognizer(kind)
        except HwrError as e:  # this kind's model, LM or lexicon: it would fail every input alike
            raise click.ClickException(str(e)) from e
        try:
            res = rec.recognize_line_file(path) if line else rec.recognize_file(path)
        except HwrError as e:
            res = Result(input=str(path), error=str(e))
        except Exception as e:  # never let one input stop the others
            res = Result(input=str(path), error=f"{path}: {type(e).__name__}: {e}")
        if res.error:
            failed += 1
            click.echo(f"hwr: error: {res.error}", err=True)
        if fmt == "jsonl":
            click.echo(json.dumps(res.to_dict(), ensure_ascii=False))
        elif not res.error:
            if len(inputs) > 1:
                click.echo(f"# {path}")
            click.echo(res.text)
    if failed:
        click.echo(f"hwr: {failed} of {len(inputs)} inputs failed", err=True)
        sys.exit(1)


# ---------------------------------------------------------------------------------- evaluate


@cli.command()
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model", help="Model file or embedded model name (default: the embedded image model for "
                                       "line-image datasets, else the embedded ink model).")
@click.option("--device", default="auto", show_default=True)
@click.option("--threads", type=click.IntRange(1, None), default=1, show_default=True,
              help="torch threads (more help only on an idle machine: with another busy process, 2 threads "
                   "made a line take seconds instead of milliseconds).")
@click.option("--limit", type=int, help="Only the first N lines of each dataset.")
@click.option("--show-errors", default=0, show_default=True, help="Print the N lines with the most errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]),
              help="CTC decoder (default: the model's default, e.g. beam search with its tuned LM).")
@click.option("--views", is_flag=True,
              help="Read consecutive lines that share an id (one line cut by several bands: `hwr import pages "
                   "--band-variants`) as one line, as `hwr recognize --bands 3` reads a found line.")
def evaluate(datasets, model, device, threads, limit, show_errors, as_json, decoder, views) -> None:
    """Print CER and WER of a model on HDF5 datasets made by `hwr import`.  An image model reads
    line datasets, or ink datasets rendered to images (one fixed seeded rendering per line);
    its figures are also printed per collection."""
    import json
    import time

    _set_threads(threads)
    from hwr.errors import HwrError
    from hwr.evaluation import evaluate_image_model, evaluate_ink_model
    from hwr.models.checkpoint import read_info
    from hwr.pipeline import resolve_model

    from hwr.data.lineset import dataset_format

    t0 = time.perf_counter()
    try:
        if model is None:  # line images need the image model, as hwr train --kind picks it
            is_image = any(dataset_format(d) == "hwr-lineset" for d in datasets)
        else:
            is_image = read_info(resolve_model(model)).kind == "image"
    except Exception as e:
        raise click.ClickException(str(e)) from e
    if views and not is_image:
        raise click.UsageError("--views reads line datasets with an image model")
    evaluate_fn = evaluate_image_model if is_image else evaluate_ink_model
    try:
        res = evaluate_fn(model, datasets, device=_resolve_device(device), limit=limit, decoder=decoder,
                          **({"views": True} if views else {}))
    except (ValueError, HwrError) as e:  # HwrError: e.g. the LM named by the model's decoder file is missing
        raise click.ClickException(str(e)) from e
    secs = time.perf_counter() - t0
    er = res.rates
    if as_json:
        click.echo(json.dumps({"model": str(res.model), "decoder": res.decoder, "datasets": list(datasets),
                               "lines": er.lines,
                               "chars": er.chars, "words": er.words, "cer": er.cer, "wer": er.wer,
                               "seconds": round(secs, 2),
                               **({"collections": {k: {"lines": g.lines, "cer": g.cer, "wer": g.wer}
                                                   for k, g in sorted(res.groups.items())}} if res.groups else {})}))
    else:
        click.echo(f"model    {res.model}")
        click.echo(f"decoder  {res.decoder}")
        click.echo(f"data     {', '.join(datasets)}")
        click.echo(f"lines    {er.lines}")
        click.echo(f"CER      {100 * er.cer:.2f} %  ({er.char_errors} / {er.chars} characters)")
        click.echo(f"WER      {100 * er.wer:.2f} %  ({er.word_errors} / {er.words} words)")
        click.echo(f"time     {secs:.1f} s ({er.lines / max(secs, 1e-9):.1f} lines/s)")
        for k, g in sorted(res.groups.items()):
            click.echo(f"  {k}: {g.lines} lines, CER {100 * g.cer:.2f} %, WER {100 * g.wer:.2f} %")
    if show_errors:
        from rapidfuzz.distance import Levenshtein

        worst = sorted(res.pairs, key=lambda p: -Levenshtein.distance(p[0], p[1]))[:show_errors]
        for ref, hyp in worst:
            click.echo(f"  ref: {ref}\n  hyp: {hyp}")


# ---------------------------------------------------------------------------------- gui


@cli.command(add_help_option=False,  # --help goes to hwr-gui: it lists FILE, --model and --device
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def gui(ctx) -> None:
    """Start the desktop app (same as `hwr-gui [FILE]`; needs the `gui` extra: PySide6)."""
    try:
        from hwr_gui.app import main as gui_main
    except ImportError as e:
        raise click.ClickException(f"the desktop app is not installed ({e}); pip install 'hwr[gui]'") from e
    sys.exit(gui_main(list(ctx.args)))


def _add_subgroups() -> None:
    from hwr.cli.ensemble import ensemble
    from hwr.cli.lm import lm
    from hwr.cli.segment import segment
    from hwr.cli.info import doctor, models
    from hwr.cli.transcribe import transcribe

    cli.add_command(ensemble)
    cli.add_command(lm)
    cli.add_command(segment)
    cli.add_command(transcribe)
    cli.add_command(models)
    cli.add_command(doctor)


_add_subgroups()


def main() -> None:  # entry point
    """``hwr``: the click group, with two safety nets: a file or folder that cannot be written
    or read where a command did not expect it (an output in a folder that does not exist, a
    read-only or full disk), and an error of hwr's own (:class:`hwr.errors.HwrError`: a model,
    LM or input it cannot use) that a command did not catch, are one line naming it and exit
    status 1, not a traceback (-vv logs the traceback)."""
    from hwr.errors import HwrError

    try:
        cli()
    except HwrError as e:
        logging.getLogger("hwr").debug("uncaught hwr error", exc_info=True)
        click.echo(f"hwr: error: {e}", err=True)
        sys.exit(1)
    except OSError as e:
        logging.getLogger("hwr").debug("unexpected OS error", exc_info=True)
        name = str(e.filename) if e.filename is not None else ""
        folder = os.path.dirname(name)
        if isinstance(e, FileNotFoundError) and folder and not os.path.isdir(folder):
            message = f"{folder}: no such folder"  # not the name of the temporary file beside the output
        else:
            message = f"{f'{name}: ' if name else ''}{e.strerror or e}"
        click.echo(f"hwr: error: {message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
