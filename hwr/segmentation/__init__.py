"""OpenCV page segmentation: a page image -> text lines (polygon, baseline, reading order).

    >>> from hwr.segmentation import segment_page
    >>> page = segment_page("letter.jpg")          # hwr.types.Page
    >>> page.lines[0].polygon, page.lines[0].baseline

All analysis runs on a downscaled copy (longest side ``work_size``); polygons and
baselines are mapped back to the coordinates of the original image.  See
``preprocess`` (binarisation, orientation, skew, cleaning), ``lines`` (line finders),
``polygons`` (polygons, baselines) and ``order`` (text blocks, reading order).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from hwr.types import LineResult, Page, Region

__all__ = ["segment_page", "analyse_page", "Analysis", "METHODS"]

from hwr.segmentation.lines import METHODS  # noqa: E402


@dataclass
class Analysis:
    """What :func:`analyse_page` found on a page, in work coordinates: the prepared page, the
    kept lines, every candidate line (with ``keep`` set), and the line spacing."""

    prep: object
    lines: list
    candidates: list
    grid: float


def _find_lines(prep, method: str, verifier: bool = True) -> Analysis:
    import cv2

    from hwr.segmentation.lines import line_period
    from hwr.segmentation.polygons import assign, build, grid_spacing

    period = line_period(prep.ink, prep.xheight)
    medials = METHODS[method](prep.ink, prep.xheight, period=period)
    ys, xs, lab = assign(prep.ink, medials, prep.xheight)
    comp = cv2.connectedComponents(prep.ink, connectivity=8)[1][ys, xs]
    grid = grid_spacing(medials, prep.xheight, period)
    cands = build(ys, xs, lab, medials, prep.xheight, spacing=grid, verifier=verifier, comp=comp)
    return Analysis(prep, [ln for ln in cands if ln.keep], cands, grid)


def _line_score(lines, xh: float) -> float:
    """Mean distance (in x-heights) of the lines' ink from their medial curves, ink-weighted:
    text read along its lines keeps its ink close to them; read across them, it does not."""
    n = sum(ln.npix for ln in lines)
    if not n:
        return float("inf")
    return sum(ln.spread * ln.npix for ln in lines) / n / max(xh, 1.0)


#: below this :func:`profile_contrast` a page holds no text lines (uniform or Gaussian noise
#: scores 0.07-0.09; the 81 real handwritten pages of ../shared/data/pages 0.52 or more,
#: synthetic pages 2-6)
MIN_PROFILE_CONTRAST = 0.25


def profile_contrast(ink: np.ndarray, xheight: float) -> float:
    """How much the ink's row (or column) profile, smoothed over one x-height, varies: its
    coefficient of variation, the larger of rows and columns.  Lines of text alternate
    with gaps between them; noise spreads evenly."""
    k = max(3, int(round(xheight)))
    best = 0.0
    for prof in (ink.sum(1, dtype=np.float64), ink.sum(0, dtype=np.float64)):
        if prof.size < k:
            continue
        sm = np.convolve(prof, np.full(k, 1.0 / k), mode="valid")
        mean = float(sm.mean())
        if mean > 0:
            best = max(best, float(sm.std()) / mean)
    return best


def _coverage(lines, ink) -> float:
    """The share of the page's ink that its lines hold: read across its lines, text falls
    apart into short columns, many of them too small to be kept as lines."""
    return sum(ln.npix for ln in lines) / max(1, int(ink.sum()))


#: ``upside_down_score`` above which a page is turned by 180 degrees.  On the 65 training
#: pages: upright pages score at most 0.006, the same pages turned score 0.065 and more
#: (all but one); the previous rule (descender pixels over 1.5 times the ascender pixels)
#: caught 57 of the 65 turned pages
FLIP_SCORE = 0.04


def upside_down_score(lines) -> float:
    """How much the lines' ink hangs below their core band rather than above it: per line
    (descenders - ascenders) / (descenders + ascenders), averaged with the lines' widths as
    weights.  Ascenders outnumber descenders in Latin script, so an upright page scores
    below 0 and a page upside down above it.  Each line counts by its width, not by its
    ink, so that one signature's large flourishes do not turn a short page."""
    w = np.array([max(1.0, ln.x1 - ln.x0) for ln in lines])
    a = np.array([ln.above for ln in lines], np.float64)
    b = np.array([ln.below for ln in lines], np.float64)
    return float((w * (b - a) / np.maximum(1.0, a + b)).sum() / w.sum())


def _gray_and_color(image, label: str, work_size: int | None, color: np.ndarray | None):
    """The page as 8-bit grey, and its colour copy: the one given, else read from the file (at
    the analysis size) or taken from a colour array; None for a grey page."""
    from hwr.segmentation import preprocess as pp

    gray = pp.load_gray(image, label)
    if color is None and isinstance(image, (str, os.PathLike)):
        from hwr.imaging.load import load_color

        color = load_color(image, longest=work_size or pp.WORK_SIZE)
    elif color is None and isinstance(image, np.ndarray) and image.ndim == 3 and image.dtype == np.uint8:
        color = image
    return gray, color


