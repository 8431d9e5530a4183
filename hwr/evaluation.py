"""Evaluation of a model on datasets: CER and WER with the model's decoder (or a chosen one)."""

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
    groups: dict[str, ErrorRates] = field(default_factory=dict)  # per collection (image datasets)
    decoder: str = ""  # e.g. "greedy" or "beam+lm (lm_en.arpa.gz)"
    # with ``greedy_too``: the greedy readings of the same network outputs, line for line with ``pairs``
    greedy: ErrorRates | None = None
    greedy_pairs: list[tuple[str, str]] = field(default_factory=list)


def evaluate_ink_model(model, datasets: Sequence[str | Path], device: str = "cpu", limit: int | None = None,
                       transform=None, batch_size: int = 32, decoder: str | None = None,
                       **decoder_options) -> Evaluation:
    """Recognise every line of ``datasets`` and compare with the transcriptions.

    ``transform`` (ink -> ink) is applied to each line first, e.g. to simulate another device.
    ``decoder``: "greedy" or "beam" (default: the model's default decoder); ``decoder_options``
    as :func:`evaluate_image_model` takes them.
    """
    from hwr.alphabet import normalize_text
    from hwr.data.inkset import InkSet
    from hwr.pipeline import Recognizer

    rec = Recognizer(model, device=device, kind="ink", decoder=decoder, **decoder_options)
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
    return Evaluation(model=rec.model_path, rates=er, pairs=pairs, decoder=rec.decoder.describe())


def image_line_posteriors(rec, path: str | Path, limit: int | None = None, batch_size: int = 16):
    """The network outputs of :class:`hwr.pipeline.Recognizer` ``rec`` (an image model) for the
    lines of one line dataset (or ink dataset, rendered with one fixed seeded variation per
    line, as in training validation): ``(group, ref, log_probs)`` per line, in the dataset's
    order, ``group`` being the line's collection (line datasets) or the file's stem (ink)."""
    from hwr.alphabet import normalize_text
    from hwr.data.lineset import LineSet
    from hwr.training.imagedata import ImageLines, open_source

    src = open_source(path)
    if isinstance(src, LineSet):
        if src.preprocessing != rec.preprocessing:
            raise ValueError(f"{path}: normalised with other preprocessing than the model's; "
                             "re-import it with the model's height")
        src.load_all()
        names = src.collections
    else:
        src.load_all()
        names = [Path(path).stem] * len(src)
    ds = ImageLines([src], rec.alphabet, rec.preprocessing, augment=False, seed=0)
    n = len(ds) if limit is None else min(limit, len(ds))
    for k in range(0, n, batch_size):
        idx = list(range(k, min(k + batch_size, n)))
        lines = [ds.line(i) for i in idx]
        log_probs = rec.line_log_probs([im for im, _ in lines], batch_size)
        for i, (_, text), lp in zip(idx, lines, log_probs):
            yield names[i] or Path(path).stem, normalize_text(text), lp


def evaluate_image_model(model, datasets: Sequence[str | Path], device: str = "cpu", limit: int | None = None,
                         batch_size: int = 16, decoder: str | None = None, greedy_too: bool = False,
                         views: bool = False, **decoder_options) -> Evaluation:
    """Recognise every line of line datasets (or ink datasets, rendered with one fixed seeded
    variation per line, as in training validation) and compare with the transcriptions.
    Figures are also kept per collection (line datasets) or per dataset file (ink).
    ``decoder_options`` (``lm``, ``lm_weight``, ``insertion_bonus``, ``beam_width`` ...)
    override the model's decoder defaults as :class:`hwr.pipeline.Recognizer` takes them.
    ``greedy_too`` also reads the same network outputs greedily (``greedy``, ``greedy_pairs``),
    so comparing the decoders costs no second pass of the network.  ``views``: consecutive lines
    of a line dataset that share an id (one line cut several ways, ``hwr import pages
    --band-variants``) are one line, read by :meth:`hwr.decoding.decoder.Decoder.decode_views`
    as ``hwr recognize --bands 3`` reads a found line (the first cut, the reading band, gives
    the reference); ``greedy_too`` then reads the first cut alone."""
    from hwr.decoding.greedy import greedy_decode
    from hwr.pipeline import Recognizer

    rec = Recognizer(model, device=device, kind="image", decoder=decoder, **decoder_options)
    er = ErrorRates()
    groups: dict[str, ErrorRates] = {}
    pairs: list[tuple[str, str]] = []
    greedy = ErrorRates() if greedy_too else None
    greedy_pairs: list[tuple[str, str]] = []
    for path in datasets:
        lines = image_line_posteriors(rec, path, limit, batch_size)
        if views:
            lines = views_by_id(lines, path)
        for group, ref, lp in lines:
            hyp = rec.decoder.decode_views(lp).text if views else rec.decoder.decode(lp).text
            lp = lp[0] if views else lp
            er.add(ref, hyp)
            groups.setdefault(group, ErrorRates()).add(ref, hyp)
            pairs.append((ref, hyp))
            if greedy is not None:
                g = greedy_decode(lp, rec.alphabet).text
                greedy.add(ref, g)
                greedy_pairs.append((ref, g))
    return Evaluation(model=rec.model_path, rates=er, pairs=pairs, groups=groups, decoder=rec.decoder.describe(),
                      greedy=greedy, greedy_pairs=greedy_pairs)


def views_by_id(lines, path: str | Path):
    """``(group, ref, [log_probs, ...])`` per run of consecutive lines of ``path`` that share an
    id (a line without an id is a line of its own); ``lines``: :func:`image_line_posteriors`
    of ``path``."""
    from hwr.data.lineset import LineSet, dataset_format

    if dataset_format(path) != "hwr-lineset":
        raise ValueError(f"{path}: reading several cuts of a line as one needs a line dataset (hwr import pages "
                         "--band-variants), not an ink dataset")
    ids = LineSet(path).ids
    run: list = []
    for (group, ref, lp), line_id in zip(lines, ids):
        if run and (line_id != run[0][0] or not line_id):
            yield run[0][1], run[0][2], [x[3] for x in run]
            run = []
        run.append((line_id, group, ref, lp))
    if run:
        yield run[0][1], run[0][2], [x[3] for x in run]
