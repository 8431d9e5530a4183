"""``hwr`` command line.  Heavy modules (torch) are imported inside commands so that
``hwr --help`` starts fast."""

from __future__ import annotations

import logging
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

    n = write_inkset(out, gen(), split=split)
    click.echo(f"{n} lines -> {out}", err=True)
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
@click.option("--kind", type=click.Choice(["ink"]), default="ink", show_default=True, help="Model kind.")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training dataset (.h5 from `hwr import`). Repeatable.")
@click.option("--val", "val", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="Validation dataset (.h5). Repeatable.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Model file to write (.safetensors; a .json is written beside it).")
@click.option("--base", type=click.Path(exists=True, dir_okay=False), help="Fine-tune this model instead of starting afresh.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Checkpoint folder (default: OUT.run). A run found there is resumed.")
@click.option("--restart", is_flag=True, help="Ignore a checkpoint in the run folder and start afresh.")
@click.option("--epochs", default=100, show_default=True)
@click.option("--batch-size", default=24, show_default=True)
@click.option("--lr", default=1.5e-3, show_default=True)
@click.option("--patience", default=12, show_default=True, help="Stop after this many epochs without improvement.")
@click.option("--max-minutes", type=float,
              help="Time budget of this run: no epoch is started that would not finish within it.")
@click.option("--anneal", is_flag=True,
              help="Cosine decay of the learning rate to the end of this run (--max-minutes, else --epochs).")
@click.option("--hidden", default=128, show_default=True, help="LSTM units per direction.")
@click.option("--layers", default=4, show_default=True, help="BLSTM layers.")
@click.option("--features", type=click.Choice(["points", "bezier"]), default="points", show_default=True,
              help="Ink features: resampled points, or cubic Bezier curves (Carbune et al. 2020; ~6x shorter).")
@click.option("--seed", default=1, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=int, help="torch threads on CPU (default: torch's choice).")
@click.option("--workers", default=0, show_default=True, help="DataLoader worker processes.")
def train(kind, data, val, out, base, run_dir, restart, epochs, batch_size, lr, patience, max_minutes, anneal,
          hidden, layers, features, seed, device, threads, workers) -> None:
    """Train a recogniser on HDF5 datasets, with validation CER, checkpoints and resume."""
    _set_threads(threads)
    from hwr.training.ink import train_ink
    from hwr.training.trainer import TrainConfig

    dev = _resolve_device(device)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, device=dev,
                      max_minutes=max_minutes, workers=workers, anneal=anneal)

    def report(p):
        click.echo(f"epoch {p.epoch:3d}  loss {p.loss:8.3f}  val CER {100 * p.val_cer:6.2f}%  "
                   f"WER {100 * p.val_wer:6.2f}%  lr {p.lr:.2e}  {p.lines_per_s:5.1f} lines/s  "
                   f"{p.seconds / 60:6.1f} min{'  *' if p.improved else ''}", err=True)

    path = train_ink(data, val, out, cfg, net_config={"hidden": hidden, "layers": layers}, base=base,
                     run_dir=run_dir, restart=restart, features=features, callbacks=[report])
    click.echo(f"wrote {path}", err=True)


# ---------------------------------------------------------------------------------- recognize


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model", help="Model file (.safetensors) or embedded model name (default: the embedded ink model).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]),
              help="CTC decoder (default: the model's tuned choice: beam search with the default LM).")
@click.option("--beam-width", type=click.IntRange(1, 1024), help="Beam width (default 16).")
@click.option("--lm", help="Character LM (ARPA file), or 'none' (default: the model's tuned LM).")
@click.option("--lm-weight", type=click.FloatRange(0, 10), help="LM weight (default: the tuned value).")
@click.option("--insertion-bonus", type=float, help="Score added per character (default: the tuned value).")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False),
              help="Word list (one word per line): words outside it are forbidden (or penalised, "
                   "see --lexicon-penalty); numbers and punctuation pass.")
