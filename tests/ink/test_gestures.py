"""Eraser hit tests and the scratch-out rule (hwr.ink.gestures)."""

from __future__ import annotations

import numpy as np

from hwr.ink.gestures import is_scratch_shape, scratch_out_targets, stroke_boxes, strokes_hit, x_reversals
from hwr.types import Stroke


def stroke(points):
    p = np.asarray(points, dtype=float)
    return Stroke(p[:, 0], p[:, 1])


def zigzag_over(x0, x1, y0, y1, passes=6, steps=8):
    """A horizontal scratch: ``passes`` sweeps between x0 and x1, drifting from y0 to y1."""
    pts = []
    for k in range(passes):
        xs = np.linspace(x0, x1, steps) if k % 2 == 0 else np.linspace(x1, x0, steps)
        y = y0 + (y1 - y0) * k / max(passes - 1, 1)
        pts += [(x, y + 2 * (i % 2)) for i, x in enumerate(xs)]
    return stroke(pts)


def letter_m(x0, base=100.0, h=30.0, w=14.0):
    """A cursive "m": three downstrokes joined by arches, as a pen writes it."""
    pts = [(x0, base - h)]
    for k in range(3):
        x = x0 + k * w
        pts += [(x, base - h + t * h) for t in np.linspace(0.1, 1, 6)]  # down
        if k < 2:
            pts += [(x + 0.5, base - t * h) for t in np.linspace(0.2, 0.9, 5)]  # retrace up
            pts += [(x + w / 2 + w / 2 * np.sin(a), base - h - 6 * np.cos(a - np.pi / 2) + 6)
                    for a in np.linspace(-np.pi / 2, np.pi / 2, 6)]  # arch over
    return pts


def test_x_reversals_with_hysteresis():
    assert x_reversals(np.array([0, 10, 0, 10, 0]), 3) == 3
    assert x_reversals(np.array([0, 10, 9, 20, 19, 30]), 3) == 0  # small backtracks do not count
    assert x_reversals(np.array([5.0]), 1) == 0


def test_zigzag_over_a_word_is_a_scratch_out():
    word = [stroke(letter_m(100)), stroke(letter_m(150)), stroke([(300, 60), (300, 100)])]
    scratch = zigzag_over(90, 200, 80, 90)
    assert is_scratch_shape(scratch)
    assert scratch_out_targets(scratch, word) == [0, 1]  # not the stroke at x=300
    assert scratch_out_targets(scratch, []) == []  # nothing under it: ink


def test_handwriting_is_not_a_scratch_out():
    existing = [stroke([(80, 60), (260, 100)])]  # a long stroke under all of them
    m = stroke(letter_m(100))
    w = stroke([(100 + 8 * i, 70 + (30 if i % 2 else 0)) for i in range(5)])  # "w": down-up-down-up
    nn = stroke(letter_m(100)[:-6] + [(x + 40, y) for x, y in letter_m(100)[:-6]])
    loops = stroke([(100 + 5 * t + 8 * np.cos(t), 85 + 12 * np.sin(t)) for t in np.linspace(0, 6 * np.pi, 60)])  # "eee"
    for s in (m, w, nn, loops):
        assert not is_scratch_shape(s)
        assert scratch_out_targets(s, existing + [stroke(letter_m(100))]) == []
    assert not is_scratch_shape(stroke([(0, 0), (50, 0)]))


def test_strokes_hit():
    strokes = [stroke([(0, 0), (100, 0)]), stroke([(0, 50), (100, 50)]), stroke([(200, 200)])]
    assert strokes_hit(strokes, np.array([(50, -20), (50, 20)]), 2) == [0]  # crosses the first only
    assert strokes_hit(strokes, np.array([(50, -20), (50, 70)]), 2) == [0, 1]
    assert strokes_hit(strokes, np.array([(203, 200)]), 4) == [2]  # a tap next to a dot
    assert strokes_hit(strokes, np.array([(210, 200)]), 4) == []
    assert strokes_hit(strokes, np.array([(-10, 25), (110, 25)]), 4) == []  # between the lines
    with_empty = strokes + [Stroke([], [])]
    boxes = stroke_boxes(with_empty)
    assert np.isnan(boxes[3]).all() and boxes[0].tolist() == [0, 0, 100, 0]
    assert strokes_hit(with_empty, np.array([(50, -20), (50, 70)]), 2, boxes) == [0, 1]
