"""Evaluation of a model on datasets: CER and WER with greedy decoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from hwr.training.metrics import ErrorRates


@dataclass
class Evaluation:
    model: Path
    rates: ErrorRates
    pairs: list[tuple[str, str]] = field(default_factory=list)


def evaluate_ink_model(model, datasets: Sequence[str | Path], device: str = "cpu", limit: int | None = None,
                       transform=None, batch_size: int = 32) -> Evaluation:
    """Recognise every line of ``datasets`` and compare with the transcriptions.

    ``transform`` (ink -> ink) is applied to each line first, e.g. to simulate another device.
    """
    from hwr.alphabet import normalize_text
    from hwr.data.inkset import InkSet
    from hwr.pipeline import Recognizer

    rec = Recognizer(model, device=device)
    er = ErrorRates()
    pairs: list[tuple[str, str]] = []
    for path in datasets:
        ds = InkSet(path)
        ds.load_all()
        n = len(ds) if limit is None else min(limit, len(ds))
        for k in range(0, n, batch_size):
            inks = [ds[j] for j in range(k, min(k + batch_size, n))]
            refs = [normalize_text(ink.text or "") for ink in inks]
            if transform is not None:
                inks = [transform(ink) for ink in inks]
            for ref, res in zip(refs, rec.recognize_inks(inks, batch_size=batch_size)):
                er.add(ref, res.text)
                pairs.append((ref, res.text))
    return Evaluation(model=rec.model_path, rates=er, pairs=pairs)
