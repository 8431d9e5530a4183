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


def test_committed_pngs_are_the_svg_renders(qapp, tmp_path):
    for p in render_icon.render(render_icon.SVG, tmp_path):
        assert p.read_bytes() == (ROOT / "gui" / "icons" / p.name).read_bytes(), \
            f"{p.name} is stale: run python tools/render_icon.py"


def test_ico_and_icns(qapp, tmp_path):
    ico, icns = render_icon.render_bundle_icons(render_icon.SVG, tmp_path)
    assert ico.read_bytes() == (ROOT / "packaging" / "hwr.ico").read_bytes()
    assert icns.read_bytes() == (ROOT / "packaging" / "hwr.icns").read_bytes()
    if b"ico" in QImageReader.supportedImageFormats():
        assert sorted(s.width() for s in _sizes(ico, b"ico")) == list(render_icon.ICO_SIZES)
    if b"icns" in QImageReader.supportedImageFormats():
        widths = sorted(s.width() for s in _sizes(icns, b"icns"))
        assert widths == sorted(render_icon.ICNS_TYPES), widths
