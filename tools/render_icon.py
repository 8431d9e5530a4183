"""Render the application icon (gui/icons/hwr.svg) to PNGs of 256, 128 and 48 pixels.

    python tools/render_icon.py [--out DIR]      (default: gui/icons, beside the SVG)

Uses Qt's own SVG renderer (QtSvg, part of pyside6-essentials); runs offscreen.
The PNGs are committed: the app's window icon and the .desktop file use them, so the
app needs no SVG plugin at run time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SVG = Path(__file__).resolve().parents[1] / "gui" / "icons" / "hwr.svg"
SIZES = (256, 128, 48)


def render(svg: Path, out: Path, sizes=SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # noqa: F841 (QPainter needs one)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out / f"hwr-{size}.png"
        if not img.save(str(path)):
            raise SystemExit(f"cannot write {path}")
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--svg", type=Path, default=SVG)
    ap.add_argument("--out", type=Path, default=SVG.parent)
    args = ap.parse_args()
    for p in render(args.svg, args.out):
        print(p)


if __name__ == "__main__":
    main()
