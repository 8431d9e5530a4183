"""``hwr lm``: train, evaluate and inspect character n-gram language models."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Iterator

import click


def _read_lines(path: Path) -> Iterator[str]:
    """Sentences of a corpus file: an hwr ink dataset (.h5: its texts) or UTF-8 text, one per line."""
    from hwr.errors import InputError

    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == b"\x89HDF\r\n\x1a\n":
        from hwr.data.inkset import InkSet

        yield from InkSet(path).texts
        return
    try:
        with open(path, encoding="utf-8") as f:
            yield from f
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e


def _load(model: Path):
    from hwr.decoding.lm import CharNgramLM
    from hwr.errors import HwrError

    try:
        return CharNgramLM.load(model)
    except HwrError as e:
        raise click.ClickException(str(e)) from e


@click.group("lm", context_settings={"help_option_names": ["-h", "--help"]})
def lm() -> None:
    """Character n-gram language models (ARPA files, characters as words, space = <sp>)."""


@lm.command("train")
@click.argument("corpus", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="ARPA file to write (gzip if it ends in .gz).")
@click.option("--order", default=6, show_default=True, type=click.IntRange(1, 10), help="n of the n-grams.")
@click.option("--method", default="kneser-ney", show_default=True,
              type=click.Choice(["kneser-ney", "witten-bell"]), help="Smoothing.")
@click.option("--prune", default=0, show_default=True, type=click.IntRange(0),
              help="Drop n-grams of order 3 and up seen fewer than N times (0: keep all).")
@click.option("--description", default="", help="What it was trained on (stored in the file).")
def train(corpus: tuple[Path, ...], out: Path, order: int, method: str, prune: int, description: str) -> None:
    """Train on CORPUS files: UTF-8 text (one sentence per line) or hwr ink datasets (.h5, their texts)."""
    from hwr.decoding.lm import CharNgramLM
    from hwr.errors import HwrError

    lines: list[str] = []
    try:
        for p in corpus:
            n0 = len(lines)
            lines.extend(_read_lines(p))
            click.echo(f"{p}: {len(lines) - n0} lines", err=True)
    except (HwrError, OSError) as e:
        raise click.ClickException(str(e)) from e
    if not description:
        description = "trained by hwr lm train on " + ", ".join(p.name for p in corpus)
    t0 = time.perf_counter()
    try:
        model = CharNgramLM.train(lines, order=order, method=method, prune=prune, description=description)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    _write(model, out, f"trained in {time.perf_counter() - t0:.1f} s: order {order}, {method}")


def _write(model, out: Path, done: str) -> None:
    """Say what was made, save it, and say where."""
    click.echo(f"{done}, n-grams per order {model.counts}", err=True)
    model.save(out)
    click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)", err=True)


@lm.command("interpolate")
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-w", "--weight", "weights", multiple=True, type=click.FloatRange(0, min_open=True),
              help="Weight of each MODEL, in order (repeat it; default: equal weights). Normalised to sum to 1.")
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="ARPA file to write (gzip if it ends in .gz).")
def interpolate_cmd(models: tuple[Path, ...], weights: tuple[float, ...], out: Path) -> None:
    """Mix MODELS into one LM: p(c | h) = sum of weight * p_MODEL(c | h), stored in back-off form
    (e.g. a general LM and one trained on your documents' text, as hwr train does)."""
    from hwr.decoding.lm import interpolate

    if weights and len(weights) != len(models):
        raise click.UsageError(f"{len(weights)} --weight for {len(models)} models: give one per model, or none")
    lms = [_load(p) for p in models]
    t0 = time.perf_counter()
    try:
        mixed = interpolate(lms, list(weights) or [1.0] * len(lms),
                            description=" + ".join(p.name for p in models))
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    _write(mixed, out, f"interpolated in {time.perf_counter() - t0:.1f} s: order {mixed.order}")


@lm.command("perplexity")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("text", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def perplexity(model: Path, text: tuple[Path, ...]) -> None:
    """Per-character perplexity (</s> included) of MODEL on TEXT files (text or .h5 ink datasets)."""
    from hwr.errors import HwrError

    m = _load(model)
    lines: list[str] = []
    try:
        for p in text:
            lines.extend(_read_lines(p))
    except (HwrError, OSError) as e:
        raise click.ClickException(str(e)) from e
    try:
        ppl = m.perplexity(lines)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{ppl:.4f}")


@lm.command("info")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
def info(model: Path, as_json: bool) -> None:
    """Order, smoothing, vocabulary and size of MODEL."""
    m = _load(model)
    meta = dict(m.meta)
    meta["counts"] = m.counts
    if as_json:
        json.dump(meta, sys.stdout, ensure_ascii=False, indent=1)
        click.echo()
        return
    click.echo(f"file:        {model} ({model.stat().st_size / 1e6:.2f} MB)")
    click.echo(f"order:       {m.order}")
    click.echo(f"method:      {m.method}")
    click.echo(f"n-grams:     {', '.join(f'{n}: {c}' for n, c in enumerate(m.counts, 1))}")
    click.echo(f"vocabulary:  {len(m.vocab)} characters: {''.join(m.vocab)!r}")
    click.echo(f"space token: {meta.get('space_token')}")
    if meta.get("description"):
        click.echo(f"trained on:  {meta['description']}")
