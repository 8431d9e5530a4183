"""The sheet of paper in a photograph of a page, and the page flattened out of it.

A page photographed with a phone lies on a table: the paper is a bright quadrilateral, its
sides converging with the camera's angle, on a darker background, and the writing's lines
converge with it.  The segmenter deskews a page by rotation alone, so such lines are cut
askew and the table's edge is read as ink at their ends.  :func:`find_paper` finds the
sheet's four corners and :class:`Paper` maps the photograph onto an upright rectangle of the
sheet's own size (a homography, as a flatbed scan of the sheet would give), and the lines
found there back onto the photograph.

The sheet is looked for on a copy reduced to :data:`WORK` pixels on its longest side: a
closing with a disc a few percent of the copy wide fills the writing in, Otsu's threshold
splits bright from dark, and the largest bright component, its holes filled, must be close
to a convex quadrilateral (its convex hull reduced to four corners by Douglas-Peucker) that
covers between :data:`MIN_AREA` and :data:`MAX_AREA` of the frame, with corner angles of
:data:`MIN_ANGLE`-``180 - MIN_ANGLE`` degrees, at most one of them on the frame's edge
(:data:`EDGE`: a sheet the frame cuts has no four corners to go by), and stand out from what
surrounds it by :data:`MIN_CONTRAST` grey levels.  A shadow across the sheet (the phone's, a
hand's) leaves its lit part bright and the rest darker than Otsu's threshold, often as dark as
the table.  Brightness cannot tell that part from the table, but edges can: a shadow darkens
paper and table alike, so on the logarithm of the brightness the sheet's side is as sharp a
step in the shadow as out of it, while a shadow's own edge is a soft one.  So the region
reached from the lit part without crossing a sharp edge (:data:`SHARP_EDGE`) is outlined too,
and when it is a sheet that holds the lit part, it is taken: the whole sheet, shadow and all,
is flattened.  Anything else (a scan, a sheet on a white table, a page
of noise) gives ``None`` and the page is read as it is.  A sheet that already stands upright
in the frame (each side within :data:`UPRIGHT_DEGREES` of the axes, opposite sides within
:data:`UPRIGHT_RATIO` of each other's length: a scan on a dark scanner bed) is left as it
is too, since the segmenter masks such borders on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

#: longest side (pixels) of the copy the sheet is looked for on
WORK = 640
#: the sheet covers at least / at most this share of the frame
MIN_AREA, MAX_AREA = 0.15, 0.985
#: grey levels between the sheet's median and the median of what surrounds it
MIN_CONTRAST = 35.0
#: ... or, for a sheet reached across a shadow's edge, this ratio of the two medians
MIN_RATIO = 1.6
#: a log-brightness gradient (per pixel of the small copy) above this is a sharp edge: the
#: sheet's side, or writing; a shadow's edge is softer
SHARP_EDGE = 0.1
#: the smallest corner angle (degrees) of an acceptable sheet
MIN_ANGLE = 45.0
#: a corner this close to the frame's edge (share of its longest side) lies on it; a sheet
#: with two such corners is cut by the frame, and its outline's corners are not the sheet's
EDGE = 0.005
#: the sheet's outline and its four-corner fit differ by at most this share of its area
MAX_FIT_ERROR = 0.08
#: a sheet whose sides all lie within this many degrees of the axes ...
UPRIGHT_DEGREES = 1.5
#: ... and whose opposite sides differ in length by less than this share is left as it is
UPRIGHT_RATIO = 0.03
#: pages larger than this (pixels) are not looked at: warping one would double the memory
#: a huge scan takes, and no phone takes such photographs
MAX_PIXELS = 100_000_000


def order_corners(quad: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    q = np.asarray(quad, np.float64).reshape(4, 2)
    c = q.mean(axis=0)
    ang = np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0])  # y down: -pi..pi from the left, clockwise
    q = q[np.argsort(ang)]  # clockwise starting from about the left
    start = int(np.argmin(q.sum(axis=1)))  # top-left: smallest x + y
    return np.roll(q, -start, axis=0)


def _angles(q: np.ndarray) -> np.ndarray:
    out = []
    for i in range(4):
        a, b, c = q[i - 1], q[i], q[(i + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / max(1e-9, np.linalg.norm(u) * np.linalg.norm(v)))
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(out)


@dataclass
class Paper:
    """A sheet found in a photograph: ``quad`` its corners (top-left, top-right, bottom-right,
    bottom-left) in the photograph's pixels, ``source`` the photograph's (width, height),
    ``size`` the flattened sheet's (width, height)."""

    quad: np.ndarray
    source: tuple[int, int]
    size: tuple[int, int]

    @classmethod
    def from_quad(cls, quad, source: tuple[int, int]) -> Paper:
        q = order_corners(quad)
        w = max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))
        h = max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))
        return cls(q, (int(source[0]), int(source[1])), (max(1, int(round(w))), max(1, int(round(h)))))

    def homography(self, scale: float = 1.0) -> np.ndarray:
        """Photograph → flattened sheet, for a copy of the photograph scaled by ``scale``
        (the flattened sheet scaled alike)."""
        w, h = self.size
        dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]]) * scale
        return cv2.getPerspectiveTransform(np.float32(self.quad * scale), dst)

    def warp(self, image: np.ndarray) -> np.ndarray:
        """The sheet flattened out of ``image``: the photograph, or any copy of it at another
        scale (a small colour copy gives a flattened sheet as small)."""
        scale = image.shape[1] / self.source[0]
        w, h = self.size
        size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
        # the page's own colour outside the sheet (there is none: the corners lie on it)
        return cv2.warpPerspective(image, self.homography(scale), size, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)

    def to_photo(self, points) -> np.ndarray:
        """Points on the flattened sheet → the same points on the photograph."""
        p = np.asarray(points, np.float64).reshape(-1, 1, 2)
        if not len(p):
            return np.zeros((0, 2))
        return cv2.perspectiveTransform(p, self._to_photo).reshape(-1, 2)

    @cached_property
    def _to_photo(self) -> np.ndarray:
        """Flattened sheet → photograph (the homography's inverse, made once for all lines)."""
        return np.linalg.inv(self.homography())

    def page_to_photo(self, page):
        """A :class:`hwr.types.Page` found on the flattened sheet, its lines' polygons and
        baselines and its regions moved onto the photograph (in place; returned)."""
        def move(pts):
            if not pts:
                return pts
            return [(round(float(x), 1), round(float(y), 1)) for x, y in self.to_photo(pts)]

        for ln in page.lines:
            ln.polygon, ln.baseline = move(ln.polygon), move(ln.baseline)
        for reg in page.regions:
            reg.polygon = move(reg.polygon)
        page.width, page.height = self.source
        return page

    def upright(self) -> bool:
        """True when the sheet already stands square in the frame (nothing to flatten)."""
        q = self.quad
        for a, b in ((q[0], q[1]), (q[3], q[2])):  # top and bottom: horizontal
            if abs(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))) > UPRIGHT_DEGREES:
                return False
        for a, b in ((q[0], q[3]), (q[1], q[2])):  # left and right: vertical
            if abs(np.degrees(np.arctan2(b[0] - a[0], b[1] - a[1]))) > UPRIGHT_DEGREES:
                return False
        top, bottom = np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3])
        left, right = np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1])
        return (abs(top - bottom) <= UPRIGHT_RATIO * max(top, bottom)
                and abs(left - right) <= UPRIGHT_RATIO * max(left, right))


