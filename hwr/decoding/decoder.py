"""One decoder for ink and image models: greedy or beam search (+ LM, lexicon).

:class:`Decoder` turns a line's ``(T, C)`` CTC log-probabilities into a
:class:`~hwr.types.LineResult`: text, calibrated line confidence, character
spans (frames) with confidences, and n-best alternatives.

Each model may carry decoder defaults in a JSON file beside it
(``<model>.decoder.json``, see :func:`load_model_defaults`): the decoder to use
by default, the LM and its weight and insertion bonus tuned on validation
data, and the confidence calibrations.  Explicit settings override them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from hwr.alphabet import Alphabet
from hwr.decoding.align import char_spans
from hwr.decoding.beam import BeamConfig, Hypothesis, check_log_probs, prefix_beam_search
from hwr.decoding.calibration import Calibration
from hwr.decoding.greedy import greedy_decode
from hwr.errors import ModelError
from hwr.types import Alternative, LineResult

log = logging.getLogger(__name__)

DECODERS = ("greedy", "beam")
BACKENDS = ("auto", "python", "flashlight")
DEFAULTS_FORMAT = "hwr-decoder"


@dataclass
class DecoderSettings:
    decoder: str = "greedy"
    beam_width: int = 16
    lm: str | None = None  # path of an ARPA character LM
    lm_weight: float = 0.0
    insertion_bonus: float = 0.0
    lexicon: str | None = None  # path of a word list
    lexicon_penalty: float = float("-inf")
    backend: str = "auto"
    nbest: int = 5
    rescore_lm: str | None = None  # path of a character LSTM LM (hwr.decoding.neural_lm) for the n best
    rescore_weight: float = 0.0
    calibrations: dict[str, Calibration] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r} (available: {', '.join(DECODERS)})")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r} (available: {', '.join(BACKENDS)})")
        self.beam_config()  # validates the numbers
        if not self.rescore_weight >= 0:
            raise ValueError("rescore_weight must be >= 0")

    @property
    def rescoring(self) -> bool:
        return self.decoder == "beam" and bool(self.rescore_lm) and self.rescore_weight > 0

    @property
    def mode(self) -> str:
        """The key of the calibration that fits these settings."""
        if self.decoder == "greedy":
            return "greedy"
        return "beam+lm" if self.lm and self.lm_weight > 0 else "beam"

    def beam_config(self) -> BeamConfig:
        """The search's settings; when rescoring, it keeps every reading left in its beam."""
        nbest = max(int(self.nbest), int(self.beam_width)) if self.rescoring else int(self.nbest)
        return BeamConfig(beam_width=int(self.beam_width), lm_weight=float(self.lm_weight),
                          insertion_bonus=float(self.insertion_bonus),
                          lexicon_penalty=float(self.lexicon_penalty), nbest=nbest)


def defaults_path(model_path: str | os.PathLike) -> Path:
    """``NAME.decoder.json`` beside ``NAME.safetensors``.

    Only the last suffix gives way, as for the model's ``.json`` and ``.md``:
    ``hand.v2.safetensors`` has ``hand.v2.decoder.json``, not ``hand.decoder.json``, which
    is ``hand.safetensors``'s."""
    return Path(model_path).with_suffix(".decoder.json")


def _stored_defaults_path(model_path: str | os.PathLike) -> Path | None:
    """The decoder file to read for a model: its own, else where hwr wrote a dotted model's
    decoder before 2026-11-27 (``hand.v2.safetensors``: ``hand.decoder.json``) while no
    ``hand.safetensors`` lies beside it to own that file (only ever read, never written or
    removed); None when there is neither."""
    p = Path(model_path)
    own = defaults_path(p)
    if own.exists():
        return own
    first = p.name.split(".")[0]
    legacy = p.with_name(first + ".decoder.json")
    return legacy if legacy.exists() and not p.with_name(first + ".safetensors").exists() else None


