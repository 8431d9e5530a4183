"""Line image normalisation: the same code at training and at inference time.

``normalize_line(gray, prep)`` turns a grayscale line image (uint8, dark ink on
light paper, any size) into the network input: float32 ``(height, W)`` with
**ink bright (up to 1.0) on a black (0.0) background**, so zero padding is
background.  Steps, each governed by the model's ``preprocessing`` dict:

1. illumination: divide by a background estimate (grey closing on a reduced
   copy), so stains, shadows and gradients become flat paper;
2. contrast: ink darkness scaled by its 99th percentile; faint paper texture
   below ``floor`` is cut;
3. optional binarisation (Otsu);
4. crop to the ink (with a small margin);
5. height normalisation to ``height`` pixels, aspect kept;
6. slant correction: the shear that makes vertical strokes steepest (maximum
   variance of the column profile) is undone;
7. width limits: lines narrower than ``min_width`` are padded; lines whose
   normalised width would pass ``max_width`` are refused (InputError) before
   any large array is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwr.errors import InputError

PREPROCESSING_VERSION = 1

DEFAULTS: dict[str, Any] = {
    "type": "line-image",
    "version": PREPROCESSING_VERSION,
    "height": 48,  # output height in pixels
    "margin": 2,  # background rows above and below the ink, within ``height``
    "min_width": 16,
    "max_width": 4800,  # = aspect ratio 100 at height 48
    "floor": 0.12,  # ink darkness below this is paper
    "binarize": False,
    "slant": True,
    "max_slant": 1.0,  # largest |shear| tried (dx per unit of height, 1.0 = 45 degrees)
    "slant_steps": 9,
}


def line_preprocessing(**overrides: Any) -> dict[str, Any]:
    """A complete preprocessing dict (defaults + ``overrides``), validated."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown line preprocessing options: {', '.join(sorted(unknown))}")
    p = {**DEFAULTS, **overrides}
    if not 16 <= int(p["height"]) <= 256:
        raise ValueError("height must be 16..256 pixels")
    if not 0 <= int(p["margin"]) < int(p["height"]) // 4:
        raise ValueError("margin must be below a quarter of the height")
    if not 1 <= int(p["min_width"]) <= int(p["max_width"]):
        raise ValueError("need 1 <= min_width <= max_width")
    return p


def _check_prep(prep: dict[str, Any]) -> dict[str, Any]:
    if prep.get("type", "line-image") != "line-image":
        raise InputError(f"preprocessing of type {prep.get('type')!r} is not for line images")
    if int(prep.get("version", 1)) > PREPROCESSING_VERSION:
        raise InputError("the model's line preprocessing is newer than this hwr")
    return {**DEFAULTS, **prep}


def ink_darkness(gray: np.ndarray, floor: float = DEFAULTS["floor"]) -> np.ndarray:
    """Grayscale (uint8, ink dark) -> float32 ink darkness in [0, 1] on a flattened background."""
    import cv2

    g = gray.astype(np.float32) / 255.0
    h, w = g.shape
    # background: grey closing (removes dark strokes) on a copy ~32 px high
    s = min(1.0, 32.0 / max(h, 1))
    sw, sh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    small = cv2.resize(g, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1.0 else g
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, k, borderType=cv2.BORDER_REPLICATE)
    bg = cv2.dilate(bg, k, borderType=cv2.BORDER_REPLICATE)  # the paper's brightest level nearby
    bg = cv2.blur(bg, (5, 5))
    if s < 1.0:
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    bg = np.maximum(bg, g)
    ink = 1.0 - g / np.maximum(bg, 1e-3)
    top = float(np.percentile(ink, 99.0)) if ink.size < 4_000_000 else float(np.percentile(ink[::4, ::4], 99.0))
    ink = ink / max(top, 0.2)
    ink = (ink - floor) / (1.0 - floor)
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def _crop_box(ink: np.ndarray, thr: float = 0.25) -> tuple[int, int, int, int] | None:
    mask = ink > thr
    rows = np.flatnonzero(mask.sum(1) >= 1)
    cols = np.flatnonzero(mask.sum(0) >= 1)
    if rows.size == 0 or cols.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def estimate_slant(ink: np.ndarray, max_slant: float = 1.0, steps: int = 9) -> float:
    """The shear ``s`` (x' = x + s * (y - yc)) that makes strokes most vertical."""
    import cv2

    h, w = ink.shape
    if steps < 2 or h < 4 or w < 4:
        return 0.0
    best, best_score = 0.0, -1.0
    pad = int(np.ceil(max_slant * h / 2)) + 1
    for s in np.linspace(-max_slant, max_slant, steps):
        m = np.float32([[1, s, pad - s * h / 2], [0, 1, 0]])
        sh = cv2.warpAffine(ink, m, (w + 2 * pad, h), flags=cv2.INTER_LINEAR, borderValue=0)
        col = sh.sum(0)
        score = float((col ** 2).sum())
        if score > best_score + 1e-6 * abs(best_score) or (abs(score - best_score) <= 1e-6 * abs(best_score) and abs(s) < abs(best)):
            best, best_score = float(s), score
    return best


