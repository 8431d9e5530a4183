"""A model card (Markdown) written beside every trained model: what it is, the data it
saw, how it was trained and how it validates — against its base model on the same
validation lines when it was fine-tuned."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from hwr.models.checkpoint import ModelInfo


def comparison(info: ModelInfo) -> tuple[float, float, str] | None:
    """``(base CER, new CER, how)`` that decide whether a fine-tuned model is better than its
    base: each read with the decoder it reads with by default, when ``hwr train`` measured that
    (``how`` = "read"; what a user will see), else the greedy validation CERs training watched
    ("greedy"); None when the model was not fine-tuned."""
    tr = info.training
    if tr.get("read_val_cer") is not None and tr.get("base_read_val_cer") is not None:
        return float(tr["base_read_val_cer"]), float(tr["read_val_cer"]), "read"
    base, new = tr.get("base_val_cer"), tr.get("best_val_cer")
    if base is None or new is None:
        return None
    return float(base), float(new), "greedy"


def verdict(info: ModelInfo) -> str | None:
    """One sentence comparing a fine-tuned model with its base, or None (not fine-tuned)."""
    c = comparison(info)
    if c is None:
        return None
    base, new, how = c
    tr = info.training
    cer = f"CER {100 * base:.2f} % → {100 * new:.2f} %"
    fewer = f"({100 * (base - new) / max(base, 1e-9):.0f} % fewer errors)"
    if how == "read":
        by, base_by = tr.get("read_by", "?"), tr.get("base_read_by", "?")
        how_read = f"both: {by}" if by == base_by else f"the base: {base_by}; the new model: {by}"
        if tr.get("base_val_cer") is not None and tr.get("best_val_cer") is not None:
            how_read += f"; greedy: {100 * tr['base_val_cer']:.2f} % → {100 * tr['best_val_cer']:.2f} %"
        on = f"on the same {tr.get('read_val_lines', '')} validation lines, each read with its own decoder ({how_read})"
        if new < base:
            return f"better than its base: {cer} {fewer} {on}"
        return f"NOT better than its base: {cer} {on}. Keep using the base model"
    if new < base:
        return f"better than its base on the same validation lines: {cer} {fewer}"
    return f"NOT better than its base on the same validation lines ({cer}): keep using the base model"


def members_sentence(info: ModelInfo) -> str | None:
    """What became of the members of ``hwr train --members`` (None for a single run)."""
    tr = info.training
    members = tr.get("members") or []
    if not members or tr.get("average_decoder_val_cer") is None:
        return None
    by = tr.get("members_judged_by") or "greedy"
    avg = tr["average_decoder_val_cer"]
    each = ", ".join(f"{100 * float(m['decoder_val_cer']):.2f} %" for m in members)
    ensemble = tr.get("members_combined") == "ensemble"
    what = "the ensemble" if ensemble else "the average"
    kept = (f"so {what} is this model" if tr.get("kept") in ("average", "ensemble") else
            f"no better than the best member, so this model is {tr.get('kept')}")
    combined = (f"read together as one ensemble (their outputs averaged; it reads {len(members)} times as "
                f"long as one) at" if ensemble else "the average of their weights at")
    return (f"With {'greedy decoding' if by == 'greedy' else by}, the {len(members)} members validate at "
            f"{each}; {combined} {100 * float(avg):.2f} %, {kept}.")


def _data_rows(items) -> list[str]:
    rows = []
    for d in items or []:
        srcs = ", ".join(str(s) for s in (d.get("sources") or [])[:5])
        n = f"{d.get('lines', '')}" + (f" ({d['images']} images)" if d.get("images") else "")
        rows.append(f"| {d.get('file', '')} | {d.get('kind', 'ink')} | {n} | {srcs} |")
    return rows


def _decoding_rows(decoding: dict) -> list[str]:
    rows = ["", "## Decoder", "",
            f"Chosen on {decoding['validation_lines']} validation lines, with a character 6-gram LM trained on "
            f"the {decoding['training_characters']:,} characters of the training text "
            "(`hwr.training.lm_adapt`):", "",
            "| decoder | LM weight | bonus | CER % | WER % |", "| --- | --- | --- | --- | --- |"]
    for i, c in enumerate(decoding["candidates"]):
        mark = "**" if i == decoding.get("chosen_index") else ""
        rows.append(f"| {mark}{c['name']}{mark} | {c['lm_weight']:g} | {c['insertion_bonus']:g} | "
                    f"{100 * c['cer']:.2f} | {100 * c['wer']:.2f} |")
    return rows


def card_text(info: ModelInfo, decoding: dict | None = None) -> str:
    tr = info.training
    lines = [f"# Model card: `{info.name}`", "",
             f"An hwr {info.kind} model (`{info.arch}`), trained "
             f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d')} with `hwr train`.", "",
             "| | |", "| --- | --- |",
             f"| kind | {info.kind} ({'pen strokes' if info.kind == 'ink' else 'images of text lines'}) |",
             (f"| architecture | `ensemble` of {len(info.config['members'])} networks: "
              f"{', '.join(sorted({'`' + m['arch'] + '`' for m in info.config['members']}))} |"
              if info.arch == "ensemble" else f"| architecture | `{info.arch}` {info.config} |"),
             f"| alphabet | {len(info.alphabet)} characters + CTC blank |"]
    if tr.get("base"):
        lines.append(f"| fine-tuned from | `{os.path.basename(str(tr['base']))}` |")
    if tr.get("resized_from_base"):
        g = tr["resized_from_base"]
        lines.append(f"| resized from the base | kept {', '.join(g.get('kept') or []) or 'nothing'}; "
                     f"trained afresh {', '.join(g.get('fresh') or [])} |")
    if tr.get("added_characters"):
        lines.append(f"| characters added to the base's alphabet | `{tr['added_characters']}` |")
    members = tr.get("members") or []
    if members:
        lines.append(f"| training | {len(members)} fine-tunings side by side (seeds "
                     f"{', '.join(str(m.get('seed')) for m in members)}; `hwr train --members"
                     f"{' --ensemble' if tr.get('members_combined') == 'ensemble' else ''}`): "
                     f"{' and '.join(str(m.get('epochs', '?')) for m in members)} epochs, "
                     f"{float(tr.get('train_seconds', 0)) / 60:.1f} minutes |")
    else:
        lines.append(f"| training | {tr.get('epochs', '?')} epochs, {tr.get('steps', '?')} steps, "
                     f"{float(tr.get('train_seconds', 0)) / 60:.1f} minutes |")
    cfg = tr.get("train_config") or {}
    if cfg:
        aug = cfg.get("augment", True)
        if aug is True:  # the default level
            aug = "warp" if info.kind == "image" else "on"
        elif aug is False:
            aug = "off"
        lines.append(f"| settings | batch {cfg.get('batch_size', '?')}, learning rate {cfg.get('lr', '?')}"
                     f"{' with cosine decay' if cfg.get('anneal') else ''}, augmentation {aug}, "
                     f"{'dropout %g, ' % info.config['dropout'] if 'dropout' in info.config else ''}"
                     f"seed {cfg.get('seed', '?')} |")
    lines += ["", "## Figures", ""]
    if tr.get("best_val_cer") is not None:
        lines.append(f"Validation CER (greedy decoding): **{100 * float(tr['best_val_cer']):.2f} %**"
                     + ("." if members else " (the best epoch, which is the one kept)."))
    soup = members_sentence(info)
    if soup:
        lines += ["", soup]
    v = verdict(info)
    if v:
        lines += ["", f"This model is {v}."]
    if decoding:
        lines += _decoding_rows(decoding)
    lines += ["", "## Data", "", "| file | kind | lines | sources |", "| --- | --- | --- | --- |"]
    lines += _data_rows(tr.get("data"))
    lines += ["", "Validation:", "", "| file | kind | lines | sources |", "| --- | --- | --- | --- |"]
    lines += _data_rows(tr.get("validation"))
    lines += ["", "## Licence", "",
              "A model inherits the terms of the data it was trained on (and of its base model): "
              "check them before sharing it.", ""]
    return "\n".join(lines)


def write_card(info: ModelInfo, path: str | os.PathLike, decoding: dict | None = None) -> Path:
    from hwr.formats._common import write_output

    path = Path(path)
    write_output(path, card_text(info, decoding).encode("utf-8"))
    return path
