"""Pages with line annotations (PAGE XML, ALTO): reading, cropping lines, page-level splits."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from hwr.errors import InputError
from hwr.imaging import IMAGE_SUFFIXES
from hwr.paths import find_files
from hwr.segmentation.crops import BANDS

#: image suffixes looked for beside an XML that names no image: the usual scan formats
#: first, then the rest of what hwr reads (:data:`hwr.imaging.IMAGE_SUFFIXES`)
_FIRST = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
IMAGE_EXTS = _FIRST + tuple(sorted(IMAGE_SUFFIXES - set(_FIRST)))


@dataclass
class PageLine:
    id: str
    polygon: list[tuple[float, float]]
    baseline: list[tuple[float, float]] = field(default_factory=list)
    text: str = ""


@dataclass
class PageDoc:
    path: Path
    image: str  # image file name as the XML gives it
    lines: list[PageLine]
    width: int = 0
    height: int = 0


def read_page(path: str | os.PathLike) -> PageDoc:
    """Read a PAGE XML or ALTO file (told apart by the root element)."""
    from hwr.data._xml import local, read_xml

    root = read_xml(path)  # parsed once, read by the reader of its kind
    tag = local(root.tag)
    if tag == "PcGts":
        from hwr.data.pagexml import read_page_xml

        return read_page_xml(path, root)
    if tag == "alto":
        from hwr.data.alto import read_alto

        return read_alto(path, root)
    raise InputError(f"{path}: neither PAGE XML nor ALTO (root <{tag}>)")


def page_image_path(doc: PageDoc) -> Path:
    """The image beside the XML: the name the XML gives, else the same stem with an image extension."""
    folder = doc.path.parent
    if doc.image:
        p = folder / Path(doc.image.replace("\\", "/")).name
        if p.exists():
            return p
    for ext in IMAGE_EXTS:
        for e in (ext, ext.upper()):
            p = doc.path.with_suffix(e)
            if p.exists():
                return p
    raise InputError(f"{doc.path}: page image {doc.image or doc.path.stem!r} not found beside it")


def crop_line(page: np.ndarray, line: PageLine, pad: int = 2) -> np.ndarray:
    """Cut ``line`` out of a uint8 grayscale page: the polygon's box, with the pixels outside
    the polygon set to the paper's grey; rotated so that the baseline is horizontal."""
    import cv2

    if len(line.polygon) < 3:
        raise InputError(f"line {line.id}: polygon has fewer than 3 points")
    poly = np.asarray(line.polygon, np.float64)
    h, w = page.shape
    x0, y0 = np.floor(poly.min(0)).astype(int) - pad
    x1, y1 = np.ceil(poly.max(0)).astype(int) + pad + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise InputError(f"line {line.id}: polygon outside the image or degenerate")
    crop = page[y0:y1, x0:x1]
    mask = np.zeros(crop.shape, np.uint8)
    cv2.fillPoly(mask, [np.rint(poly - (x0, y0)).astype(np.int32).reshape(-1, 1, 2)], 255)
    mask = cv2.dilate(mask, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
    inside = crop[mask > 0]
    if inside.size == 0:
        raise InputError(f"line {line.id}: empty polygon")
    paper = int(np.percentile(inside, 80))
    out = np.where(mask > 0, crop, _paper_by_column(crop, mask > 0, paper)).astype(np.uint8)
    if len(line.baseline) >= 2:
        b = np.asarray(line.baseline, np.float64)
        dx, dy = b[-1] - b[0]
        angle = math.degrees(math.atan2(dy, dx))
        if abs(angle) > 3.0 and math.hypot(dx, dy) > 10:
            ch, cw = out.shape
            m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
            cos, sin = abs(m[0, 0]), abs(m[0, 1])
            nw, nh = int(ch * sin + cw * cos) + 1, int(ch * cos + cw * sin) + 1
            m[0, 2] += nw / 2 - cw / 2
            m[1, 2] += nh / 2 - ch / 2
            out = cv2.warpAffine(out, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=paper)
    return out


def _paper_by_column(crop: np.ndarray, inside: np.ndarray, paper: int) -> np.ndarray:
    """The paper's grey along a line's crop, column by column: the 80th percentile of the
    column's pixels inside the polygon (``paper``, the whole crop's, where no column has
    enough of them), a running median over five columns, its dips narrower than the crop is
    high closed.  Across a shadow the paper is darker, and so is what fills the crop around
    the polygon there; filled with the lit paper's grey, the shaded paper would stand out as
    ink from it."""
    import cv2

    h, w = crop.shape
    n = inside.sum(axis=0)
    has = n >= max(3, h // 10)  # a column with fewer pixels inside (a polygon's tip) borrows
    if not has.any():
        return np.full((1, w), paper, np.uint8)
    # each column sorted with the pixels outside the polygon as 0, below all inside ones
    ranked = np.sort(np.where(inside, crop, 0), axis=0)
    pick = (h - n + (0.8 * (n - 1)).astype(int))[has]
    cols = np.take_along_axis(ranked[:, has], pick[None, :], axis=0)[0].astype(np.float64)
    level = np.interp(np.arange(w), np.flatnonzero(has), cols)
    level = np.rint(level).astype(np.uint8).reshape(1, -1)
    if w >= 5:
        level = cv2.medianBlur(level, 5)
    # a grey closing as wide as the crop is high: a dip where the writing is dense (the band
    # holds little paper there) is filled, a shadow, wider than that, is kept
    k = max(3, h | 1)
    return cv2.morphologyEx(level, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8), borderType=cv2.BORDER_REPLICATE)


def find_pages(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """XML files under ``folder`` grouped by collection: the first-level subfolder
    (or the folder's own name for files directly in it), each list sorted by path."""
    folder = Path(folder)
    out: dict[str, list[Path]] = {}
    for p in find_files(folder, "*.xml"):
        rel = p.relative_to(folder)
        coll = rel.parts[0] if len(rel.parts) > 1 else folder.name
        out.setdefault(coll, []).append(p)
    return out


def split_pages(pages: dict[str, list[Path]], holdout_every: int = 5,
                held_back: set[str] | None = None) -> dict[str, tuple[list[Path], list[Path]]]:
    """Page-level split per collection: ``(train, val)``.  With ``held_back`` (page stems),
    those pages are validation; otherwise every ``holdout_every``-th page (the 5th, 10th, ...
    in sorted order) is.  Deterministic: it depends on the file names only."""
    out = {}
    for coll, paths in pages.items():
        if held_back is not None:
            val = [p for p in paths if p.stem in held_back]
        else:
            val = [p for i, p in enumerate(paths) if holdout_every > 0 and i % holdout_every == holdout_every - 1]
        vs = set(val)
        out[coll] = ([p for p in paths if p not in vs], val)
    return out


#: How ground-truth lines are cut out of their pages: by their polygons, or by the reading
#: band of their baselines (:func:`hwr.segmentation.crops.band_polygon`).
CUTS = ("polygon", "band")
#: The cut of ``hwr import pages`` and of training on a folder of pages.
DEFAULT_CUT = "band"
#: Raised when the way lines are cut out changes, so that page folders imported before
#: (cached by hwr.training.sources, and by the benchmarks) are imported again: 2 since
#: interlinear insertions get a band of their own size (hwr.segmentation.crops.line_spacings);
#: 3 since the crop around a line's polygon is filled with the paper's grey column by column
#: (:func:`crop_line`), polygon cuts included.
BAND_CUT_VERSION = 3
#: The bands (line spacings above, below the baseline) each line of the *training* pages is
#: cut by when they are cut several ways (``hwr import pages --band-variants``, and ``hwr
#: train`` on a folder of pages): the reading band that ``hwr recognize`` reads, a narrower
#: and a wider one, so the network learns to read a line whatever part of its neighbours'
#: ascenders and descenders, or of its own, the band of a found line takes in.
TRAIN_BANDS = BANDS


def iter_page_lines(xml: Path, collection: str, on_error: Callable[[str], None] = lambda m: None,
                    cut: str = "polygon", bands: tuple[tuple[float, float], ...] | None = None,
                    ) -> Iterator[tuple[PageLine, np.ndarray]]:
    """(line, grayscale crop) for every transcribed line of one page.  ``cut="band"`` cuts
    each line by the reading band of its baseline (the page's line spacing measured over its
    transcribed lines) instead of its polygon; a line without a baseline keeps its polygon.
    ``bands`` (with ``cut="band"``): cut each line once per ``(up, down)`` band, in line
    spacings above and below its baseline (e.g. :data:`TRAIN_BANDS`), one crop after the
    other; a line cut by its polygon is cut once."""
    from hwr.imaging.load import load_image
    from hwr.segmentation.crops import READ_DOWN, READ_UP, band_polygon, line_spacings

    if cut not in CUTS:
        raise ValueError(f"cut must be one of {CUTS}, not {cut!r}")
    bands = tuple(bands or ((READ_UP, READ_DOWN),))
    doc = read_page(xml)
    img = load_image(page_image_path(doc))
    lines = [line for line in doc.lines if line.text.strip()]
    spacings = line_spacings(lines) if cut == "band" else [None] * len(lines)
    for line, spacing in zip(lines, spacings):
        shapes = [line] if spacing is None else [
            replace(line, polygon=band_polygon(line.polygon, line.baseline, spacing, up=up, down=down))
            for up, down in bands]
        for k, shape in enumerate(shapes):
            try:
                crop = crop_line(img, shape)
            except InputError as e:
                on_error(f"{xml}: {e}" + (f" (band {k + 1} of {len(shapes)})" if len(shapes) > 1 else ""))
                continue
            yield line, crop


def page_line_samples(pages: dict[str, list[Path]], prep: dict, problems: list[str],
                      cut: str = "polygon", bands: tuple[tuple[float, float], ...] | None = None) -> Iterator:
    """Normalised :class:`~hwr.data.lineset.LineSample` of every transcribed line of the
    PAGE/ALTO files in ``pages`` (collection -> XML files), cut as :func:`iter_page_lines`
    says (with ``bands``, several samples of one line share its id); problems go to
    ``problems``."""
    from hwr.data.lineset import LineSample
    from hwr.imaging.line import normalize_line, to_uint8

    for coll, xmls in pages.items():
        for xml in xmls:
            try:
                for line, crop in iter_page_lines(xml, coll, on_error=problems.append, cut=cut, bands=bands):
                    try:
                        img = to_uint8(normalize_line(crop, prep, f"{xml.name}:{line.id}"))
                    except InputError as e:
                        problems.append(str(e))
                        continue
                    yield LineSample(img, line.text, writer=xml.stem, source=xml.name, collection=coll,
                                     id=f"{coll}/{xml.stem}/{line.id}")
            except InputError as e:
                problems.append(str(e))
