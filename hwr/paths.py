"""Per-user folders of hwr (no Qt): the same places the desktop app uses.

- data: ``$XDG_DATA_HOME/hwr`` (Linux; default ``~/.local/share/hwr``),
  ``~/Library/Application Support/hwr`` (macOS), ``%APPDATA%\\hwr`` (Windows); ``HWR_DATA_DIR``
  overrides it. It holds ``models/`` (your trained models: `hwr recognize --model NAME`
  finds ``models/NAME.safetensors``) and ``corrections/`` (recorded by the app).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    if os.environ.get("HWR_DATA_DIR"):
        return Path(os.environ["HWR_DATA_DIR"])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "hwr"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "hwr"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "hwr"


def user_models_dir() -> Path:
    return data_dir() / "models"


def find_files(folder: str | os.PathLike, *patterns: str) -> list[Path]:
    """Files under ``folder`` whose names match one of ``patterns`` (``fnmatch``,
    case-sensitive; none given: every file), recursively and sorted, as paths under
    ``folder``, in one walk.  Unlike ``Path.rglob`` before Python 3.13 it follows symbolic
    links to folders (a collection linked into a data folder), and it visits each real
    folder once, so a link cycle cannot make it loop."""
    import fnmatch

    root = Path(folder)
    seen: set[str] = set()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames.sort()
        out.extend(Path(dirpath) / f for f in filenames
                   if (not patterns or any(fnmatch.fnmatchcase(f, p) for p in patterns))
                   and os.path.isfile(os.path.join(dirpath, f)))
    return sorted(out)
