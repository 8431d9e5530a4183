"""Reading and writing ink: InkML, IAM-OnDB XML, hwr JSON, kind detection."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwr.errors import InputError
from hwr.ink.io import (
    MAX_POINTS,
    detect_kind,
    load_ink,
    read_iam_ondb,
    read_inkml,
    read_json,
    write_inkml,
    write_json,
)
from hwr.types import Ink, Stroke

INKML_NS = "http://www.w3.org/2003/InkML"


# --------------------------------------------------------------------------- helpers


def sine_ink(n_strokes: int = 3, n: int = 40, with_t: bool = True, with_p: bool = True) -> Ink:
    strokes = []
    t0 = 0.0
    for k in range(n_strokes):
        u = np.linspace(0.0, 2.0 * np.pi, n)
        x = 100.0 * k + 30.0 * u / (2 * np.pi) + 0.1
        y = 50.0 + 12.5 * np.sin(u + k) + 1e-7
        t = t0 + np.arange(n) * 0.01 if with_t else None
        p = 0.5 + 0.25 * np.cos(u) if with_p else None
        strokes.append(Stroke(x, y, t, p))
        t0 += n * 0.01 + 0.2
    return Ink(strokes=strokes, text="hello wörld", writer="w042")


def assert_same_ink(a: Ink, b: Ink) -> None:
    assert len(a.strokes) == len(b.strokes)
    for sa, sb in zip(a.strokes, b.strokes):
        assert sa == sb, (sa, sb)  # exact, bit for bit (Stroke.__eq__ uses array_equal)
    assert a.text == b.text
    assert a.writer == b.writer


def write(tmp_path, name: str, content: str | bytes):
    p = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    p.write_bytes(content)
    return p


TRICKY_VALUES = [0.1, 1e-7, -1e-7, 123456789.0, 999999999, -999999999, 0.30000000000000004,
                 2.0 ** -30, 5e-324, 1.7976931348623157e-300, 1 / 3, -0.5, 0.0, 7.0]


def tricky_ink() -> Ink:
    v = np.array(TRICKY_VALUES, dtype=np.float64)
    s1 = Stroke(v, v[::-1].copy(), t=np.arange(len(v)) * 0.1 + 1e9 / 7, pressure=v / 1e300)
    s2 = Stroke([0.1, 0.2, 0.3], [1e-7, 2e-7, 3e-7], t=[2e6, 2e6 + 0.001, 123456789012.5],
                pressure=[0.0, 1.0, 0.1])
    return Ink(strokes=[s1, s2], text="Ünïcode & <xml> \"quotes\" 'apos' 日本語", writer="writer <7> & co")


# --------------------------------------------------------------------------- exact round trips


@pytest.mark.parametrize("fmt", ["inkml", "json"])
def test_round_trip_exact(tmp_path, fmt):
    ink = tricky_ink()
    path = tmp_path / f"ink.{fmt}"
    (write_inkml if fmt == "inkml" else write_json)(ink, path)
    back = (read_inkml if fmt == "inkml" else read_json)(path)
    assert_same_ink(ink, back)
    # the exact bits, not just ==
    assert back.strokes[0].x.tobytes() == ink.strokes[0].x.tobytes()
    assert back.strokes[1].t.tobytes() == ink.strokes[1].t.tobytes()
    # and through the generic loader
    assert_same_ink(ink, load_ink(path))


@pytest.mark.parametrize("fmt", ["inkml", "json"])
def test_round_trip_sine_and_without_optional_channels(tmp_path, fmt):
    writer, reader = (write_inkml, read_inkml) if fmt == "inkml" else (write_json, read_json)
    for kw in ({}, {"with_t": False}, {"with_p": False}, {"with_t": False, "with_p": False}):
        ink = sine_ink(**kw)
        path = tmp_path / f"s.{fmt}"
        writer(ink, path)
        back = reader(path)
        assert_same_ink(ink, back)
        assert (back.strokes[0].t is None) == ("with_t" in kw)
        assert (back.strokes[0].pressure is None) == ("with_p" in kw)


def test_round_trip_large_integers(tmp_path):
    big = np.array([0, 1, 10**8, 999_999_999, -999_999_999, 2**29 + 1], dtype=np.float64)
    ink = Ink(strokes=[Stroke(big, big[::-1].copy(), t=np.array([2.0**53, 2.0**53 + 2, 1e15, 1e16, 3e17, 4.5e18]))])
    for writer, reader, name in ((write_inkml, read_inkml, "a.inkml"), (write_json, read_json, "a.json")):
        writer(ink, tmp_path / name)
        assert_same_ink(ink, reader(tmp_path / name))


def test_json_keeps_source_and_none_text(tmp_path):
    ink = sine_ink(1)
    ink.text = None
    ink.writer = None
    ink.source = "my-tablet"
    write_json(ink, tmp_path / "a.json")
    back = read_json(tmp_path / "a.json")
    assert back.text is None and back.writer is None and back.source == "my-tablet"
    raw = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert raw["format"] == "hwr-ink" and raw["version"] == 1


def test_written_inkml_is_namespaced_w3c(tmp_path):
    import xml.etree.ElementTree as ET

    write_inkml(sine_ink(2, 5), tmp_path / "a.inkml")
    root = ET.parse(tmp_path / "a.inkml").getroot()
    assert root.tag == f"{{{INKML_NS}}}ink"
    assert len(root.findall(f"{{{INKML_NS}}}trace")) == 2
    chans = [c.attrib["name"] for c in root.iter(f"{{{INKML_NS}}}channel")]
    assert chans == ["X", "Y", "T", "F"]


# --------------------------------------------------------------------------- property tests

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
any_finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def inks(draw, per_stroke_channels: bool):
    n_strokes = draw(st.integers(1, 4))
    ink_t = draw(st.booleans())
    ink_p = draw(st.booleans())
    strokes = []
    for _ in range(n_strokes):
        n = draw(st.integers(1, 12))
        x = draw(st.lists(finite, min_size=n, max_size=n))
        y = draw(st.lists(finite, min_size=n, max_size=n))
        has_t = draw(st.booleans()) if per_stroke_channels else ink_t
        has_p = draw(st.booleans()) if per_stroke_channels else ink_p
        t = draw(st.lists(any_finite, min_size=n, max_size=n)) if has_t else None
        p = draw(st.lists(any_finite, min_size=n, max_size=n)) if has_p else None
        strokes.append(Stroke(x, y, t, p))
    text = draw(st.none() | st.text(max_size=30))
    writer = draw(st.none() | st.text(max_size=30))
    return Ink(strokes=strokes, text=text, writer=writer)


_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


XML_FORBIDDEN = set(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") | {"\ufffe", "\uffff"}


def _inkml_annotation(value: str | None) -> str | None:
    """What InkML keeps of a text or writer: the reader strips the whitespace around an
    annotation (files are pretty-printed) and an empty element has no text."""
    return value.strip() if value else None


@_settings
@given(ink=inks(per_stroke_channels=False))
def test_inkml_round_trip_property(tmp_path, ink):
    path = tmp_path / "p.inkml"
    path.unlink(missing_ok=True)
    if any(c in XML_FORBIDDEN for c in (ink.text or "") + (ink.writer or "")):
        # XML 1.0 cannot hold these characters: refuse rather than write a file that cannot be read
        with pytest.raises(InputError, match="XML cannot hold"):
            write_inkml(ink, path)
        assert not path.exists()
        return
    write_inkml(ink, path)
    back = read_inkml(path)
    assert len(back.strokes) == len(ink.strokes)
    for sa, sb in zip(ink.strokes, back.strokes):
        assert sa == sb
    assert back.text == _inkml_annotation(ink.text)
    assert back.writer == _inkml_annotation(ink.writer)


def test_inkml_text_keeps_carriage_returns_tabs_and_markup(tmp_path):
    ink = Ink(strokes=[Stroke([1.0], [2.0])], text="a\rb\r\nc\td\n<e> & f]]>", writer="x\ry")
    write_inkml(ink, tmp_path / "a.inkml")
    back = read_inkml(tmp_path / "a.inkml")
    assert back.text == ink.text and back.writer == ink.writer


@_settings
@given(ink=inks(per_stroke_channels=True), text=st.none() | st.text(max_size=30))
def test_json_round_trip_property(tmp_path, ink, text):
    ink.text = text  # JSON keeps any text exactly, whitespace and control characters included
    path = tmp_path / "p.json"
    write_json(ink, path)
    assert_same_ink(ink, read_json(path))


def test_inkml_drops_channel_that_not_every_stroke_has(tmp_path):
    ink = sine_ink(2, 5)
    ink.strokes[1].t = None
    write_inkml(ink, tmp_path / "a.inkml")
    back = read_inkml(tmp_path / "a.inkml")
    assert all(s.t is None for s in back.strokes)
    np.testing.assert_array_equal(back.strokes[0].pressure, ink.strokes[0].pressure)


# --------------------------------------------------------------------------- InkML spec features


def test_inkml_trace_format_xyt_with_ms(tmp_path):
    p = write(tmp_path, "a.inkml", f"""<?xml version="1.0" encoding="UTF-8"?>
