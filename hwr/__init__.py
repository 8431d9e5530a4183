"""hwr: handwriting recognition for ink (pen strokes) and images.

The package is a headless library; it never imports Qt.  Heavy modules (torch)
are imported lazily so that ``hwr --help`` and the file formats stay light.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
