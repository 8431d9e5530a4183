"""hwr: handwriting recognition for ink (pen strokes) and images.

The package is a headless library; it never imports Qt.  Heavy modules (torch)
are imported lazily so that ``hwr --help`` and the file formats stay light.

Importing it bounds the shape-keyed kernel caches of torch's CPU kernels (unless the
environment already sets their capacities): torch reads one of them when it is imported,
so this is the one place early enough.  See :func:`hwr.device.bound_onednn_cache`.
"""

from hwr.device import bound_onednn_cache as _bound_caches

_bound_caches()

__version__ = "0.1.0"

__all__ = ["__version__"]
