"""Writers (txt, JSON, ALTO 4, PAGE 2019): schema validity, round trips through the readers,
escaping, geometry fallbacks, atomic writes."""

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema  # the test extra: a missing install fails here instead of skipping

from hwr.data.pages import read_page
from hwr.formats import FORMATS, write_alto, write_json, write_page, write_text
from hwr.formats.validate import SCHEMA_DIR, load_schema
from hwr.types import Alternative, CharSpan, LineResult, Page, Region

SCHEMAS = SCHEMA_DIR  # the copies shipped in the package (hwr/formats/schemas)
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XLINK_NS = "http://www.w3.org/1999/xlink"


@pytest.fixture(scope="module")
def alto_schema():
    # the ALTO schema imports xlink from the web: load_schema maps it to the local copy, allows no fetching
    return load_schema("alto")


@pytest.fixture(scope="module")
def page_schema():
    return load_schema("page")


def _validate(schema, path):
    errors = list(schema.iter_errors(str(path)))
    assert not errors, "\n".join(str(e)[:400] for e in errors[:3])


def _chars(text, first=3, step=4, conf=0.9):
    """Character spans: one character every ``step`` frames from frame ``first``."""
    return [CharSpan(c, first + k * step, first + k * step + 1, conf) for k, c in enumerate(text)]


TRICKY = "<&>\"' Été naïve \x07bell 🙂 fin"  # markup characters, accents, a control character, an emoji
TRICKY_CLEAN = "<&>\"' Été naïve bell 🙂 fin"


def sample_page():
    lines = [
        LineResult("Hello world", 0.91, chars=_chars("Hello world", conf=0.8),
                   alternatives=[Alternative("Hello world", -0.1), Alternative("Hallo world", -2.3)],
                   polygon=[(10, 20), (390, 20), (390, 80), (10, 80)], baseline=[(10, 70), (390, 72)]),
        LineResult(TRICKY, 0.55,
                   polygon=[(12.4, 100.6), (380.2, 98.9), (381, 160), (11.7, 161.2)], baseline=[(12, 150), (381, 150)]),
        LineResult("", 0.0, polygon=[(20, 170), (300, 170), (300, 195), (20, 195)], baseline=[(20, 190), (300, 190)]),
        LineResult("second block", 0.7, chars=_chars("second block", conf=0.6),
                   polygon=[(420, 30), (600, 30), (600, 90), (420, 90)], baseline=[(420, 80), (510, 82), (600, 80)]),
    ]
    regions = [Region([(5, 10), (395, 10), (395, 199), (5, 199)], [0, 1, 2]),
               Region([(410, 20), (640, 20), (640, 100), (410, 100)], [3])]
    return Page(image="scans/p1.png", width=640, height=200, lines=lines, regions=regions)


def _rounded(points):
    return [(int(round(x)), int(round(y))) for x, y in points]


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_xml_validates_and_round_trips(tmp_path, fmt, alto_schema, page_schema):
    page = sample_page()
    out = tmp_path / f"p1{FORMATS[fmt].suffix}"
    FORMATS[fmt].write(page, out)
    _validate(alto_schema if fmt == "alto" else page_schema, out)
    doc = read_page(out)
    assert doc.image == "scans/p1.png" and (doc.width, doc.height) == (640, 200)
    assert [ln.text for ln in doc.lines] == ["Hello world", TRICKY_CLEAN, "", "second block"]
    assert [ln.polygon for ln in doc.lines] == [_rounded(ln.polygon) for ln in page.lines]
    assert [ln.baseline for ln in doc.lines] == [_rounded(ln.baseline) for ln in page.lines]
    ids = [ln.id for ln in doc.lines]
    assert len(set(ids)) == len(ids)


