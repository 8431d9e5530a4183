"""Pages: multi-page TIFF (count, one page at a time, a corrupt page), the page size limit
read from the headers before decoding, huge pages decoded straight to grey."""

import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from hwr.errors import InputError
from hwr.imaging import load
from hwr.imaging.load import (MAX_PAGE_PIXELS, MAX_PIXELS, count_pages, decode_image, iter_pages, load_image,
                              load_page, tiff_page_sizes, to_gray)


def _text(width=400, height=120, value=30, bg=220, word="minimum"):
    img = np.full((height, width), bg, np.uint8)
    cv2.putText(img, word, (10, height - 40), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.0, value, 3)
    return img


def _png_header(w: int, h: int, color_type: int = 0) -> bytes:
    """A PNG signature and IHDR claiming ``w`` x ``h`` pixels, and no pixel data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def _ifds(data: bytes) -> list[dict[int, int]]:
    """{tag: offset of its entry} per directory of a little-endian classic TIFF."""
    assert data[:4] == b"II*\x00"
    off, out = struct.unpack("<I", data[4:8])[0], []
    while off:
        n = struct.unpack("<H", data[off:off + 2])[0]
        out.append({struct.unpack("<H", data[off + 2 + 12 * k:off + 4 + 12 * k])[0]: off + 2 + 12 * k
                    for k in range(n)})
        off = struct.unpack("<I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    return out


def _set_tag(data: bytearray, entry: int, value: int) -> None:
    typ = struct.unpack("<H", data[entry + 2:entry + 4])[0]
    data[entry + 8:entry + 12] = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)


def test_multipage_tiff_pages_each_checked(tmp_path):
    gray = _text(word="one")
    bgr = cv2.cvtColor(_text(word="two"), cv2.COLOR_GRAY2BGR)
    deep = _text(word="three").astype(np.uint16) * 257  # 16-bit
    bgra = np.zeros((60, 80, 4), np.uint8)  # black, transparent on the left half
    bgra[:, 40:, 3] = 255
    p = tmp_path / "four.tif"
    assert cv2.imwritemulti(str(p), [gray, bgr, deep, bgra])
    assert count_pages(p) == 4 and tiff_page_sizes(p) == [(400, 120)] * 3 + [(80, 60)]
    pages = list(iter_pages(p))
    assert [g.shape for g in pages] == [(120, 400)] * 3 + [(60, 80)]
    assert all(g.dtype == np.uint8 and g.ndim == 2 for g in pages)
    assert np.array_equal(pages[0], gray)
    assert np.abs(pages[1].astype(int) - _text(word="two")).max() <= 1
    assert np.array_equal(pages[2], _text(word="three"))
    assert pages[3][:, :40].min() == 255 and pages[3][:, 40:].max() == 0  # alpha composited on white
    assert np.array_equal(load_page(p, 2), pages[2])  # a page read alone
    # the first page is what a one-image reader sees
    assert np.array_equal(load_image(p), gray)
    with pytest.raises(InputError, match=r"has 4 pages \(no page 5\)"):
        load_page(p, 4)


def test_single_images_have_one_page(tmp_path):
    img = _text()
    for ext in (".png", ".jpg", ".tif", ".bmp"):
        p = tmp_path / f"one{ext}"
        assert cv2.imwrite(str(p), img)
        assert count_pages(p) == 1
        assert np.array_equal(load_page(p), load_image(p))
        with pytest.raises(InputError, match=r"has 1 page \(no page 2\)"):
            load_page(p, 1)


def test_corrupt_page_is_an_error_for_that_page_only(tmp_path):
    pages = [_text(word=w) for w in ("one", "two", "three")]
    p = tmp_path / "three.tif"
    assert cv2.imwritemulti(str(p), pages)
    data = bytearray(p.read_bytes())
    entry = _ifds(bytes(data))[1][273]  # page 2: its strips lie far beyond the end of the file
    count, where = struct.unpack("<I", data[entry + 4:entry + 8])[0], struct.unpack("<I", data[entry + 8:entry + 12])[0]
    for k in range(count):
        at = entry + 8 if count == 1 else where + 4 * k
        data[at:at + 4] = struct.pack("<I", 10 ** 8)
    p.write_bytes(bytes(data))
    assert count_pages(p) == 3
    assert np.array_equal(load_page(p, 0), pages[0]) and np.array_equal(load_page(p, 2), pages[2])
    with pytest.raises(InputError, match=r"three\.tif: page 2: corrupt"):
        load_page(p, 1)
    it = iter_pages(p)
    next(it)
    with pytest.raises(InputError, match="page 2"):
        next(it)


def test_truncated_tiff_and_non_images(tmp_path):
    p = tmp_path / "cut.tif"
    assert cv2.imwritemulti(str(p), [_text(word="one"), _text(word="two")])
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 3])
    with pytest.raises(InputError, match="cut.tif"):  # its directories come after the pixels: lost
        for k in range(count_pages(p)):
            load_page(p, k)
    notes = tmp_path / "notes.tif"
    notes.write_text("not a TIFF at all")
    with pytest.raises(InputError, match="not an image"):
        load_page(notes)
    assert count_pages(notes) == 1  # not a TIFF: one "page", which load_page refuses
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00" + b"\xff" * 20)  # TIFF signature, no readable directory
    with pytest.raises(InputError, match="bad.tif"):
        count_pages(bad)
    with pytest.raises(InputError, match="cannot read"):
        count_pages(tmp_path / "missing.tif")


def test_page_limit_read_from_headers_before_decoding(tmp_path):
    assert MAX_PIXELS < 20000 * 20000 <= MAX_PAGE_PIXELS
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(20000, 20000))  # a page of 400 MP passes the size check...
    with pytest.raises(InputError) as e:
        load_page(huge)
    assert "too large" not in str(e.value)  # ...and fails only because it has no pixels
    with pytest.raises(InputError, match="too large"):  # but it is too large for a line image
        load_image(huge)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(40000, 40000))
    t = time.perf_counter()
    with pytest.raises(InputError, match="too large"):
        load_page(bomb)
    assert time.perf_counter() - t < 0.5
    # a TIFF page whose directory claims 50,000 x 50,000: refused before its pixels are read
    p = tmp_path / "claims.tif"
    assert cv2.imwritemulti(str(p), [_text(), _text()])
    data = bytearray(p.read_bytes())
    d = _ifds(bytes(data))[1]
    _set_tag(data, d[256], 50000)
    _set_tag(data, d[257], 50000)
    p.write_bytes(bytes(data))
    assert tiff_page_sizes(p) == [(400, 120), (50000, 50000)]
    assert load_page(p, 0).shape == (120, 400)
    t = time.perf_counter()
    with pytest.raises(InputError, match=r"page 2: image too large \(50000x50000"):
        load_page(p, 1)
    assert time.perf_counter() - t < 0.5
    with pytest.raises(InputError, match="too large"):
        decode_image(bytes(data), max_pixels=100)  # decode_image reads TIFF sizes too


def test_bigtiff_sizes():
    # a hand-made little-endian BigTIFF directory: 2 entries (width 300, height 200)
    head = b"II+\x00" + struct.pack("<HHQ", 8, 0, 16)
    ifd = struct.pack("<Q", 2) + struct.pack("<HHQQ", 256, 3, 1, 300) + struct.pack("<HHQQ", 257, 4, 1, 200)
    ifd += struct.pack("<Q", 0)
    assert tiff_page_sizes(head + ifd) == [(300, 200)]
    assert tiff_page_sizes(b"\x89PNG\r\n\x1a\n") == []


def test_to_gray_in_bands_gives_the_same_pixels(monkeypatch):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 65536, (97, 61, 4), dtype=np.uint16), rng.integers(0, 256, (50, 33, 3), dtype=np.uint8),
              (rng.random((40, 20)) * 7).astype(np.float32), rng.integers(0, 65536, (31, 17), dtype=np.uint16)]
    whole = [to_gray(a) for a in arrays]
    monkeypatch.setattr(load, "_BAND_PIXELS", 50)  # a band of one or two rows
    for a, w in zip(arrays, whole):
        assert np.array_equal(to_gray(a), w)
    g = rng.integers(0, 256, (10, 10), dtype=np.uint8)
    assert to_gray(g) is g  # 8-bit grey: no copy at all


def test_images_over_the_line_limit_are_decoded_straight_to_grey(tmp_path, monkeypatch):
    bgra = np.zeros((60, 80, 4), np.uint8)
    bgra[:, :, :3] = 200
    bgra[:, :40, :3] = 0  # black but transparent on the left half
    bgra[:, 40:, 3] = 255
    p = tmp_path / "a.png"
    assert cv2.imwrite(str(p), bgra)
    assert load_page(p)[:, :40].min() == 255  # a usual page: alpha composited on white
    monkeypatch.setattr(load, "MAX_PIXELS", 1000)
    g = load_page(p)  # over MAX_PIXELS: IMREAD_GRAYSCALE, transparency ignored (documented)
    assert g.dtype == np.uint8 and g.shape == (60, 80) and g[:, :40].max() == 0 and g[:, 40:].min() >= 199


_RSS_SCRIPT = r"""
import json, sys
from hwr.imaging import load
from hwr.segmentation import segment_page

