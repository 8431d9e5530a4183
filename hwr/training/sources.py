"""Training data from whatever the user has: HDF5 datasets made by ``hwr import``, folders
of line images with ``.gt.txt`` files, folders of page images with PAGE or ALTO ground
truth, folders of ink files with transcriptions, and the corrections recorded by the
desktop app (which are such folders).

:func:`prepare_sources` turns every ``--data`` / ``--val`` argument into HDF5 datasets the
trainers read. A folder is imported once into a cache (``~/.cache/hwr/datasets``; the key
is the folder's listing with sizes and modification times, the line height and the split),
so a second run, or a run resumed after a kill, starts at once. When no validation data is
given, a share of the data is held out automatically, chosen by line or page name so that
the same lines are held out every time (resume and later comparisons stay fair).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hwr.errors import InputError
from hwr.paths import find_files

VAL_FRACTION = 0.1


@dataclass
class Sources:
    kind: str  # "image" or "ink": what the data can train
    train: list[Path] = field(default_factory=list)
    val: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was imported or held out, for the user


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hwr" / "datasets"


def _listing_key(folder: Path, extra: dict) -> str:
    h = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    h.update(str(folder.resolve()).encode())
    for p in find_files(folder):
        st = p.stat()
        h.update(f"{p.relative_to(folder).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def _is_page_xml(path: Path) -> bool:
    from hwr.ink.io import xml_flavour

    return xml_flavour(path) in ("page", "alto")


def folder_contents(folder: Path) -> set[str]:
    """What a folder holds: ``"lines"`` (images + .gt.txt), ``"pages"`` (PAGE/ALTO XML),
    ``"ink"`` (ink files)."""
    from hwr.data.importers import iter_ink_files
    from hwr.data.linefolder import find_line_pairs

    kinds = set()
    if find_line_pairs(folder):
        kinds.add("lines")
    if any(_is_page_xml(p) for p in find_files(folder, "*.xml")):
        kinds.add("pages")
    for p in iter_ink_files(folder):
        if p.suffix.lower() == ".xml" and _is_page_xml(p):
            continue
        kinds.add("ink")
        break
    return kinds


def _import_lines(folder: Path, height: int, fraction: float, out: tuple[Path, Path], problems: list[str]) -> None:
    from hwr.data.linefolder import line_folder_samples
    from hwr.data.lineset import write_lineset
    from hwr.imaging.line import line_preprocessing

    prep = line_preprocessing(height=height)
    sides: list[list] = [[], []]
    for held, sample in line_folder_samples(folder, prep, problems, val_fraction=fraction):
        sides[int(held)].append(sample)
    write_lineset(out[0], sides[0], prep, split="train")
    write_lineset(out[1], sides[1], prep, split="val")


def _import_pages(folder: Path, height: int, fraction: float, out: tuple[Path, Path], problems: list[str],
                  variants: bool = True) -> None:
    """As ``hwr import pages --band-variants`` does: each line cut by the band of its baseline,
    and, with ``variants``, those of the training pages by a narrower and a wider band too."""
    from hwr.data.lineset import write_lineset
    from hwr.data.pages import DEFAULT_CUT, TRAIN_BANDS, find_pages, page_line_samples, split_pages
    from hwr.imaging.line import line_preprocessing

    prep = line_preprocessing(height=height)
    pages = {c: [p for p in ps if _is_page_xml(p)] for c, ps in find_pages(folder).items()}
    split = split_pages(pages, round(1 / fraction) if fraction > 0 else 0)
    for side, o in enumerate(out):
        write_lineset(o, page_line_samples({c: parts[side] for c, parts in split.items()}, prep, problems,
                                           cut=DEFAULT_CUT, bands=TRAIN_BANDS if variants and side == 0 else None),
                      prep, split=("train", "val")[side])


def _import_ink(folder: Path, fraction: float, out: tuple[Path, Path], problems: list[str]) -> None:
    from hwr.data.importers import iter_ink_folder
    from hwr.data.inkset import write_inkset
    from hwr.data.linefolder import held_out

    name = folder.resolve().name
    items = [(f"{name}/{sid}", ink) for sid, ink in iter_ink_folder(folder, source=name, on_error=problems.append)]
    held = held_out([i for i, _ in items], fraction)
    write_inkset(out[0], [(i, k) for i, k in items if i not in held], split="train")
    write_inkset(out[1], [(i, k) for i, k in items if i in held], split="val")


def _split_dataset(path: Path, fraction: float, out: tuple[Path, Path]) -> None:
    """Split an HDF5 dataset by line id into train and validation files."""
    from hwr.data.linefolder import held_out
    from hwr.data.lineset import LineSet, dataset_format, write_lineset

    if dataset_format(path) == "hwr-lineset":
        ls = LineSet(path)
        samples = [ls[i] for i in range(len(ls))]
        names = [s.id or f"{s.source}#{k}" for k, s in enumerate(samples)]
        chosen = held_out(names, fraction)
        held = [n in chosen for n in names]
        for side, o in enumerate(out):
            write_lineset(o, [s for s, h in zip(samples, held) if h == bool(side)], ls.preprocessing,
                          split=("train", "val")[side])
        return
    from hwr.data.inkset import InkSet, write_inkset

    ks = InkSet(path)
    items = [(ks.ids[i], ks[i]) for i in range(len(ks))]
    chosen = held_out([i for i, _ in items], fraction)
    for side, o in enumerate(out):
        write_inkset(o, [(i, k) for i, k in items if (i in chosen) == bool(side)],
                     split=("train", "val")[side])


def _count(path: Path) -> int:
    import h5py

    with h5py.File(path, "r") as f:
        return int(len(f["text"]))


def prepare_sources(data: Sequence[str | os.PathLike], val: Sequence[str | os.PathLike] = (),
                    kind: str | None = None, height: int = 48, val_fraction: float = VAL_FRACTION,
                    on_message: Callable[[str], None] = lambda m: None) -> Sources:
    """HDF5 datasets for ``data`` and ``val`` (files or folders; see the module docstring).
    Without ``val``, ``val_fraction`` of the data is held out. Raises InputError when a
    source holds nothing usable."""
    from hwr.data.linefolder import MIN_HELD_OUT
    from hwr.data.lineset import dataset_format
    from hwr.data.pages import BAND_CUT_VERSION, DEFAULT_CUT, TRAIN_BANDS

    cache = cache_dir()
    auto_val = not val
    fraction = val_fraction if auto_val else 0.0
    out = Sources(kind=kind or "ink")
    image_data = False

    def convert(src: Path, is_val: bool) -> list[tuple[Path | None, Path | None]]:
        """(train file, held-out file) per kind of content of ``src``; None for an empty one."""
        nonlocal image_data
        frac = 0.0 if is_val else fraction
        if src.is_file():
            fmt = dataset_format(src)
            if fmt is None:
                raise InputError(f"{src}: not a dataset made by `hwr import` (nor a folder)")
            image_data |= fmt == "hwr-lineset"
            if kind == "ink" and fmt == "hwr-lineset":
                raise InputError(f"{src}: a line-image dataset, and an ink model learns from ink "
                                 "(train an image model: --kind image, or leave --kind out)")
            if frac <= 0:
                return [(src if _count(src) else None, None)]
            st = src.stat()
            key = hashlib.sha256(f"{src.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{frac}\0{MIN_HELD_OUT}"
                                 .encode()).hexdigest()[:24]
            pair = (cache / f"split-{key}-train.h5", cache / f"split-{key}-val.h5")
            if not all(p.exists() for p in pair):
                cache.mkdir(parents=True, exist_ok=True)
                _split_dataset(src, frac, pair)
            n_tr, n_va = _count(pair[0]), _count(pair[1])
            out.notes.append(f"{src}: {n_va} of {n_tr + n_va} lines held out for validation")
            return [(pair[0] if n_tr else None, pair[1] if n_va else None)]
        if not src.is_dir():
            raise InputError(f"{src}: no such file or folder")
        contents = folder_contents(src)
        if not contents:
            raise InputError(f"{src}: holds no line images with .gt.txt, no PAGE/ALTO pages and no ink files")
        if kind == "ink" and "ink" not in contents:
            raise InputError(f"{src}: holds line images or pages, no ink, and an ink model learns from ink "
                             "(train an image model: --kind image, or leave --kind out)")
        pairs = []
        for what in sorted(contents):
            if kind == "ink" and what != "ink":
                on_message(f"skipped: the {'line images' if what == 'lines' else 'pages'} in {src} (an ink model "
                           "learns from ink)")
                continue
            key = _listing_key(src, {"what": what, "height": height, "fraction": frac,
                                     **({"cut": DEFAULT_CUT, "band_version": BAND_CUT_VERSION,
                                         "train_bands": None if is_val else TRAIN_BANDS}
                                        if what == "pages" else {"min_held_out": MIN_HELD_OUT})})
            pair = (cache / f"{what}-{key}-train.h5", cache / f"{what}-{key}-val.h5")
            if not all(p.exists() for p in pair):
                cache.mkdir(parents=True, exist_ok=True)
                on_message(f"importing {what} from {src} ...")
                problems: list[str] = []
                if what == "lines":
                    _import_lines(src, height, frac, pair, problems)
                elif what == "pages":
                    _import_pages(src, height, frac, pair, problems, variants=not is_val)
                else:
                    _import_ink(src, frac, pair, problems)
                for p in problems[:20]:
                    on_message(f"skipped: {p}")
                if len(problems) > 20:
                    on_message(f"skipped: ... and {len(problems) - 20} more")
            n_tr, n_va = _count(pair[0]), _count(pair[1])
            if n_tr + n_va == 0:
                continue
            image_data |= what in ("lines", "pages")
            if what == "pages" and not is_val:  # the training pages' lines are cut several ways
                out.notes.append(f"{src}: {n_tr} line images of the training pages ({what}; each line cut by "
                                 f"{len(TRAIN_BANDS)} bands)" + (f", {n_va} held out for validation" if frac > 0 else ""))
            else:
                out.notes.append(f"{src}: {n_tr + n_va} {'ink lines' if what == 'ink' else 'line images'} ({what})"
                                 + (f", {n_va} held out for validation" if frac > 0 else ""))
            pairs.append((pair[0] if n_tr else None, pair[1] if frac > 0 and n_va else None))
        if not pairs:
            raise InputError(f"{src}: nothing usable in it (see the skipped files above)")
        return pairs

    for d in data:
        for tr, va in convert(Path(d), False):
            out.train += [tr] if tr else []
            out.val += [va] if va else []
    for v in val:
        out.val += [tr for tr, _ in convert(Path(v), True) if tr]
    if not out.train:
        raise InputError("no training lines in --data")
    if not out.val:
        raise InputError("no validation lines: give --val, or more data so that some can be held out (of 4 or more "
                         "lines of ink, line images or a dataset, one at least always is)")
    out.kind = kind or ("image" if image_data else "ink")
    return out
