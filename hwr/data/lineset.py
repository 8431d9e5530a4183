"""Line-image datasets in HDF5.

One file per split.  Layout (format ``hwr-lineset``, version 1)::

    /pixels      (P,) uint8       all images, each (height, width[i]) row-major, concatenated;
                                  normalised lines (ink bright), see hwr.imaging.line
    /offsets     (M + 1,) int64   image i: pixels[offsets[i]:offsets[i+1]]
    /width       (M,) int32
    /text        (M,) UTF-8 str   transcription
    /writer      (M,) UTF-8 str
    /source      (M,) UTF-8 str   where the line came from (page file, ink dataset)
    /collection  (M,) UTF-8 str   collection name (for figures per collection)
    /id          (M,) UTF-8 str
    attrs: format, version, split, height, preprocessing (JSON), created_by

The images are stored already normalised with ``preprocessing``: a model
trained on the file records the same dict and applies it at inference time.
Written incrementally to a temporary name and renamed (atomic); read lazily,
once per process (DataLoader workers).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import h5py
import numpy as np

from hwr.data._h5 import LazyDataset
from hwr.errors import InputError

FORMAT = "hwr-lineset"
VERSION = 1
_STR = h5py.string_dtype(encoding="utf-8")
_CHUNK = 256 * 1024


@dataclass
class LineSample:
    image: np.ndarray  # (height, width) uint8, ink bright
    text: str
    writer: str = ""
    source: str = ""
    collection: str = ""
    id: str = ""


def write_lineset(path: str | os.PathLike, samples: Iterable[LineSample], preprocessing: dict[str, Any],
                  split: str = "") -> int:
    """Write ``samples`` (images already normalised with ``preprocessing``) atomically.  Returns the count."""
    height = int(preprocessing["height"])
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    meta: dict[str, list[str]] = {k: [] for k in ("text", "writer", "source", "collection", "id")}
    offsets, widths = [0], []
    try:
        with h5py.File(tmp, "w") as f:
            pix = f.create_dataset("pixels", shape=(0,), maxshape=(None,), dtype=np.uint8, chunks=(_CHUNK,),
                                   compression="gzip", compression_opts=4, shuffle=True)
            buf: list[np.ndarray] = []
            nbuf = 0

            def flush():
                nonlocal nbuf
                if buf:
                    data = np.concatenate(buf)
                    n0 = pix.shape[0]
                    pix.resize((n0 + len(data),))
                    pix[n0:] = data
                    buf.clear()
                    nbuf = 0

            for s in samples:
                img = np.asarray(s.image)
                if img.dtype != np.uint8 or img.ndim != 2 or img.shape[0] != height or img.shape[1] < 1:
                    raise ValueError(f"line {s.id!r}: image must be uint8 ({height}, W), got {img.dtype} {img.shape}")
                buf.append(img.reshape(-1))
                nbuf += img.size
                offsets.append(offsets[-1] + img.size)
                widths.append(img.shape[1])
                for k in meta:
                    meta[k].append(str(getattr(s, k) or ""))
                if nbuf > 16 * _CHUNK:
                    flush()
            flush()
            f.create_dataset("offsets", data=np.asarray(offsets, np.int64), compression="gzip", shuffle=True)
            f.create_dataset("width", data=np.asarray(widths, np.int32), compression="gzip", shuffle=True)
            for k, vals in meta.items():
                f.create_dataset(k, data=np.asarray(vals, dtype=object), dtype=_STR)
            f.attrs["format"] = FORMAT
            f.attrs["version"] = VERSION
            f.attrs["split"] = split
            f.attrs["height"] = height
            f.attrs["preprocessing"] = json.dumps(preprocessing, sort_keys=True)
            f.attrs["created_by"] = "hwr import"
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(widths)


def dataset_format(path: str | os.PathLike) -> str | None:
    """The ``format`` attribute of an hwr HDF5 dataset (``hwr-inkset``, ``hwr-lineset``), or None."""
    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
    except OSError:
        return None
    return fmt.decode() if isinstance(fmt, bytes) else (str(fmt) if fmt is not None else None)


def _strings(ds) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in ds[()]]


class LineSet(LazyDataset):
    """Read-only access to a line-image dataset; safe to use from DataLoader workers."""

    FORMAT = FORMAT
    VERSION = VERSION
    WHAT = "line dataset"
    CACHES = ("_cache",)

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._cache: np.ndarray | None = None
        f = self._open()
        try:
            for key in ("pixels", "offsets", "width", "text", "writer", "source", "collection", "id"):
                if not isinstance(f.get(key), h5py.Dataset):
                    raise InputError(f"{self.path}: not an hwr line dataset (missing {key!r})")
            if f["pixels"].ndim != 1 or f["pixels"].dtype != np.uint8:
                raise InputError(f"{self.path}: 'pixels' must be 1-D uint8 (corrupt dataset)")
            self.offsets = f["offsets"][()].astype(np.int64)
            self.widths = f["width"][()].astype(np.int64)
            self.texts = _strings(f["text"])
            self.writers = _strings(f["writer"])
            self.sources = _strings(f["source"])
            self.collections = _strings(f["collection"])
            self.ids = _strings(f["id"])
            self.height = int(f.attrs["height"])
            self.preprocessing = json.loads(f.attrs["preprocessing"])
            self.split = str(f.attrs.get("split", ""))
            if not isinstance(self.preprocessing, dict):
                raise InputError(f"{self.path}: the 'preprocessing' attribute is not a JSON object (corrupt dataset)")
            if self.height < 1:
                raise InputError(f"{self.path}: line height {self.height} (corrupt dataset)")
        except RecursionError as e:  # absurdly nested JSON
            raise InputError(f"{self.path}: the 'preprocessing' attribute is not readable JSON (corrupt dataset)") from e
        except (KeyError, ValueError, TypeError) as e:
            raise InputError(f"{self.path}: not an hwr line dataset ({e})") from e
        except OSError as e:
            raise InputError(f"{self.path}: cannot read the dataset ({e})") from e
        n = len(self.texts)
        if len(self.widths) and self.widths.min() < 1:
            raise InputError(f"{self.path}: line width {int(self.widths.min())} (corrupt dataset)")
        if (len(self.offsets) != n + 1 or len(self.widths) != n or self.offsets[0] != 0
                or np.any(np.diff(self.offsets) != self.widths * self.height)
                or self.offsets[-1] != f["pixels"].shape[0]
                or any(len(v) != n for v in (self.writers, self.sources, self.collections, self.ids))):
            raise InputError(f"{self.path}: offsets, widths and pixels disagree (corrupt dataset)")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._pid = None

    def load_all(self) -> None:
        """Read all pixels into memory."""
        self._cache = self._open()["pixels"][()]

    def __len__(self) -> int:
        return len(self.texts)

    def image(self, i: int) -> np.ndarray:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        try:
            flat = self._cache[a:b] if self._cache is not None else self._open()["pixels"][a:b]
        except OSError as e:
            raise InputError(f"{self.path}: cannot read line {i} ({e}); the dataset is damaged") from e
        return flat.reshape(self.height, int(self.widths[i]))

    def __getitem__(self, i: int) -> LineSample:
        return LineSample(self.image(i), self.texts[i], self.writers[i], self.sources[i], self.collections[i],
                          self.ids[i])
