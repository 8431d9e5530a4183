"""CTC posteriors of a model on the validation lines, computed once and cached.

Decoder benchmarks and tuning run many decoders over the same posteriors; the
network runs once per model (keyed by the model file's hash) and the ragged
``(T, C)`` arrays are stored concatenated with offsets (``np.savez``, no pickle).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _data import CACHE, iam_ondb_validation


@dataclass
class PosteriorSet:
    name: str
    log_probs: list[np.ndarray]
    texts: list[str]


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def _ink_posteriors(rec, path: Path) -> tuple[list[np.ndarray], list[str]]:
    from hwr.data.inkset import InkSet

    s = InkSet(path)
    s.load_all()
    inks = [s[i] for i in range(len(s))]
    texts = list(s.texts)
    order = sorted(range(len(inks)), key=lambda i: inks[i].num_points)
    res: dict[int, np.ndarray] = {}
    for k in range(0, len(order), 32):
        idx = order[k:k + 32]
        for i, lp in zip(idx, rec.log_probs([inks[j] for j in idx])):
            res[i] = lp.astype(np.float32)
    return [res[i] for i in range(len(inks))], texts


def _image_posteriors(rec, path: Path) -> tuple[list[np.ndarray], list[str]]:
    """The ink lines rendered to images as in training validation (one fixed seeded rendering each)."""
    from hwr.alphabet import normalize_text
    from hwr.training.imagedata import ImageLines, open_source

    src = open_source(path)
    src.load_all()
    ds = ImageLines([src], rec.alphabet, rec.preprocessing, augment=False, seed=0)
    lines = [ds.line(i) for i in range(len(ds))]
    lps = rec.line_log_probs([im for im, _ in lines])
    return [lp.astype(np.float32) for lp in lps], [normalize_text(t) for _, t in lines]


def validation_posteriors(model: str | None = None, kind: str | None = None) -> tuple[list[PosteriorSet], "object"]:
    """Posteriors of a model on iam-val (testset_t) and iam-unlisted (rendered to images for an
    image model); also returns the Recognizer."""
    from hwr.pipeline import Recognizer

    rec = Recognizer(model, kind=kind, decoder="greedy")
    key = _digest(rec.model_path)
    out = []
    for p in iam_ondb_validation():
        cache = CACHE / "posteriors" / f"{p.stem}-{key}.npz"
        if cache.exists():
            z = np.load(cache, allow_pickle=False)
            offs, data = z["offsets"], z["data"]  # read each array once
            lps = [data[offs[i]:offs[i + 1]] for i in range(len(offs) - 1)]
            texts = [str(t) for t in z["texts"]]
        else:
            print(f"computing posteriors of {p.stem} ...", file=sys.stderr)
            lps, texts = (_image_posteriors if rec.info.kind == "image" else _ink_posteriors)(rec, p)
            offs = np.concatenate(([0], np.cumsum([len(x) for x in lps]))).astype(np.int64)
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.stem + ".tmp.npz")
            np.savez(tmp, data=np.concatenate(lps), offsets=offs, texts=np.array(texts, dtype=str))
            tmp.replace(cache)
        out.append(PosteriorSet(p.stem, lps, texts))
    return out, rec