<ink xmlns="{INKML_NS}">
  <traceFormat>
    <channel name="X" type="decimal"/>
    <channel name="Y" type="decimal"/>
    <channel name="T" type="integer" units="ms"/>
  </traceFormat>
  <trace>10 20 1000, 11 21.5 1010, 12 23 1025</trace>
  <trace>30 20 1500,31 19 1510</trace>
</ink>""")
    ink = read_inkml(p)
    assert len(ink.strokes) == 2
    np.testing.assert_array_equal(ink.strokes[0].x, [10, 11, 12])
    np.testing.assert_array_equal(ink.strokes[0].y, [20, 21.5, 23])
    np.testing.assert_allclose(ink.strokes[0].t, [1.0, 1.01, 1.025])
    np.testing.assert_allclose(ink.strokes[1].t, [1.5, 1.51])
    assert ink.strokes[0].pressure is None
    assert ink.text is None and ink.writer is None


def test_inkml_channel_order_and_seconds(tmp_path):
    # channels need not be X Y first; T without units is taken as seconds
    p = write(tmp_path, "a.inkml", f"""<ink xmlns="{INKML_NS}">
  <traceFormat><channel name="T"/><channel name="Y"/><channel name="X"/><channel name="F"/></traceFormat>
  <trace>0.5 7 3 0.25, 0.6 8 4 0.5</trace>
