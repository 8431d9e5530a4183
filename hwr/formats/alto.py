"""ALTO 4 writer (schema 4.4; baselines in the 4.2+ points form)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Sequence

from hwr.formats._common import (Dest, serialize, baseline_points, bbox, line_outline, line_words, points_str,
                                 reading_order, write_output, xml_text)
from hwr.types import Page

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ALTO_SCHEMA_LOCATION = f"{ALTO_NS} http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"


def _conf(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".") if v > 0 else "0"


def _box(el: ET.Element, x0: int, y0: int, x1: int, y1: int) -> None:
    el.set("HPOS", str(x0))
    el.set("VPOS", str(y0))
    el.set("WIDTH", str(x1 - x0))
    el.set("HEIGHT", str(y1 - y0))


def alto_tree(page: Page | Sequence[Page], software_version: str | None = None) -> ET.ElementTree:
    """The ALTO document for ``page`` (pixel units), or for the pages of one multi-page image
    (one ``Page`` element each, ``PHYSICAL_IMG_NR`` = ``Page.number``; IDs unique across pages)."""
    pages = [page] if isinstance(page, Page) else list(page)
    if not pages:
        raise ValueError("no page to write")
    q = lambda tag: f"{{{ALTO_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("alto"), {f"{{{XSI_NS}}}schemaLocation": ALTO_SCHEMA_LOCATION,
                                  "SCHEMAVERSION": "4.4"})
    desc = ET.SubElement(root, q("Description"))
    ET.SubElement(desc, q("MeasurementUnit")).text = "pixel"
    src = ET.SubElement(desc, q("sourceImageInformation"))
    ET.SubElement(src, q("fileName")).text = xml_text(pages[0].image or "")
    proc = ET.SubElement(desc, q("Processing"), {"ID": "proc1"})
    ET.SubElement(proc, q("processingCategory")).text = "contentGeneration"
    ET.SubElement(proc, q("processingDateTime")).text = (
        datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"))
    sw = ET.SubElement(proc, q("processingSoftware"))
    ET.SubElement(sw, q("softwareName")).text = "hwr"
    if software_version:
        ET.SubElement(sw, q("softwareVersion")).text = software_version

    layout = ET.SubElement(root, q("Layout"))
    n_line = 0
    n_block = 0
    for k, page in enumerate(pages, start=1):
        pg = ET.SubElement(layout, q("Page"), {"ID": f"page{k}", "PHYSICAL_IMG_NR": str(int(page.number)),
                                               "WIDTH": str(int(page.width)), "HEIGHT": str(int(page.height))})
        space = ET.SubElement(pg, q("PrintSpace"), {"HPOS": "0", "VPOS": "0", "WIDTH": str(int(page.width)),
                                                    "HEIGHT": str(int(page.height))})
        n_line, n_block = _page_content(space, page, q, n_line, n_block)
    return ET.ElementTree(root)


def _page_content(space: ET.Element, page: Page, q, n_line: int, n_block: int) -> tuple[int, int]:
    """The blocks and lines of ``page`` in its PrintSpace; IDs numbered on from ``n_line``/``n_block``."""
    for region_pts, idx in reading_order(page):
        n_block += 1
        block = ET.SubElement(space, q("TextBlock"), {"ID": f"block_{n_block}"})
        _box(block, *bbox(region_pts))
        ET.SubElement(ET.SubElement(block, q("Shape")), q("Polygon"), {"POINTS": points_str(region_pts)})
        for i in idx:
            line = page.lines[i]
            n_line += 1
            lid = f"line_{n_line}"
            pts = line_outline(line, page)
            x0, y0, x1, y1 = bbox(pts)
            tl = ET.SubElement(block, q("TextLine"), {"ID": lid})
            _box(tl, x0, y0, x1, y1)
            base = baseline_points(line, page)
            if base:
                tl.set("BASELINE", points_str(base))
            ET.SubElement(ET.SubElement(tl, q("Shape")), q("Polygon"), {"POINTS": points_str(pts)})
            words = line_words(line, x0, x1)
            if not words:
                # the schema wants at least one String per TextLine: an empty one
                s = ET.SubElement(tl, q("String"), {"ID": f"{lid}_w1", "CONTENT": ""})
                _box(s, x0, y0, x1, y1)
                continue
            for k, w in enumerate(words, start=1):
                if k > 1:
                    prev = words[k - 2]
                    sp = ET.SubElement(tl, q("SP"))
                    if w.x0 > prev.x1:
                        sp.set("HPOS", str(prev.x1))
                        sp.set("VPOS", str(y0))
                        sp.set("WIDTH", str(w.x0 - prev.x1))
                s = ET.SubElement(tl, q("String"), {"ID": f"{lid}_w{k}", "CONTENT": w.text})
                _box(s, w.x0, y0, w.x1, y1)
                s.set("WC", _conf(w.confidence))
    return n_line, n_block


def to_alto(page: Page | Sequence[Page]) -> bytes:
    """The ALTO document as UTF-8 bytes with an XML declaration."""
    from hwr.formats import _version

    return serialize(alto_tree(page, software_version=_version()), ALTO_NS, XSI_NS)


def write_alto(page: Page | Sequence[Page], dest: Dest) -> None:
    """Write ``page`` as ALTO 4 (``.alto.xml``): blocks = regions, lines with polygon,
    box and baseline, one String per word (WC = word confidence, box estimated).
    A list of pages (of one multi-page image) gives one document with a Page element each."""
    write_output(dest, to_alto(page))