def test_alto_structure(tmp_path, alto_schema):
    out = tmp_path / "p.alto.xml"
    write_alto(sample_page(), out)
    root = ET.parse(out).getroot()
    ns = {"a": ALTO_NS}
    assert root.find("a:Description/a:MeasurementUnit", ns).text == "pixel"
    blocks = root.findall(".//a:TextBlock", ns)
    assert [len(b.findall("a:TextLine", ns)) for b in blocks] == [3, 1]
    first = blocks[0].find("a:TextLine", ns)
    assert (first.get("HPOS"), first.get("VPOS"), first.get("WIDTH"), first.get("HEIGHT")) == ("10", "20", "380", "60")
    assert first.get("BASELINE") == "10,70 390,72"
    strings = first.findall("a:String", ns)
    assert [s.get("CONTENT") for s in strings] == ["Hello", "world"]
    assert len(first.findall("a:SP", ns)) == 1
    assert float(strings[0].get("WC")) == pytest.approx(0.8)
    # char spans: 11 characters, one every 4 frames -> "Hello" is the first 5/11 of the frames
    x0, w0 = float(strings[0].get("HPOS")), float(strings[0].get("WIDTH"))
    x1 = float(strings[1].get("HPOS"))
    assert x0 == 10 and 155 < x0 + w0 < 185 and x1 > x0 + w0
    # the segmentation-only line: one empty String (the schema needs one), no WC
    empty = blocks[0].findall("a:TextLine", ns)[2].findall("a:String", ns)
    assert [(s.get("CONTENT"), s.get("WC")) for s in empty] == [("", None)]
    # the tricky line's words: the control character is gone, the rest escaped and back
    tricky = [s.get("CONTENT") for s in blocks[0].findall("a:TextLine", ns)[1].findall("a:String", ns)]
    assert tricky == TRICKY_CLEAN.split(" ")


def test_page_structure(tmp_path):
    out = tmp_path / "p.page.xml"
    write_page(sample_page(), out)
    root = ET.parse(out).getroot()
    ns = {"p": PAGE_NS}
    assert root.find("p:Metadata/p:Creator", ns).text.startswith("hwr")
    refs = root.findall("p:Page/p:ReadingOrder/p:OrderedGroup/p:RegionRefIndexed", ns)
    regions = root.findall("p:Page/p:TextRegion", ns)
    assert [r.get("regionRef") for r in refs] == [r.get("id") for r in regions] and len(regions) == 2
    assert regions[0].find("p:Coords", ns).get("points") == "5,10 395,10 395,199 5,199"
    lines = root.findall(".//p:TextLine", ns)
    first = lines[0]
    assert first.find("p:TextEquiv", ns).get("conf") == "0.91"
    words = first.findall("p:Word", ns)
    assert [w.find("p:TextEquiv/p:Unicode", ns).text for w in words] == ["Hello", "world"]
    # Words come before the line's TextEquiv (schema order) and carry their own confidence
    assert [c.tag.split("}")[1] for c in first] == ["Coords", "Baseline", "Word", "Word", "TextEquiv"]
    assert float(words[0].find("p:TextEquiv", ns).get("conf")) == pytest.approx(0.8)
    # no chars on the tricky line: word boxes shared out by character count, line confidence
    tw = lines[1].findall("p:Word", ns)
    assert [float(w.find("p:TextEquiv", ns).get("conf")) for w in tw] == [0.55] * len(TRICKY_CLEAN.split(" "))
    xs = [int(w.find("p:Coords", ns).get("points").split()[0].split(",")[0]) for w in tw]
    assert xs == sorted(xs) and xs[0] == 12
    # the empty line: no Word, no TextEquiv
    assert [c.tag.split("}")[1] for c in lines[2]] == ["Coords", "Baseline"]


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_empty_page_is_valid(tmp_path, fmt, alto_schema, page_schema):
    out = tmp_path / f"e{FORMATS[fmt].suffix}"
    FORMATS[fmt].write(Page(image="e.png", width=100, height=50), out)
    _validate(alto_schema if fmt == "alto" else page_schema, out)
    assert read_page(out).lines == []


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_bad_geometry_gets_valid_outlines(tmp_path, fmt, alto_schema, page_schema):
    """Degenerate polygons, points outside the page, NaN-free floats, a line without geometry."""
    lines = [
        LineResult("two points", 0.5, polygon=[(10, 10), (50, 30)]),                         # < 3 points
        LineResult("collinear", 1.5, polygon=[(0, 40), (20, 40), (60, 40)]),                # no area
        LineResult("outside", -0.2, polygon=[(-30, -5), (130, -5), (130, 20), (-30, 20)],
                   baseline=[(-10, 15), (140, 15)]),                                         # clipped
        LineResult("nothing", 0.5),                                                          # no geometry
        LineResult("one-point baseline", 0.5, polygon=[(5, 5), (30, 5), (30, 9), (5, 9)], baseline=[(7, 8), (7.2, 8.1)]),
    ]
    page = Page(image="g.png", width=100, height=50, lines=lines,
                regions=[Region([(1, 1), (1, 1)], [0, 1, 2]), Region([], [3, 4])])
    out = tmp_path / f"g{FORMATS[fmt].suffix}"
    FORMATS[fmt].write(page, out)
    _validate(alto_schema if fmt == "alto" else page_schema, out)
    doc = read_page(out)
    assert [ln.text for ln in doc.lines] == [ln.text for ln in lines]
    for ln in doc.lines:
        assert len(ln.polygon) >= 3
        assert all(0 <= x <= 99 and 0 <= y <= 49 for x, y in ln.polygon)
    assert doc.lines[0].polygon == [(10, 10), (50, 10), (50, 30), (10, 30)]   # bbox fallback
    assert doc.lines[1].polygon == [(0, 40), (60, 40), (60, 41), (0, 41)]
    assert doc.lines[2].baseline == [(0, 15), (99, 15)]
    assert doc.lines[3].polygon == [(0, 0), (99, 0), (99, 49), (0, 49)]       # whole page
    assert doc.lines[4].baseline == []                                           # one point after rounding: dropped