def analyse_page(image, method: str = "smear", work_size: int | None = None,
                 orientation: bool = True, deskew: bool = True, name: str | None = None,
                 color: np.ndarray | None = None, verifier: bool = True, sheet: bool = False) -> Analysis:
    """The analysis behind :func:`segment_page`, in work coordinates (see :class:`Analysis`);
    no lines for a page without text lines (blank, or noise).  ``verifier=False`` lets the scrap
    rules alone decide which candidate lines are kept (:mod:`hwr.segmentation.verify`).
    ``sheet``: the image is a sheet flattened out of a photograph, paper from edge to edge
    (:func:`hwr.segmentation.preprocess.prepare`)."""
    from hwr.errors import InputError
    from hwr.segmentation import preprocess as pp

    if method not in METHODS:
        raise InputError(f"unknown segmentation method {method!r} (one of {', '.join(METHODS)})")
    label = name or (str(image) if isinstance(image, (str, os.PathLike)) else "image")
    gray, color = _gray_and_color(image, label, work_size, color)
    cands = pp.prepare(gray, work_size or pp.WORK_SIZE, orientation=orientation, deskew=deskew, color=color,
                       sheet=sheet)
    del gray
    prep = cands[0]
    if prep.xheight <= 0 or not prep.ink.any():
        return Analysis(prep, [], [], 0.0)
    # noise guard: a page of random specks has ink everywhere, or no line structure
    if prep.ink.mean() > 0.3 or profile_contrast(prep.ink, prep.xheight) < MIN_PROFILE_CONTRAST:
        return Analysis(prep, [], [], 0.0)
    found = _find_lines(prep, method, verifier)
    if len(cands) > 1:  # maybe turned by 90 degrees: keep the reading whose lines hold their ink closer
        # to their centre curves, and hold at least as much of it
        alt = _find_lines(cands[1], method, verifier)
        if (_line_score(alt.lines, cands[1].xheight) < _line_score(found.lines, prep.xheight)
                and _coverage(alt.lines, cands[1].ink) >= _coverage(found.lines, prep.ink)):
            found = alt
    if orientation and len(found.lines) >= 2 and upside_down_score(found.lines) > FLIP_SCORE:
        found = _find_lines(pp.turn_180(found.prep), method, verifier)
    return found


def segment_page(image, method: str = "smear", work_size: int | None = None,
                 orientation: bool = True, deskew: bool = True, name: str | None = None,
                 color: np.ndarray | None = None, verifier: bool = True, paper: bool = True,
                 sheet: bool = False) -> Page:
    """Segment a page (a path or a numpy image) into text lines.

    Returns a :class:`hwr.types.Page` whose lines have ``polygon`` and ``baseline`` in
    the original image's pixel coordinates, empty text, in reading order; ``regions``
    are the text blocks.  A blank page gives no lines.  Unreadable input raises
    :class:`hwr.errors.InputError`.

    ``color`` is a colour (BGR) copy of the page at any scale, e.g. from
    :func:`hwr.imaging.load.load_color`; it is read from the file when ``image`` is a path,
    and taken from ``image`` when that is a colour array.  With it, ink components far from
    the colour of the page's writing (violet, red or blue stamps) are left out.
    ``verifier=False`` keeps the candidate lines that the scrap rules keep, without the
    line verifier's say (:mod:`hwr.segmentation.verify`).
    ``paper``: a page photographed on a table (a sheet on a darker background, seen at an
    angle) is flattened first and segmented flat (:mod:`hwr.imaging.paper`); the lines are
    still given in the photograph's coordinates.  ``sheet``: ``image`` is already such a sheet
    flattened out of its photograph (paper from edge to edge, a shadow across it included).
    """
    from hwr.segmentation.order import blocks, hull
    from hwr.segmentation.polygons import simplify

    label = name or (str(image) if isinstance(image, (str, os.PathLike)) else "image")
    if paper:
        from hwr.imaging.paper import flatten

        sheet, image, color = flatten(*_gray_and_color(image, label, work_size, color))
        if sheet is not None:
            return sheet.page_to_photo(segment_page(image, method, work_size, orientation, deskew, label,
                                                    color, verifier, paper=False, sheet=True))
    found = analyse_page(image, method, work_size, orientation, deskew, name=label, color=color,
                         verifier=verifier, sheet=sheet)
    prep, lines = found.prep, found.lines
    page = Page(image=label, width=prep.width, height=prep.height)
    xh = prep.xheight
    for block in blocks(lines, xh):
        idx = []
        pts = []
        for k in block:
            ln = lines[k]
            poly = prep.to_original(simplify(ln.polygon, True, 0.5))
            base = prep.to_original(simplify(ln.baseline, False, 0.5))
            page.lines.append(LineResult(text="", confidence=0.0,
                                         polygon=[(round(float(x), 1), round(float(y), 1)) for x, y in poly],
                                         baseline=[(round(float(x), 1), round(float(y), 1)) for x, y in base]))
            idx.append(len(page.lines) - 1)
            pts.append(poly)
        h = hull(np.concatenate(pts))
        page.regions.append(Region(polygon=[(round(float(x), 1), round(float(y), 1)) for x, y in h], lines=idx))
    return page
