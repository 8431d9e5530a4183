"""After a training run: a language model of the training text, and decoder settings
chosen on the validation lines.

A fine-tuning teaches the network a hand; the words of the documents (French wills, a
botanist's letters) are as much a part of them.  ``hwr train`` therefore also trains a
character n-gram LM on the transcriptions it was given, and tries it on the validation
lines against the decoder the model inherited from its base:

- the base's decoder as it is (for the shipped models: beam search with the general
  English LM), the yardstick;
- the in-domain LM alone, and interpolated half and half with the base's LM
  (:func:`hwr.decoding.lm.interpolate`), each at a few LM weights and insertion bonuses.

The settings with the lowest CER are written to the model's ``.decoder.json``, with the
LM they use beside the model (``NAME.lm.arpa.gz``); when nothing beats the inherited
decoder it stays as it was.  Every candidate's CER is kept in the decoder file and in the
model card.  The choice is made on the validation lines, so with few of them it can
flatter a little; tens of lines are too few to choose reliably, and with less than
:data:`MIN_CHARS` characters of training text no LM is trained.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from hwr.alphabet import Alphabet, normalize_text
from hwr.training.metrics import ErrorRates

log = logging.getLogger(__name__)

ORDER = 6
MIN_CHARS = 2000            # less training text than this: no LM of its own
MAX_LINES = 400             # validation lines decoded per candidate, at most
DOMAIN_SHARES = (1.0, 0.5)  # weight of the in-domain LM: alone, and half and half with the base's LM
GRID = ((0.7, 2.0), (1.0, 2.5), (1.3, 3.5))  # (LM weight, insertion bonus) tried with each LM


@dataclass
class Candidate:
    name: str
    lm_weight: float
    insertion_bonus: float
    cer: float
    wer: float

    def to_dict(self) -> dict:
        return {"name": self.name, "lm_weight": self.lm_weight, "insertion_bonus": self.insertion_bonus,
                "cer": round(self.cer, 6), "wer": round(self.wer, 6)}


def lm_path(model_path: str | os.PathLike) -> Path:
    """Where the LM of a trained model goes: ``NAME.lm.arpa.gz`` beside ``NAME.safetensors``
    (``hand.v2.safetensors``: ``hand.v2.lm.arpa.gz``)."""
    return Path(model_path).with_suffix(".lm.arpa.gz")


def validation_posteriors(net, loader, device: str, limit: int = MAX_LINES) -> tuple[list[np.ndarray], list[str]]:
    """``(T, C)`` log-probabilities and reference texts of the validation lines; of ``limit``
    lines spread evenly over them when there are more (the loader sorts them by length)."""
    def spread(n: int) -> set[int]:
        return set(np.unique(np.linspace(0, n - 1, limit).round().astype(int)).tolist())

    total = len(loader.dataset) if hasattr(loader, "dataset") else None
    keep = spread(total) if total and total > limit else None  # known in advance: store only those
    from hwr.training.trainer import line_posteriors

    lps: list[np.ndarray] = []
    refs: list[str] = []
    for k, (lp, ref) in enumerate(line_posteriors(net, loader, device)):
        if keep is None or k in keep:
            lps.append(lp.copy())
            refs.append(ref)
    if len(refs) > limit:
        idx = sorted(spread(len(refs)))
        lps, refs = [lps[i] for i in idx], [refs[i] for i in idx]
    return lps, refs


def _score(lps, refs, alphabet: Alphabet, lm, lm_weight: float, bonus: float, beam_width: int) -> ErrorRates:
    from hwr.decoding.beam import BeamConfig, prefix_beam_search
    from hwr.decoding.greedy import greedy_decode

    er = ErrorRates()
    cfg = BeamConfig(beam_width=max(beam_width, 1), lm_weight=lm_weight if lm is not None else 0.0,
                     insertion_bonus=bonus)
    for lp, ref in zip(lps, refs):
        if beam_width <= 0:
            hyp = greedy_decode(lp, alphabet).text
        else:
            hyps = prefix_beam_search(lp, alphabet, cfg, lm)
            hyp = hyps[0].text if hyps else ""
        er.add(ref, hyp)
    return er


def _scorer(st, alphabet: Alphabet, lms: dict | None = None):
    """``score(lps, refs)``: the CER of decoder settings ``st`` (greedy when None or not beam
    search); ``lms`` caches the LMs loaded, by path."""
    from hwr.decoding.lm import CharNgramLM

    if st is None or st.decoder != "beam":
        return lambda lps, refs: _score(lps, refs, alphabet, None, 0.0, 0.0, 0).cer
    lm = None
    if st.lm and st.lm_weight > 0:
        lms = {} if lms is None else lms
        if st.lm not in lms:
            lms[st.lm] = CharNgramLM.load(st.lm)
        lm = lms[st.lm]
    return lambda lps, refs: _score(lps, refs, alphabet, lm, st.lm_weight, st.insertion_bonus, st.beam_width).cer


def inherited_judge(base: str | os.PathLike | None, alphabet: Alphabet, new_characters: bool = False):
    """``(description, score)``: ``score(lps, refs)`` is the CER of the decoder a model
    fine-tuned from ``base`` starts out with (:func:`hwr.training.trainer.inherited_settings`),
    or of greedy decoding when the base has none."""
    from hwr.training.trainer import inherited_settings

    st = inherited_settings(base, new_characters)
    return ("greedy" if st is None or st.decoder != "beam" else _describe(st)), _scorer(st, alphabet)


def adapt_decoder(model_path: str | os.PathLike, net, alphabet: Alphabet, loader, device: str,
                  texts: Sequence[str], base: str | os.PathLike | None) -> dict | None:
    """Train an LM on ``texts`` (the training transcriptions), choose the decoder of the model
    at ``model_path`` on the validation lines of ``loader`` and write it (see the module doc).
    ``base`` is the model this one was fine-tuned from: its decoder is the yardstick and its
    LM the general one.  Returns a report (written into the decoder file too), or None when
    there is too little training text or no validation line."""
    from hwr.decoding.decoder import DecoderSettings, defaults_path, load_model_defaults, save_model_defaults
    from hwr.decoding.lm import CharNgramLM, interpolate
    from hwr.errors import ModelError

    texts = [t for t in (normalize_text(s) for s in texts) if t]
    n_chars = sum(len(t) for t in texts)
    if n_chars < MIN_CHARS:
        log.info("decoder: %d characters of training text are too few for a language model of their own", n_chars)
        return None
    t0 = time.perf_counter()
    lps, refs = validation_posteriors(net, loader, device)
    if not refs:
        return None
    # the yardstick: the decoder the model has now (inherited from its base, or greedy)
    current = load_model_defaults(model_path)
    base_st = load_model_defaults(base) if base and defaults_path(base).exists() else None
    general = None
    if base_st is not None and base_st.lm:
        try:
            general = CharNgramLM.load(base_st.lm)
        except (ModelError, OSError) as e:
            log.warning("decoder: the base model's LM %s cannot be read (%s); only the in-domain LM is tried",
                        base_st.lm, e)
    width = current.beam_width if current.decoder == "beam" else 16
    cur_lm = None
    if current.decoder == "beam" and current.lm and current.lm_weight > 0:
        cur_lm = general if base_st is not None and base_st.lm == current.lm and general is not None \
            else CharNgramLM.load(current.lm)
    er = _score(lps, refs, alphabet, cur_lm, current.lm_weight, current.insertion_bonus,
                width if current.decoder == "beam" else 0)
    cands = [Candidate("inherited: " + _describe(current), current.lm_weight, current.insertion_bonus,
                       er.cer, er.wer)]
    log.info("decoder: %s: validation CER %.2f %%", cands[0].name, 100 * er.cer)
    domain = CharNgramLM.train(texts, order=ORDER, description=f"training text of {Path(model_path).name}")
    lms = []
    for share in DOMAIN_SHARES:
        if share >= 1.0:
            try:
                domain.check_alphabet(alphabet.chars)
            except ModelError:
                continue  # it knows too few of the model's letters to stand alone
            lms.append(("in-domain LM", domain))
        elif general is not None:
            mixed = interpolate([domain, general], [share, 1 - share],
                                description=f"training text of {Path(model_path).name} ({share:g}) + "
                                            f"{Path(base_st.lm).name} ({1 - share:g})")
            lms.append((f"in-domain LM {share:g} + {Path(base_st.lm).name} {1 - share:g}", mixed))
    cand_lms = [cur_lm]  # the LM of each candidate
    for name, lm in lms:
        for w, b in GRID:
            er = _score(lps, refs, alphabet, lm, w, b, width)
            cands.append(Candidate(name, w, b, er.cer, er.wer))
            cand_lms.append(lm)
            log.info("decoder: %s, weight %g, bonus %g: validation CER %.2f %%", name, w, b, 100 * er.cer)
    chosen = min(range(len(cands)), key=lambda i: cands[i].cer)  # the first of equals: ties keep the inherited
    best = cands[chosen]
    report = {"validation_lines": len(refs), "training_characters": n_chars,
              "candidates": [c.to_dict() for c in cands], "chosen": best.name, "chosen_index": chosen,
              "seconds": round(time.perf_counter() - t0, 1)}
    extra = {"tuning": report}
    if base:
        extra["inherited_from"] = os.path.basename(str(base))
    if chosen == 0:  # the decoder file stays as it was, with the tuning recorded in it
        save_model_defaults(model_path, current, default=current.decoder, extra=extra)
        log.info("decoder: kept the inherited decoder (validation CER %.2f %%)", 100 * best.cer)
        return report
    path = lm_path(model_path)
    cand_lms[chosen].save(path)
    st = DecoderSettings(decoder="beam", beam_width=width, lm=str(path), lm_weight=best.lm_weight,
                         insertion_bonus=best.insertion_bonus)
    save_model_defaults(model_path, st, default="beam", extra=extra)
    log.info("decoder: %s, weight %g, bonus %g: validation CER %.2f %% (inherited %.2f %%); wrote %s",
             best.name, best.lm_weight, best.insertion_bonus, 100 * best.cer, 100 * cands[0].cer, path.name)
    return report


def as_read(model_path: str | os.PathLike, net, alphabet: Alphabet, base: str | os.PathLike, base_net,
            base_alphabet: Alphabet, loader, device: str) -> dict:
    """The new model and its base on the same validation lines (up to :data:`MAX_LINES`),
    each read with the decoder it reads with by default (its ``.decoder.json``: for the shipped
    models beam search with an LM; greedy without one).  Training watches the greedy CER, but
    a user reads with the decoder, and the two can disagree: a fine-tuning on a few pages of a
    hard hand read them 0.3 points better greedily and 1.7 points worse with beam search and
    the LM (docs/hooker-letters.md, *How many pages of the hand*).  Returns ``read_val_cer``,
    ``base_read_val_cer``, ``read_val_lines``, ``read_by`` and ``base_read_by``; empty when
    both read greedily (the greedy figures are then the same comparison) or there is no line."""
    from hwr.decoding.decoder import load_model_defaults

    new_st, base_st = load_model_defaults(model_path), load_model_defaults(base)
    if new_st.decoder != "beam" and base_st.decoder != "beam":
        return {}
    lms: dict = {}  # both decoders often use the same LM: loaded once

    t0 = time.perf_counter()
    lps, refs = validation_posteriors(net, loader, device)
    if not refs:
        return {}
    log.info("comparing the new model with its base on %d validation lines, each read with its own decoder ...",
             len(refs))
    new_cer = _scorer(new_st, alphabet, lms)(lps, refs)
    lps, base_refs = validation_posteriors(base_net, loader, device)
    base_cer = _scorer(base_st, base_alphabet, lms)(lps, base_refs)
    log.info("read with its own decoder: the base (%s) %.2f %%, the new model (%s) %.2f %% (%.0f s)",
             _describe(base_st), 100 * base_cer, _describe(new_st), 100 * new_cer, time.perf_counter() - t0)
    return {"read_val_cer": round(new_cer, 6), "base_read_val_cer": round(base_cer, 6), "read_val_lines": len(refs),
            "read_by": _describe(new_st), "base_read_by": _describe(base_st)}


def read_tuning(model_path: str | os.PathLike) -> dict | None:
    """The decoder choice recorded by ``hwr train`` in a model's ``.decoder.json``, if any."""
    import json

    from hwr.decoding.decoder import defaults_path

    try:
        return json.loads(defaults_path(model_path).read_text(encoding="utf-8")).get("tuning")
    except (OSError, ValueError, AttributeError):
        return None


