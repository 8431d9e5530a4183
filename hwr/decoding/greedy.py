"""Greedy (best path) CTC decoding with per-character spans and confidences."""

from __future__ import annotations

import numpy as np

from hwr.alphabet import Alphabet
from hwr.types import CharSpan, LineResult


def greedy_decode(log_probs: np.ndarray, alphabet: Alphabet) -> LineResult:
    """Decode one line from ``(T, C)`` log-probabilities (blank = 0).

    Each character's span is the run of frames where it is the best label; its
    confidence is the highest posterior in that run.  The line confidence is
    the geometric mean of the character confidences and of the blank
    posteriors between them (1.0 for an empty, confidently blank line).
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[1] != len(alphabet):
        raise ValueError(f"expected (T, {len(alphabet)}) log-probabilities, got {lp.shape}")
    best = lp.argmax(axis=1)
    best_lp = lp[np.arange(len(best)), best]
    chars: list[CharSpan] = []
    t = 0
    T = len(best)
    while t < T:
        k = best[t]
        u = t
        while u + 1 < T and best[u + 1] == k:
            u += 1
        if k != Alphabet.BLANK:
            conf = float(np.exp(best_lp[t:u + 1].max()))
            chars.append(CharSpan(alphabet.chars[k - 1], t, u, conf))
        t = u + 1
    text = "".join(c.char for c in chars)
    if T == 0:
        return LineResult(text="", confidence=0.0)
    # geometric mean over the characters and the (collapsed) path, so a long
    # confident blank run cannot hide one doubtful character
    logs = [np.log(max(c.confidence, 1e-12)) for c in chars]
    path = float(best_lp.mean())
    conf = float(np.exp((sum(logs) + path) / (len(logs) + 1)))
    return LineResult(text=text, confidence=conf, chars=chars)
