"""Page pre-processing for line segmentation, on a downscaled analysis copy.

The page is never processed at full size: it is reduced (INTER_AREA) to a working
resolution (longest side ``work_size``), flattened (divided by a background estimate),
binarised (darker than the neighbourhood by a share of the page's strong ink contrast,
``contrast_ink``), turned upright (0/90/180/270) and deskewed, and
cleaned (ruling lines, specks, page borders, large blots such as stamps).  Every step
that moves pixels is recorded in one 2x3 affine matrix ``to_work`` (original -> work
coordinates) so that results map back to the original image exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from hwr.errors import InputError

WORK_SIZE = 1600


@dataclass
class Prepared:
    """The analysis copy of a page."""

    ink: np.ndarray  # uint8 (h, w), 1 = ink, upright and deskewed, cleaned
    to_work: np.ndarray  # 2x3 affine, original (x, y) -> work (x, y)
    width: int  # original size
    height: int
    quarter: int  # quarter turns (counter-clockwise) applied to make the page upright
    skew: float  # degrees of residual skew removed
    xheight: float  # typical text height in work pixels (median component height)

    def to_original(self, pts: np.ndarray) -> np.ndarray:
        inv = cv2.invertAffineTransform(self.to_work)
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        out = p @ inv[:, :2].T + inv[:, 2]
        out[:, 0] = np.clip(out[:, 0], 0, self.width - 1)
        out[:, 1] = np.clip(out[:, 1], 0, self.height - 1)
        return out


def load_gray(image, name: str = "image") -> np.ndarray:
    """A path or an array -> uint8 grayscale (H, W) (InputError for anything unusable).
    A path is read as a page (up to ``MAX_PAGE_PIXELS``; a TIFF: its first page)."""
    if isinstance(image, (str, os.PathLike)):
        from hwr.imaging.load import load_page

        return load_page(image)
    if isinstance(image, np.ndarray):
        if image.dtype == np.uint8 and image.ndim == 2:
            if image.size == 0:
                raise InputError(f"{name}: empty image")
            return image
        from hwr.imaging.load import to_gray

        return to_gray(image, name)
    raise InputError(f"{name}: expected an image path or a numpy array, got {type(image).__name__}")


def downscale(gray: np.ndarray, work_size: int = WORK_SIZE) -> tuple[np.ndarray, float]:
    h, w = gray.shape
    s = min(1.0, work_size / max(h, w))
    if s >= 1.0:
        return gray.copy(), 1.0
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    return cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA), s


def flatten(gray: np.ndarray, paper_mask: bool = False):
    """Divide by a background estimate (a large grey closing, i.e. the paper without the ink).
    With ``paper_mask`` also return where the background is paper: not much darker than the
    page's typical paper (dark scan borders, the table under the page, are not), or darker
    but reached from it across soft edges only (paper in a shadow; :func:`shaded_paper`)."""
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    bg = cv2.medianBlur(bg, 5)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    f = gray.astype(np.float32) / np.maximum(bg, 1.0)
    flat = np.clip(f * 255.0, 0, 255).astype(np.uint8)
    if paper_mask:
        paper = bg >= 0.6 * float(np.median(bg))
        if not paper.all():
            paper |= shaded_paper(gray, paper)
        return flat, paper
    return flat


def shaded_paper(gray: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """Where ``gray`` is paper in a shadow: the part of it reached from ``paper`` (the bright
    paper) without crossing a sharp edge (:func:`hwr.imaging.paper.beyond_shadows`, on a copy
    640 px on its longest side).  A scan's dark border or the table under a photographed sheet
    lies beyond the sheet's sharp edge and is not reached."""
    from hwr.imaging.paper import beyond_shadows, work_copy

    h, w = gray.shape
    small, _, k = work_copy(gray)
    size = (small.shape[1], small.shape[0])
    lit = cv2.resize(paper.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) if size != (w, h) else paper
    reach = beyond_shadows(small, lit.astype(bool), k).astype(np.uint8)
    return cv2.resize(reach, (w, h), interpolation=cv2.INTER_NEAREST) > 0 if size != (w, h) else reach > 0