</ink>""")
    s = read_inkml(p).strokes[0]
    np.testing.assert_array_equal(s.x, [3, 4])
    np.testing.assert_array_equal(s.y, [7, 8])
    np.testing.assert_array_equal(s.t, [0.5, 0.6])
    np.testing.assert_array_equal(s.pressure, [0.25, 0.5])


def test_inkml_contexts_and_trace_format_ref(tmp_path):
    p = write(tmp_path, "a.inkml", f"""<ink xmlns="{INKML_NS}">
  <definitions>
    <traceFormat xml:id="xy"><channel name="X"/><channel name="Y"/></traceFormat>
    <traceFormat xml:id="xyf"><channel name="X"/><channel name="Y"/><channel name="F"/></traceFormat>
    <context xml:id="ctxF" traceFormatRef="#xyf"/>
    <context xml:id="ctxT">
      <inkSource xml:id="pen">
        <traceFormat xml:id="xyt"><channel name="X"/><channel name="Y"/><channel name="T" units="ms"/></traceFormat>
      </inkSource>
    </context>
    <inkSource xml:id="pen2">
      <traceFormat xml:id="yxt"><channel name="Y"/><channel name="X"/><channel name="T" units="s"/></traceFormat>
    </inkSource>
    <context xml:id="ctxSrc" inkSourceRef="#pen2"/>
  </definitions>
  <trace>1 2, 3 4</trace>
  <trace contextRef="#ctxF">5 6 0.5, 7 8 0.75</trace>
  <trace contextRef="#ctxT">9 10 2000, 11 12 2500</trace>
  <trace contextRef="#ctxSrc">13 14 3, 15 16 4</trace>
</ink>""")
    ink = read_inkml(p)
    s0, s1, s2, s3 = ink.strokes
    np.testing.assert_array_equal(s0.points, [[1, 2], [3, 4]])
    assert s0.t is None and s0.pressure is None
    np.testing.assert_array_equal(s1.points, [[5, 6], [7, 8]])
    np.testing.assert_array_equal(s1.pressure, [0.5, 0.75])
    np.testing.assert_array_equal(s2.points, [[9, 10], [11, 12]])
    np.testing.assert_allclose(s2.t, [2.0, 2.5])
    np.testing.assert_array_equal(s3.x, [14, 16])
    np.testing.assert_array_equal(s3.y, [13, 15])
    np.testing.assert_array_equal(s3.t, [3, 4])


IMADOC_BODY = """
  <traceFormat>
    <{p}channel name="X" type="decimal"/>
    <{p}channel name="Y" type="decimal"/>
    <{p}channel name="T" type="decimal"/>
  </traceFormat>
  <{p}traceGroup>
    <{p}annotationXML type="Ground truth">
      <{p}label>Bonjour à tous</{p}label>
    </{p}annotationXML>
    <{p}traceGroup>
      <{p}trace xml:id="t1">10 10 0, 12 14 0.01, 14 18 0.02</{p}trace>
      <{p}trace xml:id="t2">20 10 0.5, 22 18 0.51</{p}trace>
    </{p}traceGroup>
  </{p}traceGroup>
