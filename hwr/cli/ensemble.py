"""``hwr ensemble``: several models of one kind and alphabet combined into one model file that
reads with all of them, their per-frame probabilities averaged (:mod:`hwr.models.ensemble`).

Registered on the main group by ``cli.add_command``.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path

import click


def _measure(model: Path, kind: str, datasets, settings, device: str) -> dict:
    """CER with ``settings``' decoder and greedy on ``datasets``, and the seconds it took."""
    from hwr.evaluation import evaluate_image_model, evaluate_ink_model

    opts = dict(decoder=settings.decoder, beam_width=settings.beam_width, lm=settings.lm or "none",
                lm_weight=settings.lm_weight, insertion_bonus=settings.insertion_bonus)
    t0 = time.perf_counter()
    if kind == "image":
        ev = evaluate_image_model(model, datasets, device=device, greedy_too=True, **opts)
        greedy = ev.greedy.cer
    else:  # the ink evaluation has no greedy pass beside the beam search: a second, greedy one
        ev = evaluate_ink_model(model, datasets, device=device, **opts)
        greedy = ev.rates.cer if settings.decoder == "greedy" else \
            evaluate_ink_model(model, datasets, device=device, decoder="greedy").rates.cer
    return {"cer": ev.rates.cer, "wer": ev.rates.wer, "greedy_cer": greedy, "lines": ev.rates.lines,
            "seconds": round(time.perf_counter() - t0, 2), "decoder": ev.decoder}


def _card(info, figures: dict | None, datasets, decoder: str) -> str:
    members = info.training["ensemble"]["members"]
    lines = [f"# Model card: `{info.name}`", "",
             f"An hwr {info.kind} model that reads with {len(members)} networks at once, their per-frame "
             f"character probabilities averaged (`hwr ensemble`, "
             f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d')}). Reading costs one pass of "
             f"each network. {decoder}", "",
             "| member | fine-tuned from | seed | its validation CER (greedy, at its training) |",
             "| --- | --- | --- | --- |"]
    for m in members:
        cer = m.get("best_val_cer")
        lines.append(f"| `{m.get('model')}` | {m.get('base') or '-'} | {m.get('seed') if m.get('seed') is not None else '-'} "
                     f"| {f'{100 * cer:.2f} %' if isinstance(cer, (int, float)) else '-'} |")
    if figures:
        lines += ["", "## Figures", "",
                  f"On {figures['lines']} lines of {', '.join(Path(d).name for d in datasets)}, every model read "
                  f"with the ensemble's decoder ({figures['decoder']}):", "",
                  "| model | CER % greedy | CER % | WER % | seconds (loading included) |", "| --- | --- | --- | --- | --- |"]
        for name, f in figures["rows"].items():
            lines.append(f"| {name} | {100 * f['greedy_cer']:.2f} | {100 * f['cer']:.2f} | {100 * f['wer']:.2f} "
                         f"| {f['seconds']:.1f} |")
        lines += ["", figures["verdict"]]
    lines += ["", "## Licence", "",
              "A model inherits the terms of the data its members were trained on: check them before sharing it.", ""]
    return "\n".join(lines)


@click.command("ensemble")
@click.argument("models", nargs=-1, required=True)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The ensemble model to write (.safetensors; a .json, a .md card and the decoder "
                   "defaults go beside it).")
@click.option("--val", "val", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Datasets (from `hwr import`) to read with every member and with the ensemble, "
                   "the figures going to the card; repeatable.")
@click.option("--decoder-of", "decoder_of", metavar="MODEL",
              help="Take the decoder defaults (beam search, LM, weights) of this model (file or name) instead "
                   "of the first member's, e.g. a member without them (the best.safetensors of a run folder).")