@click.option("--lexicon-penalty", type=click.FloatRange(max=0), help="Log-score per word outside the "
              "lexicon (default: forbid them).")
@click.option("--nbest", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Alternatives per line (jsonl output; beam decoder).")
@click.option("--backend", type=click.Choice(["auto", "python", "flashlight"]), default="auto", show_default=True,
              help="Beam search implementation: flashlight-text when installed, else hwr's own.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: the recognised text; jsonl: one JSON object per input, in input order.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="torch threads (1 is fastest for single lines on most CPUs).")
def recognize(inputs, model, device, decoder, beam_width, lm, lm_weight, insertion_bonus, lexicon,
              lexicon_penalty, nbest, backend, fmt, threads) -> None:
    """Recognise handwriting in INPUT files: InkML, IAM-OnDB line XML or hwr ink JSON
    (the kind is detected from the content).  Errors are reported per input; the exit
    status is 1 if any input failed."""
    import json

    _set_threads(threads)
    from hwr.errors import HwrError
    from hwr.pipeline import Recognizer, Result

    try:
        rec = Recognizer(model, device=_resolve_device(device), decoder=decoder, beam_width=beam_width, lm=lm,
                         lm_weight=lm_weight, insertion_bonus=insertion_bonus, lexicon=lexicon,
                         lexicon_penalty=lexicon_penalty, backend=backend, nbest=nbest)
    except HwrError as e:
        raise click.ClickException(str(e)) from e
    failed = 0
    for path in inputs:
        try:
            res = rec.recognize_file(path)
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
@click.option("--model", "model", help="Model file or embedded model name (default: the embedded ink model).")
@click.option("--device", default="auto", show_default=True)
@click.option("--threads", type=int, help="torch threads.")
@click.option("--limit", type=int, help="Only the first N lines of each dataset.")
@click.option("--show-errors", default=0, show_default=True, help="Print the N lines with the most errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate(datasets, model, device, threads, limit, show_errors, as_json) -> None:
    """Print CER and WER of a model on HDF5 datasets made by `hwr import`."""
    import json
    import time

    _set_threads(threads)
    from hwr.evaluation import evaluate_ink_model

    t0 = time.perf_counter()
    res = evaluate_ink_model(model, datasets, device=_resolve_device(device), limit=limit)
    secs = time.perf_counter() - t0
    er = res.rates
    if as_json:
        click.echo(json.dumps({"model": str(res.model), "datasets": list(datasets), "lines": er.lines,
                               "chars": er.chars, "words": er.words, "cer": er.cer, "wer": er.wer,
                               "seconds": round(secs, 2)}))
    else:
        click.echo(f"model    {res.model}")
        click.echo(f"data     {', '.join(datasets)}")
        click.echo(f"lines    {er.lines}")
        click.echo(f"CER      {100 * er.cer:.2f} %  ({er.char_errors} / {er.chars} characters)")
        click.echo(f"WER      {100 * er.wer:.2f} %  ({er.word_errors} / {er.words} words)")
        click.echo(f"time     {secs:.1f} s ({er.lines / max(secs, 1e-9):.1f} lines/s)")
    if show_errors:
        from rapidfuzz.distance import Levenshtein

        worst = sorted(res.pairs, key=lambda p: -Levenshtein.distance(p[0], p[1]))[:show_errors]
        for ref, hyp in worst:
            click.echo(f"  ref: {ref}\n  hyp: {hyp}")


# ---------------------------------------------------------------------------------- gui


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def gui(ctx) -> None:
    """Start the desktop app (same as `hwr-gui`; needs the `gui` extra: PySide6)."""
    try:
        from hwr_gui.app import main as gui_main
    except ImportError as e:
        raise click.ClickException(f"the desktop app is not installed ({e}); pip install 'hwr[gui]'") from e
    sys.exit(gui_main(list(ctx.args)))


def _add_subgroups() -> None:
    from hwr.cli.lm import lm

    cli.add_command(lm)


_add_subgroups()


def main() -> None:  # entry point
    cli()


if __name__ == "__main__":
    main()
