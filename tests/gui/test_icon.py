"""tools/render_icon.py: the committed icon files are the renders of gui/icons/hwr.svg, and the
Windows .ico / macOS .icns it writes hold every size (read back with Qt's own ico/icns readers)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtSvg")

from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtGui import QImageReader  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("render_icon", ROOT / "tools" / "render_icon.py")
render_icon = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_icon)


def _sizes(path: Path, fmt: bytes) -> list[QSize]:
    reader = QImageReader(str(path), fmt)
    sizes = []
    for i in range(reader.imageCount()):
        assert reader.jumpToImage(i)
        img = reader.read()
        assert not img.isNull(), reader.errorString()
        sizes.append(img.size())
    return sizes


def _pixels(png: bytes):
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None, "not a PNG"
    return img.astype(np.int16)


def _same_picture(a: bytes, b: bytes, name: str) -> None:
    """The same picture: same size, every channel of every pixel within 2 levels.  Not the same
    bytes: on a fresh install of 2026-11-28 (PySide6 6.11.3) one channel of one antialiased pixel,
    at 256 and at 48 px, came out a level off the committed renders."""
    pa, pb = _pixels(a), _pixels(b)
    assert pa.shape == pb.shape, f"{name}: {pa.shape} against {pb.shape}"
    worst = int(abs(pa - pb).max())
    assert worst <= 2, f"{name} is stale (a channel differs by {worst} levels): run python tools/render_icon.py"


def _ico_pngs(data: bytes) -> dict[int, bytes]:
    import struct

    _, kind, n = struct.unpack_from("<HHH", data)
    assert kind == 1
    out = {}
    for i in range(n):
        w, _, _, _, _, _, size, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        out[w or 256] = data[offset: offset + size]
    return out


def _icns_pngs(data: bytes) -> dict[bytes, bytes]:
    import struct

    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    out, pos = {}, 8
    while pos < len(data):
        kind, length = data[pos: pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        out[kind] = data[pos + 8: pos + length]
        pos += length
    return out


def test_committed_pngs_are_the_svg_renders(qapp, tmp_path):
    for p in render_icon.render(render_icon.SVG, tmp_path):
        _same_picture(p.read_bytes(), (ROOT / "gui" / "icons" / p.name).read_bytes(), p.name)


def test_picture_comparison_sees_a_changed_icon(qapp, tmp_path):
    """The tolerance is a level or two, not a licence: another drawing is stale."""
    svg = tmp_path / "other.svg"
    svg.write_text(render_icon.SVG.read_text().replace("<svg", "<svg opacity=\"0.5\"", 1))
    (p,) = render_icon.render(svg, tmp_path / "out", sizes=(48,))
    with pytest.raises(AssertionError, match="stale"):
        _same_picture(p.read_bytes(), (ROOT / "gui" / "icons" / "hwr-48.png").read_bytes(), p.name)


def test_ico_and_icns(qapp, tmp_path):
    ico, icns = render_icon.render_bundle_icons(render_icon.SVG, tmp_path)
    fresh, kept = _ico_pngs(ico.read_bytes()), _ico_pngs((ROOT / "packaging" / "hwr.ico").read_bytes())
    assert sorted(fresh) == sorted(kept) == list(render_icon.ICO_SIZES)
    for size in fresh:
        _same_picture(fresh[size], kept[size], f"hwr.ico {size} px")
    fresh, kept = _icns_pngs(icns.read_bytes()), _icns_pngs((ROOT / "packaging" / "hwr.icns").read_bytes())
    assert sorted(fresh) == sorted(kept) == sorted(render_icon.ICNS_TYPES.values())
    for kind in fresh:
        _same_picture(fresh[kind], kept[kind], f"hwr.icns {kind.decode()}")
    if b"ico" in QImageReader.supportedImageFormats():
        assert sorted(s.width() for s in _sizes(ico, b"ico")) == list(render_icon.ICO_SIZES)
    if b"icns" in QImageReader.supportedImageFormats():
        widths = sorted(s.width() for s in _sizes(icns, b"icns"))
        assert widths == sorted(render_icon.ICNS_TYPES), widths
