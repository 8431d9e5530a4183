"""Before the first window: will Qt's platform plugin load on this Linux desktop?

PySide6's wheels bring Qt but not every system library its X11 plugin (``xcb``) needs.
Since Qt 6.5 that plugin also needs ``libxcb-cursor.so.0``, which many Debian and Ubuntu
installations lack. Without them Qt prints a few lines and *aborts* the process (status
-6), which reads like a crash of hwr-gui. :func:`platform_problem` finds this beforehand
and says which packages to install, so ``hwr-gui`` can exit with status 1 and that advice.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# loaded by the xcb plugin with dlopen() at start-up (Qt >= 6.5), so ldd does not list it
DLOPENED = ("libxcb-cursor.so.0",)

# the usual packages of the libraries the xcb plugin needs, where Fedora's name is not Debian's
FEDORA = {
    "libxcb-cursor.so.0": "xcb-util-cursor",
    "libxcb-icccm.so.4": "xcb-util-wm",
    "libxcb-keysyms.so.1": "xcb-util-keysyms",
    "libxcb-image.so.0": "xcb-util-image",
    "libxcb-render-util.so.0": "xcb-util-renderutil",
    "libxcb-util.so.1": "xcb-util",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11",
    "libxkbcommon.so.0": "libxkbcommon",
}


def debian_package(soname: str) -> str:
    """Debian's package name for a shared library, by its policy: ``libfoo.so.N`` is in
    ``libfooN``, or ``libfoo-N`` when ``foo`` ends in a digit (``libxkbcommon-x11-0``), in lower case."""
    m = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if not m:
        return soname
    name, version = m.group(1), m.group(2)
    return (f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}").lower()


def _can_load(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def _ldd_not_found(path: Path) -> list[str]:
    """Libraries that ``ldd PATH`` cannot find (none when ldd is absent or fails)."""
    ldd = shutil.which("ldd")
    if ldd is None or not path.is_file():
        return []
    try:
        out = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]


def xcb_missing_libraries(plugin_dir: Path, *, can_load: Callable[[str], bool] = _can_load,
                          not_found: Callable[[Path], list[str]] = _ldd_not_found) -> list[str]:
    """System libraries Qt's xcb plugin (in ``plugin_dir/platforms``) needs and cannot find."""
    missing = [lib for lib in DLOPENED if not can_load(lib)]
    for lib in not_found(plugin_dir / "platforms" / "libqxcb.so"):
        if lib not in missing:
            missing.append(lib)
    return missing


def _qt_plugin_dir() -> Path:
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))


def platform_problem(environ: Mapping[str, str], *, platform: str | None = None,
                     missing: Callable[[], list[str]] | None = None) -> str | None:
    """Why Qt cannot open a window here, with what to do; None when nothing is known wrong.

    Only Linux's X11 plugin is checked, and only when Qt would choose it: no
    ``QT_QPA_PLATFORM`` (or one naming ``xcb`` first) and no Wayland session.
    """
    if not (platform or sys.platform).startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen and chosen != "xcb":
        return None  # the user chose a plugin (offscreen, wayland, ...)
    if not chosen and environ.get("WAYLAND_DISPLAY"):
        return None  # Qt tries Wayland first
    if not environ.get("DISPLAY"):
        return ("hwr-gui: no display to open a window on (DISPLAY is not set). Run it in a "
                "desktop session, or use the command line: hwr --help")
    libs = missing() if missing else xcb_missing_libraries(_qt_plugin_dir())
    if not libs:
        return None
    debian = " ".join(dict.fromkeys(debian_package(lib) for lib in libs))
    fedora = " ".join(dict.fromkeys(FEDORA.get(lib, lib) for lib in libs))
    return (f"hwr-gui: Qt's X11 plugin cannot start: this system lacks {', '.join(libs)}.\n"
            f"  Debian, Ubuntu: sudo apt install {debian}\n"
            f"  Fedora: sudo dnf install {fedora}\n"
            "Then run hwr-gui again. (The command line, hwr, needs none of these.)")
