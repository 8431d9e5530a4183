"""Entry point of ``hwr-gui``: parse the arguments, open the main window."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ICON_DIR = Path(__file__).parent / "icons"
ICON_SIZES = (48, 128, 256)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="hwr-gui", description="Write with the mouse or a pen and see the recognised text, "
                                    "or open a page image and see it read.")
    parser.add_argument("--model", metavar="PATH",
                        help="ink model (.safetensors); default: the one chosen in Settings, else the embedded model")
    parser.add_argument("--device", default=None,
                        help="cpu, auto, cuda or cuda:N (default: the one chosen in Settings, else cpu)")
    parser.add_argument("ink", nargs="?", metavar="FILE",
                        help="InkML, IAM-OnDB XML or hwr JSON file, or a page image, to open")
    # for packaging/smoke_test.sh and benchmarks/startup.py: show the window, print the time, exit 0
    parser.add_argument("--quit-after-first-window", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def app_icon():
    """The application icon (``icons/hwr-*.png``, rendered from ``icons/hwr.svg`` by
    tools/render_icon.py): PNGs, so no SVG plugin is needed at run time."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(ICON_DIR / f"hwr-{size}.png"))
    return icon


def process_age() -> float | None:
    """Seconds since this process started (Linux: /proc/self/stat), else None."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _quit_after_first_paint(window, t0: float, timeout_s: float = 60.0):
    """When the window has painted its first frame (it is shown and exposed), print the time,
    close it and leave the event loop with 0; after ``timeout_s`` without one, exit with 1."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    def report(shown: bool) -> None:
        age = process_age()
        since = f", {age:.2f} s after the process started" if age is not None else ""
        print(f"hwr-gui: first window {'shown' if shown else 'NOT shown'} {time.perf_counter() - t0:.2f} s "
              f"after main(){since}", flush=True)
        window.close()
        QApplication.exit(0 if shown else 1)

    class FirstPaint(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.Paint and window.windowHandle() and window.windowHandle().isExposed():
                window.removeEventFilter(self)
                timer.stop()
                QTimer.singleShot(0, lambda: report(True))  # not from inside the paint event
            return False

    timer = QTimer(window, singleShot=True, interval=int(timeout_s * 1000))
    timer.timeout.connect(lambda: report(False))
    timer.start()
    watcher = FirstPaint(window)
    window.installEventFilter(watcher)
    return watcher


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    args = parse_args(argv)
    # one line at a time: one torch thread is faster than several (DESIGN.md); set before torch loads
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as e:
        print(f"hwr-gui needs PySide6 ({e}); install it with: pip install 'hwr[gui]'", file=sys.stderr)
        return 1
    from .platform_check import platform_problem

    problem = platform_problem(os.environ)
    if problem:  # else Qt would abort the process with a message of its own
        print(problem, file=sys.stderr)
        return 1
    from .main_window import MainWindow, is_image_file

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("hwr")
    app.setDesktopFileName("hwr")  # Wayland / the taskbar match the window to packaging/hwr.desktop
    app.setWindowIcon(app_icon())
    window = MainWindow(model=args.model, device=args.device)
    if args.quit_after_first_window:
        _quit_after_first_paint(window, t0)
    window.show()
    if args.ink and is_image_file(args.ink):
        window.open_image(args.ink)
    elif args.ink:  # after show(): the ink is fitted to the canvas's real size
        window.open_ink(args.ink)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
