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
@click.option("--max-minutes", type=float, help="Time budget; stops after the epoch that passes it.")
@click.option("--hidden", default=128, show_default=True, help="LSTM units per direction.")
@click.option("--layers", default=4, show_default=True, help="BLSTM layers.")
@click.option("--seed", default=1, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=int, help="torch threads on CPU (default: torch's choice).")
@click.option("--workers", default=0, show_default=True, help="DataLoader worker processes.")
def train(kind, data, val, out, base, run_dir, restart, epochs, batch_size, lr, patience, max_minutes,
          hidden, layers, seed, device, threads, workers) -> None:
    """Train a recogniser on HDF5 datasets, with validation CER, checkpoints and resume."""
    _set_threads(threads)
    from hwr.training.ink import train_ink
    from hwr.training.trainer import TrainConfig

    dev = _resolve_device(device)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, device=dev,
                      max_minutes=max_minutes, workers=workers)

    def report(p):
        click.echo(f"epoch {p.epoch:3d}  loss {p.loss:8.3f}  val CER {100 * p.val_cer:6.2f}%  "
                   f"WER {100 * p.val_wer:6.2f}%  lr {p.lr:.2e}  {p.lines_per_s:5.1f} lines/s  "
                   f"{p.seconds / 60:6.1f} min{'  *' if p.improved else ''}", err=True)

    path = train_ink(data, val, out, cfg, net_config={"hidden": hidden, "layers": layers}, base=base,
                     run_dir=run_dir, restart=restart, callbacks=[report])
    click.echo(f"wrote {path}", err=True)


def main() -> None:  # entry point
    cli()


if __name__ == "__main__":
    main()
