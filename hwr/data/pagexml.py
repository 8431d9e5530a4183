"""PAGE XML reader (2013-07-15 and 2019-07-15 schemas; the namespace is ignored).

Returns the page's image file name and its text lines (polygon, baseline, text)
in document order.
"""

from __future__ import annotations

import os
from pathlib import Path

from hwr.data.pages import PageDoc, PageLine
from hwr.data._xml import children, descendants, local, number, parse_points, read_xml
from hwr.errors import InputError


def _index(eq) -> int:
    try:
        return int(eq.get("index", "0"))
    except ValueError:  # not an integer (e.g. "1.5", or digits int() refuses such as "\u00b2")
        return 0


def _line_text(line) -> str:
    equivs = children(line, "TextEquiv")
    # prefer index 0 / the first TextEquiv that has a Unicode child
    equivs.sort(key=_index)
    for eq in equivs:
        for u in children(eq, "Unicode"):
            return u.text or ""
    return ""


def read_page_xml(path: str | os.PathLike, root=None) -> PageDoc:
    """Read a PAGE XML file (``root``: its root element when the file is parsed already)."""
    root = read_xml(path) if root is None else root
    if local(root.tag) != "PcGts":
        raise InputError(f"{path}: not a PAGE XML file (root <{local(root.tag)}>)")
    pages = children(root, "Page")
    if not pages:
        raise InputError(f"{path}: PAGE XML without a <Page>")
    page = pages[0]
    lines = []
    for k, tl in enumerate(descendants(page, "TextLine")):
        lid = tl.get("id") or f"l{k}"
        coords = children(tl, "Coords")
        poly = parse_points(coords[0].get("points"), f"{path}:{lid}") if coords else []
        bl = children(tl, "Baseline")
        base = parse_points(bl[0].get("points"), f"{path}:{lid}") if bl else []
        lines.append(PageLine(id=lid, polygon=poly, baseline=base, text=_line_text(tl)))
    return PageDoc(path=Path(path), image=page.get("imageFilename") or "", lines=lines,
                   width=int(number(page.get("imageWidth"), str(path), "imageWidth") or 0),
                   height=int(number(page.get("imageHeight"), str(path), "imageHeight") or 0))
