"""Robust image loading: any file OpenCV decodes -> one 8-bit grayscale array.

* JPEG / WebP are decoded with EXIF orientation applied (OpenCV does it for
  IMREAD_GRAYSCALE); CMYK JPEGs are converted by libjpeg.
* PNG / TIFF / BMP keep their depth and channels: 16-bit is scaled to 8 bits,
  float images are clipped to [0, 1] (or scaled by their maximum), alpha is
  composited on white, palette images are expanded by libpng.
* The image size is read from the header before decoding (PNG, JPEG, GIF, BMP,
  every page of a TIFF), so a decompression bomb is refused without allocating it.
* Pages (:func:`load_page`, :func:`iter_pages`) may be larger than line images
  (``MAX_PAGE_PIXELS``, e.g. 20,000 x 20,000); an image over ``MAX_PIXELS`` is decoded
  straight to 8-bit grey (OpenCV ``IMREAD_GRAYSCALE``: no full-size colour, 16-bit or
  float copy; transparency is then ignored).  A multi-page TIFF gives one page at a time.
* The conversion to grey works in bands of rows: its float temporaries never have the
  size of the image.

The result uses the scan convention: dark ink on light paper, ``uint8``, (H, W).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Iterator

import numpy as np

from hwr.errors import InputError

#: largest image decoded (pixels) by :func:`load_image` / :func:`decode_image` (line images,
#: and the decompression-bomb guard); a 600 dpi A4 scan has ~35 million
MAX_PIXELS = 100_000_000
#: largest page decoded (pixels) by :func:`load_page`: a page is held as 8-bit grey, 1 byte a
#: pixel, so 600 MB at most (20,000 x 20,000 = 400 MB; an A0 sheet at 600 dpi is ~560 MP);
#: segmentation and line cutting add little to that (measured in the README)
MAX_PAGE_PIXELS = 600_000_000
#: largest page decoded in colour at full size by :func:`load_color` (a JPEG is decoded at
#: 1/2 to 1/8 scale instead): 120 MB of colour at most, beside the grey page
COLOR_MAX_PIXELS = 40_000_000
#: largest image file read into memory (bytes); TIFF pages are read from the file page by page
MAX_FILE_BYTES = 512 * 1024 * 1024
#: at most this many pages of a TIFF are looked at
MAX_TIFF_PAGES = 10_000

_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", *_TIFF, b"BM", b"GIF8")
# rows converted at a time by to_gray (bounds its float temporaries)
_BAND_PIXELS = 4_000_000


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
    """Any decoded array (gray, BGR, BGRA; uint8, uint16, float) -> uint8 (H, W), alpha on white.

    8-bit grey is returned as it is; anything else is converted in bands of rows, so the
    float temporaries stay small whatever the image's size."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"{name}: unsupported image shape {a.shape}")
    if a.size == 0:
        raise InputError(f"{name}: empty image ({a.shape[1] if a.ndim > 1 else 0}x{a.shape[0]} pixels)")
    if not (a.dtype in (np.uint8, np.uint16, np.bool_) or a.dtype.kind in "iuf"):
        raise InputError(f"{name}: unsupported pixel type {a.dtype}")
    if a.ndim == 2 and a.dtype == np.uint8:
        return a
    top = 1.0
    if a.dtype.kind == "f":  # scaled by the maximum when above 1 (NaN as paper, infinities clipped)
        m = np.zeros((), np.float32)
        for rows in _bands(a):
            f = np.nan_to_num(a[rows].astype(np.float32), nan=1.0, posinf=1.0, neginf=0.0)
            m = max(m, f.max())
        top = max(1.0, float(m))
    out = np.empty(a.shape[:2], np.uint8)
    for rows in _bands(a):
        out[rows] = _gray_band(a[rows], top)
    return out


def _bands(a: np.ndarray) -> Iterator[slice]:
    step = max(1, _BAND_PIXELS // max(1, a.shape[1]))
    for y in range(0, a.shape[0], step):
        yield slice(y, min(y + step, a.shape[0]))


def _gray_band(a: np.ndarray, top: float) -> np.ndarray:
    import cv2

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
    else:
        f = np.nan_to_num(a.astype(np.float32), nan=1.0, posinf=1.0, neginf=0.0)
        if top > 1.0:
            f = f / top
        f = np.clip(f, 0.0, 1.0)
    if f.ndim == 3:
        alpha = f[:, :, 3:4] if f.shape[2] == 4 else None
        gray = cv2.cvtColor(np.ascontiguousarray(f[:, :, :3]), cv2.COLOR_BGR2GRAY)
        if alpha is not None:  # composite on white paper
            gray = gray * alpha[:, :, 0] + (1.0 - alpha[:, :, 0])
        f = gray
    return np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8)


