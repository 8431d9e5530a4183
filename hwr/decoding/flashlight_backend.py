"""Beam search through flashlight-text (MIT), the fast backend.

flashlight-text's lexicon-free CTC decoder runs the same search as
:mod:`hwr.decoding.beam` in C++, with the character LM served by its bundled
KenLM straight from our ARPA file (KenLM in these wheels reads n-grams up to
order 6).  It has no per-character insertion bonus; a bonus ``b <= 0`` is
folded into the LM (every n-gram log-probability lowered by ``b / lm_weight``,
back-off weights untouched, which adds exactly ``b`` per character to
``lm_weight * log P``; the shifted copy is written once to a cache folder).
A positive bonus would need log-probabilities above 0, which KenLM refuses,
so :func:`supports` says no and the decoder uses its own implementation.

flashlight-text is optional: it has no wheels for some Pythons (3.13 at the
time of writing); :func:`available` says whether it can be used, and the
decoder falls back to the own implementation.  Lexicon constraints always
use the own implementation.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from hwr.alphabet import Alphabet
from hwr.decoding.beam import BeamConfig, Hypothesis, check_log_probs
from hwr.errors import ModelError

SPACE_TOKEN = "<sp>"
MAX_ORDER = 6  # KenLM in the flashlight-text wheels is built with KENLM_MAX_ORDER=6
LN10 = math.log(10.0)


def available() -> bool:
    try:
        import flashlight.lib.text.decoder  # noqa: F401
        from flashlight.lib.text.decoder.kenlm import KenLM  # noqa: F401
    except Exception:  # ImportError, or a broken shared library
        return False
    return True


def supports(cfg: BeamConfig, lm_order: int | None) -> str | None:
    """Why this backend cannot run ``cfg`` with an LM of ``lm_order`` (None: it can)."""
    if lm_order is not None and cfg.lm_weight > 0:
        if lm_order > MAX_ORDER:
            return f"flashlight-text's KenLM reads LMs up to order {MAX_ORDER}; this one has order {lm_order}"
        if cfg.insertion_bonus > 0:
            return "flashlight-text cannot add a positive insertion bonus with an LM"
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hwr" / "lm"


def shifted_arpa(path: str | os.PathLike, shift_log10: float) -> Path:
    """A plain-text copy of the ARPA file with every n-gram log10-probability raised by ``shift_log10``."""
    src = Path(path)
    st = src.stat()
    key = hashlib.sha256(f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}|{shift_log10:.6f}".encode()).hexdigest()[:16]
    out = _cache_dir() / f"{src.name.split('.')[0]}-{key}.arpa"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if src.name.endswith(".gz") else open
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    try:
        with opener(src, "rt", encoding="utf-8") as fin, os.fdopen(fd, "w", encoding="utf-8") as fout:
            in_grams = False
            for line in fin:
                s = line.strip()
                if s.startswith("\\") and s.endswith("-grams:"):
                    in_grams = True
                elif s.startswith("\\"):
                    in_grams = False
                elif in_grams and s:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) < 2:
                        parts = line.split()
                        head, rest = parts[0], " ".join(parts[1:])
                        line = f"{float(head) + shift_log10:.6f} {rest}\n"
                    else:
                        lp = float(parts[0])
                        if lp > -98:  # keep <s>'s -99 as it is
                            lp += shift_log10
                        line = "\t".join([f"{lp:.6f}"] + parts[1:]) + "\n"
                fout.write(line)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


class FlashlightBeam:
    """A reusable lexicon-free CTC beam decoder for one alphabet and one LM."""

    def __init__(self, alphabet: Alphabet, cfg: BeamConfig, lm_path: str | os.PathLike | None = None):
        from flashlight.lib.text.decoder import (CriterionType, LexiconFreeDecoder,
                                                LexiconFreeDecoderOptions, ZeroLM)
        from flashlight.lib.text.dictionary import Dictionary

        self.alphabet = alphabet
        self.cfg = cfg
        tokens = ["<blank>"] + [SPACE_TOKEN if c == " " else c for c in alphabet.chars]
        self._dict = Dictionary(tokens)
        use_lm = lm_path is not None and cfg.lm_weight > 0
        if use_lm:
            from flashlight.lib.text.decoder.kenlm import KenLM

            if cfg.insertion_bonus > 0:
                raise ValueError("flashlight-text cannot add a positive insertion bonus with an LM")
            shift = cfg.insertion_bonus / cfg.lm_weight / LN10
            path = shifted_arpa(lm_path, shift) if shift < 0 else Path(lm_path)
            try:
                self._lm = KenLM(str(path), self._dict)
            except RuntimeError as e:  # KenLM's FormatLoadException
                raise ModelError(f"{lm_path}: KenLM cannot read it: {str(e).splitlines()[-1][:300]}") from e
            weight = cfg.lm_weight * LN10  # KenLM scores are log10
            self._bonus_outside_lm = 0.0
        else:
            self._lm = ZeroLM()
            weight = 0.0
            self._bonus_outside_lm = cfg.insertion_bonus
        self.use_lm = use_lm
        opts = LexiconFreeDecoderOptions(
            beam_size=int(cfg.beam_width), beam_size_token=int(cfg.beam_size_token),
            beam_threshold=1e9, lm_weight=weight, sil_score=0.0, log_add=True,
            criterion_type=CriterionType.CTC)
        sil = alphabet.chars.index(" ") + 1 if " " in alphabet.chars else 0
        self._decoder = LexiconFreeDecoder(opts, self._lm, sil, 0, [])

    def search(self, log_probs: np.ndarray) -> list[Hypothesis]:
        lp = check_log_probs(log_probs, len(self.alphabet))
        T, N = lp.shape
        if T == 0:
            return [Hypothesis("", 0.0, 0.0, 0.0, [])]
        em = np.ascontiguousarray(lp, dtype=np.float32)
        # labels below the token floor are never tried, as in the own implementation
        em = np.where(em >= self.cfg.token_min_logp, em, np.float32(-1e30))
        em[:, 0] = lp[:, 0]
        em = np.ascontiguousarray(em)
        results = self._decoder.decode(em.ctypes.data, T, N)
        chars = self.alphabet.chars
        seen: dict[str, Hypothesis] = {}
        for r in results:
            labels = []
            prev = 0
            # tokens has T + 2 entries: the decoder's start and end states (silence) around the frames
            for tok in list(r.tokens)[1:-1]:
                if tok < 0:
                    continue
                if tok != 0 and tok != prev:
                    labels.append(int(tok))
                prev = tok
            text = "".join(chars[k - 1] for k in labels)
            if text in seen:
                continue
            lm_score = 0.0
            if self.use_lm:  # unshifted, natural log
                # the shift was applied to every character and to </s>
                shift = self.cfg.insertion_bonus / self.cfg.lm_weight
                lm_score = float(r.lmScore) * LN10 - shift * (len(labels) + 1)
            score = float(r.score) + self._bonus_outside_lm * len(labels)
            seen[text] = Hypothesis(text, score, float(r.emittingModelScore), lm_score, labels)
            if len(seen) >= self.cfg.nbest:
                break
        hyps = sorted(seen.values(), key=lambda h: h.score, reverse=True)
        return hyps
