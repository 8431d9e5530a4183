"""Cutting a found line out of its page for the recogniser.

A line polygon from :func:`hwr.segmentation.segment_page` is the envelope of the ink given
to the line, so it also holds whatever reaches into that band: a revenue stamp or a
margin rule beside the text, the descenders of the line above, the end of a flourish, a
short line that was merged with this one.  Such ink makes the cut-out line taller, and the
recogniser, which scales every line to the same height, then sees the writing smaller
than it was trained on.  So the recogniser reads a *reading band* instead: the polygon
with every vertex held within ``up`` line spacings above the baseline and ``down`` below
it (the page's line spacing: the median distance from a line's baseline to the next one
below).  The polygons written to PAGE/ALTO and drawn in the app stay as found.

``READ_UP`` and ``READ_DOWN`` were chosen on the training pages of ``../shared/data/pages``
(lines found by hwr that match a ground-truth line, read by the embedded image model):
the testaments 33.7 -> 30.6 % CER, Hooker's letters 21.0 -> 20.0 % (the same 946 lines).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Reading band above / below the baseline, in line spacings.
READ_UP = 0.6
READ_DOWN = 0.25
#: The reading band and a narrower and a wider one: the training pages' lines are cut by all
#: three (hwr.data.pages.TRAIN_BANDS), and ``hwr recognize --bands 3`` reads each found line
#: by all three (:meth:`hwr.pipeline.Recognizer.page_views`).
BANDS = ((READ_UP, READ_DOWN), (0.5, 0.2), (0.75, 0.35))
#: An interlinear insertion: both neighbours nearer than INSERT_GAP page spacings and the line
#: narrower than INSERT_WIDTH of the page's median line; its band is measured in INSERT_SCALE
#: times its distance to the nearer neighbour (see :func:`line_spacings`).
INSERT_GAP = 0.7
INSERT_WIDTH = 0.6
INSERT_SCALE = 1.5


def _span(line) -> tuple[float, float, float] | None:
    b = np.asarray(line.baseline or [], np.float64).reshape(-1, 2)
    if len(b) < 2:
        return None
    return float(b[:, 0].min()), float(b[:, 0].max()), float(b[:, 1].mean())


def neighbour_gaps(spans: list) -> list[tuple[float, float]]:
    """Per line span ``(x0, x1, y)`` (or None): the vertical distance to the nearest span above
    and below it that shares at least a quarter of the shorter one's width (inf where there
    is none).  Used on baselines here and on medial heights by the line verifier."""
    out = []
    for i, s in enumerate(spans):
        up = down = np.inf
        if s is not None:
            x0, x1, y = s
            for j, t in enumerate(spans):
                if j == i or t is None:
                    continue
                u0, u1, v = t
                if min(x1, u1) - max(x0, u0) > 0.25 * min(x1 - x0, u1 - u0):
                    if v > y:
                        down = min(down, v - y)
                    elif v < y:
                        up = min(up, y - v)
        out.append((up, down))
    return out


def _median_below(gaps: list[tuple[float, float]]) -> float | None:
    ds = [d for _, d in gaps if np.isfinite(d)]
    return float(np.median(ds)) if ds else None


def line_spacing(lines: Sequence) -> float | None:
    """The page's line spacing: the median vertical distance from a line's baseline to the
    nearest baseline below it that shares at least a quarter of the shorter line's width;
    None with no such pair (a single line)."""
    return _median_below(neighbour_gaps([_span(ln) for ln in lines]))


def line_spacings(lines: Sequence) -> list[float | None]:
    """The spacing each line's reading band is measured in: the page's line spacing, or
    the line's own distance to its nearest neighbour above or below when that is larger
    (a heading or a note standing apart, often written larger, keeps its ascenders).  An
    interlinear insertion, a short line squeezed between two lines (both nearer than
    ``INSERT_GAP`` page spacings, narrower than ``INSERT_WIDTH`` of the page's median line),
    is measured in ``INSERT_SCALE`` times its distance to the nearer of them, so that its band
    does not take in the body of the lines around it.  None for every line when the page has
    no line spacing (a single line)."""
    spans = [_span(ln) for ln in lines]
    gaps = neighbour_gaps(spans)
    widths = [s[1] - s[0] for s in spans if s is not None]
    median_width = float(np.median(widths)) if widths else 0.0
    page = _median_below(gaps)
    if page is None:
        return [None] * len(lines)
    # where many short insertions sit between the lines, their gaps pull the median down (to
    # half the spacing when there is one under every line): then the page's spacing is
    # measured between its full lines
    full = [s if s is not None and s[1] - s[0] >= INSERT_WIDTH * median_width else None for s in spans]
    between_full = _median_below(neighbour_gaps(full))
    if between_full is not None and page < 0.75 * between_full:
        page = between_full
    out: list[float | None] = []
    for span, (up, down) in zip(spans, gaps):
        near = min(up, down)
        if (span is not None and max(up, down) < INSERT_GAP * page
                and span[1] - span[0] < INSERT_WIDTH * median_width):
            out.append(INSERT_SCALE * float(near))
        else:
            out.append(max(page, float(near)) if np.isfinite(near) else page)
    return out


def _points(polygon, baseline, spacing: float | None):
    """(polygon, baseline sorted by x) as float arrays, and whether a band can be drawn:
    a positive spacing, a baseline of 2 points and a polygon of 3."""
    p = np.asarray(polygon or [], np.float64).reshape(-1, 2)
    b = np.asarray(baseline or [], np.float64).reshape(-1, 2)
    b = b[np.argsort(b[:, 0], kind="stable")]
    return p, b, spacing is not None and spacing > 0 and len(b) >= 2 and len(p) >= 3


def reading_polygon(polygon, baseline, spacing: float | None, up: float = READ_UP,
                    down: float = READ_DOWN) -> list[tuple[float, float]]:
    """``polygon`` with each vertex held between ``up * spacing`` above the baseline and
    ``down * spacing`` below it (the baseline interpolated at the vertex's x, held
    constant beyond its ends).  Unchanged without a spacing or a baseline of 2 points."""
    p, b, ok = _points(polygon, baseline, spacing)
    if not ok:
        return [tuple(map(float, v)) for v in p]
    by = np.interp(p[:, 0], b[:, 0], b[:, 1])
    p[:, 1] = np.clip(p[:, 1], by - up * spacing, by + down * spacing)
    return [tuple(map(float, v)) for v in p]


def band_polygon(polygon, baseline, spacing: float | None, up: float = READ_UP,
                 down: float = READ_DOWN) -> list[tuple[float, float]]:
    """The band from ``up * spacing`` above the baseline to ``down * spacing`` below it, over
    the x-extent of ``polygon`` and the baseline (the baseline held constant beyond its
    ends): a line's reading band drawn from its baseline alone, whatever its polygon's
    shape.  ``polygon`` unchanged without a spacing or a baseline of 2 points."""
    p, b, ok = _points(polygon, baseline, spacing)
    if not ok:
        return [tuple(map(float, v)) for v in p]
    x0, x1 = min(p[:, 0].min(), b[0, 0]), max(p[:, 0].max(), b[-1, 0])
    xs = np.unique(np.concatenate([[x0], b[:, 0], [x1]]))
    ys = np.interp(xs, b[:, 0], b[:, 1])
    top = [(float(x), float(y - up * spacing)) for x, y in zip(xs, ys)]
    bottom = [(float(x), float(y + down * spacing)) for x, y in zip(xs[::-1], ys[::-1])]
    return top + bottom


def cut_line(gray: np.ndarray, line, spacing: float | None, name: str = "line", up: float = READ_UP,
             down: float = READ_DOWN) -> np.ndarray:
    """The image of a found ``line`` (polygon and baseline in ``gray``'s pixels) that the
    recogniser reads: its reading band (or the band ``up``, ``down`` line spacings about the
    baseline) cut out by :func:`hwr.data.pages.crop_line` (straightened by the baseline,
    outside the band set to the paper's grey).  Raises :class:`hwr.errors.InputError` when
    nothing is left to cut."""
    from hwr.data.pages import PageLine, crop_line

    poly = reading_polygon(line.polygon, line.baseline, spacing, up, down)
    return crop_line(gray, PageLine(id=name, polygon=poly, baseline=list(line.baseline or [])))
