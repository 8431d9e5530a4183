"""Entry point of ``hwr-gui``: parse the arguments, open the main window."""

from __future__ import annotations

import argparse
import os
import sys


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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # one line at a time: one torch thread is faster than several (DESIGN.md); set before torch loads
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as e:
        print(f"hwr-gui needs PySide6 ({e}); install it with: pip install 'hwr[gui]'", file=sys.stderr)
        return 1
    from .main_window import MainWindow, is_image_file

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("hwr")
    window = MainWindow(model=args.model, device=args.device)
    window.show()
    if args.ink and is_image_file(args.ink):
        window.open_image(args.ink)
    elif args.ink:  # after show(): the ink is fitted to the canvas's real size
        window.open_ink(args.ink)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
