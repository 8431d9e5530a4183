"""Render the application icon (gui/icons/hwr.svg) to PNGs of 256, 128 and 48 pixels, and to
the Windows and macOS icon files of the bundle (packaging/hwr.ico, packaging/hwr.icns).

    python tools/render_icon.py [--out DIR] [--packaging DIR]
        (defaults: gui/icons beside the SVG, and packaging/)

Uses Qt's own SVG renderer (QtSvg, part of pyside6-essentials); runs offscreen.
The outputs are committed: the app's window icon and the .desktop file use the PNGs, so
the app needs no SVG plugin at run time; PyInstaller uses the .ico / .icns on Windows /
macOS.  Both hold PNG images (ICO: Windows Vista and later; ICNS: macOS 10.7 and later).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "gui" / "icons" / "hwr.svg"
SIZES = (256, 128, 48)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that hold PNG data, by pixel size
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def png_bytes(svg: Path, size: int) -> bytes:
    """The SVG drawn on a transparent square of ``size`` pixels, as PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # noqa: F841 (QPainter needs one)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise SystemExit(f"cannot encode the {size} px icon as PNG")
    buf.close()
    return bytes(data)


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (ICONDIR, ICONDIRENTRY each, then the images)."""
    sizes = sorted(pngs)
    head = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(head) + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        data = pngs[s]
        entries += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return head + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns holding one PNG element per size ("icns", total length, then type + length + data)."""
    body = b"".join(ICNS_TYPES[s] + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for s in sorted(pngs))
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def render(svg: Path, out: Path, sizes=SIZES) -> list[Path]:
    """The PNGs ``out/hwr-SIZE.png``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        path = out / f"hwr-{size}.png"
        path.write_bytes(png_bytes(svg, size))
        written.append(path)
    return written


def render_bundle_icons(svg: Path, out: Path) -> list[Path]:
    """``out/hwr.ico`` (16-256 px) and ``out/hwr.icns`` (16-1024 px)."""
    out.mkdir(parents=True, exist_ok=True)
    pngs = {s: png_bytes(svg, s) for s in sorted(set(ICO_SIZES) | set(ICNS_TYPES))}
    ico, icns = out / "hwr.ico", out / "hwr.icns"
    ico.write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    icns.write_bytes(icns_bytes({s: pngs[s] for s in ICNS_TYPES}))
    return [ico, icns]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--svg", type=Path, default=SVG)
    ap.add_argument("--out", type=Path, default=SVG.parent, help="folder of the PNGs")
    ap.add_argument("--packaging", type=Path, default=ROOT / "packaging", help="folder of hwr.ico and hwr.icns")
    args = ap.parse_args()
    for p in render(args.svg, args.out) + render_bundle_icons(args.svg, args.packaging):
        print(p, f"({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
