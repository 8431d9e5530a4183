"""``hwr transcribe``: a folder of page images and ink files -> outputs mirrored in another
folder; resumable, atomic, parallel (see :mod:`hwr.batch`).

Registered on the main group by ``cli.add_command(transcribe)``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("transcribe")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: outputs mirror FOLDER's relative paths; report.jsonl records every input.")
@click.option("--formats", default="txt,json", show_default=True,
              help="Comma-separated: txt, json, alto, page (ink files get txt and json only).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes, each with its own model copy (default: the number of cores, at most 4).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="torch threads per worker.")
@click.option("-r", "--recursive", is_flag=True, help="Also read the subfolders.")
@click.option("--overwrite", is_flag=True, help="Redo every input, even those a previous run finished.")
@click.option("--device", default="cpu", show_default=True, help="cpu, auto, cuda or cuda:N.")
@click.option("--ink-model", help="Ink model file or embedded name (default: the embedded ink model).")
@click.option("--image-model", help="Image model file or embedded name (default: the embedded image model).")
@click.option("--decoder", type=click.Choice(["greedy", "beam"]), help="CTC decoder (default: each model's default).")
@click.option("--beam-width", type=click.IntRange(1, 1024), help="Beam width (default: each model's).")
@click.option("--lm", help="Character LM (ARPA file), or 'none' (default: each model's tuned LM).")
@click.option("--bands", type=click.IntRange(1, 3), default=1, show_default=True,
              help="Read each line of a page cut by this many bands about its baseline (3: about a point better "
                   "on difficult hands, three times the network time; see hwr recognize --bands).")
@click.option("--no-paper", is_flag=True, help="Read page images as they are, even where one looks like a "
              "photograph of a sheet on a table (by default such a sheet is flattened first).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def transcribe(folder, out_dir, formats, workers, threads, recursive, overwrite, device, ink_model, image_model,
               decoder, beam_width, lm, bands, no_paper, quiet) -> None:
    """Transcribe every page image and ink file in FOLDER into --out.

    Each output is written atomically. A run that is stopped (Ctrl+C, a kill, a crash) and
    started again continues where it stopped: inputs whose outputs are all there and that the
    report marks done are skipped (unless --overwrite). Unreadable, unsupported, empty or
    huge inputs are recorded as errors in OUT/report.jsonl and the run goes on; the exit
    status is 1 if any input failed."""
    from hwr.batch import Options, transcribe as run
    from hwr.cli.main import _resolve_device
    from hwr.errors import HwrError

    if workers is None:
        workers = max(1, min(os.cpu_count() or 1, 4))
    dev = _resolve_device(device)
    if dev.startswith("cuda") and workers > 1:
        workers = 1  # one process feeds the GPU; lines of a page are batched on it
    try:
        opts = Options(formats=tuple(formats.split(",")), workers=workers, recursive=recursive,
                       overwrite=overwrite, device=dev, ink_model=ink_model, image_model=image_model,
                       decoder=decoder, threads=threads,
                       recognizer_options={k: v for k, v in {"beam_width": beam_width, "lm": lm,
                                                            "bands": bands if bands > 1 else None,
                                                            "paper": False if no_paper else None}.items()
                                           if v is not None})
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--formats") from e
    try:
        s = run(folder, out_dir, opts, show_progress=not quiet and sys.stderr.isatty())
    except KeyboardInterrupt:
        click.echo("hwr: interrupted; run the same command again to continue", err=True)
        sys.exit(130)
    except HwrError as e:
        raise click.ClickException(str(e)) from e
    for rel, err in s.errors:
        click.echo(f"hwr: error: {err}", err=True)
    rate = s.done / (s.seconds / 60) if s.seconds > 0 else 0.0
    click.echo(f"hwr: {s.total} inputs: {s.done} transcribed, {s.skipped} already done, {s.failed} failed "
               f"({s.seconds:.1f} s, {rate:.1f} inputs/min, {workers} worker{'s' if workers > 1 else ''}); "
               f"report: {s.report}", err=True)
    if not s.ok:
        sys.exit(1)
