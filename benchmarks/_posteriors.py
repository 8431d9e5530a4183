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


def validation_posteriors(model: str | None = None) -> tuple[list[PosteriorSet], "object"]:
    """Posteriors of the ink model on iam-val (testset_t) and iam-unlisted; also returns the Recognizer."""
    from hwr.data.inkset import InkSet
    from hwr.pipeline import Recognizer

    rec = Recognizer(model)
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
            s = InkSet(p)
            s.load_all()
            inks = [s[i] for i in range(len(s))]
            texts = list(s.texts)
            lps = []
            order = sorted(range(len(inks)), key=lambda i: inks[i].num_points)
            res: dict[int, np.ndarray] = {}
            for k in range(0, len(order), 32):
                idx = order[k:k + 32]
                for i, lp in zip(idx, rec.log_probs([inks[j] for j in idx])):
                    res[i] = lp.astype(np.float32)
            lps = [res[i] for i in range(len(inks))]
            offs = np.concatenate(([0], np.cumsum([len(x) for x in lps]))).astype(np.int64)
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.stem + ".tmp.npz")
            np.savez(tmp, data=np.concatenate(lps), offsets=offs, texts=np.array(texts, dtype=str))
            tmp.replace(cache)
        out.append(PosteriorSet(p.stem, lps, texts))
    return out, rec
