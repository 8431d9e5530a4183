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
