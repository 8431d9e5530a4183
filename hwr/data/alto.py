"""ALTO reader (versions 2 to 4; the namespace is ignored).

Line polygon from ``Shape/Polygon`` (else the HPOS/VPOS/WIDTH/HEIGHT box),
baseline from ``BASELINE`` (ALTO 4 points, or an ALTO 2/3 single y), text from
the line's ``String/@CONTENT`` joined by spaces.  Only pixel units are read.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from hwr.data.pages import PageDoc, PageLine
from hwr.data._xml import children, descendants, local, parse_points, read_xml
from hwr.errors import InputError


def _f(el, name: str) -> float | None:
    """A finite number, or None for an absent, non-numeric or non-finite attribute."""
    v = el.get(name)
    try:
        f = float(v) if v is not None else None
    except ValueError:
        return None
    return f if f is not None and math.isfinite(f) else None


def read_alto(path: str | os.PathLike, root=None) -> PageDoc:
    """Read an ALTO file (``root``: its root element when the file is parsed already)."""
    root = read_xml(path) if root is None else root
    if local(root.tag) != "alto":
        raise InputError(f"{path}: not an ALTO file (root <{local(root.tag)}>)")
    units = [u.text.strip() for u in descendants(root, "MeasurementUnit") if u.text]
    if units and units[0] != "pixel":
        raise InputError(f"{path}: ALTO measurement unit {units[0]!r} is not supported (only pixel)")
    names = [e.text.strip() for e in descendants(root, "fileName") if e.text and e.text.strip()]
    pages = descendants(root, "Page")
    width = int(_f(pages[0], "WIDTH") or 0) if pages else 0
    height = int(_f(pages[0], "HEIGHT") or 0) if pages else 0
    lines = []
    for k, tl in enumerate(descendants(root, "TextLine")):
        lid = tl.get("ID") or f"l{k}"
        where = f"{path}:{lid}"
        poly: list[tuple[float, float]] = []
        for shape in children(tl, "Shape"):
            for pg in children(shape, "Polygon"):
                poly = parse_points(pg.get("POINTS"), where)
        x, y, w, h = (_f(tl, a) for a in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
        if not poly and None not in (x, y, w, h):
            poly = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        base_attr = (tl.get("BASELINE") or "").strip()
        base: list[tuple[float, float]] = []
        if base_attr:
            try:  # ALTO 2/3: one y coordinate
                yb = float(base_attr)
                if x is not None and w is not None and math.isfinite(yb):
                    base = [(x, yb), (x + w, yb)]
            except ValueError:  # ALTO 4: points
                base = parse_points(base_attr, where)
        words = [s.get("CONTENT", "") for s in descendants(tl, "String")]
        lines.append(PageLine(id=lid, polygon=poly, baseline=base, text=" ".join(w for w in words if w)))
    return PageDoc(path=Path(path), image=names[0] if names else "", lines=lines, width=width, height=height)
