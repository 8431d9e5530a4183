"""hwr_gui: the PySide6 desktop application of hwr (installed from the ``gui/`` folder).

It uses only hwr's public API; hwr itself never imports Qt.  Start it with
``hwr-gui [--model PATH] [--device cpu|auto|cuda] [INK_FILE]``.
"""

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from .app import main as _main

    return _main(argv)
