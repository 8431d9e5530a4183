"""Corrections the user confirms, kept as personal training data.

Layout under the corrections folder (by default ``<AppDataLocation>/corrections``,
for example ``~/.local/share/hwr/corrections`` on Linux):

``ink/<stamp>.inkml``
    the ink and the corrected text (the InkML ``truth`` annotation); the folder
    imports with ``hwr import ink <folder>/ink --out corrections.h5``.
``lines/<stamp>.png`` + ``lines/<stamp>.gt.txt``
    a page line's image, as the recogniser saw it, and its corrected text (the
    kraken / Tesseract convention).  The ``.gt.txt`` is written last, so a pair whose
    text file exists is complete.

Every file is written atomically (a temporary file beside it, renamed over it).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np
from PySide6.QtCore import QStandardPaths

from hwr.types import Ink


def default_root() -> Path:
    """``<AppDataLocation>/corrections`` (Qt's per-user data folder of this application)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    if not base:
        base = str(Path.home() / ".local" / "share" / "hwr")
    return Path(base) / "corrections"


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _atomic_bytes(path: Path, data: bytes) -> None:
    from hwr.formats import write_atomic

    write_atomic(path, data)


def png_bytes(gray: np.ndarray) -> bytes:
    """A uint8 (H, W) array as PNG bytes (encoded by Qt)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from .page_view import gray_to_qimage

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not gray_to_qimage(gray).save(buf, "PNG"):
        raise OSError("could not encode the line image as PNG")
    buf.close()
    return bytes(data.data())


class CorrectionStore:
    """Writes corrections under ``root`` (created when the first one is recorded)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()

    def _folder(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def record_ink(self, ink: Ink, text: str) -> Path:
        """Save ``ink`` with the corrected ``text``; returns the InkML file."""
        from hwr.ink.io import write_inkml

        if not ink.strokes:
            raise ValueError("no ink to record")
        path = self._folder("ink") / f"{_stamp()}.inkml"
        write_inkml(Ink(strokes=list(ink.strokes), text=text, writer=ink.writer), path)
        return path

    def record_line(self, image: np.ndarray, text: str) -> Path:
        """Save a line image and its corrected ``text``; returns the ``.gt.txt`` file."""
        folder = self._folder("lines")
        stem = _stamp()
        _atomic_bytes(folder / f"{stem}.png", png_bytes(image))
        gt = folder / f"{stem}.gt.txt"
        _atomic_bytes(gt, (text + "\n").encode("utf-8"))
        return gt
