"""Stamps told from writing by their colour, the small colour copy of a page, and the
180-degree decision."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwr.imaging.load import load_color
from hwr.segmentation import segment_page
from hwr.segmentation.preprocess import ink_chroma, remove_stamps

from segmentation.test_segmentation import make_page

PAPER = (200, 228, 238)  # BGR: yellowish paper
BROWN = (30, 45, 60)  # iron-gall brown-black
BLUE = (150, 60, 20)
VIOLET = (150, 40, 120)
RED = (40, 40, 190)


def coloured(gray: np.ndarray, ink) -> np.ndarray:
    """The grey page of ``make_page`` (paper 215, ink darker) in colour: paper yellowish,
    ink of colour ``ink`` in proportion to its darkness."""
    a = np.clip((215.0 - gray.astype(np.float32)) / (215.0 - 60.0), 0, 1)[..., None]
    return (np.float32(PAPER) * (1 - a) + np.float32(ink) * a).astype(np.uint8)


def stamp(img: np.ndarray, colour) -> None:
    """Two lines of printed stamp text below the writing, in the writing's line grid (so
    that without colour they pass for two more lines of the text)."""
    for i, text in enumerate(["TRIBUNAL CIVIL DE LA SEINE", "PARIS LE 4 MARS 1919"]):
        cv2.putText(img, text, (150, 1410 + 170 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.8, colour, 4, cv2.LINE_AA)


def mids(page) -> list[float]:
    return [float(np.mean([y for _, y in ln.polygon])) for ln in page.lines]


@pytest.mark.parametrize("writing,stamp_colour", [(BROWN, VIOLET), (BLUE, RED), (BROWN, BLUE)])
def test_stamp_lines_are_left_out_by_colour(writing, stamp_colour):
    gray, boxes = make_page(seed=3)
    img = coloured(gray, writing)
    stamp(img, stamp_colour)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    without = segment_page(grey)  # no colour: the stamp's lines look like writing
    assert sum(y > 1300 for y in mids(without)) == 2
    page = segment_page(grey, color=img)
    ys = mids(page)
    assert len(ys) == len(boxes) and all(y < 1300 for y in ys)
    # a colour array as the image itself is used for its colour too
    assert mids(segment_page(img)) == pytest.approx(ys, abs=1.0)


def test_colour_at_any_scale_and_a_mismatched_view_is_ignored():
    gray, boxes = make_page(seed=3)
    img = coloured(gray, BROWN)
    stamp(img, VIOLET)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    half = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    assert len(segment_page(grey, color=half).lines) == len(boxes)
    # a colour copy of another shape (e.g. not turned by EXIF like the grey page) is not used
    turned = np.ascontiguousarray(np.rot90(img))
    assert len(segment_page(grey, color=turned).lines) == len(boxes) + 2


def test_a_page_written_in_violet_keeps_its_writing():
    """The writing's colour is the page's main ink colour, whatever it is: a will written in
    violet ink with a brown note is not taken for a stamp."""
    gray, boxes = make_page(seed=4)
    img = coloured(gray, VIOLET)
    page = segment_page(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), color=img)
    assert len(page.lines) == len(boxes)


def test_two_writing_colours_in_equal_share_are_both_kept():
    ink = np.zeros((200, 400), np.uint8)
    ink[20:40, 10:390] = 1  # one line in brown
    ink[120:140, 10:390] = 1  # one in blue, as much ink
    img = np.full((200, 400, 3), PAPER, np.uint8)
    img[20:40, 10:390] = BROWN
    img[120:140, 10:390] = BLUE
    chroma = ink_chroma(img, ink, np.ones(ink.shape, bool))
    assert np.array_equal(remove_stamps(ink, chroma), ink)
    img[120:140, 10:390] = BROWN  # one colour: nothing is removed either
    assert np.array_equal(remove_stamps(ink, ink_chroma(img, ink, np.ones(ink.shape, bool))), ink)
    # a small blue part is removed
    ink[160:170, 10:100] = 1
    img[120:140, 10:390] = BROWN
    img[160:170, 10:100] = BLUE
    out = remove_stamps(ink, ink_chroma(img, ink, np.ones(ink.shape, bool)))
    assert out[160:170, 10:100].sum() == 0 and out[:150].sum() == ink[:150].sum()


def test_load_color(tmp_path):
    gray, _ = make_page(seed=1)
    img = coloured(gray, BROWN)
    big = cv2.resize(img, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)  # 3250 x 4500
    cv2.imwrite(str(tmp_path / "big.jpg"), big)
    cv2.imwrite(str(tmp_path / "page.png"), img)
    cv2.imwrite(str(tmp_path / "grey.jpg"), gray)
    c = load_color(tmp_path / "big.jpg")
    assert c is not None and c.dtype == np.uint8 and c.shape[2] == 3 and max(c.shape[:2]) <= 1600
    assert abs(c.shape[1] / c.shape[0] - big.shape[1] / big.shape[0]) < 0.01
    c = load_color(tmp_path / "page.png", longest=900)
    assert c is not None and max(c.shape[:2]) == 900
    assert load_color(tmp_path / "grey.jpg") is None  # no colour to see
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    assert load_color(tmp_path / "bad.jpg") is None
    assert load_color(tmp_path / "missing.png") is None
    assert load_color(tmp_path / "page.png", index=1) is None  # a PNG has one page


def test_one_flourish_does_not_turn_a_page():
    """The 180-degree decision counts lines by their width, not their ink: three lines of
    ordinary text (more ascender than descender ink) and one short signature whose loops
    hang far below it stay upright, though the signature alone holds most descender ink."""
    from types import SimpleNamespace

    from hwr.segmentation import FLIP_SCORE, upside_down_score

    text = [SimpleNamespace(x0=100, x1=900, above=100, below=60) for _ in range(3)]
    signature = SimpleNamespace(x0=600, x1=800, above=50, below=2000)
    lines = text + [signature]
    assert sum(ln.below for ln in lines) > 1.5 * sum(ln.above for ln in lines)  # the old rule: turn
    assert upside_down_score(lines) < FLIP_SCORE
    turned = [SimpleNamespace(x0=ln.x0, x1=ln.x1, above=ln.below, below=ln.above) for ln in text]
    assert upside_down_score(turned) > FLIP_SCORE


def test_load_color_bounds_full_size_colour_decodes(tmp_path, monkeypatch):
    import hwr.imaging.load as load

    gray, _ = make_page(seed=1)
    img = coloured(gray, BROWN)
    cv2.imwrite(str(tmp_path / "page.png"), img)
    cv2.imwrite(str(tmp_path / "page.jpg"), img)
    monkeypatch.setattr(load, "COLOR_MAX_PIXELS", img.shape[0] * img.shape[1] - 1)
    assert load_color(tmp_path / "page.png") is None  # would be decoded at full size
    assert load_color(tmp_path / "page.jpg") is not None  # decoded reduced