def test_lines_outside_regions_and_no_regions(tmp_path, page_schema):
    page = sample_page()
    page.regions = [Region([(410, 20), (640, 20), (640, 100), (410, 100)], [3, 3])]  # lists line 3 twice
    out = tmp_path / "p.page.xml"
    write_page(page, out)
    _validate(page_schema, out)
    assert [ln.text for ln in read_page(out).lines] == ["second block", "Hello world", TRICKY_CLEAN, ""]
    page.regions = []
    write_page(page, out)
    _validate(page_schema, out)
    assert [ln.text for ln in read_page(out).lines] == ["Hello world", TRICKY_CLEAN, "", "second block"]
    root = ET.parse(out).getroot()
    assert len(root.findall(f".//{{{PAGE_NS}}}TextRegion")) == 1


def test_text_output(tmp_path):
    out = tmp_path / "p.txt"
    write_text(sample_page(), out)
    assert out.read_text(encoding="utf-8") == f"Hello world\n{TRICKY}\n\nsecond block\n"
    buf = io.StringIO()
    write_text(Page(image="x", width=1, height=1), buf)
    assert buf.getvalue() == ""


def test_json_contract(tmp_path):
    out = tmp_path / "p.json"
    page = sample_page()
    write_json(page, out)
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["input"] == "scans/p1.png" and (d["width"], d["height"]) == (640, 200)
    assert d["text"] == "\n".join(ln.text for ln in page.lines)
    assert d["lines"] == [ln.to_dict() for ln in page.lines]
    first = d["lines"][0]
    assert set(first) == {"text", "confidence", "polygon", "baseline", "alternatives"}
    assert first["alternatives"][1] == {"text": "Hallo world", "score": -2.3}
    assert [r["lines"] for r in d["regions"]] == [[0, 1, 2], [3]]
    assert d["regions"][0]["polygon"] == [[5, 10], [395, 10], [395, 199], [5, 199]]


def test_json_lines_follow_reading_order():
    from hwr.formats import page_dict

    page = sample_page()
    page.regions = [page.regions[1], page.regions[0]]
    d = page_dict(page)
    assert [ln["text"] for ln in d["lines"]] == ["second block", "Hello world", TRICKY, ""]
    assert [r["lines"] for r in d["regions"]] == [[0], [1, 2, 3]]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_file_objects(fmt, tmp_path):
    page = sample_page()
    FORMATS[fmt].write(page, tmp_path / "ref")
    ref = (tmp_path / "ref").read_bytes()
    b, t = io.BytesIO(), io.StringIO()
    FORMATS[fmt].write(page, b)
    FORMATS[fmt].write(page, t)
    if fmt in ("alto", "page"):  # timestamps may differ by a second: compare the structure
        strip = lambda s: ET.tostring(_without_dates(ET.fromstring(s)))  # noqa: E731
        assert strip(b.getvalue()) == strip(ref) == strip(t.getvalue().encode("utf-8"))
    else:
        assert b.getvalue() == ref == t.getvalue().encode("utf-8")


def _without_dates(root):
    for el in root.iter():
        if el.tag.split("}")[-1] in ("Created", "LastChange", "processingDateTime"):
            el.text = ""
    return root


def test_atomic_write_missing_folder(tmp_path):
    dest = tmp_path / "missing" / "p.page.xml"
    with pytest.raises(FileNotFoundError):
        write_page(sample_page(), dest)
    assert not dest.parent.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch, fmt):
    dest = tmp_path / f"p{FORMATS[fmt].suffix}"
    dest.write_text("old", encoding="utf-8")

    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        FORMATS[fmt].write(sample_page(), dest)
    assert dest.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name]


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    dest = tmp_path / "p.txt"
    dest.write_text("old", encoding="utf-8")
    write_text(sample_page(), dest)
    assert dest.read_text(encoding="utf-8").startswith("Hello world\n")
    assert [p.name for p in tmp_path.iterdir()] == ["p.txt"]
    assert dest.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    old = os.umask(0o022)
    os.umask(old)
    return old


