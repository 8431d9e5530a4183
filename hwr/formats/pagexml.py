"""PAGE XML writer (schema 2019-07-15)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from hwr.formats._common import (Dest, serialize, baseline_points, bbox, box_polygon, clamp01, line_outline,
                                 line_words, points_str, reading_order, write_output, xml_text)
from hwr.types import Page

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PAGE_SCHEMA_LOCATION = f"{PAGE_NS} {PAGE_NS}/pagecontent.xsd"


def _conf(v: float) -> str:
    return f"{clamp01(v):.4f}".rstrip("0").rstrip(".") if clamp01(v) > 0 else "0"


def page_tree(page: Page, software_version: str | None = None) -> ET.ElementTree:
    """The PAGE document for ``page``."""
    q = lambda tag: f"{{{PAGE_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("PcGts"), {f"{{{XSI_NS}}}schemaLocation": PAGE_SCHEMA_LOCATION})
    meta = ET.SubElement(root, q("Metadata"))
    ET.SubElement(meta, q("Creator")).text = "hwr" + (f" {software_version}" if software_version else "")
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    ET.SubElement(meta, q("Created")).text = now
    ET.SubElement(meta, q("LastChange")).text = now
    pg = ET.SubElement(root, q("Page"), {"imageFilename": xml_text(page.image or ""),
                                        "imageWidth": str(int(page.width)),
                                        "imageHeight": str(int(page.height))})
    regions = reading_order(page)
    if regions:
        group = ET.SubElement(ET.SubElement(pg, q("ReadingOrder")), q("OrderedGroup"), {"id": "ro1"})
        for r in range(1, len(regions) + 1):
            ET.SubElement(group, q("RegionRefIndexed"), {"index": str(r - 1), "regionRef": f"r{r}"})
    n_line = 0
    for r, (region_pts, idx) in enumerate(regions, start=1):
        reg = ET.SubElement(pg, q("TextRegion"), {"id": f"r{r}"})
        ET.SubElement(reg, q("Coords"), {"points": points_str(region_pts)})
        for i in idx:
            line = page.lines[i]
            n_line += 1
            lid = f"l{n_line}"
            pts = line_outline(line, page)
            x0, y0, x1, y1 = bbox(pts)
            tl = ET.SubElement(reg, q("TextLine"), {"id": lid})
            ET.SubElement(tl, q("Coords"), {"points": points_str(pts)})
            base = baseline_points(line, page)
            if base:
                ET.SubElement(tl, q("Baseline"), {"points": points_str(base)})
            for k, w in enumerate(line_words(line, x0, x1), start=1):
                word = ET.SubElement(tl, q("Word"), {"id": f"{lid}_w{k}"})
                wx1 = min(w.x1, page.width - 1) if page.width > 0 else w.x1
                ET.SubElement(word, q("Coords"), {"points": points_str(box_polygon(w.x0, y0, wx1, y1, page))})
                eq = ET.SubElement(word, q("TextEquiv"), {"conf": _conf(w.confidence)})
                ET.SubElement(eq, q("Unicode")).text = w.text
            text = xml_text(line.text or "")
            if text:
                eq = ET.SubElement(tl, q("TextEquiv"), {"conf": _conf(line.confidence)})
                ET.SubElement(eq, q("Unicode")).text = text
    return ET.ElementTree(root)


def to_page(page: Page) -> bytes:
    """The PAGE document as UTF-8 bytes with an XML declaration."""
    from hwr.formats import _version

    return serialize(page_tree(page, software_version=_version()), PAGE_NS, XSI_NS)


def write_page(page: Page, dest: Dest) -> None:
    """Write ``page`` as PAGE 2019 (``.page.xml``): regions in a reading order, lines with
    Coords, Baseline and TextEquiv (conf + Unicode), Words with estimated boxes."""
    write_output(dest, to_page(page))
