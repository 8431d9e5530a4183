"""CTC prefix beam search with a character language model and a lexicon.

This is hwr's own implementation: the reference for the library backend
(:mod:`hwr.decoding.flashlight_backend`) and the fallback where that library
is not installed.  It follows the classic prefix search (Graves 2006/2012;
Hannun et al. 2014): every hypothesis is a label *prefix* with two
probabilities, ``pb`` (all alignments of the frames so far that give the prefix
and end in blank) and ``pnb`` (those ending in the prefix's last label).  With
no pruning and no LM, ``logaddexp(pb, pnb)`` of a prefix at the last frame is
exactly ``log p(prefix | x)``, the quantity CTC training maximises.

Scores are natural logs.  A hypothesis's ranking score is::

    log p(prefix | x) + lm_weight * log P_lm(prefix) + insertion_bonus * len(prefix)
        + lexicon penalties  (+ lm_weight * log P_lm(</s> | prefix) at the end)

Pruning, each cheap and on by default:

- *token pruning*: at frame t only labels with ``log y_t(c) >= token_min_logp``
  and among the ``beam_size_token`` best are tried;
- *beam pruning*: after each frame the ``beam_width`` best prefixes survive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hwr.alphabet import Alphabet
from hwr.decoding.lexicon import Lexicon, is_word_char

NEG_INF = float("-inf")


def _lae(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) for floats (faster than numpy on scalars)."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@dataclass
class BeamConfig:
    beam_width: int = 16
    beam_size_token: int = 12  # labels tried per frame, at most
    token_min_logp: float = -8.0  # labels less likely than this at a frame are not tried
    lm_weight: float = 0.0
    insertion_bonus: float = 0.0  # added per character (natural log units)
    beam_threshold: float = 25.0  # prefixes this far below the best are not extended
    lexicon_penalty: float = float("-inf")  # per out-of-lexicon word; -inf forbids them
    nbest: int = 5

    def __post_init__(self) -> None:
        if int(self.beam_width) < 1:
            raise ValueError("beam_width must be at least 1")
        if not self.beam_threshold > 0:
            raise ValueError("beam_threshold must be positive")
        if int(self.beam_size_token) < 1:
            raise ValueError("beam_size_token must be at least 1")
        if int(self.nbest) < 1:
            raise ValueError("nbest must be at least 1")
        if self.lm_weight < 0 or math.isnan(self.lm_weight):
            raise ValueError("lm_weight must be >= 0")
        if math.isnan(self.insertion_bonus) or math.isinf(self.insertion_bonus):
            raise ValueError("insertion_bonus must be a finite number")
        if self.lexicon_penalty > 0 or math.isnan(self.lexicon_penalty):
            raise ValueError("lexicon_penalty must be <= 0 (-inf forbids words outside the lexicon)")


@dataclass
class Hypothesis:
    text: str
    score: float  # total ranking score (see module doc)
    am_score: float  # log p(text | x) summed over the alignments the search kept
    lm_score: float  # unweighted LM log probability (0 without an LM)
    labels: list[int] = field(default_factory=list)


class _Beam:
    __slots__ = ("pb", "pnb", "lm", "ext", "word", "oov", "labels", "text")

    def __init__(self, text: str, labels: tuple, lm: float, ext: float, word: str, oov: bool):
        self.pb = NEG_INF
        self.pnb = NEG_INF
        self.text = text
        self.labels = labels
        self.lm = lm  # unweighted LM log-prob of text
        self.ext = ext  # bonus + lexicon penalties so far
        self.word = word  # the word being written (trailing letters)
        self.oov = oov  # that word already left the lexicon (and was penalised)


def check_log_probs(log_probs: np.ndarray, num_classes: int) -> np.ndarray:
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[1] != num_classes:
        raise ValueError(f"expected (T, {num_classes}) log-probabilities, got shape {lp.shape}")
    if not np.all(np.isfinite(lp) | (lp == NEG_INF)) or np.any(lp > 1e-3):
        raise ValueError("the posteriors hold NaN, +inf or positive log-probabilities")
    return lp


def prefix_beam_search(log_probs: np.ndarray, alphabet: Alphabet, cfg: BeamConfig | None = None,
                       lm=None, lexicon: Lexicon | None = None) -> list[Hypothesis]:
    """Decode ``(T, C)`` CTC log-probabilities (blank = 0); returns the n best, best first.

    ``lm`` is any object with ``distribution(context, chars) -> log-probs`` and
    ``log_prob_eos(context)`` (see :class:`hwr.decoding.lm.CharNgramLM`).
    """
    cfg = cfg or BeamConfig()
    chars = alphabet.chars
    lp = check_log_probs(log_probs, len(alphabet))
    T = lp.shape[0]
    w = cfg.lm_weight if lm is not None else 0.0
    use_lm = lm is not None and w > 0
    bonus = cfg.insertion_bonus
    lex = lexicon
    pen = cfg.lexicon_penalty
    forbid = pen == NEG_INF

    root = _Beam("", (), 0.0, 0.0, "", False)
    root.pb = 0.0
    beams: dict[str, _Beam] = {"": root}
    dist_cache: dict[str, np.ndarray] = {}

    def lm_dist(text: str) -> np.ndarray:
        d = dist_cache.get(text)
        if d is None:
            d = np.asarray(lm.distribution(text, chars), dtype=np.float64)
            dist_cache[text] = d
        return d

    def total(b: _Beam) -> float:
        return _lae(b.pb, b.pnb) + w * b.lm + b.ext

    # candidate labels per frame, computed for all frames at once
    k = min(cfg.beam_size_token, lp.shape[1] - 1)
    if k > 0:
        top = np.argpartition(-lp[:, 1:], kth=k - 1, axis=1)[:, :k] + 1 if k < lp.shape[1] - 1 \
            else np.tile(np.arange(1, lp.shape[1]), (T, 1))
    else:
        top = np.zeros((T, 0), dtype=int)

    # per frame, the tried labels with their log-probabilities as plain Python lists
    top_lp = np.take_along_axis(lp, top, axis=1)
    ok = top_lp >= cfg.token_min_logp
    frame_cands = [list(zip(top[t][ok[t]].tolist(), top_lp[t][ok[t]].tolist())) for t in range(T)]
    blanks = lp[:, 0].tolist()
    thr = cfg.beam_threshold

    for t in range(T):
        cands = frame_cands[t]
        y_blank = blanks[t]
        nxt: dict[str, _Beam] = {}

        def extend(parent: _Beam, c: int) -> _Beam | None:
            """The beam of ``parent.text + label c`` in ``nxt``, made if new (None: the lexicon forbids it)."""
            ch = chars[c - 1]
            text = parent.text + ch
            b = nxt.get(text)
            if b is not None:
                return b
            old = beams.get(text)
            if old is not None:  # a live prefix, carried into nxt with the others below
                return old
            ext = parent.ext + bonus
            word, oov = parent.word, parent.oov
            if lex is not None:
                if is_word_char(ch):
                    word = word + ch
                    if not oov and not lex.is_prefix(word):
                        if forbid:
                            return None
                        oov, ext = True, ext + pen
                else:
                    if word and not oov and word not in lex:
                        if forbid:
                            return None
                        ext += pen
                    word, oov = "", False
            lmv = parent.lm + (lm_dist(parent.text)[c - 1] if use_lm else 0.0)
            b = _Beam(text, parent.labels + (c,), lmv, ext, word, oov)
            nxt[text] = b
            return b

        # pass 1: every live prefix goes on through a blank or a repeat of its last label
        # (the beam objects are reused: their old probabilities are kept in `olds`)
        cand_y = dict(cands)
        olds = []
        for text, b in beams.items():
            pb, pnb = b.pb, b.pnb
            ptot = _lae(pb, pnb)
            olds.append((b, pb, ptot))
            last = b.labels[-1] if b.labels else -1
            b.pb = ptot + y_blank
            y_last = cand_y.get(last)
            b.pnb = pnb + y_last if y_last is not None else NEG_INF
        if cands:
            # pass 2: extensions by one label (a repeated label only after a blank)
            scores = [ptot + w * b.lm + b.ext for b, _, ptot in olds]
            floor = max(scores) - thr
            for (b, pb, ptot), score in zip(olds, scores):
                if score < floor:  # far behind the best: not extended
                    continue
                last = b.labels[-1] if b.labels else -1
                for c, yc in cands:
                    if c == last:
                        if pb == NEG_INF:
                            continue
                        e = extend(b, c)
                        if e is not None:
                            e.pnb = _lae(e.pnb, pb + yc)
                    else:
                        e = extend(b, c)
                        if e is not None:
                            e.pnb = _lae(e.pnb, ptot + yc)
        for text, b in beams.items():
            nxt.setdefault(text, b)
        if len(nxt) > cfg.beam_width:
            keep = sorted(nxt.values(), key=total, reverse=True)[: cfg.beam_width]
            beams = {b.text: b for b in keep}
        else:
            beams = nxt

    hyps = []
    for b in beams.values():
        am = _lae(b.pb, b.pnb)
        if am == NEG_INF:
            continue
        lmv, ext = b.lm, b.ext
        if lex is not None and b.word and not b.oov and b.word not in lex:
            if forbid:
                continue
            ext += pen
        if use_lm:
            lmv += float(lm.log_prob_eos(b.text))
        hyps.append(Hypothesis(b.text, am + w * lmv + ext, am, lmv if use_lm else 0.0, list(b.labels)))
    hyps.sort(key=lambda h: h.score, reverse=True)
    return hyps[: cfg.nbest]