def test_xml_forbidden_characters_dropped_everywhere(tmp_path, alto_schema, page_schema):
    bad = "a\x00b\x1fc\ufffe\ud800d"
    page = Page(image="im\x01g.png", width=50, height=20,
                lines=[LineResult(bad, 0.5, polygon=[(1, 1), (40, 1), (40, 15), (1, 15)]),
                       LineResult("\x07", 0.5, polygon=[(1, 16), (40, 16), (40, 19), (1, 19)])])
    for fmt, schema in (("alto", alto_schema), ("page", page_schema)):
        out = tmp_path / f"x{FORMATS[fmt].suffix}"
        FORMATS[fmt].write(page, out)
        _validate(schema, out)
        doc = read_page(out)
        assert [ln.text for ln in doc.lines] == ["abcd", ""] and doc.image == "img.png"
    write_json(page, tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))["lines"][0]["text"] == bad


def test_formats_table():
    assert {k: v.suffix for k, v in FORMATS.items()} == {
        "txt": ".txt", "json": ".json", "alto": ".alto.xml", "page": ".page.xml"}


def test_import_is_light():
    code = ("import sys, hwr.formats; "
            "heavy = [m for m in ('torch', 'cv2', 'PySide6') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_schemas_reject_broken_documents(tmp_path, fmt, alto_schema, page_schema):
    """The validation above can fail: a line without its required parts is refused."""
    out = tmp_path / f"b{FORMATS[fmt].suffix}"
    FORMATS[fmt].write(sample_page(), out)
    tree = ET.parse(out)
    ns = ALTO_NS if fmt == "alto" else PAGE_NS
    line = tree.getroot().find(f".//{{{ns}}}TextLine")
    for child in list(line):  # ALTO: a TextLine needs a String; PAGE: a TextLine needs Coords
        if child.tag.split("}")[1] in ("String", "SP", "Coords"):
            line.remove(child)
    tree.write(out, encoding="utf-8", xml_declaration=True)
    schema = alto_schema if fmt == "alto" else page_schema
    assert list(schema.iter_errors(str(out)))


def test_non_finite_points_are_skipped(tmp_path, page_schema):
    nan, inf = float("nan"), float("inf")
    line = LineResult("x", 0.5, polygon=[(1, 1), (nan, 3), (30, 1), (30, inf), (30, 9), (1, 9)],
                      baseline=[(1, 8), (nan, nan), (30, 8)])
    out = tmp_path / "n.page.xml"
    write_page(Page(image="n.png", width=40, height=10, lines=[line]), out)
    _validate(page_schema, out)
    doc = read_page(out)
    assert doc.lines[0].polygon == [(1, 1), (30, 1), (30, 9), (1, 9)]
    assert doc.lines[0].baseline == [(1, 8), (30, 8)]


def test_alto_with_several_pages(tmp_path, alto_schema):
    """The pages of one multi-page image: one ALTO document, a Page element each, unique IDs,
    PHYSICAL_IMG_NR = the page's number; an empty list is refused."""
    first, third = sample_page(), sample_page()
    third.number = 3
    third.lines = third.lines[:2]
    third.regions = [Region(third.regions[0].polygon, [0, 1])]
    out = tmp_path / "two.alto.xml"
    write_alto([first, third], out)
    _validate(alto_schema, out)
    ns = "{http://www.loc.gov/standards/alto/ns-v4#}"
    root = ET.parse(out).getroot()
    pages = root.findall(f".//{ns}Page")
    assert [(p.get("ID"), p.get("PHYSICAL_IMG_NR")) for p in pages] == [("page1", "1"), ("page2", "3")]
    assert [len(p.findall(f".//{ns}TextLine")) for p in pages] == [4, 2]
    ids = [e.get("ID") for e in root.iter() if e.get("ID")]
    assert len(ids) == len(set(ids))
    # a single page gives the same document as before: one Page, ID page1
    write_alto(first, tmp_path / "one.alto.xml")
    assert len(ET.parse(tmp_path / "one.alto.xml").getroot().findall(f".//{ns}Page")) == 1
    with pytest.raises(ValueError):
        write_alto([], tmp_path / "none.alto.xml")
    assert not (tmp_path / "none.alto.xml").exists()
