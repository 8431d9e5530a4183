"""The reading band: a found line is cut out near its baseline, so ink reaching into its
polygon from elsewhere (a stamp or rule beside the text, the line above) does not shrink
the writing the recogniser sees."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwr.errors import InputError
from hwr.segmentation.crops import READ_DOWN, READ_UP, cut_line, line_spacing, line_spacings, reading_polygon
from hwr.types import LineResult


def _line(y: float, x0: float = 100, x1: float = 900, top: float = 60, bottom: float = 30) -> LineResult:
    poly = [(x0, y - top), (x1, y - top), (x1, y + bottom), (x0, y + bottom)]
    return LineResult(text="", confidence=0.0, polygon=poly, baseline=[(x0, y), ((x0 + x1) / 2, y), (x1, y)])


def test_line_spacing_is_the_median_distance_to_the_next_baseline():
    lines = [_line(100), _line(200), _line(300), _line(420)]
    assert line_spacing(lines) == pytest.approx(100.0)
    # lines side by side (two columns) are not each other's neighbours
    assert line_spacing([_line(100, 0, 400), _line(130, 600, 1000)]) is None
    assert line_spacing([_line(100)]) is None
    assert line_spacing([LineResult(text="", confidence=0.0, polygon=[(0, 0), (1, 0), (1, 1)], baseline=[])]) is None


def test_a_line_standing_apart_gets_its_own_larger_spacing():
    # a heading 300 px above three body lines 100 px apart: its band is measured in 300 px
    lines = [_line(100, top=150, bottom=60), _line(400), _line(500), _line(600)]
    sp = line_spacings(lines)
    assert sp[0] == pytest.approx(300.0)
    assert sp[1:] == pytest.approx([100.0, 100.0, 100.0])
    assert line_spacings([_line(100)]) == [None]
    p = np.asarray(reading_polygon(lines[0].polygon, lines[0].baseline, sp[0]))
    assert p[:, 1].min() == pytest.approx(100 - 150)  # the tall heading keeps its top
    q = np.asarray(reading_polygon(lines[0].polygon, lines[0].baseline, line_spacing(lines)))
    assert q[:, 1].min() == pytest.approx(100 - READ_UP * 100)  # the page's spacing would have cut it

    ln = _line(500, top=300, bottom=200)  # a polygon blown up by something tall
    p = np.asarray(reading_polygon(ln.polygon, ln.baseline, 100.0))
    assert p[:, 1].min() == pytest.approx(500 - READ_UP * 100)
    assert p[:, 1].max() == pytest.approx(500 + READ_DOWN * 100)
    assert np.array_equal(p[:, 0], np.asarray(ln.polygon)[:, 0])  # x untouched
    # a tight polygon is left as it is
    small = _line(500, top=20, bottom=10)
    assert reading_polygon(small.polygon, small.baseline, 100.0) == [tuple(map(float, v)) for v in small.polygon]
    # the band follows a sloping baseline
    slope = LineResult(text="", confidence=0.0, polygon=[(0, 0), (1000, 0), (1000, 1000), (0, 1000)],
                       baseline=[(0, 400), (1000, 600)])
    q = np.asarray(reading_polygon(slope.polygon, slope.baseline, 100.0))
    assert q[0, 1] == pytest.approx(400 - READ_UP * 100) and q[1, 1] == pytest.approx(600 - READ_UP * 100)
    # without a spacing or a baseline nothing changes
    assert reading_polygon(ln.polygon, ln.baseline, None) == [tuple(map(float, v)) for v in ln.polygon]
    assert reading_polygon(ln.polygon, [], 100.0) == [tuple(map(float, v)) for v in ln.polygon]


def test_an_interlinear_insertion_gets_a_band_of_its_own_size():
    from hwr.segmentation.crops import INSERT_SCALE

    body = [_line(100), _line(200), _line(300), _line(400), _line(500)]
    # a short insertion written between the second and third lines, nearer the third
    ins = _line(260, 400, 600, top=25, bottom=10)
    sp = line_spacings(body + [ins])
    assert sp[:5] == pytest.approx([100.0] * 5)  # the lines around it keep the page's spacing
    assert sp[5] == pytest.approx(INSERT_SCALE * 40.0)
    band = np.asarray(reading_polygon(_line(260, 400, 600, top=90, bottom=60).polygon, ins.baseline, sp[5]))
    assert band[:, 1].min() > 200  # the band no longer reaches the line above's baseline
    assert band[:, 1].max() < 300  # nor the line below's
    # a full line between two insertions is not one; nor is a short line with one near neighbour
    crowded = [_line(100), _line(150, 400, 600), _line(200), _line(250, 300, 500), _line(300), _line(400)]
    sp = line_spacings(crowded)
    assert sp[2] == pytest.approx(100.0) and sp[1] == pytest.approx(INSERT_SCALE * 50.0)
    short_last = [_line(100), _line(200), _line(300), _line(340, 100, 300)]
    assert line_spacings(short_last)[3] == pytest.approx(100.0)


def test_cut_line_leaves_out_a_tall_mark_beside_the_text():
    page = np.full((800, 1200), 235, np.uint8)
    for y in (200, 300, 400):
        cv2.putText(page, "minimum rummaging", (120, y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 30, 3)
    cv2.rectangle(page, (1000, 120), (1040, 480), 20, -1)  # a stamp / fold beside the lines, 3 lines tall
    lines = [_line(y, 110, 1050, top=120, bottom=90) for y in (200, 300, 400)]  # polygons that take it in
    spacing = line_spacing(lines)
    assert spacing == pytest.approx(100.0)
    from hwr.data.pages import PageLine, crop_line

    whole = crop_line(page, PageLine("l", lines[1].polygon, lines[1].baseline))
    band = cut_line(page, lines[1], spacing)
    assert whole.shape[0] > 200
    assert band.shape[0] <= (READ_UP + READ_DOWN) * 100 + 6
    # the text is all there: its ink spans the same columns
    ink_cols = np.flatnonzero((band < 128).any(0))
    assert ink_cols[0] < 20 and ink_cols[-1] > 880


def test_cut_line_of_nothing_is_an_input_error():
    page = np.full((100, 100), 235, np.uint8)
    far = LineResult(text="", confidence=0.0, polygon=[(500, 500), (600, 500), (600, 600)], baseline=[(500, 550), (600, 550)])
    with pytest.raises(InputError):
        cut_line(page, far, 50.0)


def test_recognize_page_reads_lines_by_their_band(monkeypatch):
    """recognize_page cuts every line with cut_line and the page's spacing."""
    from tests.synth import synth_page
    from hwr.pipeline import Recognizer
    import hwr.segmentation.crops as crops

    calls = []
    real = crops.cut_line

    def spy(gray, line, spacing, name="line"):
        calls.append(spacing)
        return real(gray, line, spacing, name)

    monkeypatch.setattr(crops, "cut_line", spy)
    rec = Recognizer(kind="image")
    page = rec.recognize_page(synth_page(0))
    assert len(calls) == len(page.lines) > 0
    assert all(s is None or s > 0 for s in calls)