def summary(tuning: dict) -> str:
    """One sentence on the decoder chosen, for the end of ``hwr train`` and the app's dialog."""
    cands = tuning["candidates"]
    idx = tuning.get("chosen_index")
    if not isinstance(idx, int) or not 0 <= idx < len(cands):  # the lowest CER, the first of equals
        idx = min(range(len(cands)), key=lambda i: cands[i]["cer"])
    best = cands[idx]
    if best is cands[0]:
        why = ("no LM of the training text did better" if len(cands) > 1 else
               "no LM of the training text was tried (it knows too few of the model's letters, and the base "
               "has no LM to mix it with)")
        return (f"it decodes as its base did ({cands[0]['name'].removeprefix('inherited: ')}; validation CER "
                f"{100 * cands[0]['cer']:.2f} %): {why}")
    return (f"it decodes with beam search and an LM of its training text ({best['name']}, weight "
            f"{best['lm_weight']:g}, bonus {best['insertion_bonus']:g}): validation CER {100 * best['cer']:.2f} %, "
            f"against {100 * cands[0]['cer']:.2f} % with the decoder of its base")


def _describe(st) -> str:
    if st.decoder != "beam":
        return "greedy"
    if st.lm and st.lm_weight > 0:
        return f"beam + {Path(st.lm).name} (weight {st.lm_weight:g}, bonus {st.insertion_bonus:g})"
    return "beam, no LM"