def _fill(shape: tuple[int, int], quad: np.ndarray) -> np.ndarray:
    inside = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(inside, np.int32(np.round(quad)), 255)
    return inside


def _outline(closed: np.ndarray, bright: np.ndarray, k: int,
             min_ratio: float | None = None) -> tuple[np.ndarray, float] | None:
    """The four corners of the largest bright region of ``closed`` (the small copy, writing
    filled in) and the median grey of what surrounds them, when that region passes for a sheet
    (the module's docstring); else None.  ``min_ratio``: a sheet also stands out when its
    median is that many times its surroundings' (a sheet mostly in shadow, on a table in
    shadow too, differs from it by a ratio more than by grey levels)."""
    sh, sw = closed.shape
    bright = cv2.morphologyEx(bright.astype(np.uint8) * 255, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    cnt = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(cnt)
    if not MIN_AREA * sh * sw <= area <= MAX_AREA * sh * sw:
        return None
    hull = cv2.convexHull(cnt)
    hull_area = cv2.contourArea(hull)
    if hull_area <= 0 or area / hull_area < 1 - MAX_FIT_ERROR:
        return None
    peri = cv2.arcLength(hull, True)
    quad = None
    for eps in np.linspace(0.005, 0.08, 31):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float64)
            break
        if len(approx) < 4:
            break
    if quad is None:
        return None
    quad = order_corners(quad)
    if abs(cv2.contourArea(np.float32(quad)) - hull_area) > MAX_FIT_ERROR * hull_area:
        return None
    if _angles(quad).min() < MIN_ANGLE:
        return None
    edge = max(2.0, EDGE * max(sh, sw))
    on_edge = ((quad[:, 0] <= edge) | (quad[:, 0] >= sw - 1 - edge)
               | (quad[:, 1] <= edge) | (quad[:, 1] >= sh - 1 - edge))
    if on_edge.sum() >= 2:  # the frame cuts the sheet (or a scan's thin border): no four corners to go by
        return None
    inside = _fill(closed.shape, quad)
    around = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))) == 0
    if around.sum() < 0.01 * sh * sw:
        return None
    surround = float(np.median(closed[around]))
    sheet = float(np.median(closed[inside > 0]))
    if sheet - surround < MIN_CONTRAST and (min_ratio is None or sheet < min_ratio * max(surround, 1.0)):
        return None
    return quad, surround