"""


@pytest.mark.parametrize("style", ["default-ns", "prefixed", "no-ns"])
def test_inkml_namespaces_and_ground_truth_label(tmp_path, style):
    if style == "default-ns":
        doc = f'<ink xmlns="{INKML_NS}">' + IMADOC_BODY.format(p="") + "</ink>"
    elif style == "prefixed":
        body = IMADOC_BODY.format(p="inkml:").replace("<traceFormat>", "<inkml:traceFormat>").replace(
            "</traceFormat>", "</inkml:traceFormat>")
        doc = f'<inkml:ink xmlns:inkml="{INKML_NS}">' + body + "</inkml:ink>"
    else:
        doc = "<ink>" + IMADOC_BODY.format(p="") + "</ink>"
    p = write(tmp_path, "sentence1.inkml", '<?xml version="1.0" encoding="UTF-8"?>\n' + doc)
    assert detect_kind(p) == "inkml"
    ink = read_inkml(p)
    assert ink.text == "Bonjour à tous"
    assert [len(s) for s in ink.strokes] == [3, 2]
    np.testing.assert_array_equal(ink.strokes[0].y, [10, 14, 18])
    np.testing.assert_array_equal(ink.strokes[1].t, [0.5, 0.51])
    assert load_ink(p).text == "Bonjour à tous"


def test_inkml_annotation_truth_and_writer(tmp_path):
    p = write(tmp_path, "crohme.inkml", f"""<ink xmlns="{INKML_NS}">
  <annotation type="UI">2011_IVC_DEPT_F01_E01</annotation>
  <annotation type="writer">  w007 </annotation>
  <annotation type="truth"> x^2 &lt; y </annotation>
  <trace>1 1, 2 2, 3 3</trace>
</ink>""")
    ink = read_inkml(p)
    assert ink.text == "x^2 < y"
    assert ink.writer == "w007"


def test_inkml_root_truth_wins_over_trace_group_label(tmp_path):
    p = write(tmp_path, "a.inkml", f"""<ink xmlns="{INKML_NS}">
  <annotation type="truth">document truth</annotation>
  <traceGroup><annotationXML type="Ground truth"><label>group label</label></annotationXML>
    <trace>1 1, 2 2</trace></traceGroup>
</ink>""")
    assert read_inkml(p).text == "document truth"


def test_inkml_difference_encoding(tmp_path):
    # The W3C InkML spec example: explicit, first differences ('), second differences (")
    # and values written without spaces ("3-5", "+1-4").
    p = write(tmp_path, "a.inkml", f"""<ink xmlns="{INKML_NS}">
  <trace>1125 18432,'23'43,"7"-8,3-5,+1-4,!10!20,'1'1,2 2</trace>
