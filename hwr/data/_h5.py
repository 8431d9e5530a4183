"""Opening hwr's HDF5 datasets with their format and version checked."""

from __future__ import annotations

import h5py

from hwr.errors import InputError


def open_dataset(path: str, fmt: str, max_version: int, what: str) -> h5py.File:
    """Open ``path`` read-only; InputError unless it is an hwr ``fmt`` file this hwr can read."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"{path}: cannot open as HDF5 ({e})") from e
    got = f.attrs.get("format")
    if got != fmt:
        f.close()
        raise InputError(f"{path}: not an hwr {what} (format {got!r})")
    raw = f.attrs.get("version", 0)
    try:
        version = int(raw)
    except (TypeError, ValueError) as e:
        f.close()
        raise InputError(f"{path}: not an hwr {what} (version {raw!r})") from e
    if version > max_version:
        f.close()
        raise InputError(f"{path}: {what} version {version} is newer than this hwr reads")
    return f


class LazyDataset:
    """Base of the dataset readers: the HDF5 file is opened on first use in each process
    (h5py handles do not survive a fork into DataLoader workers) and left out when pickled.

    Subclasses set ``FORMAT``, ``VERSION``, ``WHAT`` and ``CACHES`` (attributes holding data
    read into memory, dropped when pickled) and the attributes ``path``, ``_file``, ``_pid``.
    """

    FORMAT = ""
    VERSION = 0
    WHAT = "dataset"
    CACHES: tuple[str, ...] = ()

    def _open(self) -> h5py.File:
        import os

        pid = os.getpid()
        if self._file is None or self._pid != pid:
            self._file = open_dataset(self.path, self.FORMAT, self.VERSION, self.WHAT)
            self._pid = pid
        return self._file

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        state["_pid"] = None
        for name in self.CACHES:
            state[name] = None
        return state
