"""Robust image loading: any file OpenCV decodes -> one 8-bit grayscale array.

* JPEG / WebP are decoded with EXIF orientation applied (OpenCV does it for
  IMREAD_GRAYSCALE); CMYK JPEGs are converted by libjpeg.
* PNG / TIFF / BMP keep their depth and channels: 16-bit is scaled to 8 bits,
  float images are clipped to [0, 1] (or scaled by their maximum), alpha is
  composited on white, palette images are expanded by libpng.
* The image size is read from the header before decoding (PNG, JPEG, GIF, BMP),
  so a decompression bomb is refused without allocating it.

The result uses the scan convention: dark ink on light paper, ``uint8``, (H, W).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from hwr.errors import InputError

#: largest image decoded (pixels); a 600 dpi A4 scan has ~35 million
MAX_PIXELS = 100_000_000
#: largest image file read (bytes)
MAX_FILE_BYTES = 512 * 1024 * 1024

_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")


def is_image_bytes(head: bytes) -> bool:
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, GIF or BMP; None if unknown."""
    try:
        if data.startswith(b"\x89PNG") and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"GIF8") and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if data.startswith(b"BM") and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if data.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                seg = struct.unpack(">H", data[i + 2:i + 4])[0]
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                    h, w = struct.unpack(">HH", data[i + 5:i + 9])
                    return w, h
                i += 2 + seg
    except struct.error:
        return None
    return None


def to_gray(img: np.ndarray, name: str = "image") -> np.ndarray:
    """Any decoded array (gray, BGR, BGRA; uint8, uint16, float) -> uint8 (H, W), alpha on white."""
    import cv2

    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"{name}: unsupported image shape {a.shape}")
    if a.size == 0:
        raise InputError(f"{name}: empty image ({a.shape[1] if a.ndim > 1 else 0}x{a.shape[0]} pixels)")
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif a.dtype == np.bool_:
        f = a.astype(np.float32)
    elif a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        f = (a.astype(np.float64) - info.min) / (info.max - info.min)
        f = f.astype(np.float32)
    elif a.dtype.kind == "f":
        f = np.nan_to_num(a.astype(np.float32), nan=1.0, posinf=1.0, neginf=0.0)
        top = float(f.max()) if f.size else 1.0
        if top > 1.0:
            f = f / top
        f = np.clip(f, 0.0, 1.0)
    else:
        raise InputError(f"{name}: unsupported pixel type {a.dtype}")
    if f.ndim == 3:
        alpha = f[:, :, 3:4] if f.shape[2] == 4 else None
        gray = cv2.cvtColor(np.ascontiguousarray(f[:, :, :3]), cv2.COLOR_BGR2GRAY)
        if alpha is not None:  # composite on white paper
            gray = gray * alpha[:, :, 0] + (1.0 - alpha[:, :, 0])
        f = gray
    return np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8)


def decode_image(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to uint8 grayscale (H, W).  Raises InputError for anything unusable."""
    import cv2

    if not data:
        raise InputError(f"{name}: empty file")
    if not is_image_bytes(data[:16]):
        raise InputError(f"{name}: not an image (PNG, JPEG, TIFF, BMP, GIF or WebP)")
    size = header_size(data)
    if size is not None:
        w, h = size
        if w * h > max_pixels:
            raise InputError(f"{name}: image too large ({w}x{h} = {w * h:,} pixels > {max_pixels:,})")
    buf = np.frombuffer(data, dtype=np.uint8)
    if data.startswith(b"\xff\xd8") or data[8:12] == b"WEBP":
        flags = cv2.IMREAD_GRAYSCALE  # applies EXIF orientation; CMYK via libjpeg
    else:
        flags = cv2.IMREAD_UNCHANGED  # keep 16-bit and alpha; palettes are expanded
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error as e:
        raise InputError(f"{name}: cannot decode image ({str(e).strip().splitlines()[-1]})") from e
    if img is None:
        raise InputError(f"{name}: corrupt or unsupported image (decoding failed)")
    if img.shape[0] * (img.shape[1] if img.ndim > 1 else 1) > max_pixels:
        raise InputError(f"{name}: image too large ({img.shape[1]}x{img.shape[0]} pixels > {max_pixels:,})")
    return to_gray(img, name)


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as uint8 grayscale (H, W), dark ink on light paper."""
    p = Path(path)
    try:
        n = p.stat().st_size
        if n > MAX_FILE_BYTES:
            raise InputError(f"{path}: file too large ({n:,} bytes > {MAX_FILE_BYTES:,})")
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    return decode_image(data, str(path), max_pixels)
