"""Rendering ink to line images: deterministic when clean or seeded, varied across seeds."""

import numpy as np
import pytest

from synth import synth_ink
from hwr.errors import InputError
from hwr.imaging.line import normalize_line
from hwr.ink.render import render_ink
from hwr.types import Ink, Stroke


def test_clean_render_is_deterministic_and_dark_on_light():
    ink = synth_ink("olv zj")
    a, b = render_ink(ink), render_ink(ink)
    assert a.dtype == np.uint8 and np.array_equal(a, b)
    assert a.max() == 255 and a.min() == 0  # white paper, black pen
    assert 50 <= a.shape[0] <= 90 and a.shape[1] > a.shape[0]


def test_seeded_render_repeats_and_varies():
    ink = synth_ink("olv zj lo")
    a = render_ink(ink, rng=np.random.default_rng(5))
    b = render_ink(ink, rng=np.random.default_rng(5))
    c = render_ink(ink, rng=np.random.default_rng(6))
    assert np.array_equal(a, b)
    assert a.shape != c.shape or np.abs(a.astype(int) - c).mean() > 2
    # paper is not pure white and the background is not flat in the varied renders
    backgrounds = [np.median(render_ink(ink, rng=np.random.default_rng(k))) for k in range(8)]
    assert np.std(backgrounds) > 3


def test_renders_normalise_alike():
    ink = synth_ink("olv zj lo")
    clean = normalize_line(render_ink(ink))
    for k in range(5):
        noisy = normalize_line(render_ink(ink, rng=np.random.default_rng(k)))
        assert noisy.shape[0] == clean.shape[0]
        assert 0.6 < noisy.shape[1] / clean.shape[1] < 1.6


def test_render_bad_ink():
    with pytest.raises(InputError):
        render_ink(Ink(strokes=[]))
    with pytest.raises(InputError):
        render_ink(Ink(strokes=[Stroke([0, np.nan], [0, 1])]))
    flat = render_ink(Ink(strokes=[Stroke([0, 1e9], [0, 1])]))  # flat ink: drawn as a thin line, bounded
    assert flat.shape[1] <= 40 * 64
    dot = render_ink(Ink(strokes=[Stroke([5.0], [5.0])]))  # a single point is a dot
    assert dot.min() < 128


def test_render_page_keeps_the_layout():
    from hwr.ink.render import render_page

    ink = synth_ink("olv zj", scale=30.0)
    for s in ink.strokes:  # place the ink at (200, 300) on the page
        s.x += 200.0
        s.y += 300.0
    x0, y0, x1, y1 = ink.bounds()
    a = render_page(ink, 600, 800, pen=3.0, rng=np.random.default_rng(1))
    assert a.shape == (800, 600) and a.dtype == np.uint8
    assert np.array_equal(a, render_page(ink, 600, 800, pen=3.0, rng=np.random.default_rng(1)))
    dark = np.argwhere(a < np.median(a) - 40)  # (row, col) of the ink
    assert len(dark) > 100
    assert dark[:, 1].min() >= x0 - 6 and dark[:, 1].max() <= x1 + 6
    assert dark[:, 0].min() >= y0 - 6 and dark[:, 0].max() <= y1 + 6
    with pytest.raises(InputError):
        render_page(Ink(strokes=[]), 600, 800, pen=3.0, rng=np.random.default_rng(1))
    with pytest.raises(InputError):
        render_page(ink, 0, 800, pen=3.0, rng=np.random.default_rng(1))
