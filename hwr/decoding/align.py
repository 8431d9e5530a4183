"""CTC forced alignment: where each character of a decoded text sits in the frames.

The beam search returns texts, not paths; to link characters back to strokes
or image columns (and to give each a confidence) the best single CTC path of
that text is found by Viterbi over the usual 2L+1 states (blank, c1, blank,
c2, ..., blank), vectorised over states: O(T) NumPy steps.
"""

from __future__ import annotations

import math

import numpy as np

from hwr.types import CharSpan

NEG = -1e30


def viterbi_path(log_probs: np.ndarray, labels: list[int]) -> np.ndarray | None:
    """The most probable frame-wise label path (length T) that collapses to ``labels``.

    Returns ``None`` when no path exists (more labels than frames allow).
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    T = lp.shape[0]
    L = len(labels)
    S = 2 * L + 1
    if T == 0:
        return np.zeros(0, dtype=np.int64) if L == 0 else None
    if L == 0:  # the empty text: blanks all along
        return np.zeros(T, dtype=np.int64)
    ext = np.zeros(S, dtype=np.int64)  # state -> label (blank = 0)
    ext[1::2] = labels
    # a state may skip the blank before it when its label differs from the one two back
    skip = np.zeros(S, dtype=bool)
    if L > 1:
        lab = np.asarray(labels)
        skip[3::2] = lab[1:] != lab[:-1]
    delta = np.full(S, NEG)
    delta[0] = lp[0, 0]
    if S > 1:
        delta[1] = lp[0, ext[1]]
    back = np.zeros((T, S), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, T):
        stay = delta
        one = np.concatenate(([NEG], delta[:-1]))
        two = np.where(skip, np.concatenate(([NEG, NEG], delta[:-2])), NEG)
        cand = np.stack([stay, one, two])
        arg = cand.argmax(axis=0)
        delta = cand[arg, np.arange(S)] + lp[t, ext]
        back[t] = arg
    ends = [S - 1] + ([S - 2] if S > 1 else [])
    s = max(ends, key=lambda e: delta[e])
    if delta[s] <= NEG / 2:
        return None
    path = np.zeros(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        path[t] = ext[s]
        s -= int(back[t, s])
    return path


def char_spans(log_probs: np.ndarray, labels: list[int], chars) -> tuple[list[CharSpan], float]:
    """Spans and confidences of ``labels`` along their best path, and the raw line confidence.

    A character's span runs from the first to the last frame where the path
    emits it; its confidence is the highest posterior of that label inside
    the span (the greedy decoder's rule, so both agree on the greedy text).
    The raw line confidence is the geometric mean of the character
    confidences and of the mean path posterior, so one doubtful character
    shows even in a long, confidently blank line.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    path = viterbi_path(lp, labels)
    if path is None:
        return [], 0.0
    T = lp.shape[0]
    if T == 0:
        return [], 0.0
    path_lp = lp[np.arange(T), path]
    spans: list[CharSpan] = []
    prev = 0
    k = -1
    for t in range(T):
        lab = int(path[t])
        if lab != 0 and lab != prev:
            k += 1
            spans.append(CharSpan(chars[labels[k] - 1], t, t, float(np.exp(path_lp[t]))))
        elif lab != 0:
            sp = spans[-1]
            sp.end = t
            sp.confidence = max(sp.confidence, float(np.exp(path_lp[t])))
        prev = lab
    logs = [math.log(max(c.confidence, 1e-12)) for c in spans]
    raw = math.exp((sum(logs) + float(path_lp.mean())) / (len(logs) + 1))
    return spans, raw