@click.option("--half", is_flag=True, help="Store the weights as float16 (half the file; loaded as float32).")
@click.option("--device", default="auto", show_default=True, help="Device for --val.")
@click.option("--threads", type=click.IntRange(1, None), default=1, show_default=True, help="torch threads.")
def ensemble(models, out, val, decoder_of, half, device, threads) -> None:
    """Combine MODELS (files or names, two or more: e.g. fine-tunings of one base with other
    seeds) into one model that reads with all of them, their per-frame probabilities averaged.
    It is a model like any other for `hwr recognize --model`, `hwr evaluate` and the app, and
    reads as many times slower as it has members.  With --val, each member and the ensemble
    read the same lines with the same decoder, and the card says whether the ensemble is
    better than its best member."""
    from hwr.cli.main import _resolve_device, _set_threads
    from hwr.decoding.decoder import load_model_defaults
    from hwr.errors import HwrError
    from hwr.models.checkpoint import load_model, save_model
    from hwr.models.ensemble import make_ensemble, member_labels
    from hwr.pipeline import resolve_model

    _set_threads(threads)
    if len(models) < 2:
        raise click.UsageError("an ensemble needs two models or more")
    try:
        paths = [resolve_model(m) for m in models]
        source = resolve_model(decoder_of) if decoder_of else None
        written, info = make_ensemble(paths, out, decoder_of=source, half=half)
    except HwrError as e:
        raise click.ClickException(str(e)) from e
    source = source or paths[0]
    settings = load_model_defaults(written)
    click.echo(f"wrote {written} ({len(info.config['members'])} members, {written.stat().st_size / 1e6:.1f} MB) "
               f"and its model card {written.with_suffix('.md')}", err=True)
    figures = None
    if val:
        dev = _resolve_device(device)
        rows = {}
        try:
            for p, label in zip(paths, member_labels(paths)):
                rows[label] = r = _measure(p, info.kind, val, settings, dev)
                click.echo(f"  {label}: CER {100 * r['cer']:.2f} % (greedy {100 * r['greedy_cer']:.2f} %), "
                           f"{r['seconds']:.1f} s", err=True)
            ens = _measure(written, info.kind, val, settings, dev)
        except (HwrError, ValueError) as e:
            raise click.ClickException(str(e)) from e
        best_name = min(rows, key=lambda k: rows[k]["cer"])
        best = rows[best_name]
        rows["the ensemble"] = ens
        mean_s = sum(r["seconds"] for n, r in rows.items() if n != "the ensemble") / len(paths)
        if ens["cer"] < best["cer"]:
            verdict = (f"The ensemble is better than its best member ({best_name}): CER {100 * best['cer']:.2f} % → "
                       f"**{100 * ens['cer']:.2f} %**, reading {ens['seconds'] / max(mean_s, 1e-9):.1f} times "
                       "as long as one member (decoding included).")
        else:
            verdict = (f"The ensemble is NOT better than its best member ({best_name}, CER {100 * best['cer']:.2f} % "
                       f"against {100 * ens['cer']:.2f} %) and reads {ens['seconds'] / max(mean_s, 1e-9):.1f} times "
                       f"as long: use {best_name} instead.")
        figures = {"lines": ens["lines"], "decoder": ens["decoder"], "rows": rows, "verdict": verdict}
        info.training["ensemble"]["validation"] = {
            "datasets": [str(d) for d in val], "decoder": ens["decoder"],
            "models": {k: {x: v[x] for x in ("cer", "wer", "greedy_cer", "seconds")} for k, v in rows.items()}}
        info.training["best_val_cer"] = ens["greedy_cer"]  # as `hwr models` shows every model's: greedy
        net, _ = load_model(written)  # the figures go into the file's own metadata too
        save_model(net, info, written, half=half)
        click.echo(f"  the ensemble: CER {100 * ens['cer']:.2f} % (greedy {100 * ens['greedy_cer']:.2f} %), "
                   f"{ens['seconds']:.1f} s", err=True)
        click.echo(verdict.replace("**", ""), err=True)
    from hwr.decoding.decoder import defaults_path

    if defaults_path(written).exists():
        decoder = (f"Its decoder defaults are those of `{source.name}`: {settings.decoder}"
                   + (f" (width {settings.beam_width}, LM `{Path(settings.lm).name}`, weight {settings.lm_weight:g}, "
                      f"bonus {settings.insertion_bonus:g})." if settings.decoder == "beam" and settings.lm else "."))
    else:
        decoder = f"It reads greedily: `{source.name}` has no decoder defaults (`--decoder-of` takes another's)."
    written.with_suffix(".md").write_text(_card(info, figures, val, decoder), encoding="utf-8")