def _flags(data: bytes, pixels: int | None) -> int:
    import cv2

    if data.startswith(b"\xff\xd8") or data[8:12] == b"WEBP" or (pixels is not None and pixels > MAX_PIXELS):
        # JPEG: applies EXIF orientation, CMYK via libjpeg; a huge image: straight to 8-bit grey
        return cv2.IMREAD_GRAYSCALE
    return cv2.IMREAD_UNCHANGED  # keep 16-bit and alpha; palettes are expanded


def _too_large(name: str, w: int, h: int, max_pixels: int) -> InputError:
    return InputError(f"{name}: image too large ({w}x{h} = {w * h:,} pixels > {max_pixels:,})")


def decode_image(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to uint8 grayscale (H, W).  Raises InputError for anything unusable.
    A TIFF gives its first page (see :func:`load_page` for the others)."""
    import cv2

    if not data:
        raise InputError(f"{name}: empty file")
    if not is_image_bytes(data[:16]):
        raise InputError(f"{name}: not an image (PNG, JPEG, TIFF, BMP, GIF or WebP)")
    size = header_size(data)
    if size is None and data.startswith(_TIFF):
        sizes = tiff_page_sizes(data, limit=1)
        size = sizes[0] if sizes else None
    if size is not None:
        w, h = size
        if w * h > max_pixels:
            raise _too_large(name, w, h, max_pixels)
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, _flags(data, size[0] * size[1] if size else None))
    except cv2.error as e:
        raise InputError(f"{name}: cannot decode image ({str(e).strip().splitlines()[-1]})") from e
    if img is None:
        raise InputError(f"{name}: corrupt or unsupported image (decoding failed)")
    if img.shape[0] * (img.shape[1] if img.ndim > 1 else 1) > max_pixels:
        raise InputError(f"{name}: image too large ({img.shape[1]}x{img.shape[0]} pixels > {max_pixels:,})")
    return to_gray(img, name)


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as uint8 grayscale (H, W), dark ink on light paper (a TIFF: its first page)."""
    p = Path(path)
    try:
        n = p.stat().st_size
        if n > MAX_FILE_BYTES:
            raise InputError(f"{path}: file too large ({n:,} bytes > {MAX_FILE_BYTES:,})")
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    return decode_image(data, str(path), max_pixels)


# ---------------------------------------------------------------- pages


def tiff_page_sizes(src: bytes | str | os.PathLike, limit: int = MAX_TIFF_PAGES) -> list[tuple[int, int]]:
    """``(width, height)`` of each page (IFD) of a TIFF or BigTIFF, from its directories
    only (no pixel data is read), at most ``limit`` pages; ``[]`` if ``src`` is no TIFF.
    A damaged directory chain ends the list (a page without a size reads as ``(0, 0)``)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        import io

        f = io.BytesIO(src)
        return _tiff_sizes(f, limit)
    try:
        with open(src, "rb") as f:
            return _tiff_sizes(f, limit)
    except OSError:
        return []


def _tiff_sizes(f, limit: int) -> list[tuple[int, int]]:
    head = f.read(16)
    if not head.startswith(_TIFF):
        return []
    e = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:
            off = struct.unpack(e + "Q", head[8:16])[0]
            count_fmt, entry, next_fmt = "Q", 20, "Q"
        else:
            off = struct.unpack(e + "I", head[4:8])[0]
            count_fmt, entry, next_fmt = "H", 12, "I"
        csize, nsize = struct.calcsize(count_fmt), struct.calcsize(next_fmt)
        seen: set[int] = set()
        out: list[tuple[int, int]] = []
        while off and off not in seen and len(out) < limit:
            seen.add(off)
            f.seek(off)
            raw = f.read(csize)
            if len(raw) < csize:
                break
            n = struct.unpack(e + count_fmt, raw)[0]
            if n > 4096:  # not a directory
                break
            table = f.read(n * entry + nsize)
            if len(table) < n * entry + nsize:
                break
            dims = {256: 0, 257: 0}
            for k in range(n):
                rec = table[k * entry:(k + 1) * entry]
                tag, typ = struct.unpack(e + "HH", rec[:4])
                if tag in dims:
                    value = rec[12:] if big else rec[8:]
                    fmt = {3: "H", 4: "I", 16: "Q"}.get(typ)
                    if fmt:
                        dims[tag] = struct.unpack(e + fmt, value[:struct.calcsize(fmt)])[0]
            out.append((dims[256], dims[257]))
            off = struct.unpack(e + next_fmt, table[n * entry:])[0]
        return out
    except struct.error:
        return []


def _is_tiff(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4).startswith(_TIFF)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e


def count_pages(path: str | os.PathLike) -> int:
    """Number of pages of an image file: the pages of a TIFF (OpenCV ``imcount``), else 1.
    Reads directories only, no pixels.  Raises InputError for an unreadable file or a TIFF
    whose directories are broken."""
    import cv2

    if not _is_tiff(path):
        return 1
    try:
        n = int(cv2.imcount(str(path), cv2.IMREAD_UNCHANGED))
    except cv2.error as e:
        raise InputError(f"{path}: cannot read the TIFF ({str(e).strip().splitlines()[-1]})") from e
    if n <= 0:
        raise InputError(f"{path}: corrupt TIFF (no readable page)")
    return min(n, MAX_TIFF_PAGES)


def load_page(path: str | os.PathLike, index: int = 0, max_pixels: int = MAX_PAGE_PIXELS) -> np.ndarray:
    """Page ``index`` (0-based) of an image file as uint8 grayscale (H, W): any image gives
    its one page, a TIFF each of its pages (read alone from the file: one page in memory).

    Pages get the checks of :func:`decode_image` (16-bit, alpha, palette, CMYK, size read
    before decoding), with the page limit ``max_pixels``.  Raises InputError naming the
    page for a bad one."""
    import cv2

    if not _is_tiff(path):
        if index != 0:
            raise InputError(f"{path}: has 1 page (no page {index + 1})")
        return load_image(path, max_pixels)
    name = f"{path}: page {index + 1}"
    sizes = tiff_page_sizes(path, limit=index + 1)
    if 0 < len(sizes) <= index:
        raise InputError(f"{path}: has {len(sizes)} page{'s' if len(sizes) > 1 else ''} (no page {index + 1})")
    size = sizes[index] if index < len(sizes) and all(sizes[index]) else None
    if size is not None and size[0] * size[1] > max_pixels:
        raise _too_large(name, size[0], size[1], max_pixels)
    flags = cv2.IMREAD_UNCHANGED if size is not None and size[0] * size[1] <= MAX_PIXELS else cv2.IMREAD_GRAYSCALE
    try:
        ok, mats = cv2.imreadmulti(str(path), index, 1, flags=flags)
    except cv2.error as e:
        raise InputError(f"{name}: cannot decode ({str(e).strip().splitlines()[-1]})") from e
    if not ok or not mats:
        raise InputError(f"{name}: corrupt or unsupported image (decoding failed)")
    img = mats[0]
    del mats
    if img.shape[0] * (img.shape[1] if img.ndim > 1 else 1) > max_pixels:
        raise InputError(f"{name}: image too large ({img.shape[1]}x{img.shape[0]} pixels > {max_pixels:,})")
    return to_gray(img, name)


def iter_pages(path: str | os.PathLike, max_pixels: int = MAX_PAGE_PIXELS) -> Iterator[np.ndarray]:
    """The pages of an image file, one at a time (see :func:`load_page`); a bad page raises
    InputError (use :func:`count_pages` and :func:`load_page` to go on past it)."""
    for i in range(count_pages(path)):
        yield load_page(path, i, max_pixels)


def load_color(path: str | os.PathLike, index: int = 0, longest: int = 1600) -> np.ndarray | None:
    """A small colour copy of page ``index`` of an image file: uint8 BGR with its longest
    side at most ``longest`` (JPEGs are decoded at a reduced scale by libjpeg), or None when
    there is no colour to see (a grey image) or it cannot be had cheaply: a JPEG over
    ``MAX_PIXELS``, another format over ``COLOR_MAX_PIXELS``, a file that does not decode,
    anything unusual.  Segmentation uses it only to tell stamps from writing, so None just
    skips that step; it never raises.  ``longest`` defaults to the segmenter's analysis
    size (``hwr.segmentation.preprocess.WORK_SIZE``)."""
    import cv2

    try:
        p = Path(path)
        if p.stat().st_size > MAX_FILE_BYTES:
            return None
        with open(p, "rb") as f:
            head = f.read(65536)
        tiff = head.startswith(_TIFF)
        if tiff:
            sizes = tiff_page_sizes(p, limit=index + 1)
            size = sizes[index] if index < len(sizes) else None
        elif index == 0:
            size = header_size(head)
        else:
            return None
        if size is None or not all(size) or size[0] * size[1] > MAX_PIXELS:
            return None
        jpeg = head.startswith(b"\xff\xd8")
        if not jpeg and size[0] * size[1] > COLOR_MAX_PIXELS:  # decoded at full size: 3 bytes a pixel
            return None
        if tiff:
            ok, mats = cv2.imreadmulti(str(p), index, 1, flags=cv2.IMREAD_COLOR)
            img = mats[0] if ok and mats else None
        else:
            factor = 1
            while jpeg and factor < 8 and max(size) // (2 * factor) >= longest:
                factor *= 2
            flag = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                    8: cv2.IMREAD_REDUCED_COLOR_8}[factor]
            img = cv2.imread(str(p), flag)
        if img is None or img.ndim != 3 or img.shape[2] != 3 or img.size == 0:
            return None
        s = longest / max(img.shape[:2])
        if s < 1.0:
            img = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
                             interpolation=cv2.INTER_AREA)
        sub = img[::4, ::4].astype(np.int16)  # a sample is enough to see whether it is grey
        spread = sub.max(axis=2) - sub.min(axis=2)
        if int(np.percentile(spread, 99)) <= 4:  # grey: nothing to tell apart
            return None
        return img
    except (OSError, ValueError, InputError, cv2.error, MemoryError):
        return None
