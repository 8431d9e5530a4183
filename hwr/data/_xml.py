"""Shared helpers of the PAGE and ALTO readers: safe parsing, namespace-free tags, points."""

from __future__ import annotations

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


def parse_points(text: str | None, where: str) -> list[tuple[float, float]]:
    """``"x,y x,y"`` (PAGE) or ``"x y x y"`` (ALTO) -> [(x, y), ...]."""
    nums = [float(v) for v in _NUM.findall(text or "")]
    if len(nums) % 2:
        raise InputError(f"{where}: odd number of coordinates in {text[:60]!r}")
    return list(zip(nums[0::2], nums[1::2]))