def test_a_page_not_in_the_lms_language_is_decoded_without_it(monkeypatch):
    """recognize_page decodes a page whose greedy reading the LM finds foreign (perplexity
    above FOREIGN_PERPLEXITY) with the same beam search and no LM; other pages keep the LM."""
    import hwr.pipeline as pl
    from tests.synth import synth_page

    rec = pl.Recognizer(kind="image")
    if rec.decoder.lm is None:
        pytest.skip("the embedded image model decodes without an LM")
    lps = rec.line_log_probs([rec.line_input(synth_page(1)[60:180, :])]) * 8  # enough text to judge
    monkeypatch.setattr(type(rec.decoder.lm), "perplexity", lambda self, lines: 5.0)
    assert rec.page_decoder(lps) is rec.decoder
    monkeypatch.setattr(type(rec.decoder.lm), "perplexity", lambda self, lines: pl.FOREIGN_PERPLEXITY + 1)
    foreign = rec.page_decoder(lps)
    assert foreign is not rec.decoder and foreign.lm is None
    assert foreign.settings.decoder == "beam" and foreign.settings.beam_width == rec.decoder.settings.beam_width
    assert rec.page_decoder(lps) is foreign  # made once
    assert rec.page_decoder([]) is rec.decoder
    greedy = pl.Recognizer(kind="image", decoder="greedy")
    assert greedy.page_decoder(lps) is greedy.decoder


def test_band_polygon_is_drawn_from_the_baseline_whatever_the_polygon():
    from hwr.segmentation.crops import band_polygon

    thin = _line(500, 100, 900, top=12, bottom=3)  # a ground-truth band along the baseline, ascenders cut
    p = np.asarray(band_polygon(thin.polygon, thin.baseline, 100.0))
    assert p[:, 1].min() == pytest.approx(500 - READ_UP * 100)
    assert p[:, 1].max() == pytest.approx(500 + READ_DOWN * 100)
    assert p[:, 0].min() == 100 and p[:, 0].max() == 900
    tall = _line(500, 50, 950, top=150, bottom=120)  # one that takes in its neighbours
    q = np.asarray(band_polygon(tall.polygon, tall.baseline[:1] + [(800, 500)], 100.0))
    assert (q[:, 1].min(), q[:, 1].max()) == (pytest.approx(440), pytest.approx(525))
    assert (q[:, 0].min(), q[:, 0].max()) == (50, 950)  # the polygon's extent, beyond the baseline's ends
    slope = band_polygon([(0, 300), (1000, 300), (1000, 700), (0, 700)], [(0, 400), (1000, 600)], 100.0)
    up, down = READ_UP * 100, READ_DOWN * 100
    assert slope[0] == pytest.approx((0, 400 - up)) and slope[1] == pytest.approx((1000, 600 - up))
    assert slope[2] == pytest.approx((1000, 600 + down)) and slope[3] == pytest.approx((0, 400 + down))
    # without a spacing or a baseline nothing changes
    same = [tuple(map(float, v)) for v in thin.polygon]
    assert band_polygon(thin.polygon, thin.baseline, None) == same
    assert band_polygon(thin.polygon, [(100, 500)], 100.0) == same