def contrast_ink(gray: np.ndarray, window: int = 31, rel: float = 0.4, min_contrast: float = 18.0,
                 mask: np.ndarray | None = None) -> np.ndarray:
    """1 for ink: pixels darker than their neighbourhood mean by ``rel`` times the page's
    strong ink contrast (the 99.5th percentile of that darkness, over ``mask``), and by at
    least ``min_contrast`` grey levels.  Unlike Sauvola's threshold (a fixed share of the
    local mean), this keeps faint or pale writing whole when the page's ink is pale
    overall.  Training pages: F1 0.697 (Sauvola) -> 0.733 (``rel`` 0.4)."""
    g = gray.astype(np.float32)
    m = cv2.boxFilter(g, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    d = m - g
    strong = float(np.percentile(d[mask] if mask is not None and mask.any() else d, 99.5))
    return (d > max(min_contrast, rel * strong)).astype(np.uint8)


def rotation(shape: tuple[int, int], angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """2x3 matrix rotating an image of ``shape`` by ``angle`` degrees (counter-clockwise)
    around its centre onto a canvas that holds all of it; and that canvas's (w, h)."""
    h, w = shape
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(round(h * s + w * c)), int(round(h * c + w * s))
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    return m, (nw, nh)


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Affine ``a`` then ``b``."""
    A = np.vstack([a, [0, 0, 1]])
    B = np.vstack([b, [0, 0, 1]])
    return (B @ A)[:2]


def _profile_score(ink: np.ndarray) -> float:
    """Sharpness of the row profile: high when text lines run horizontally."""
    p = ink.sum(1).astype(np.float64)
    return float(np.sum(np.diff(p) ** 2)) / max(1.0, float(p.sum())) ** 1.0


def estimate_skew(ink: np.ndarray, max_angle: float = 6.0) -> float:
    """Skew in degrees (counter-clockwise rotation that makes lines horizontal), by the
    sharpness of the row profile over candidate angles on a reduced image."""
    return skew_and_score(ink, max_angle)[0]


def skew_and_score(ink: np.ndarray, max_angle: float = 6.0) -> tuple[float, float]:
    """(best angle, its row-profile sharpness)."""
    h, w = ink.shape
    s = min(1.0, 800 / max(h, w))
    small = cv2.resize(ink.astype(np.float32), (max(1, int(w * s)), max(1, int(h * s))),
                       interpolation=cv2.INTER_AREA)
    if small.sum() < 10:
        return 0.0, 0.0

    def score(a: float) -> float:
        m, size = rotation(small.shape, a)
        r = cv2.warpAffine(small, m, size, flags=cv2.INTER_LINEAR, borderValue=0)
        return _profile_score(r)

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1)
    scores = [score(a) for a in fine]
    k = int(np.argmax(scores))
    return float(fine[k]), float(scores[k])


def remove_rulings(ink: np.ndarray, xheight: float, bridge: float = 0.6, piece: float = 3.0) -> np.ndarray:
    """Remove long thin horizontal and vertical strokes (ruled lines, margins, frames).

    A ruling is found as straight thin pieces at least ``piece`` x-heights long (after
    closing gaps of up to ``bridge`` x-heights: faint rulings binarise as dashes) that
    chain into a structure at least 8 x-heights long and, across, no thicker than its
    slope allows (a ruling on a slightly skewed scan steps by a pixel now and then, so it
    has no long perfectly straight run)."""
    L = int(max(40, 8 * xheight))
    S = int(max(15, piece * xheight))
    out = ink.copy()
    c = max(3, int(bridge * xheight))
    t = max(3, int(0.35 * xheight))  # a ruling is at most ~0.35 x-height thick
    for horiz in (True, False):
        kc, ks, kt, kd = ((c, 1), (S, 1), (1, t + 2), (c, 3)) if horiz else ((1, c), (1, S), (t, 1), (3, c))
        closed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, kc))
        # thickened across by a pixel each way, so that a thin ruling's one-pixel steps
        # do not break its straight runs (horizontal only: vertical strokes of writing,
        # e.g. a note written up the margin, would be taken for a ruling)
        if horiz:
            closed = cv2.dilate(closed, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
        segs = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, ks))
        if not segs.any():
            continue
        # thin pieces only (judged before going back to the ink: closed writing is thick)
        segs = segs & (1 - cv2.morphologyEx(segs, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kt))) & ink
        chain = cv2.dilate(segs, cv2.getStructuringElement(cv2.MORPH_RECT, kd))
        n, lab, stats, _ = cv2.connectedComponentsWithStats(chain, connectivity=8)
        if n <= 1:
            continue
        length = stats[1:, cv2.CC_STAT_WIDTH if horiz else cv2.CC_STAT_HEIGHT]
        across = stats[1:, cv2.CC_STAT_HEIGHT if horiz else cv2.CC_STAT_WIDTH]
        rule = (length >= L) & (across <= 0.5 * xheight + 0.1 * length)
        if not rule.any():
            continue
        keep = np.concatenate([[0], rule]).astype(np.uint8)[lab] & segs
        out[cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))) > 0] = 0
    return out


def text_height(ink: np.ndarray) -> float:
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return 0.0
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    area = stats[1:, cv2.CC_STAT_AREA]
    ok = (area >= 12) & (hs >= 4) & (hs < ink.shape[0] / 6) & (ws < ink.shape[1] / 3)
    if ok.sum() < 3:
        return 0.0
    return float(np.median(hs[ok]))


def clean_components(ink: np.ndarray, xheight: float) -> np.ndarray:
    """Drop specks, components touching the page border that are large (scan borders,
    page edges), and large dense blots (stamps, seals, pictures)."""
    h, w = ink.shape
    n, lab, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return ink
    x, y, cw, ch, area = (stats[1:, i] for i in range(5))
    min_area = max(4, int(0.03 * xheight * xheight))
    keep = area >= min_area
    border = (x <= 1) | (y <= 1) | (x + cw >= w - 1) | (y + ch >= h - 1)
    keep &= ~(border & ((cw > 4 * xheight) | (ch > 4 * xheight)))
    big = (cw > 6 * xheight) & (ch > 6 * xheight)
    keep &= ~(big & (area > 0.12 * cw * ch))  # a stamp: large and dense
    keep &= ~((ch > 12 * xheight) & (cw < 2 * xheight))  # tall thin bars not caught as rulings
    table = np.concatenate([[0], keep]).astype(np.uint8)
    return table[lab]


def ink_chroma(color: np.ndarray, ink: np.ndarray, paper: np.ndarray) -> np.ndarray | None:
    """Per pixel, the ink's colour as a direction: the CIELAB (a*, b*) offset from the
    paper's colour around it divided by how much darker than that paper the pixel is.  A thin
    stroke blended with the paper keeps its direction; black and brown inks are near (0, 0)+,
    stamp inks (violet, red, blue) far from it.  The paper's colour is taken nearby (the
    paper pixels within :data:`PAPER_SIGMA` or so), not over the page: in a
    shadow the paper is darker and its a*, b* shrink with it, and measured from the lit
    paper's colour the writing there would look like another ink.  ``color``: BGR, the size
    of ``ink``.  None when too little paper shows to know its colour."""
    lab = cv2.cvtColor(color, cv2.COLOR_BGR2LAB).astype(np.float32)
    bgmask = (ink == 0) & paper
    if bgmask.sum() < 100:
        return None
    # the Gaussian means, taken on a copy reduced 8 times and brought back to size (at full
    # size, a Gaussian a few lines wide costs up to a second a page)
    h, w = bgmask.shape
    small = (max(1, w // 8), max(1, h // 8))
    sigma = PAPER_SIGMA * small[0] / w

    def mean(a: np.ndarray) -> np.ndarray:
        a = cv2.GaussianBlur(cv2.resize(a, small, interpolation=cv2.INTER_AREA), (0, 0), sigma)
        return cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)

    weight = mean(bgmask.astype(np.float32))
    known = weight > 0.05  # elsewhere (a blot, a dark border): the page's median paper
    local = []
    for k in range(3):
        c = lab[:, :, k]
        m = mean(np.where(bgmask, c, 0.0).astype(np.float32))
        local.append(np.where(known, m / np.maximum(weight, 1e-6), float(np.median(c[bgmask]))))
    Lp, ap, bp = local
    dark = np.maximum(Lp - lab[:, :, 0], 8.0)
    return np.stack([(lab[:, :, 1] - ap) / dark, (lab[:, :, 2] - bp) / dark], -1)


def remove_stamps(ink: np.ndarray, chroma: np.ndarray, dist: float = 0.3,
                  max_share: float = 0.4, min_share: float = 0.003) -> np.ndarray:
    """Drop ink components whose colour is far from the writing's: the page's main ink
    colour is the median colour direction of its ink (``ink_chroma``); components whose
    median direction lies more than ``dist`` from it go, as long as together they are under
    ``max_share`` of the ink (otherwise the page has two writing colours and all stay)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 2:
        return ink
    ys, xs = np.nonzero(ink)
    c = chroma[ys, xs]
    ref = np.median(c, axis=0)
    d = np.linalg.norm(c - ref, axis=1)
    comp = lab[ys, xs]
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(n + 1))
    far = np.zeros(n, bool)
    for i in range(1, n):
        a, b = bounds[i], bounds[i + 1]
        if b > a:
            far[i] = float(np.median(d[order[a:b]])) > dist
    share = stats[far, cv2.CC_STAT_AREA].sum() / max(1, int(stats[1:, cv2.CC_STAT_AREA].sum()))
    if share > max_share or share < min_share:
        return ink
    return np.where(far[lab], 0, ink).astype(np.uint8)