def load_model_defaults(model_path: str | os.PathLike) -> DecoderSettings:
    """The decoder defaults stored beside a model (greedy, no LM when there are none)."""
    p = _stored_defaults_path(model_path)
    if p is None:
        return DecoderSettings()
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        if d.get("format") != DEFAULTS_FORMAT:
            raise ValueError(f"not an {DEFAULTS_FORMAT} file")
        beam = d.get("beam", {})
        lm, rescore = beam.get("lm"), beam.get("rescore_lm")
        if lm:
            lm = str((p.parent / lm).resolve()) if not os.path.isabs(lm) else lm
        if rescore:
            rescore = str((p.parent / rescore).resolve()) if not os.path.isabs(rescore) else rescore
        cal = {k: Calibration.from_dict(v) for k, v in d.get("calibration", {}).items()}
        return DecoderSettings(decoder=d.get("default", "greedy"), beam_width=int(beam.get("beam_width", 16)),
                               lm=lm, lm_weight=float(beam.get("lm_weight", 0.0)),
                               insertion_bonus=float(beam.get("insertion_bonus", 0.0)), rescore_lm=rescore,
                               rescore_weight=float(beam.get("rescore_weight", 0.0)), calibrations=cal)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{p}: bad decoder defaults: {e}") from e


def save_model_defaults(model_path: str | os.PathLike, settings: DecoderSettings, default: str,
                        extra: dict | None = None) -> Path:
    """Write ``<model>.decoder.json`` (LM path stored relative to the model's folder when inside it)."""
    p = defaults_path(model_path)

    def relative(path: str | None) -> str | None:
        if not path:
            return path
        try:
            return os.path.relpath(Path(path).resolve(), p.parent.resolve())
        except ValueError:
            return str(Path(path).resolve())

    beam = {"lm": relative(settings.lm), "lm_weight": settings.lm_weight, "insertion_bonus": settings.insertion_bonus,
            "beam_width": settings.beam_width}
    if settings.rescore_lm:
        beam |= {"rescore_lm": relative(settings.rescore_lm), "rescore_weight": settings.rescore_weight}
    d = {"format": DEFAULTS_FORMAT, "version": 1, "default": default,
         "beam": beam,
         "calibration": {k: v.to_dict() for k, v in settings.calibrations.items()}}
    if extra:
        d.update(extra)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p