</ink>""")
    s = read_inkml(p).strokes[0]
    # point 1: 1125 18432; 2: +23,+43 -> 1148 18475 (velocity 23, 43)
    # 3: velocity += (7,-8) -> (30, 35) -> 1178 18510; 4: (33, 30) -> 1211 18540
    # 5: (34, 26) -> 1245 18566; 6: explicit 10 20 ("!" is per value); 7: first diff -> 11 21; 8: still first diff -> 13 23
    np.testing.assert_array_equal(s.x, [1125, 1148, 1178, 1211, 1245, 10, 11, 13])
    np.testing.assert_array_equal(s.y, [18432, 18475, 18510, 18540, 18566, 20, 21, 23])


@pytest.mark.parametrize("trace, xs, ys", [
    ("10-5,-3-4", [10, -3], [-5, -4]),
    ("1.5.25, .5-.5", [1.5, 0.5], [0.25, -0.5]),
    ("1e2-1e-1,+2E+1 3", [100, 20], [-0.1, 3]),
    ("  7\n 8 ,\t9   10 ,  ", [7, 9], [8, 10]),
])
def test_inkml_compact_numbers(tmp_path, trace, xs, ys):
    p = write(tmp_path, "a.inkml", f'<ink xmlns="{INKML_NS}"><trace>{trace}</trace></ink>')
    s = read_inkml(p).strokes[0]
    np.testing.assert_allclose(s.x, xs, rtol=0, atol=0)
    np.testing.assert_allclose(s.y, ys, rtol=0, atol=0)


def test_inkml_empty_traces_are_dropped(tmp_path):
    p = write(tmp_path, "a.inkml", f'<ink xmlns="{INKML_NS}"><trace/><trace>1 2, 3 4</trace><trace> </trace></ink>')
    ink = read_inkml(p)
    assert len(ink.strokes) == 1 and ink.num_points == 2


@pytest.mark.parametrize("trace", ["1 2 3 4", "1 2, abc", "1 2; 3 4"])
def test_inkml_bad_trace_values(tmp_path, trace):
    p = write(tmp_path, "bad.inkml", f'<ink xmlns="{INKML_NS}"><trace>{trace}</trace></ink>')
    with pytest.raises(InputError, match="bad.inkml"):
        read_inkml(p)


def test_inkml_without_xy_channels(tmp_path):
    p = write(tmp_path, "noxy.inkml", f"""<ink xmlns="{INKML_NS}">
  <traceFormat><channel name="A"/><channel name="B"/></traceFormat><trace>1 2</trace></ink>""")
    with pytest.raises(InputError, match="noxy.inkml.*X and Y"):
        read_inkml(p)


def test_read_inkml_refuses_other_xml(tmp_path):
    p = write(tmp_path, "other.inkml", "<svg><trace>1 2</trace></svg>")
    with pytest.raises(InputError, match="other.inkml.*not InkML"):
        read_inkml(p)


# --------------------------------------------------------------------------- IAM-OnDB


IAM_XML = """<?xml version="1.0" encoding="ISO-8859-1"?>
<WhiteboardCaptureSession>
  <WhiteboardDescription>
    <SensorLocation corner="top_left"/>
    <DiagonallyOppositeCoords x="6512" y="1376"/>
    <VerticallyOppositeCoords x="966" y="1376"/>
    <HorizontallyOppositeCoords x="6512" y="787"/>
  </WhiteboardDescription>
  <StrokeSet>
    <Stroke colour="black" start_time="769.05" end_time="769.64">
      <Point x="1073" y="1058" time="769.05"/>
      <Point x="1072" y="1085" time="769.07"/>
      <Point x="1070" y="1114" time="769.08"/>
    </Stroke>
    <Stroke colour="black" start_time="770.00" end_time="770.10">
      <Point x="1200" y="1000" time="770.00"/>
      <Point x="1210" y="1010" time="770.10"/>
    </Stroke>
  </StrokeSet>
