"""Training a line-image recogniser (CRNN) from line datasets and ink datasets rendered on the fly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

from hwr.alphabet import Alphabet
from hwr.data.lineset import LineSet
from hwr.imaging.line import line_preprocessing
from hwr.models.checkpoint import ModelInfo, load_model
from hwr.models.ensemble import refuse_as_base
from hwr.models.registry import build, set_dropout
from hwr.training.imagedata import ImageLines, collate_images, open_source, width_sampler
from hwr.training.ink import BASE_CHARS
from hwr.training.trainer import Progress, TrainConfig, extend_base_alphabet, fit_and_write

log = logging.getLogger(__name__)


def image_preprocessing(sources, height: int | None = None) -> dict:
    """The preprocessing of the line datasets among ``sources`` (all must agree), else the defaults."""
    preps = [s.preprocessing for s in sources if isinstance(s, LineSet)]
    if preps:
        if any(p != preps[0] for p in preps):
            raise ValueError("the line datasets were normalised with different preprocessing; re-import them alike")
        if height is not None and int(preps[0]["height"]) != height:
            raise ValueError(f"the line datasets have height {preps[0]['height']}, not {height}")
        return dict(preps[0])
    return line_preprocessing(**({"height": height} if height else {}))


def train_image(data: Sequence[str | Path], val: Sequence[str | Path], out: str | Path, cfg: TrainConfig,
                net_config: dict | None = None, base: str | Path | None = None, name: str = "",
                run_dir: str | Path | None = None, restart: bool = False, height: int | None = None,
                arch: str = "crnn", callbacks: Sequence[Callable[[Progress], None]] = (),
                dropout: float | None = None) -> Path:
    """Train (or fine-tune from ``base``) an image model; write the best one to ``out``.

    ``data`` and ``val`` are line datasets (``hwr import pages`` / ``rendered-ink``) or ink
    datasets, which are rendered to images on the fly (varied every epoch for training,
    one fixed seeded rendering per line for validation).  ``dropout``: the network's dropout
    (default: the base's, or the architecture's default for a new network).
    """
    train_sets = [open_source(p) for p in data]
    val_sets = [open_source(p) for p in val]
    for s in train_sets + val_sets:
        if not isinstance(s, LineSet):
            s.load_all()
    texts = [t for s in train_sets for t in s.texts]
    added: list[str] = []
    base_net, grown = None, None
    if base:
        net, base_info = load_model(base)
        refuse_as_base(base, base_info)
        if base_info.kind != "image":
            raise ValueError(f"{base}: is a {base_info.kind} model, not an image model")
        alphabet, added = extend_base_alphabet(net, Alphabet(base_info.alphabet), texts)
        if added:
            log.info("characters added to the base model's alphabet: %s", "".join(added))
        prep = base_info.preprocessing
        arch = base_info.arch
        config = {**net.cfg.to_dict(), **(net_config or {})}
        if config != net.cfg.to_dict():  # a resized network that starts from the base's lower layers
            if arch != "crnn":
                raise ValueError(f"--hidden, --layers, --channels and --subsample resize a CRNN; the base is {arch}")
            base_net = net
            net, kept, fresh = grow_from_base(base_net, build(arch, config))
            log.info("resized network: kept from the base %s; trained afresh %s",
                     ", ".join(kept) or "nothing", ", ".join(fresh))
            grown = {"kept": kept, "fresh": fresh, "base_config": base_net.cfg.to_dict()}
        for s in train_sets + val_sets:
            if isinstance(s, LineSet) and s.preprocessing != prep:
                raise ValueError(f"{s.path}: normalised differently from the base model's preprocessing")
    else:
        alphabet = Alphabet.from_texts(texts, extra=BASE_CHARS)
        prep = image_preprocessing(train_sets + val_sets, height)
        config = {**(net_config or {}), "height": int(prep["height"]), "num_classes": len(alphabet)}
        net = build(arch, config)
    if dropout is not None:  # a new network's or the base's, as asked
        set_dropout(net, dropout)
    info = ModelInfo(
        arch=arch, kind="image", config=net.cfg.to_dict(), alphabet=alphabet.to_list(), preprocessing=prep,
        training={"data": [_describe(s) for s in train_sets], "validation": [_describe(s) for s in val_sets],
                  "base": str(base) if base else None, "added_characters": "".join(added),
                  **({"resized_from_base": grown} if grown else {})},
        name=name or Path(out).stem,
    )
    train_ds = ImageLines(train_sets, alphabet, prep, augment=cfg.augment, seed=cfg.seed)
    val_ds = ImageLines(val_sets, alphabet, prep, augment=False, seed=0)
    return fit_and_write(net, info, train_ds, val_ds, cfg, out, collate_images, width_sampler, run_dir=run_dir, restart=restart,
                         callbacks=callbacks, texts=texts, base_net=base_net)


def grow_from_base(base_net, net):
    """Start the resized network ``net`` from ``base_net``: its layers are copied from the
    input up, as long as each has the base's shape (the conv blocks, say, when only the
    BLSTM grows); from the first layer that differs on, everything is trained afresh (a
    layer above a changed one would get inputs it never saw).  Returns ``net`` and the
    names of the layers kept and of those left fresh."""
    import re

    import torch

    have, mine = base_net.state_dict(), net.state_dict()
    units: dict[str, list[str]] = {}
    for key in mine:  # registration order: from the input to the output
        m = re.match(r"(.+)\.(?:weight|bias)_(?:ih|hh)_l(\d+)", key)
        unit = f"{m.group(1)} layer {m.group(2)}" if m else key.rsplit(".", 1)[0]
        units.setdefault(unit, []).append(key)
    kept, fresh = [], []
    with torch.no_grad():
        for unit, keys in units.items():
            if not fresh and all(k in have and have[k].shape == mine[k].shape for k in keys):
                for k in keys:
                    mine[k].copy_(have[k])
                kept.append(unit)
            else:
                fresh.append(unit)
    return net, kept, fresh


def _describe(s) -> dict:
    kind = "lines" if isinstance(s, LineSet) else "ink rendered on the fly"
    out = {"file": Path(s.path).name, "kind": kind, "split": s.split, "lines": len(s),
           "sources": sorted(set(getattr(s, "collections", None) or s.sources))[:20],
           "writers": len(set(s.writers))}
    ids = getattr(s, "ids", None) or []
    if isinstance(s, LineSet) and ids and all(ids) and len(set(ids)) < len(s):  # lines cut several ways
        out.update(lines=len(set(ids)), images=len(s))
    return out
