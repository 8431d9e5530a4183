"""Folders of line images with ``.gt.txt`` transcriptions (the kraken / Tesseract
convention: ``line_0001.png`` + ``line_0001.gt.txt``), as written by the desktop app's
page corrections, by kraken's ``ketos extract`` and by many ground-truth tools."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from hwr.errors import InputError
from hwr.paths import find_files

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
MAX_GT_BYTES = 64 * 1024  # one line of text: anything larger is not a line's transcription


def find_line_pairs(folder: str | os.PathLike, on_error: Callable[[str], None] = lambda m: None
                    ) -> list[tuple[Path, Path]]:
    """``(image, gt.txt)`` pairs under ``folder`` (recursively, sorted). A ``.gt.txt`` with no
    image beside it is reported through ``on_error``; images without one are not lines of
    ground truth and are passed over silently."""
    folder = Path(folder)
    pairs = []
    for gt in find_files(folder, "*.gt.txt"):
        if any(part.startswith(".") for part in gt.relative_to(folder).parts):
            continue
        stem = gt.name[: -len(".gt.txt")]
        images = [gt.with_name(stem + s) for s in IMAGE_SUFFIXES if gt.with_name(stem + s).is_file()]
        if not images:
            on_error(f"{gt}: no line image beside it ({stem}.png, .jpg, ...)")
            continue
        pairs.append((images[0], gt))
    return pairs


def read_gt(path: Path) -> str:
    """The transcription in a ``.gt.txt``: UTF-8 (a BOM allowed), one line, surrounding
    white space removed. Raises InputError for an unreadable, non-UTF-8 or oversized file."""
    try:
        if path.stat().st_size > MAX_GT_BYTES:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes is not one line of text")
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    return " ".join(text.split())


#: the fewest lines held out for validation from a set of a dozen lines or more (see held_out)
MIN_HELD_OUT = 3


def _unit(name: str) -> float:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2 ** 64


def is_validation(name: str, fraction: float) -> bool:
    """A deterministic split by file name (the same line is always on the same side)."""
    return fraction > 0 and _unit(name) < fraction


def held_out(names: Sequence[str], fraction: float, minimum: int = MIN_HELD_OUT) -> set[str]:
    """The names of ``names`` held out for validation: those :func:`is_validation` picks, and
    where they are fewer than ``min(minimum, len(names) // 4)``, the next ones by the same
    hash. On a large set this is :func:`is_validation`'s split; on a user's first few dozen
    corrections a tenth may be no line at all, and then there is nothing to stop the training
    by or to compare the new model with its base on."""
    if fraction <= 0:
        return set()
    unique = set(names)
    held = {n for n in unique if is_validation(n, fraction)}
    want = min(minimum, len(unique) // 4)
    if len(held) < want:
        held.update(sorted(unique - held, key=_unit)[: want - len(held)])
    return held


def iter_line_folder(folder: str | os.PathLike, on_error: Callable[[str], None] = lambda m: None,
                     pairs: Sequence[tuple[Path, Path]] | None = None) -> Iterator[tuple[Path, str, "object"]]:
    """``(image path, text, grayscale image)`` for every readable pair with a non-empty text;
    problems (unreadable image or text, empty transcription) go to ``on_error``.  ``pairs``:
    the folder's :func:`find_line_pairs`, when the caller has them already."""
    from hwr.imaging.load import load_image

    for img, gt in find_line_pairs(folder, on_error) if pairs is None else pairs:
        try:
            text = read_gt(gt)
            if not text:
                on_error(f"{gt}: empty transcription")
                continue
            yield img, text, load_image(img)
        except InputError as e:
            on_error(str(e))


def line_folder_samples(folder: str | os.PathLike, prep: dict, problems: list[str], collection: str = "",
                        val_fraction: float = 0.0) -> Iterator[tuple[bool, "object"]]:
    """``(held out?, LineSample)`` for every usable line of ``folder``, normalised with
    ``prep``; with ``val_fraction``, the lines :func:`held_out` picks are held out."""
    from hwr.data.lineset import LineSample
    from hwr.imaging.line import normalize_line, to_uint8

    folder = Path(folder)
    coll = collection or folder.resolve().name
    pairs = find_line_pairs(folder, problems.append)
    held = held_out([f"{coll}/{img.relative_to(folder).as_posix()}" for img, _ in pairs], val_fraction)
    for img_path, text, gray in iter_line_folder(folder, problems.append, pairs):
        try:
            img = to_uint8(normalize_line(gray, prep, str(img_path)))
        except InputError as e:
            problems.append(str(e))
            continue
        rel = img_path.relative_to(folder).as_posix()
        yield (f"{coll}/{rel}" in held,
               LineSample(img, text, writer=coll, source=rel, collection=coll, id=f"{coll}/{rel}"))