def peak():  # this process's peak resident memory (KiB); a fresh process: nothing inherited
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])

load.MAX_PIXELS = 1_000_000  # the page counts as huge: the straight-to-grey path
before = peak()
gray = load.load_page(sys.argv[1])
grown = peak() - before
page = segment_page(gray, name=sys.argv[1])
print(json.dumps({"kib": grown, "lines": len(page.lines), "w": page.width}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_huge_colour_page_memory_in_a_fresh_process(tmp_path):
    """Loading a colour page over MAX_PIXELS costs about 2 bytes a pixel at its peak (the grey
    page and one copy made by OpenCV's Python binding while decoding), never its colour
    (3 bytes) or float (4+ bytes) size on top."""
    side = 6000
    img = np.full((side, side, 3), 235, np.uint8)
    for k in range(4):
        cv2.putText(img, "the first duty of the house", (300, 1500 + 1300 * k), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
                    9.0, (40, 60, 90), 14, cv2.LINE_AA)
    p = tmp_path / "big.png"
    assert cv2.imwrite(str(p), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    del img
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(p)], capture_output=True, text=True, cwd=root,
                         env=dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1"), timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["w"] == side and r["lines"] == 4
    grown = r["kib"] * 1024 / (side * side)
    assert grown < 2.6, f"{grown:.2f} bytes a pixel: a full-size colour or float copy was made"
