"""Output writers: plain text, JSON, ALTO 4 and PAGE XML 2019, and a validator of ALTO / PAGE
files against the official schemas shipped in ``hwr/formats/schemas/`` (needs ``xmlschema``).

Every writer takes a :class:`hwr.types.Page` and a destination: a path (written
atomically: temporary file + rename) or an open file object (text or binary).
This package imports neither torch, OpenCV nor Qt.

``FORMATS`` maps each format name to ``(writer, file suffix)``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from hwr.formats._common import write_output as write_atomic
from hwr.formats.alto import write_alto
from hwr.formats.pagexml import write_page
from hwr.formats.text import page_dict, write_json, write_text
from hwr.formats.validate import schema_path, validate
from hwr.types import Page


class Format(NamedTuple):
    write: Callable[..., None]
    suffix: str


FORMATS: dict[str, Format] = {
    "txt": Format(write_text, ".txt"),
    "json": Format(write_json, ".json"),
    "alto": Format(write_alto, ".alto.xml"),
    "page": Format(write_page, ".page.xml"),
}


def _version() -> str | None:
    try:
        from importlib.metadata import version

        return version("hwr")
    except Exception:  # not installed (running from a checkout)
        return None


__all__ = ["FORMATS", "Format", "Page", "page_dict", "schema_path", "validate", "write_atomic", "write_alto", "write_json", "write_page", "write_text"]
