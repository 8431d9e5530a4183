"""Reading order within and between text blocks (hwr.segmentation.order)."""

from __future__ import annotations

from types import SimpleNamespace

from hwr.segmentation.order import blocks


def _line(x0, x1, y):
    return SimpleNamespace(x0=float(x0), x1=float(x1), ymid=float(y))


def test_a_row_cut_in_two_reads_left_to_right():
    """A hole or a seal cuts two rows of a letter in halves; the right half of each sits a
    few pixels higher than the left one.  Each row is still read left, then right."""
    lines = [_line(100, 1400, 100),                       # 0: full line
             _line(800, 1400, 190), _line(100, 500, 196),  # 1, 2: right half higher
             _line(820, 1400, 280), _line(100, 480, 284),  # 3, 4
             _line(100, 1400, 370)]                       # 5: full line
    (block,) = blocks(lines, xh=25.0)
    assert block == [0, 2, 1, 4, 3, 5]


def test_lines_one_above_another_keep_top_to_bottom():
    """Lines that overlap horizontally are never put side by side, however close in height:
    a word written between two lines is read between them."""
    lines = [_line(100, 1400, 100), _line(600, 700, 140), _line(100, 1400, 190), _line(100, 900, 280)]
    (block,) = blocks(lines, xh=35.0)
    assert block == [0, 1, 2, 3]


def test_main_column_before_margin_notes():
    text = [_line(300, 1400, 100 + 90 * k) for k in range(6)]
    note = [_line(20, 200, 400), _line(20, 190, 480)]  # a note in the left margin
    order = [k for b in blocks(text + note, xh=25.0) for k in b]
    assert order == [0, 1, 2, 3, 4, 5, 6, 7]
