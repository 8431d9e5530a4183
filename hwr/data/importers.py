"""Importers: turn public ink datasets and folders into hwr HDF5 datasets."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable, Iterator

from hwr.errors import InputError
from hwr.ink.io import iter_ink_files, load_ink, read_iam_ondb
from hwr.types import Ink

log = logging.getLogger(__name__)

_PUNCT_BEFORE = re.compile(r" ([.,;:?!)])")
_PUNCT_AFTER = re.compile(r"([(]) ")


def detokenize_iam(text: str) -> str:
    """Undo the LOB tokenisation of IAM transcriptions: ``"Mr . Foot , he"`` -> ``"Mr. Foot, he"``.

    Only spaces before ``. , ; : ? ! )`` and after ``(`` are removed; quotes are
    left as they are (their side is ambiguous).
    """
    text = _PUNCT_BEFORE.sub(r"\1", text)
    text = _PUNCT_AFTER.sub(r"\1", text)
    return text.strip()


def read_iam_csr(path: Path) -> list[str]:
    """The ``CSR:`` lines of an IAM-OnDB ``ascii`` form file (one per text line, in order)."""
    lines = path.read_text(encoding="latin-1").splitlines()
    try:
        k = next(i for i, ln in enumerate(lines) if ln.strip() == "CSR:")
    except StopIteration as e:
        raise InputError(f"{path}: no CSR: section") from e
    out = []
    for ln in lines[k + 1:]:
        if ln.strip():
            out.append(ln.strip())
        elif out:
            break
    return out


def read_split_file(path: Path) -> list[str]:
    return [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]


def iam_ondb_forms(root: Path) -> list[str]:
    """Form ids that have both a transcription (``ascii/``) and strokes (``lineStrokes/``)."""
    root = Path(root)
    return sorted(p.stem for p in root.glob("ascii/*/*/*.txt")
                  if any((root / "lineStrokes" / p.stem[:3] / p.stem[:7]).glob(f"{p.stem}-[0-9][0-9].xml")))


def iter_iam_ondb(root: str | Path, forms: list[str], detokenize: bool = True,
                  on_error: Callable[[str], None] | None = None) -> Iterator[tuple[str, Ink]]:
    """Lines of the given IAM-OnDB forms: ``lineStrokes/a01/a01-000/a01-000u-01.xml`` with
    the n-th ``CSR:`` line of ``ascii/a01/a01-000/a01-000u.txt``.  The writer id is the form id
    (IAM-OnDB's writer table is not in the archive)."""
    root = Path(root)
    for form in forms:
        base = form[:7]  # a01-000
        asc = root / "ascii" / form[:3] / base / f"{form}.txt"
        if not asc.exists():
            msg = f"IAM-OnDB form {form}: no ascii file {asc}"
            if on_error:
                on_error(msg)
                continue
            raise InputError(msg)
        texts = read_iam_csr(asc)
        nfiles = len(list((root / "lineStrokes" / form[:3] / base).glob(f"{form}-[0-9][0-9].xml")))
        if nfiles != len(texts):
            # lines and transcriptions cannot be paired safely
            msg = f"IAM-OnDB form {form}: {nfiles} stroke files but {len(texts)} transcribed lines; form skipped"
            if on_error:
                on_error(msg)
                continue
            raise InputError(msg)
        for n, text in enumerate(texts, start=1):
            xml = root / "lineStrokes" / form[:3] / base / f"{form}-{n:02d}.xml"
            if not xml.exists():
                if on_error:
                    on_error(f"IAM-OnDB form {form}: line {n} has no strokes file")
                continue
            try:
                ink = read_iam_ondb(xml, text=detokenize_iam(text) if detokenize else text)
            except InputError as e:
                if on_error:
                    on_error(str(e))
                    continue
                raise
            ink.writer = form
            ink.meta["raw_text"] = text
            yield f"{form}-{n:02d}", ink


def iter_ink_folder(folder: str | Path, source: str = "", on_error: Callable[[str], None] | None = None,
                    writer_from_parent: bool = True) -> Iterator[tuple[str, Ink]]:
    """Ink files with transcriptions under ``folder``: InkML (label from the ground-truth
    annotation), hwr JSON (``text``) or IAM-OnDB XML with a ``.txt`` of the same stem."""
    folder = Path(folder)
    for path in iter_ink_files(folder):
        rel = path.relative_to(folder).as_posix()
        try:
            ink = load_ink(path)
        except InputError as e:
            if on_error:
                on_error(str(e))
                continue
            raise
        if ink.text is None:
            side = path.with_suffix(".txt")
            gt = path.with_suffix(".gt.txt")
            for cand in (gt, side):
                if cand.exists():
                    ink.text = cand.read_text(encoding="utf-8").strip()
                    break
        if not ink.text:
            if on_error:
                on_error(f"{path}: no transcription")
            continue
        if ink.writer is None and writer_from_parent:
            ink.writer = path.parent.name
        if source:
            ink.source = source
        yield rel, ink


def imadocsen_writers(root: Path) -> list[str]:
    return sorted(p.name for p in (Path(root) / "data" / "sentences").iterdir() if p.is_dir())


def iter_imadocsen(root: str | Path, writers: list[str] | None = None,
                   on_error: Callable[[str], None] | None = None) -> Iterator[tuple[str, Ink]]:
    """Sentences of ImadocSen-OnDB (``data/sentences/<writer>/sentenceN.inkml``)."""
    root = Path(root)
    for w in writers or imadocsen_writers(root):
        for sid, ink in iter_ink_folder(root / "data" / "sentences" / w, source="imadocsen-ondb", on_error=on_error):
            ink.writer = w
            yield f"{w}/{sid}", ink


__all__ = ["detokenize_iam", "iter_iam_ondb", "iter_imadocsen", "iter_ink_folder", "iam_ondb_forms"]