</WhiteboardCaptureSession>
"""


def test_read_iam_ondb(tmp_path):
    p = write(tmp_path, "a01-000u-01.xml", IAM_XML)
    assert detect_kind(p) == "iam-ondb"
    ink = read_iam_ondb(p, text="A MOVE to stop")
    assert ink.text == "A MOVE to stop" and ink.source == "iam-ondb"
    assert [len(s) for s in ink.strokes] == [3, 2]
    np.testing.assert_array_equal(ink.strokes[0].x, [1073, 1072, 1070])
    np.testing.assert_array_equal(ink.strokes[0].y, [1058, 1085, 1114])
    # times relative to the first point, in seconds
    np.testing.assert_allclose(ink.strokes[0].t, [0.0, 0.02, 0.03], atol=1e-9)
    np.testing.assert_allclose(ink.strokes[1].t, [0.95, 1.05], atol=1e-9)
    assert load_ink(p).num_points == 5


def test_read_iam_ondb_without_time_and_bad_points(tmp_path):
    p = write(tmp_path, "n.xml", "<WhiteboardCaptureSession><StrokeSet><Stroke>"
              '<Point x="1" y="2"/><Point x="3" y="4"/></Stroke></StrokeSet></WhiteboardCaptureSession>')
    ink = read_iam_ondb(p)
    assert ink.strokes[0].t is None
    np.testing.assert_array_equal(ink.strokes[0].points, [[1, 2], [3, 4]])
    bad = write(tmp_path, "bad.xml", "<WhiteboardCaptureSession><StrokeSet><Stroke>"
                '<Point x="1"/></Stroke></StrokeSet></WhiteboardCaptureSession>')
    with pytest.raises(InputError, match="bad.xml"):
        read_iam_ondb(bad)
    other = write(tmp_path, "other.xml", "<root><Stroke><Point x='1' y='2'/></Stroke></root>")
    with pytest.raises(InputError, match="other.xml.*not an IAM-OnDB"):
        read_iam_ondb(other)


# --------------------------------------------------------------------------- detection and dispatch


def test_detect_kind_from_content_not_extension(tmp_path):
    ink = sine_ink(2, 6)
    inkml_as_json = tmp_path / "really_inkml.json"
    write_inkml(ink, inkml_as_json)
    json_as_txt = tmp_path / "really_json.txt"
    write_json(ink, json_as_txt)
    iam_as_inkml = write(tmp_path, "really_iam.inkml", IAM_XML)
    png = write(tmp_path, "picture.inkml", b"\x89PNG\r\n\x1a\n" + bytes(64))
    jpeg = write(tmp_path, "photo.json", b"\xff\xd8\xff\xe0" + bytes(64))
    junk = write(tmp_path, "junk.inkml", b"hello, this is not ink\n\x00\x01")

    assert detect_kind(inkml_as_json) == "inkml"
    assert detect_kind(json_as_txt) == "json"
    assert detect_kind(iam_as_inkml) == "iam-ondb"
    assert detect_kind(png) == "image"
    assert detect_kind(jpeg) == "image"
    assert detect_kind(junk) == "unknown"

    assert_same_ink(ink, load_ink(inkml_as_json))
    assert_same_ink(ink, load_ink(json_as_txt))
    assert load_ink(iam_as_inkml).source == "iam-ondb"
    with pytest.raises(InputError, match="picture.inkml.*image"):
        load_ink(png)
    with pytest.raises(InputError, match="junk.inkml"):
        load_ink(junk)


def test_detect_kind_bom_prolog_and_long_comment(tmp_path):
    ink = sine_ink(1, 4)
    write_json(ink, tmp_path / "a.json")
    bom = write(tmp_path, "bom.dat", b"\xef\xbb\xbf  \n" + (tmp_path / "a.json").read_bytes())
    assert detect_kind(bom) == "json"
    assert_same_ink(ink, load_ink(bom))
    # the root element comes after more than 4 KiB of comment: the extension decides
    comment = "<!-- " + "x" * 5000 + " -->\n"
    body = f'<ink xmlns="{INKML_NS}"><trace>1 2, 3 4</trace></ink>'
    long_inkml = write(tmp_path, "long.inkml", '<?xml version="1.0"?>\n' + comment + body)
    assert detect_kind(long_inkml) == "inkml"
    assert load_ink(long_inkml).num_points == 2
    long_unknown = write(tmp_path, "long.data", '<?xml version="1.0"?>\n' + comment + body)
    assert detect_kind(long_unknown) == "unknown"


def test_json_accepts_points_up_to_the_limit(tmp_path):
    n = MAX_POINTS
    obj = {"strokes": [{"x": [float(i % 1000) for i in range(n)], "y": [0.5] * n}]}
    p = tmp_path / "limit.json"
    p.write_text(json.dumps(obj))
    assert read_json(p).num_points == n
    obj["strokes"].append({"x": [1.0], "y": [1.0]})
    p.write_text(json.dumps(obj))
    with pytest.raises(InputError, match="too many points"):
        read_json(p)


def test_json_rejects_foreign_or_newer_formats(tmp_path):
    cases = {
        "list.json": [1, 2, 3],
        "nostrokes.json": {"text": "x"},
        "format.json": {"format": "other", "strokes": [{"x": [1], "y": [2]}]},
        "newer.json": {"format": "hwr-ink", "version": 99, "strokes": [{"x": [1], "y": [2]}]},
        "mismatch.json": {"strokes": [{"x": [1, 2], "y": [2]}]},
        "noy.json": {"strokes": [{"x": [1, 2]}]},
        "textnum.json": {"text": 5, "strokes": [{"x": [1], "y": [2]}]},
        "strvals.json": {"strokes": [{"x": ["a"], "y": [2]}]},
    }
    for name, obj in cases.items():
        p = tmp_path / name
        p.write_text(json.dumps(obj))
        with pytest.raises(InputError, match=name.replace(".", r"\.")):
            read_json(p)


def test_coordinates_beyond_1e9_rejected(tmp_path):
    p = tmp_path / "far.json"
    p.write_text(json.dumps({"strokes": [{"x": [0, 2e9], "y": [0, 1]}]}))
    with pytest.raises(InputError, match="far.json.*1e9"):
        read_json(p)