def normalize_line(gray: np.ndarray, prep: dict[str, Any] | None = None, name: str = "line image") -> np.ndarray:
    """uint8 grayscale line (ink dark) -> float32 (height, W) network input (ink bright on 0).

    Raises InputError for an image without ink or contrast, or one whose normalised
    width would exceed ``max_width``.
    """
    import cv2

    p = _check_prep(prep or DEFAULTS)
    H, margin = int(p["height"]), int(p["margin"])
    g = np.asarray(gray)
    if g.ndim != 2 or g.size == 0:
        raise InputError(f"{name}: need a non-empty 2-D grayscale image, got shape {g.shape}")
    if g.dtype != np.uint8:
        from hwr.imaging.load import to_gray

        g = to_gray(g, name)
    lo, hi = np.percentile(g[:: max(1, g.shape[0] // 256), :: max(1, g.shape[1] // 2048)], [0.5, 99.5])
    if hi - lo < 16:
        raise InputError(f"{name}: blank image (no contrast: all pixels near {int(hi)})")
    ink = ink_darkness(g, float(p["floor"]))
    box = _crop_box(ink)
    if box is None:
        raise InputError(f"{name}: no ink found")
    y0, y1, x0, x1 = box
    ink = ink[y0:y1, x0:x1]
    inner = H - 2 * margin
    scale = inner / ink.shape[0]
    width = int(round(ink.shape[1] * scale))
    # slant correction widens by at most max_slant * inner
    if width > int(p["max_width"]):
        raise InputError(f"{name}: line too long for one line image ({ink.shape[1]}x{ink.shape[0]} px of ink = "
                         f"{width} px at height {inner}; the limit is {int(p['max_width'])}); split it")
    width = max(width, 1)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    ink = cv2.resize(ink, (width, inner), interpolation=interp)
    if p["slant"] and width >= 8:
        s = estimate_slant(ink, float(p["max_slant"]), int(p["slant_steps"]))
        if s != 0.0:
            pad = int(np.ceil(abs(s) * inner / 2)) + 1
            m = np.float32([[1, s, pad - s * inner / 2], [0, 1, 0]])
            ink = cv2.warpAffine(ink, m, (width + 2 * pad, inner), flags=cv2.INTER_LINEAR, borderValue=0)
            cols = np.flatnonzero(ink.max(0) > 0.25)
            if cols.size:
                ink = ink[:, cols[0]:cols[-1] + 1]
            ink = ink[:, : int(p["max_width"])]
    if p["binarize"]:
        u8 = np.clip(ink * 255, 0, 255).astype(np.uint8)
        _, b = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        ink = (b > 0).astype(np.float32)
    out_w = max(ink.shape[1], int(p["min_width"]))
    out = np.zeros((H, out_w), np.float32)
    out[margin:margin + inner, : ink.shape[1]] = ink
    return out


def to_uint8(line: np.ndarray) -> np.ndarray:
    """Normalised float line -> uint8 for storage (``from_uint8`` reverses it)."""
    return np.clip(np.rint(line * 255.0), 0, 255).astype(np.uint8)


def from_uint8(line: np.ndarray) -> np.ndarray:
    return line.astype(np.float32) / 255.0
