"""Render ink to a line image that looks like a scan of handwriting on paper.

``render_ink(ink)`` draws a clean line (black pen of fixed width on white, the ink
scaled to ``height`` pixels); ``render_ink(ink, rng=rng)`` draws it with the
variation of real scans: pen width, width changes along the stroke (like pen
pressure), ink colour and contrast, slight rotation, shear and horizontal scale,
blur, paper brightness, gradients, texture and sensor noise.  The same ``rng``
state gives the same image.

``render_page(ink, width, height, pen, rng)`` draws ink laid out in page pixels on a
whole sheet with the same pen and paper variation.

The result is uint8 (H, W), dark ink on light paper: the input of
:func:`hwr.imaging.line.normalize_line`, like a scanned line.
"""

from __future__ import annotations

import numpy as np

from hwr.errors import InputError
from hwr.types import Ink

#: widest canvas drawn (pixels); longer lines are an error
MAX_RENDER_WIDTH = 20_000


def _transform(points: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    if rng is None:
        return points
    c = points.mean(0)
    p = points - c
    angle = np.deg2rad(rng.normal(0.0, 1.5))
    shear = rng.uniform(-0.35, 0.35)
    sx = rng.uniform(0.85, 1.15)
    m = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[sx, shear], [0, 1]])
    return p @ m.T + c


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1], one random value per ``cell`` pixels, interpolated."""
    import cv2

    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    g = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def render_ink(ink: Ink, height: int = 64, rng: np.random.Generator | None = None) -> np.ndarray:
    """Draw ``ink`` as a uint8 line image (dark on light), the ink about ``height`` px tall."""
    strokes = [np.stack([s.x, s.y], 1) for s in ink.strokes if len(s)]
    if not strokes:
        raise InputError("ink has no points to render")
    allp = np.concatenate(strokes)
    if not np.all(np.isfinite(allp)):
        raise InputError("ink has non-finite coordinates")
    x0, y0 = allp.min(0)
    span_y = float(allp[:, 1].max() - y0)
    span_x = float(allp[:, 0].max() - x0)
    span = max(span_y, 1e-6 if span_x <= 0 else span_x / 30.0)  # flat ink: treat as a thin line
    target = height if rng is None else height * rng.uniform(0.75, 1.3)
    scale = target / span
    if span_x * scale > MAX_RENDER_WIDTH:
        raise InputError(f"ink too wide to render ({span_x * scale:.0f} px > {MAX_RENDER_WIDTH})")
    pts = [(s - (x0, y0)) * scale for s in strokes]
    pts = [_transform(p, rng) for p in pts]
    allt = np.concatenate(pts)
    pen = max(1.0, target * (0.05 if rng is None else rng.uniform(0.025, 0.09)))
    margin = int(np.ceil(pen * 2 + (4 if rng is None else rng.uniform(2, 0.4 * target))))
    lo = allt.min(0)
    w = int(np.ceil(allt[:, 0].max() - lo[0])) + 2 * margin + 1
    h = int(np.ceil(allt[:, 1].max() - lo[1])) + 2 * margin + 1
    if w > MAX_RENDER_WIDTH:
        raise InputError(f"ink too wide to render ({w} px > {MAX_RENDER_WIDTH})")
    m = _draw(h, w, [p - lo + margin for p in pts], pen, rng)
    if rng is None:
        return np.clip(np.rint(255.0 * (1.0 - m)), 0, 255).astype(np.uint8)
    return _scan(m, rng, int(max(8, target)))


def _draw(h: int, w: int, pts: list[np.ndarray], pen: float, rng: np.random.Generator | None) -> np.ndarray:
    """The strokes ``pts`` (canvas pixels) drawn with a pen ``pen`` px wide: float32 coverage in [0, 1].

    With ``rng`` the width drifts along each stroke, like pen pressure."""
    import cv2

    mask = np.zeros((h, w), np.uint8)
    shift = 3  # sub-pixel precision of the drawing: coordinates * 8
    for p in pts:
        q = np.rint(p * (1 << shift)).astype(np.int32)
        if rng is None:
            chunks = [q]
            widths = [pen]
        else:  # pressure: the pen width drifts along the stroke
            n = max(1, len(q) // 6)
            bounds = np.linspace(0, len(q), n + 1).astype(int)
            chunks = [q[a:max(b + 1, a + 1)] for a, b in zip(bounds[:-1], bounds[1:])]
            drift = np.cumsum(rng.normal(0, 0.12, len(chunks)))
            widths = [pen * float(np.clip(1.0 + d, 0.5, 1.6)) for d in drift]
        for c, wd in zip(chunks, widths):
            if len(c) == 1:
                cv2.circle(mask, tuple(int(v) for v in c[0]), int(wd * (1 << shift) / 2), 255, -1, cv2.LINE_AA, shift)
            else:
                cv2.polylines(mask, [c.reshape(-1, 1, 2)], False, 255, max(1, int(round(wd))), cv2.LINE_AA, shift)
    return mask.astype(np.float32) / 255.0


def _scan(m: np.ndarray, rng: np.random.Generator, cell: int) -> np.ndarray:
    """Coverage ``m`` as a scan: blur, ink level and density (varying over ``cell`` px), paper
    brightness, gradient, texture and sensor noise; uint8, dark ink on light paper."""
    import cv2

    h, w = m.shape
    sigma = rng.uniform(0.0, 1.3)
    if sigma > 0.3:
        m = cv2.GaussianBlur(m, (0, 0), sigma)
    m = m * np.clip(1.0 + 0.25 * _smooth_noise(rng, h, w, cell), 0.5, 1.0)
    paper = rng.uniform(165, 252)
    ink_level = rng.uniform(0, min(110, paper - 60))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(theta) * xx / max(w, 1) + np.sin(theta) * yy / max(h, 1)) * rng.uniform(0, 45)
    texture = _smooth_noise(rng, h, w, int(rng.integers(3, 30))) * rng.uniform(0, 12)
    bg = paper - grad + texture
    img = bg - (bg - ink_level) * m
    img = img + rng.normal(0, rng.uniform(0, 7), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render_page(ink: Ink, width: int, height: int, pen: float, rng: np.random.Generator) -> np.ndarray:
    """Draw ``ink``, given in page pixels, on a ``width`` x ``height`` sheet: a scanned page.

    Unlike :func:`render_ink` the strokes are neither moved nor scaled (the caller
    lays out the page); ``pen`` is the pen width in pixels.  Pressure, blur, ink
    level, paper, gradient, texture and noise come from ``rng`` as in
    :func:`render_ink`.  Returns uint8 (height, width), dark ink on light paper.
    """
    if width < 1 or height < 1 or width * height > MAX_RENDER_WIDTH ** 2 // 4:
        raise InputError(f"page size {width}x{height} out of range")
    if pen <= 0:
        raise InputError(f"pen width must be positive, not {pen}")
    strokes = [np.stack([s.x, s.y], 1) for s in ink.strokes if len(s)]
    if not strokes:
        raise InputError("ink has no points to render")
    if not all(np.all(np.isfinite(p)) for p in strokes):
        raise InputError("ink has non-finite coordinates")
    m = _draw(height, width, strokes, pen, rng)
    return _scan(m, rng, int(max(8, 20 * pen)))  # density varies over about a line's height