def beyond_shadows(small: np.ndarray, lit: np.ndarray, k: int) -> np.ndarray:
    """The region of ``small`` (8-bit grey, about :data:`WORK` pixels on its longest side)
    reached from the lit paper (``lit``, eroded by ``k``) without crossing a sharp edge, closed
    by a disc ``k`` wide: a shadow's soft edge is crossed, the sheet's own sharp edge is not, so
    the shaded part of the sheet is reached and the table or a scan's dark border is not (the
    module's docstring)."""
    g = np.log(cv2.GaussianBlur(small, (0, 0), 1.0).astype(np.float32) + 8.0)
    grad = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    free = 1 - cv2.dilate((grad > SHARP_EDGE).astype(np.uint8), np.ones((3, 3), np.uint8))
    n, labels = cv2.connectedComponents(free, connectivity=4)
    seed = cv2.erode(lit.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    counts = np.bincount(labels[seed], minlength=n)
    counts[0] = 0  # label 0: the edges themselves
    if counts.max(initial=0) == 0:
        return np.zeros_like(lit, bool)
    region = (labels == int(np.argmax(counts))).astype(np.uint8)
    return cv2.morphologyEx(region, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0


def _extends(whole: np.ndarray, lit: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether quadrilateral ``whole`` is the sheet that ``lit`` is the lit part of: it holds
    at least 90 % of ``lit`` and is more than 2 % larger (the shade beyond it)."""
    fw, fl = _fill(shape, whole) > 0, _fill(shape, lit) > 0
    return ((fw & fl).sum() >= 0.9 * max(1, int(fl.sum()))
            and cv2.contourArea(np.float32(whole)) > 1.02 * cv2.contourArea(np.float32(lit)))


def work_copy(gray: np.ndarray) -> tuple[np.ndarray, float, int]:
    """``gray`` reduced to :data:`WORK` pixels on its longest side (as it is when smaller), the
    scale from ``gray`` to it, and the width of the disc that fills writing in on it (3 % of
    its longest side, odd)."""
    h, w = gray.shape
    s = WORK / max(h, w)
    small = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else gray
    return small, small.shape[1] / w, max(3, int(0.03 * max(small.shape)) | 1)


def find_paper(gray: np.ndarray, upright: bool = False) -> Paper | None:
    """The sheet of paper in a photograph (8-bit grey, any size), or ``None`` when there is
    no clear sheet on a darker background (see the module's docstring).  A sheet already
    upright in the frame gives ``None`` too unless ``upright`` is true."""
    if gray is None or gray.ndim != 2 or gray.size == 0 or gray.size > MAX_PIXELS:
        return None
    h, w = gray.shape
    if min(h, w) < 32:
        return None
    small, s, k = work_copy(gray)
    closed = cv2.morphologyEx(cv2.GaussianBlur(small, (0, 0), 1.5), cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    t1, _ = cv2.threshold(closed, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    lit = _outline(closed, closed > t1, k)
    whole = _outline(closed, beyond_shadows(small, closed > t1, k), k, min_ratio=MIN_RATIO)
    found = whole if whole is not None and (lit is None or _extends(whole[0], lit[0], closed.shape)) else lit
    if found is None:
        return None
    paper = Paper.from_quad(found[0] / s, (w, h))
    if not upright and paper.upright():
        return None
    return paper


def flatten(gray: np.ndarray, color: np.ndarray | None = None
            ) -> tuple[Paper | None, np.ndarray, np.ndarray | None]:
    """The sheet found in ``gray`` (:func:`find_paper`) and the page and its colour copy (any
    scale, or None) flattened out of it; ``(None, gray, color)`` unchanged when there is none."""
    sheet = find_paper(gray)
    if sheet is None:
        return None, gray, color
    return sheet, sheet.warp(gray), sheet.warp(color) if color is not None else None
