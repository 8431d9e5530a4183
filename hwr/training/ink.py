"""Training an ink recogniser from HDF5 ink datasets."""

from __future__ import annotations

import logging
import string
from pathlib import Path
from typing import Callable, Sequence

from hwr.alphabet import Alphabet
from hwr.data.inkset import InkSet
from hwr.ink.features import num_features, preprocessing_for
from hwr.models.checkpoint import ModelInfo, load_model
from hwr.models.ensemble import refuse_as_base
from hwr.models.registry import build, set_dropout
from hwr.training.inkdata import BucketSampler, InkLines, collate
from hwr.training.trainer import Progress, TrainConfig, extend_base_alphabet, fit_and_write

log = logging.getLogger(__name__)

#: characters every ink model can emit, whether or not the training data has them
BASE_CHARS = string.ascii_letters + string.digits + " .,;:!?'\"-()#&/+*[]"


def _sampler(ds: InkLines, batch_size: int, shuffle: bool, seed: int, min_lines: int = 0) -> BucketSampler:
    return BucketSampler(ds.lengths, batch_size, shuffle, seed, min_lines)


def train_ink(data: Sequence[str | Path], val: Sequence[str | Path], out: str | Path, cfg: TrainConfig,
              net_config: dict | None = None, base: str | Path | None = None, name: str = "",
              run_dir: str | Path | None = None, restart: bool = False, features: str = "points",
              callbacks: Sequence[Callable[[Progress], None]] = (), dropout: float | None = None) -> Path:
    """Train (or fine-tune from ``base``) an ink model; write the best one to ``out``.

    ``dropout``: the network's dropout (default: the base's, or the architecture's default for
    a new network).  Returns the path of the written model.
    """
    train_sets = [InkSet(p) for p in data]
    val_sets = [InkSet(p) for p in val]
    for s in train_sets + val_sets:
        s.load_all()
    texts = [t for s in train_sets for t in s.texts]
    added: list[str] = []
    if base:
        net, base_info = load_model(base)
        refuse_as_base(base, base_info)
        alphabet, added = extend_base_alphabet(net, Alphabet(base_info.alphabet), texts)
        if added:
            log.info("characters added to the base model's alphabet: %s", "".join(added))
        prep = base_info.preprocessing
        arch = base_info.arch
    else:
        alphabet = Alphabet.from_texts(texts, extra=BASE_CHARS)
        prep = preprocessing_for(features)
        arch = "ink-blstm"
        # Bezier curves are ~2.5 per character: no room to halve the sequence for CTC
        defaults = {"subsample": 1} if features == "bezier" else {}
        config = {**defaults, **(net_config or {}), "num_features": num_features(prep), "num_classes": len(alphabet)}
        net = build(arch, config)
    if dropout is not None:  # a new network's or the base's, as asked
        set_dropout(net, dropout)
    info = ModelInfo(
        arch=arch, kind="ink", config=net.cfg.to_dict(), alphabet=alphabet.to_list(),
        preprocessing=prep,
        training={"data": [_describe(s) for s in train_sets], "validation": [_describe(s) for s in val_sets],
                  "base": str(base) if base else None, "added_characters": "".join(added)},
        name=name or Path(out).stem,
    )
    train_ds = InkLines(train_sets, alphabet, prep, augment=cfg.augment, seed=cfg.seed)
    val_ds = InkLines(val_sets, alphabet, prep, augment=False)
    return fit_and_write(net, info, train_ds, val_ds, cfg, out, collate, _sampler, run_dir=run_dir, restart=restart,
                         callbacks=callbacks, texts=texts)


def _describe(s: InkSet) -> dict:
    srcs = sorted(set(s.sources))
    return {"file": Path(s.path).name, "split": s.split, "lines": len(s), "sources": srcs,
            "writers": len(set(s.writers))}