def _softmax_scores(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [v / z for v in e]


class Decoder:
    """Decodes CTC posteriors of one model's alphabet.  Thread-safe for reading."""

    def __init__(self, alphabet: Alphabet, settings: DecoderSettings | None = None):
        self.alphabet = alphabet
        self.settings = settings or DecoderSettings()
        s = self.settings
        self.lm = None
        self.rescorer = None
        self.lexicon = None
        self._flashlight = None
        if s.decoder == "beam":
            if s.lm and s.lm_weight > 0:
                from hwr.decoding.lm import CharNgramLM

                self.lm = CharNgramLM.load(s.lm)
                try:
                    self.lm.check_alphabet(alphabet.chars)
                except ModelError as e:  # name the file, as the LM's other errors do
                    raise ModelError(f"{s.lm}: {e}") from e
            if s.rescoring:
                from hwr.decoding.neural_lm import NeuralLM

                self.rescorer = NeuralLM.load(s.rescore_lm)
            if s.lexicon:
                from hwr.decoding.lexicon import Lexicon

                self.lexicon = Lexicon.load(s.lexicon)
            self.backend = self._choose_backend()
        else:
            self.backend = "greedy"
        self.calibration = s.calibrations.get(s.mode)

    def _choose_backend(self) -> str:
        from hwr.decoding import flashlight_backend as fb

        want = self.settings.backend
        if want == "python":
            return "python"
        if self.lexicon is not None:
            if want == "flashlight":
                log.warning("the lexicon constraint runs in hwr's own beam search, not flashlight-text")
            return "python"
        why = fb.supports(self.settings.beam_config(), self.lm.order if self.lm is not None else None)
        if why:
            if want == "flashlight":
                raise ModelError(why)
            return "python"
        if not fb.available():
            if want == "flashlight":
                raise ModelError("flashlight-text is not installed (pip install flashlight-text); "
                                 "use --backend python")
            return "python"
        self._flashlight = fb.FlashlightBeam(self.alphabet, self.settings.beam_config(),
                                             self.settings.lm if self.lm is not None else None)
        return "flashlight"

    def describe(self) -> str:
        """One line for reports, e.g. ``beam+lm (width 16, lm_en.arpa.gz, weight 1.1, bonus 3.0, python)``."""
        s = self.settings
        if s.decoder == "greedy":
            return "greedy"
        parts = [f"width {s.beam_width}"]
        if self.lm is not None:
            parts += [os.path.basename(s.lm), f"weight {s.lm_weight:g}", f"bonus {s.insertion_bonus:g}"]
        if self.rescorer is not None:
            parts.append(f"rescored by {os.path.basename(s.rescore_lm)} ({s.rescore_weight:g})")
        if self.lexicon is not None:
            parts.append(f"lexicon {os.path.basename(s.lexicon)}")
        return f"{s.mode} ({', '.join(parts + [self.backend])})"

    def search(self, log_probs: np.ndarray, memo: dict[str, float] | None = None) -> list[Hypothesis]:
        """The n best hypotheses of the beam search (no alignment, no confidence), rescored
        by the LSTM LM where there is one (``memo``: see :meth:`rescore`)."""
        if self._flashlight is not None:
            hyps = self._flashlight.search(log_probs)
        else:
            hyps = prefix_beam_search(log_probs, self.alphabet, self.settings.beam_config(), self.lm, self.lexicon)
        return self.rescore(hyps, memo)

    def rescore(self, hyps: list[Hypothesis], memo: dict[str, float] | None = None) -> list[Hypothesis]:
        """``hyps`` with ``rescore_weight * log P_lstm(text)`` added to each score, best first,
        the ``nbest`` best kept (unchanged without a rescoring LM).  ``memo`` (text -> LSTM
        score) is read and filled, so that the cuts of one line score a reading once."""
        if self.rescorer is None or not hyps:
            return hyps
        memo = {} if memo is None else memo
        new = list(dict.fromkeys(h.text for h in hyps if h.text not in memo))
        if new:
            memo.update(zip(new, self.rescorer.score(new).tolist()))
        w = self.settings.rescore_weight
        out = [dataclasses.replace(h, score=h.score + w * memo[h.text]) for h in hyps]
        out.sort(key=lambda h: -h.score)
        return out[:max(1, int(self.settings.nbest))]

    def decode(self, log_probs: np.ndarray) -> LineResult:
        lp = check_log_probs(log_probs, len(self.alphabet))
        if lp.shape[0] == 0:
            return LineResult(text="", confidence=0.0)
        if self.backend == "greedy":
            res = greedy_decode(lp, self.alphabet)
            chars, raw, alts = res.chars, res.confidence, []
            text = res.text
        else:
            hyps = self.search(lp)
            if not hyps:  # no path fits the lexicon: fall back to the free search
                log.info("no hypothesis fits the lexicon; decoding without it")
                hyps = self.rescore(prefix_beam_search(lp, self.alphabet, self.settings.beam_config(), self.lm, None))
            if not hyps:  # no frame sequence is possible at all (every posterior -inf)
                return LineResult(text="", confidence=0.0, raw_confidence=0.0)
            probs = _softmax_scores([h.score for h in hyps])
            alts = [Alternative(h.text, p) for h, p in zip(hyps, probs)]
            chars, raw = char_spans(lp, hyps[0].labels, self.alphabet.chars)
            text = hyps[0].text
        conf = self.calibration(raw) if self.calibration is not None else raw
        return LineResult(text=text, confidence=conf, chars=chars, alternatives=alts, raw_confidence=raw)

    def decode_views(self, views: Sequence[np.ndarray]) -> LineResult:
        """One line read from several images of it (``views``: their ``(T, C)`` CTC
        log-probabilities, the first the one the result's character spans refer to; e.g. the
        line cut by several bands, :meth:`hwr.pipeline.Recognizer.page_views`).

        Each view is searched as :meth:`decode` does (greedy: its best path; beam: its n best),
        and every text found is scored by the mean over the views of ``log p(text | view)``
        (CTC, all alignments) plus what the search added to it (the LM and the insertion bonus,
        weighted as tuned, and lexicon penalties); the best is aligned to the first view.
        Reading Hooker's set-aside lines by three bands this way took a fine-tuning's CER from
        18.43 to 16.93 % (docs/hooker-letters.md, *Reading a line three times*).  One view: :meth:`decode`."""
        if len(views) <= 1:
            return self.decode(views[0]) if views else LineResult(text="", confidence=0.0)
        lps = [check_log_probs(v, len(self.alphabet)) for v in views]
        if lps[0].shape[0] == 0:
            return self.decode(lps[0])
        rest: dict[str, float] = {}  # text -> its score less its acoustic part
        labels: dict[str, list[int]] = {}
        memo: dict[str, float] = {}  # text -> its rescoring LM score, shared by the cuts
        for lp in lps:
            if lp.shape[0] == 0:
                continue
            if self.backend == "greedy":
                g = greedy_decode(lp, self.alphabet)
                found = [(g.text, self.alphabet.encode(g.text), 0.0)]
            else:
                found = [(h.text, list(h.labels), h.score - h.am_score) for h in self.search(lp, memo)]
            for text, labs, extra in found:
                if text not in rest or extra > rest[text]:
                    rest[text], labels[text] = extra, labs
        if not rest:  # no text fits the lexicon in any view: as decode reads the first
            return self.decode(lps[0])
        texts = list(rest)
        am = np.mean([ctc_log_likelihoods(lp, [labels[t] for t in texts]) for lp in lps if lp.shape[0]], axis=0)
        scores = am + np.array([rest[t] for t in texts])
        order = [i for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])]
        if not order:
            return self.decode(lps[0])
        best = texts[order[0]]
        chars, raw = char_spans(lps[0], labels[best], self.alphabet.chars)
        probs = _softmax_scores([float(scores[i]) for i in order[:max(1, self.settings.nbest)]])
        alts = [Alternative(texts[i], p) for i, p in zip(order, probs)] if self.backend != "greedy" else []
        conf = self.calibration(raw) if self.calibration is not None else raw
        return LineResult(text=best, confidence=conf, chars=chars, alternatives=alts, raw_confidence=raw)


def ctc_log_likelihoods(log_probs: np.ndarray, label_seqs: Sequence[Sequence[int]]) -> np.ndarray:
    """``log p(labels | log_probs)`` under CTC (the sum over all alignments) of each label
    sequence, for one line's ``(T, C)`` log-probabilities; ``-inf`` where no alignment fits."""
    import torch

    if not label_seqs:
        return np.zeros(0)
    lp = torch.from_numpy(np.ascontiguousarray(log_probs, dtype=np.float32))
    n = len(label_seqs)
    targets = torch.tensor([c for seq in label_seqs for c in seq], dtype=torch.long)
    lengths = torch.tensor([len(seq) for seq in label_seqs], dtype=torch.long)
    nll = torch.nn.functional.ctc_loss(lp[:, None, :].expand(-1, n, -1), targets, torch.full((n,), lp.shape[0]),
                                       lengths, blank=0, reduction="none", zero_infinity=False)
    return -nll.double().numpy()


__all__ = ["Decoder", "DecoderSettings", "ctc_log_likelihoods", "load_model_defaults", "save_model_defaults", "defaults_path"]
