"""Which strokes wrote which recognised word.

The ink recogniser reads one row of features per resampled point (or per Bézier
curve), each row belonging to one stroke (:func:`input_strokes`), and emits
fewer output frames than it reads rows (the ink BLSTM halves the sequence with a
strided convolution).  :class:`hwr.types.CharSpan` gives each recognised
character its output frames.  :func:`word_strokes` maps rows to frames in
proportion (row ``r`` of ``R`` to frame ``floor(r * F / R)``, which for a
stride-``s`` model is the frame centred on it), gives each frame to the nearest
word's frame span (from its first character's first frame to its last
character's last frame; frames between two words go to the nearer one), and each
stroke to the word that holds most of its rows.  The recogniser is bidirectional,
so the frames where CTC emits a character are near, not exactly on, the ink of
that character, and a stroke written late (a t-bar or i-dot added after the
word) can land in the next word's frames.  Given the strokes' horizontal extents,
a second pass moves such strokes: a stroke's *overlap* with a word is the length
of its horizontal extent (at least half the median stroke width, centred on it)
that the horizontal extents of that word's other strokes cover (their overlaps
summed, at most its length), counting only strokes level with it (vertical
extents, grown by a quarter of the median stroke height, that meet: the lines of
several-line ink stay apart); while some stroke overlaps
another word more than its own, the one with the largest excess moves there.  On
the three sample lines of ``data/`` (142 strokes) this puts the late t-bars and
the strokes that the frames alone misplace back with their words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from hwr.types import CharSpan, Ink

_WORD = re.compile(r"\S+")


def input_strokes(ink: Ink, preprocessing: dict | None = None) -> np.ndarray:
    """For each row of the model input of ``ink`` (:func:`hwr.ink.features.line_features`
    under ``preprocessing``), the index of its stroke in ``ink.strokes``."""
    from hwr.ink.normalize import DEFAULT_SPACING, normalize_ink

    prep = preprocessing or {}
    kind = prep.get("feature_kind", "points")
    norm = normalize_ink(ink, float(prep.get("spacing", DEFAULT_SPACING)))
    ids = norm.stroke
    if kind == "bezier":
        from hwr.ink.bezier import fit_ink

        ids = fit_ink(norm, float(prep.get("max_error", 0.05))).stroke
    elif kind != "points":
        raise ValueError(f"unknown feature kind {kind!r}")
    nonempty = np.flatnonzero([len(s) > 0 for s in ink.strokes])  # normalize_ink skips empty strokes
    return nonempty[np.asarray(ids, dtype=np.int64)]


def word_frame_spans(text: str, chars: Sequence[CharSpan]) -> list[tuple[int, int]]:
    """Each word's (whitespace-separated) first and last output frame; empty when
    ``chars`` do not spell ``text``."""
    if not chars or "".join(c.char for c in chars) != text:
        return []
    return [(min(c.start for c in chars[m.start():m.end()]), max(c.end for c in chars[m.start():m.end()]))
            for m in _WORD.finditer(text)]


def frame_words(spans: Sequence[tuple[int, int]], num_frames: int) -> np.ndarray:
    """Word index of each of ``num_frames`` frames: the word whose span holds it, else the nearest one."""
    f = np.arange(num_frames)[:, None]
    a = np.array([s[0] for s in spans])[None, :]
    b = np.array([s[1] for s in spans])[None, :]
    dist = np.maximum(np.maximum(a - f, f - b), 0)
    return np.argmin(dist, axis=1)  # ties: the earlier word


def word_strokes(row_strokes: np.ndarray, num_frames: int, text: str, chars: Sequence[CharSpan],
                 num_strokes: int | None = None,
                 boxes: np.ndarray | Sequence[tuple[float, float, float, float]] | None = None) -> list[list[int]]:
    """The strokes of each word of ``text`` (see the module docstring).

    ``row_strokes``: each model input row's stroke (:func:`input_strokes`);
    ``num_frames``: the model's output length for that input; ``num_strokes``:
    how many strokes the ink has (default: the largest in ``row_strokes`` + 1);
    ``boxes``: each stroke's bounding box (min x, min y, max x, max y), for the
    second pass (NaN for an empty stroke).  Returns one sorted list of stroke indices per word, every
    stroke with input rows in exactly one list (all empty when ``chars`` do not
    spell ``text``, e.g. after a correction).
    """
    row_strokes = np.asarray(row_strokes, dtype=np.int64)
    words = _WORD.findall(text)
    spans = word_frame_spans(text, chars)
    if not spans or not len(row_strokes) or num_frames < 1:
        return [[] for _ in words]
    rows = len(row_strokes)
    frame = np.minimum(np.arange(rows) * num_frames // rows, num_frames - 1)
    row_word = frame_words(spans, num_frames)[frame]
    n = int(num_strokes if num_strokes is not None else row_strokes.max() + 1)
    votes = np.zeros((n, len(words)), dtype=np.int64)
    np.add.at(votes, (row_strokes, row_word), 1)
    has_rows = votes.sum(axis=1) > 0
    owner = np.where(has_rows, np.argmax(votes, axis=1), -1)
    if boxes is not None and len(words) > 1:
        owner = _by_extent(owner, np.asarray(boxes, dtype=np.float64).reshape(n, 4), len(words))
    return [sorted(int(i) for i in np.flatnonzero(owner == w)) for w in range(len(words))]


def _by_extent(owner: np.ndarray, boxes: np.ndarray, num_words: int) -> np.ndarray:
    """The second pass of the module docstring."""
    owner = owner.copy()
    ok = (owner >= 0) & ~np.isnan(boxes).any(axis=1)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return owner
    xs, y0, y1 = boxes[:, [0, 2]], boxes[:, 1], boxes[:, 3]
    ypad = 0.25 * float(np.median(y1[idx] - y0[idx]))
    half = 0.25 * float(np.median(xs[idx, 1] - xs[idx, 0]))
    centre = xs.mean(axis=1)
    lo = np.minimum(xs[:, 0], centre - half)
    hi = np.maximum(xs[:, 1], centre + half)
    n = len(owner)
    level = ok[None, :] & ok[:, None] & ~np.eye(n, dtype=bool) & (y0[None, :] - ypad <= y1[:, None] + ypad) \
        & (y1[None, :] + ypad >= y0[:, None] - ypad)  # level[s, t]: t counts for s
    overlap = np.maximum(np.minimum(hi[:, None], xs[None, :, 1]) - np.maximum(lo[:, None], xs[None, :, 0]), 0.0)
    overlap = np.where(level, overlap, 0.0)
    length = (hi - lo)[:, None]

    def covers() -> np.ndarray:  # (strokes, words)
        onehot = (owner[:, None] == np.arange(num_words)[None, :]).astype(np.float64)
        return np.minimum(overlap @ onehot, length)

    cover = covers()
    for _ in range(len(idx)):
        sizes = np.bincount(owner[idx], minlength=num_words)
        movable = idx[sizes[owner[idx]] >= 2]  # a word's only stroke stays
        if not len(movable):
            break
        excess = cover[movable].max(axis=1) - cover[movable, owner[movable]]
        k = int(np.argmax(excess))
        if excess[k] <= 0:
            break
        s_ = movable[k]
        owner[s_] = int(np.argmax(cover[s_]))
        cover = covers()
    return owner
