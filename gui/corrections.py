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
        """Save ``ink`` with the corrected ``text``; returns the (first) InkML file.  Several
        lines of writing are saved as one file per line (training data is single lines), the
        text's lines matched to the ink's lines top to bottom."""
        from hwr.ink.io import write_inkml
        from hwr.ink.lines import line_inks, split_lines

        if not ink.strokes:
            raise ValueError("no ink to record")
        groups = split_lines(ink)
        texts = [t.strip() for t in text.split("\n") if t.strip()]
        if len(groups) <= 1:
            pieces = [(Ink(strokes=list(ink.strokes), writer=ink.writer), " ".join(texts))]
        elif len(texts) == len(groups):
            pieces = list(zip(line_inks(ink, groups), texts))
        else:
            raise ValueError(f"the text has {len(texts)} lines and the ink {len(groups)}: "
                             "give one line of text per line of writing")
        stamp, paths = _stamp(), []
        for k, (line, t) in enumerate(pieces):
            path = self._folder("ink") / (f"{stamp}.inkml" if len(pieces) == 1 else f"{stamp}-{k + 1}.inkml")
            write_inkml(Ink(strokes=list(line.strokes), text=t, writer=ink.writer), path)
            paths.append(path)
        return paths[0]

    def record_line(self, image: np.ndarray, text: str) -> Path:
        """Save a line image and its corrected ``text``; returns the ``.gt.txt`` file."""
        folder = self._folder("lines")
        stem = _stamp()
        _atomic_bytes(folder / f"{stem}.png", png_bytes(image))
        gt = folder / f"{stem}.gt.txt"
        _atomic_bytes(gt, (text + "\n").encode("utf-8"))
        return gt