#: the paper's colour around an ink pixel is the mean over the paper within a Gaussian of this
#: sigma (pixels of the analysis copy, about half a line of writing: the held-back pages'
#: segmentation F1 is as with the page's median paper; 40 and 80 gave 0.769 and 0.774, not 0.772)
PAPER_SIGMA = 12.0
#: colour distance (``ink_chroma`` units) beyond which an ink component is a stamp; tuned
#: on the training pages (0 turns stamp removal off)
STAMP_DIST = 0.3


def prepare(gray: np.ndarray, work_size: int = WORK_SIZE, orientation: bool = True,
            deskew: bool = True, color: np.ndarray | None = None, sheet: bool = False) -> list[Prepared]:
    """Downscale, flatten, binarise, clean, deskew.  Returns the upright candidate, and
    when the page's turned row profile is sharper than its own (a sign of a page turned
    by 90 degrees), the turned candidate too: the caller keeps the one whose lines are
    longer.  180 degrees is decided later from the lines.  ``sheet``: the image is all
    paper (a sheet flattened out of a photograph, :mod:`hwr.imaging.paper`), so no dark part
    of it is masked as a scan's border or a table: a shadow across the sheet is paper too."""
    H, W = gray.shape
    small, s = downscale(gray, work_size)
    if sheet:
        flat, paper = flatten(small), np.ones(small.shape, bool)
    else:
        flat, paper = flatten(small, paper_mask=True)
    ink = contrast_ink(flat, mask=paper) & paper.astype(np.uint8)
    to_work = np.array([[s, 0, 0], [0, s, 0]], np.float64)
    xh = text_height(ink)
    if xh <= 0:  # nothing that looks like writing
        return [Prepared(np.zeros_like(ink), to_work, W, H, 0, 0.0, 0.0)]
    if (color is not None and STAMP_DIST > 0 and color.ndim == 3 and color.shape[2] >= 3 and color.size
            and abs(color.shape[1] / color.shape[0] - W / H) < 0.02 * W / H):  # the same view of the page
        color = np.ascontiguousarray(color[:, :, :3])
        if color.shape[:2] != small.shape:
            color = cv2.resize(color, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        chroma = ink_chroma(color, ink, paper)
        if chroma is not None:
            ink = remove_stamps(ink, chroma, dist=STAMP_DIST)
    ink = clean_components(remove_rulings(ink, xh), xh)
    skew, best = skew_and_score(ink) if (deskew or orientation) and ink.any() else (0.0, 0.0)
    cands = [(0, skew)]
    if orientation and ink.any():
        skew90, best90 = skew_and_score(np.ascontiguousarray(ink.T[::-1]))
        if best90 > 1.15 * best:
            cands.append((1, skew90))
    out = []
    for quarter, sk in cands:
        k, t = ink, to_work
        if quarter:
            m, size = rotation(k.shape, 90.0)
            k = cv2.warpAffine(k, m, size, flags=cv2.INTER_NEAREST, borderValue=0)
            t = compose(t, m)
        if not deskew:
            sk = 0.0
        if abs(sk) >= 0.2:
            m, size = rotation(k.shape, sk)
            k = cv2.warpAffine(k, m, size, flags=cv2.INTER_NEAREST, borderValue=0)
            t = compose(t, m)
        out.append(Prepared(k, t, W, H, quarter, sk, text_height(k) or xh))
    return out


def turn_180(prep: Prepared) -> Prepared:
    m, size = rotation(prep.ink.shape, 180.0)
    ink = cv2.warpAffine(prep.ink, m, size, flags=cv2.INTER_NEAREST, borderValue=0)
    return Prepared(ink, compose(prep.to_work, m), prep.width, prep.height,
                    (prep.quarter + 2) % 4, prep.skew, prep.xheight)
