"""Locating the real handwriting of ../shared/data for benchmarks.

The archives are extracted once into a cache folder (``$HWR_BENCH_CACHE`` or
``~/.cache/hwr-bench``) and imported with hwr's own importers; nothing is
copied into the repository.
"""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HWR_SHARED", REPO.parent / "shared")) / "data"
CACHE = Path(os.environ.get("HWR_BENCH_CACHE", Path.home() / ".cache" / "hwr-bench"))


def _extract(archive: Path, dest: Path, marker: str) -> Path:
    if not (dest / marker).exists():
        dest.mkdir(parents=True, exist_ok=True)
        print(f"extracting {archive.name} to {dest} ...", file=sys.stderr)
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    return dest


def _iam_ondb() -> tuple[Path, Path]:
    """(../shared/data/iam-ondb, the extracted archive's root)."""
    src = SHARED / "iam-ondb"
    archive = src / "iam-ondb-train-val.tar.xz"
    if not archive.exists():
        sys.exit(f"IAM-OnDB not found at {archive}: set HWR_SHARED to the folder holding data/")
    return src, _extract(archive, CACHE / "iam-ondb", "lineStrokes")


def iam_ondb_validation() -> list[Path]:
    """HDF5 files of the IAM-OnDB validation lines (testset_t + forms in no listed split)."""
    from hwr.data.importers import iam_ondb_forms, iter_iam_ondb, read_split_file
    from hwr.data.inkset import write_inkset

    src, root = _iam_ondb()
    out = CACHE / "h5"
    out.mkdir(parents=True, exist_ok=True)
    train = read_split_file(src / "trainset.txt")
    val = read_split_file(src / "testset_t.txt")
    unlisted = [f for f in iam_ondb_forms(root) if f not in set(train) | set(val)]
    paths = []
    for name, forms in (("iam-val", val), ("iam-unlisted", unlisted)):
        p = out / f"{name}.h5"
        if not p.exists():
            write_inkset(p, iter_iam_ondb(root, forms, on_error=lambda m: None), split=name)
        paths.append(p)
    return paths


def iam_ondb_train() -> Path:
    """HDF5 file of the IAM-OnDB ``trainset`` lines (ink)."""
    from hwr.data.importers import iter_iam_ondb, read_split_file
    from hwr.data.inkset import write_inkset

    src, root = _iam_ondb()
    p = CACHE / "h5" / "iam-train.h5"
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        write_inkset(p, iter_iam_ondb(root, read_split_file(src / "trainset.txt"), on_error=lambda m: None),
                     split="iam-train")
    return p


def pages_validation(height: int = 48, holdout_every: int = 5) -> Path:
    """Line dataset of the held-back pages of ../shared/data/pages (every 5th page per
    collection, as `hwr import pages` splits them), normalised to ``height``."""
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.data.pages import find_pages, iter_page_lines, split_pages
    from hwr.errors import InputError
    from hwr.imaging.line import line_preprocessing, normalize_line, to_uint8

    folder = SHARED / "pages"
    if not folder.is_dir():
        sys.exit(f"pages not found at {folder}: set HWR_SHARED to the folder holding data/")
    from hwr.data.pages import BAND_CUT_VERSION

    out = CACHE / "h5" / f"pages-val-h{height}-every{holdout_every}-cut{BAND_CUT_VERSION}.h5"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    prep = line_preprocessing(height=height)
    split = split_pages(find_pages(folder), holdout_every)

    def lines():
        for coll, (_train, val) in split.items():
            for xml in val:
                for line, crop in iter_page_lines(xml, coll):
                    try:
                        img = to_uint8(normalize_line(crop, prep))
                    except InputError:
                        continue
                    yield LineSample(img, line.text, writer=xml.stem, source=xml.name, collection=coll,
                                     id=f"{coll}/{xml.stem}/{line.id}")

    write_lineset(out, lines(), prep, split="val")
    return out
