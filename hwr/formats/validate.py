"""Validate ALTO 4 and PAGE 2019 files against the official XSD schemas shipped with hwr.

The schemas lie in ``hwr/formats/schemas/`` (see the README there for their sources and
licences).  Validation needs the optional package ``xmlschema`` (``pip install xmlschema``,
or the ``validate`` extra of hwr); nothing is fetched from the network: the XLink schema
that ALTO imports is mapped to the local copy and xmlschema runs in its sandbox mode.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from hwr.errors import HwrError, InputError

SCHEMA_DIR = Path(__file__).parent / "schemas"
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XLINK_NS = "http://www.w3.org/1999/xlink"
SCHEMA_FILES = {"alto": "alto-4-4.xsd", "page": "pagecontent-2019-07-15.xsd"}
_NAMESPACES = {ALTO_NS: "alto", PAGE_NS: "page"}


def schema_path(fmt: str) -> Path:
    """The XSD file of ``fmt`` ("alto" or "page")."""
    try:
        return SCHEMA_DIR / SCHEMA_FILES[fmt]
    except KeyError:
        raise ValueError(f"no schema for format {fmt!r}; known: {', '.join(SCHEMA_FILES)}") from None


@functools.lru_cache(maxsize=None)
def load_schema(fmt: str):
    """The ``xmlschema.XMLSchema`` of ``fmt``, offline (loaded once per process)."""
    path = schema_path(fmt)
    try:
        import xmlschema
    except ImportError as e:
        raise HwrError(f"validating {fmt} files needs xmlschema ({e}); install it with: pip install xmlschema") from e
    locations = {XLINK_NS: str(SCHEMA_DIR / "xlink.xsd")} if fmt == "alto" else None
    return xmlschema.XMLSchema(str(path), locations=locations, allow="sandbox")


def detect_format(path: str | os.PathLike) -> str:
    """"alto" or "page", from the namespace of the document's root element."""
    import defusedxml.ElementTree as DET

    try:
        for _, elem in DET.iterparse(str(path), events=("start",)):
            ns = elem.tag[1:].split("}")[0] if elem.tag.startswith("{") else ""
            if ns in _NAMESPACES:
                return _NAMESPACES[ns]
            raise InputError(f"{path}: the root element {elem.tag!r} is neither ALTO 4 nor PAGE 2019")
    except (OSError, SyntaxError, ValueError) as e:  # ParseError: SyntaxError; defusedxml's refusals: ValueError
        raise InputError(f"{path}: cannot read it as XML ({e})") from e
    raise InputError(f"{path}: no XML element")


def validate(path: str | os.PathLike, fmt: str | None = None, max_errors: int = 10) -> list[str]:
    """The schema errors of an ALTO or PAGE file (at most ``max_errors``); empty if it is valid.

    ``fmt``: "alto" or "page"; by default detected from the root element's namespace.
    """
    detected = detect_format(path)  # also when fmt is given: defusedxml refuses entities first
    fmt = fmt or detected
    errors = []
    try:
        # an absolute path: xmlschema resolves a relative one with a folder in it against that
        # folder again ("out/p.page.xml" -> "out/out/p.page.xml") and fails with XMLResourceOSError
        for err in load_schema(fmt).iter_errors(str(Path(path).resolve())):
            errors.append(f"{err.path or '/'}: {err.reason or err.message}")
            if len(errors) >= max_errors:
                break
    except (OSError, SyntaxError) as e:  # xmlschema's resource errors derive from these
        raise InputError(f"{path}: cannot read it as XML ({e})") from e
    return errors
