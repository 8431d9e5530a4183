"""Shared helpers of the PAGE and ALTO readers: safe parsing, namespace-free tags, points."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from xml.etree.ElementTree import Element

from hwr.errors import InputError
from hwr.ink.io import _parse_xml

MAX_XML_BYTES = 64 * 1024 * 1024


def read_xml(path: str | os.PathLike) -> Element:
    """Parse an XML file with defusedxml (no entities, no external references)."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_XML_BYTES:
            raise InputError(f"{path}: XML file too large")
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    if not data.strip():
        raise InputError(f"{path}: empty file")
    return _parse_xml(data, str(path))


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(el: Element, name: str) -> list[Element]:
    return [c for c in el if local(c.tag) == name]


def descendants(el: Element, name: str) -> list[Element]:
    return [c for c in el.iter() if local(c.tag) == name]


_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: most points read from one polygon or baseline (a line's outline has tens to hundreds)
MAX_POLYGON_POINTS = 100_000


def parse_points(text: str | None, where: str) -> list[tuple[float, float]]:
    """``"x,y x,y"`` (PAGE) or ``"x y x y"`` (ALTO) -> [(x, y), ...].  Raises InputError for an
    odd count, a non-finite coordinate or more than :data:`MAX_POLYGON_POINTS` points (counted
    before any is converted, so a 50 MB attribute costs no more than its own text)."""
    text = text or ""
    nums: list[float] = []
    for k, m in enumerate(_NUM.finditer(text)):
        if k >= 2 * MAX_POLYGON_POINTS:
            raise InputError(f"{where}: more than {MAX_POLYGON_POINTS:,} points in one polygon")
        v = float(m.group())
        if not math.isfinite(v):
            raise InputError(f"{where}: coordinate {m.group()[:40]!r} is not finite")
        nums.append(v)
    if len(nums) % 2:
        raise InputError(f"{where}: odd number of coordinates in {text[:60]!r}")
    return list(zip(nums[0::2], nums[1::2]))


def number(value: str | None, where: str, what: str) -> float | None:
    """A finite number from an attribute (None when absent); InputError naming ``where`` otherwise."""
    if value is None or not value.strip():
        return None
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"{where}: {what} {value[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{where}: {what} {value[:40]!r} is not finite")
    return v
