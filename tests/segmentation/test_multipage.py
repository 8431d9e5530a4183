"""`hwr segment` on multi-page TIFFs: one JSON object per input with every page's lines,
one PAGE XML per page, one ALTO file with a Page element per page; a corrupt page."""

import json
import struct
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from hwr.cli.segment import segment
from hwr.segmentation import segment_page
from segmentation.test_segmentation import make_page

ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
PAGE = "{http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15}"


@pytest.fixture(scope="module")
def pages():
    """Three pages of 2, 3 and 1 lines, with their line outlines."""
    return [make_page(n_lines=n, seed=s, noise=False) for n, s in ((2, 11), (3, 12), (1, 13))]


@pytest.fixture
def tiff(tmp_path, pages):
    p = tmp_path / "scan.tif"
    assert cv2.imwritemulti(str(p), [img for img, _ in pages])
    return p


def _rows(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


def test_jsonl_one_object_with_the_lines_of_every_page(tiff, pages, tmp_path):
    single = tmp_path / "single.tif"
    assert cv2.imwritemulti(str(single), [pages[0][0]])
    res = CliRunner().invoke(segment, [str(tiff), str(single)])
    assert res.exit_code == 0, res.output
    multi, one = _rows(res)
    assert multi["input"] == str(tiff) and multi["pages"] == 3 and "error" not in multi
    assert [ln["page"] for ln in multi["lines"]] == [1, 1, 2, 2, 2, 3]
    alone = segment_page(pages[1][0])  # a page is segmented as that image alone
    assert [ln["polygon"] for ln in multi["lines"] if ln["page"] == 2] == [[list(p) for p in ln.polygon]
                                                                           for ln in alone.lines]
    # a one-page TIFF is read as any single image: no "pages", no "page"
    assert "pages" not in one and len(one["lines"]) == 2 and all("page" not in ln for ln in one["lines"])
    assert "page 2/3" in res.stderr


def test_page_xml_per_page_and_one_alto_file(pages, tmp_path):
    from hwr.formats.validate import load_schema

    tiff = tmp_path / "scan.tif"
    assert cv2.imwritemulti(str(tiff), [img for img, _ in pages[:2]])
    out = tmp_path / "out"
    res = CliRunner().invoke(segment, [str(tiff), "--format", "page", "--out", str(out)])
    assert res.exit_code == 0, res.output
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["scan.p1.page.xml", "scan.p2.page.xml"]
    page_schema = load_schema("page")
    for f, n in zip(files, (2, 3)):
        page_schema.validate(str(f))
        root = ET.parse(f).getroot()
        assert len(root.findall(f".//{PAGE}TextLine")) == n
        assert root.find(f"{PAGE}Page").get("imageFilename") == str(tiff)
    res = CliRunner().invoke(segment, [str(tiff), "--format", "alto", "--out", str(out)])
    assert res.exit_code == 0, res.output
    alto = out / "scan.alto.xml"
    load_schema("alto").validate(str(alto))
    pgs = ET.parse(alto).getroot().findall(f".//{ALTO}Page")
    assert [p.get("PHYSICAL_IMG_NR") for p in pgs] == ["1", "2"]
    assert [len(p.findall(f".//{ALTO}TextLine")) for p in pgs] == [2, 3]
    ids = [e.get("ID") for e in ET.parse(alto).getroot().iter() if e.get("ID")]
    assert len(ids) == len(set(ids))
    # an earlier output (any page's) is not replaced unless asked
    (out / "scan.p1.page.xml").unlink()
    res = CliRunner().invoke(segment, [str(tiff), "--format", "page", "--out", str(out)])
    assert res.exit_code == 1 and "scan.p2.page.xml exists" in res.output
    assert not (out / "scan.p1.page.xml").exists()


def test_a_corrupt_page_is_reported_and_the_others_are_kept(tiff, tmp_path):
    from imaging.test_pages import _ifds

    data = bytearray(tiff.read_bytes())
    entry = _ifds(bytes(data))[1][273]  # page 2's strips: far beyond the end of the file
    count, where = struct.unpack("<I", data[entry + 4:entry + 8])[0], struct.unpack("<I", data[entry + 8:entry + 12])[0]
    for k in range(count):
        at = entry + 8 if count == 1 else where + 4 * k
        data[at:at + 4] = struct.pack("<I", 10 ** 8)
    tiff.write_bytes(bytes(data))
    res = CliRunner().invoke(segment, [str(tiff)])
    assert res.exit_code == 1
    (row,) = _rows(res)
    assert row["pages"] == 3 and "page 2" in row["error"] and "scan.tif" in row["error"]
    assert [ln["page"] for ln in row["lines"]] == [1, 1, 3]
    out = tmp_path / "xml"
    res = CliRunner().invoke(segment, [str(tiff), "--format", "page", "--out", str(out)])
    assert res.exit_code == 1 and "page 2" in res.output
    assert sorted(f.name for f in out.iterdir()) == ["scan.p1.page.xml", "scan.p3.page.xml"]


def test_blank_and_noise_pages_in_one_tiff(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "odd.tif"
    assert cv2.imwritemulti(str(p), [np.full((900, 700), 230, np.uint8),
                                     rng.integers(0, 256, (900, 700), dtype=np.uint8)])
    res = CliRunner().invoke(segment, [str(p)])
    assert res.exit_code == 0, res.output
    (row,) = _rows(res)
    assert row["pages"] == 2 and "error" not in row
    assert not [ln for ln in row["lines"] if ln["page"] == 1]  # a blank page has no lines
    assert not [ln for ln in row["lines"] if ln["page"] == 2]  # noise: no line structure
