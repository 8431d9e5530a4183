"""The pure helpers of tools/gui_demo.py (the X11 run itself needs Xvfb and is not part of the suite)."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")

from hwr.types import Ink, Stroke  # noqa: E402

spec = importlib.util.spec_from_file_location("gui_demo", Path(__file__).resolve().parents[2] / "tools" / "gui_demo.py")
demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo)


def xwd_bytes(bgr: np.ndarray, name: bytes = b"root\0") -> bytes:
    """An XWD file as xwd writes it for a 24-bit TrueColor screen (LSB first, 32 bits a pixel)."""
    h, w, _ = bgr.shape
    header_size = 100 + len(name)
    fields = [header_size, 7, 2, 24, w, h, 0, 0, 32, 0, 32, 32, 4 * w, 4, 0xFF0000, 0xFF00, 0xFF, 8, 256, 2,
              w, h, 0, 0, 0]
    cmap = b"\0" * 12 * 2
    px = np.concatenate([bgr, np.zeros((h, w, 1), np.uint8)], axis=2).tobytes()
    return struct.pack(">25I", *fields) + name + cmap + px


def test_read_xwd_round_trip():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    assert np.array_equal(demo.read_xwd(xwd_bytes(img)), img)
    bad = bytearray(xwd_bytes(img))
    bad[44:48] = struct.pack(">I", 8)  # 8 bits per pixel: not a TrueColor dump
    with pytest.raises(ValueError):
        demo.read_xwd(bytes(bad))


def test_find_canvas_by_its_paper():
    img = np.full((300, 400, 3), 230, np.uint8)
    img[50:250, 20:380] = demo.PAPER[::-1]
    img[150, 20:380] = (230, 200, 180)  # the guide lines cross it
    img[100:120, 100:200] = 30  # ink
    assert demo.find_canvas(img) == (20, 50, 360, 200)
    with pytest.raises(RuntimeError):
        demo.find_canvas(np.zeros((10, 10, 3), np.uint8))


def test_mouse_path_fits_the_box():
    ink = Ink(strokes=[Stroke(np.linspace(0, 1000, 200), np.linspace(0, 100, 200)), Stroke([500], [50])])
    strokes = demo.mouse_path(ink, (10, 20, 500, 100), step=3)
    assert len(strokes) == 2 and len(strokes[1]) == 1
    p = strokes[0]
    assert p[0].tolist() == [10, 45] and p[-1].tolist() == [510, 95]  # 500 wide, centred in the box's height
    assert np.all(np.hypot(*np.diff(p[:-1], axis=0).T) >= 3)  # about step pixels apart (the end kept)
