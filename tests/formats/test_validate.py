"""hwr.formats.validate: the packaged ALTO / PAGE schemas accept the writers' output and refuse
broken documents; the format is detected from the root namespace."""

import hashlib
import xml.etree.ElementTree as ET

import pytest

from hwr.errors import InputError
from hwr.formats import FORMATS, schema_path, validate
from hwr.formats.validate import ALTO_NS, PAGE_NS, SCHEMA_DIR, detect_format
from hwr.types import LineResult, Page

SHA256 = {  # as listed in hwr/formats/schemas/README.md: the shipped copies are unchanged
    "alto-4-4.xsd": "6fa7f1d08f323f261de347461d56083284a02cb6de7e0e0d6fe7107107f50f5b",
    "pagecontent-2019-07-15.xsd": "76159739b608bcc13c9166f5a58f515ed491f3024e8d1ef1c977856c3800ac0f",
    "xlink.xsd": "f1f5bb6003165cdd8f6c1fcc32f8fd1f965e1681010f3b9806d9460bcffa8a3c",
}


def _page():
    line = LineResult("hello", 0.9, polygon=[(1, 1), (50, 1), (50, 20), (1, 20)], baseline=[(1, 18), (50, 18)])
    return Page("p.png", 60, 30, [line])


def test_schemas_are_packaged_unchanged():
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    for name, digest in SHA256.items():
        assert hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest() == digest
        assert digest in readme
    assert schema_path("alto").name == "alto-4-4.xsd" and schema_path("page").is_file()
    with pytest.raises(ValueError):
        schema_path("hocr")


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_written_files_are_valid_and_detected(tmp_path, fmt):
    out = tmp_path / f"p{FORMATS[fmt].suffix}"
    FORMATS[fmt].write(_page(), out)
    assert detect_format(out) == fmt
    assert validate(out) == []
    other = "page" if fmt == "alto" else "alto"
    assert validate(out, other)  # the other schema refuses it


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_broken_file_gives_errors(tmp_path, fmt):
    out = tmp_path / f"p{FORMATS[fmt].suffix}"
    FORMATS[fmt].write(_page(), out)
    tree = ET.parse(out)
    ns = ALTO_NS if fmt == "alto" else PAGE_NS
    line = tree.getroot().find(f".//{{{ns}}}TextLine")
    line.set("bogus", "1")  # an attribute neither schema allows
    tree.write(out, encoding="utf-8", xml_declaration=True)
    errors = validate(out)
    assert errors and any("bogus" in e for e in errors)
    assert len(validate(out, max_errors=1)) == 1


def test_not_alto_or_page(tmp_path):
    other = tmp_path / "x.xml"
    other.write_text('<?xml version="1.0"?><root xmlns="urn:other"/>')
    with pytest.raises(InputError, match="neither ALTO 4 nor PAGE 2019"):
        validate(other)
    broken = tmp_path / "broken.xml"
    broken.write_text("<PcGts")
    with pytest.raises(InputError, match="broken.xml"):
        validate(broken)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>')
    with pytest.raises(InputError):
        detect_format(bomb)


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_relative_path_in_a_subfolder(tmp_path, monkeypatch, fmt):
    """validate("out/p.page.xml") from the folder above: xmlschema alone resolved the relative
    path against its own folder again (out/out/p.page.xml) and raised XMLResourceOSError."""
    (tmp_path / "out").mkdir()
    FORMATS[fmt].write(_page(), tmp_path / "out" / f"p{FORMATS[fmt].suffix}")
    monkeypatch.chdir(tmp_path)
    assert validate(f"out/p{FORMATS[fmt].suffix}") == []


def test_given_format_still_gives_clear_errors(tmp_path):
    """validate(path, fmt): a missing file, a non-XML file or one with entities is an
    InputError naming the file, as without fmt (it was xmlschema's own exception)."""
    with pytest.raises(InputError, match="nosuch.xml"):
        validate(tmp_path / "nosuch.xml", "page")
    text = tmp_path / "notes.txt"
    text.write_text("plain text\n")
    with pytest.raises(InputError, match="notes.txt"):
        validate(text, "page")
    bomb = tmp_path / "bomb.page.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>')
    with pytest.raises(InputError, match="bomb.page.xml"):
        validate(bomb, "page")
