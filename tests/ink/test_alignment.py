"""Words to strokes (hwr.ink.alignment, Recognizer.word_strokes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwr.ink.alignment import frame_words, input_strokes, word_frame_spans, word_strokes
from hwr.types import CharSpan, Ink, Stroke

DATA = Path(__file__).resolve().parents[2] / "data"


def spans(text, frames):
    return [CharSpan(c, a, b, 0.9) for c, (a, b) in zip(text, frames)]


def test_word_frame_spans_and_nearest_word():
    chars = spans("ab cd", [(1, 1), (3, 4), (6, 6), (8, 8), (10, 11)])
    assert word_frame_spans("ab cd", chars) == [(1, 4), (8, 11)]
    assert word_frame_spans("xy cd", chars) == []  # chars do not spell the text (a correction)
    assert frame_words([(1, 4), (8, 11)], 14).tolist() == [0] * 7 + [1] * 7  # frame 6: nearer to word 0


def test_word_strokes_votes_and_moves_late_strokes():
    # 3 strokes, 2 output frames per stroke-ish: 12 input rows, 6 frames (a stride-2 model)
    rows = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    chars = spans("a b", [(0, 1), (2, 2), (4, 5)])
    assert word_strokes(rows, 6, "a b", chars) == [[0, 1], [2]]
    assert word_strokes(rows, 6, "a b", chars[:1]) == [[], []]
    assert word_strokes(np.array([], dtype=int), 1, "a b", chars) == [[], []]
    # stroke 2 sits over word 0 (a t-bar written late): moved there by its x extent
    rows = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    chars = spans("a b", [(0, 1), (2, 2), (6, 7)])
    boxes = [(0, 0, 10, 20), (12, 0, 20, 20), (5, 0, 15, 3), (40, 0, 50, 20)]
    assert word_strokes(rows, 8, "a b", chars, 4) == [[0, 1], [2, 3]]
    assert word_strokes(rows, 8, "a b", chars, 4, boxes) == [[0, 1, 2], [3]]
    # two lines (the second starts left again, lower down): the lines stay apart
    rows = np.repeat(np.arange(8), 4)
    chars = spans("a b c d", [(0, 1), (2, 2), (4, 5), (6, 6), (8, 9), (10, 10), (12, 13)])
    xs = [(0, 10), (12, 20), (40, 50), (52, 60)] * 2
    boxes = [(a, 0 if i < 4 else 100, b, 20 if i < 4 else 120) for i, (a, b) in enumerate(xs)]
    assert word_strokes(rows, 16, "a b c d", chars, 8, boxes) == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_input_strokes_skips_empty_strokes():
    ink = Ink(strokes=[Stroke([0, 10, 20], [0, 5, 0]), Stroke([], []), Stroke([30, 40], [0, 10])])
    ids = input_strokes(ink)
    assert set(ids.tolist()) == {0, 2} and np.all(np.diff(ids) >= 0)
    from hwr.ink.features import line_features, preprocessing_for

    for kind in ("points", "bezier"):
        prep = preprocessing_for(kind)
        assert len(input_strokes(ink, prep)) == len(line_features(ink, prep))


def test_embedded_model_words_are_their_strokes():
    pytest.importorskip("torch")
    from hwr.ink.io import load_ink
    from hwr.pipeline import Recognizer

    ink = load_ink(DATA / "line1.inkml")
    rec = Recognizer(decoder="greedy")
    result = rec.recognize_ink(ink)
    words = rec.word_strokes(ink, result)
    assert len(words) == len(result.text.split()) >= 8
    assert sorted(i for w in words for i in w) == list(range(len(ink.strokes)))  # each stroke in one word
    # words are written left to right and do not overlap: word k's strokes lie left of word k+1's
    centre = [np.mean([ink.strokes[i].x.mean() for i in w]) for w in words]
    assert all(w for w in words) and np.all(np.diff(centre) > 0)
    for a, b in zip(words, words[1:]):
        assert max(ink.strokes[i].x.mean() for i in a) < min(ink.strokes[i].x.mean() for i in b)
