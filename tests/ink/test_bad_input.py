"""Bad ink files: every one gives a quick InputError naming the file, never a crash,
a hang, a network connection or a leak of another file's content."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from hwr.errors import InputError
from hwr.ink.features import NUM_FEATURES, ink_features
from hwr.ink.io import detect_kind, load_ink, read_iam_ondb, read_inkml, read_json

INKML_NS = "http://www.w3.org/2003/InkML"
SECONDS = 8.0  # a bound against hangs (a quiet machine takes well under 1 s), not a speed test

READERS: dict[str, Callable] = {
    "read_inkml": read_inkml,
    "read_json": read_json,
    "read_iam_ondb": read_iam_ondb,
    "load_ink": load_ink,
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return p


def input_error(fn: Callable, path: Path, *args, match: str | None = None) -> InputError:
    """Call ``fn(path)``: it must raise InputError naming ``path`` within SECONDS."""
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        fn(path, *args)
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"{getattr(fn, '__name__', fn)} took {elapsed:.2f}s"
    msg = str(info.value)
    assert str(path) in msg, msg
    if match is not None:
        assert match in msg.lower(), msg
    return info.value


def quick(fn: Callable, *args):
    start = time.perf_counter()
    out = fn(*args)
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"took {elapsed:.2f}s"
    return out


def inkml(body: str, prolog: str = "") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<ink xmlns="{INKML_NS}">{body}</ink>\n'


def iam(body: str, prolog: str = "") -> str:
    return f'<?xml version="1.0"?>\n{prolog}<WhiteboardCaptureSession><StrokeSet>{body}</StrokeSet></WhiteboardCaptureSession>'


# --------------------------------------------------------------------------- empty and no strokes


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("content", [b"", b"   \n\t \r\n  "], ids=["empty", "whitespace"])
def test_empty_and_blank_files(tmp_path, reader, content):
    p = write(tmp_path, "blank.inkml", content)
    err = input_error(READERS[reader], p)
    if reader != "load_ink":
        assert "empty" in str(err)


@pytest.mark.parametrize("name, content, reader", [
    ("notraces.inkml", inkml('<traceFormat><channel name="X"/><channel name="Y"/></traceFormat>'
                             '<annotation type="truth">hello</annotation>'), read_inkml),
    ("emptytraces.inkml", inkml("<trace></trace><trace>  </trace><traceGroup><trace/></traceGroup>"), read_inkml),
    ("nostrokes.json", json.dumps({"format": "hwr-ink", "version": 1, "text": "hi", "strokes": []}), read_json),
    ("emptystrokes.json", json.dumps({"strokes": [{"x": [], "y": []}, {"x": [], "y": [], "t": []}]}), read_json),
    ("nostrokes.xml", iam(""), read_iam_ondb),
    ("emptystroke.xml", iam("<Stroke></Stroke><Stroke/>"), read_iam_ondb),
])
def test_no_strokes(tmp_path, name, content, reader):
    p = write(tmp_path, name, content)
    input_error(reader, p, match="no strokes")
    input_error(load_ink, p, match="no strokes")


# --------------------------------------------------------------------------- non-finite values


@pytest.mark.parametrize("stroke", [
    '{"x": [1, NaN, 3], "y": [1, 2, 3]}',
    '{"x": [1, 2, 3], "y": [1, Infinity, 3]}',
    '{"x": [-Infinity], "y": [0]}',
    '{"x": [1e999], "y": [0]}',
    '{"x": [1, 2], "y": [1, 2], "t": [0, NaN]}',
    '{"x": [1, 2], "y": [1, 2], "pressure": [Infinity, 0.5]}',
])
def test_json_non_finite(tmp_path, stroke):
    p = write(tmp_path, "nan.json", '{"strokes": [{"x": [0, 1], "y": [0, 1]}, ' + stroke + "]}")
    input_error(read_json, p)
    input_error(load_ink, p)


@pytest.mark.parametrize("channels, trace", [
    ("XY", "1 2, NaN 3"),
    ("XY", "1 2, nan 3"),
    ("XY", "1 2, 3 inf"),
    ("XY", "1 2, 3 -Infinity"),
    ("XY", "1 2, 1e999 3"),
    ("XY", "1 2, ? 3"),        # InkML's "unknown value"
    ("XYT", "1 2 0, 3 4 1e400"),
    ("XYF", "1 2 0.5, 3 4 ?"),
])
def test_inkml_non_finite(tmp_path, channels, trace):
    fmt = "".join(f'<channel name="{c}"/>' for c in channels)
    p = write(tmp_path, "nan.inkml", inkml(f"<traceFormat>{fmt}</traceFormat><trace>0 0{' 0' * (len(channels) - 2)}</trace>"
                                           f"<trace>{trace}</trace>"))
    input_error(read_inkml, p)
    input_error(load_ink, p)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_iam_non_finite(tmp_path, value):
    p = write(tmp_path, "nan.xml", iam(f'<Stroke><Point x="1" y="2"/><Point x="{value}" y="3"/></Stroke>'))
    input_error(read_iam_ondb, p, match="non-finite")


# --------------------------------------------------------------------------- a single point is valid


@pytest.mark.parametrize("name, content", [
    ("one.json", json.dumps({"strokes": [{"x": [12.5], "y": [-3.0]}], "text": "."})),
    ("onet.json", json.dumps({"strokes": [{"x": [12.5], "y": [-3.0], "t": [0.0], "pressure": [0.3]}]})),
    ("one.inkml", inkml("<trace>100 200</trace>")),
    ("one.xml", iam('<Stroke><Point x="5" y="6" time="1.0"/></Stroke>')),
    ("dot-twice.json", json.dumps({"strokes": [{"x": [1, 1, 1], "y": [2, 2, 2]}]})),
    ("two-dots.json", json.dumps({"strokes": [{"x": [1], "y": [2]}, {"x": [1e6], "y": [2]}]})),
])
def test_single_point_is_valid_ink(tmp_path, name, content):
    p = write(tmp_path, name, content)
    ink = quick(load_ink, p)
    assert 1 <= ink.num_points <= 3
    f = ink_features(ink)
    assert f.ndim == 2 and f.shape[1] == NUM_FEATURES and f.shape[0] >= 1
    assert f.dtype == np.float32
    assert np.all(np.isfinite(f))
    assert f[0, 2] == 1.0  # the first point starts a stroke


# --------------------------------------------------------------------------- too many points


def test_million_point_json(tmp_path):
    n = 1_000_000
    one = write(tmp_path, "huge.json", '{"strokes": [{"x": [' + "1.5," * (n - 1) + '2], "y": [' + "0," * (n - 1) + "1]}]}")
    input_error(read_json, one, match="too many points")
    input_error(load_ink, one, match="too many points")
    stroke = '{"x": [' + ",".join(["3"] * 1000) + '], "y": [' + ",".join(["4"] * 1000) + "]}"
    many = write(tmp_path, "huge-many.json", '{"strokes": [' + ",".join([stroke] * 1000) + "]}")
    input_error(read_json, many, match="too many points")


def test_million_point_inkml(tmp_path):
    one = write(tmp_path, "huge.inkml", inkml("<trace>" + "12 34, " * 999_999 + "5 6</trace>"))
    input_error(read_inkml, one, match="too many points")
    input_error(load_ink, one, match="too many points")
    many = write(tmp_path, "huge-many.inkml", inkml(("<trace>" + "1 2, " * 999 + "3 4</trace>\n") * 1000))
    input_error(read_inkml, many, match="too many points")
    diff = write(tmp_path, "huge-diff.inkml", inkml("<trace>0 0" + ",'1'1" * 999_999 + "</trace>"))
    input_error(read_inkml, diff, match="too many points")


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize("name, content, reader", [
    ("trunc.inkml", inkml("<trace>1 2, 3 4</trace>")[:-20], read_inkml),
    ("mismatch.inkml", f'<ink xmlns="{INKML_NS}"><trace>1 2</traceGroup></ink>', read_inkml),
    ("junk-after.inkml", inkml("<trace>1 2</trace>") + "<ink/>", read_inkml),
    ("bad-attr.inkml", f'<ink xmlns="{INKML_NS}" a=1><trace>1 2</trace></ink>', read_inkml),
    ("undefined-entity.inkml", inkml("<trace>1 2 &nope;</trace>"), read_inkml),
    ("trunc.xml", iam('<Stroke><Point x="1" y="2"/>'), read_iam_ondb),
    ("trunc.json", '{"strokes": [{"x": [1, 2], "y": [1', read_json),
    ("trailing.json", '{"strokes": []} {}', read_json),
    ("notjson.json", "{this is not json}", read_json),
])
def test_malformed(tmp_path, name, content, reader):
    p = write(tmp_path, name, content)
    input_error(reader, p)
    input_error(load_ink, p)


# --------------------------------------------------------------------------- XML attacks


def test_xxe_file_entity_does_not_leak(tmp_path):
    secret = "TOP-SECRET-d41d8cd98f00b204"
    secret_file = write(tmp_path, "secret.txt", secret + "\n")
    uri = secret_file.resolve().as_uri()
    docs = {
        "xxe.inkml": inkml('<annotation type="truth">&xxe;</annotation><trace>1 2, 3 4</trace>',
                           f'<!DOCTYPE ink [<!ENTITY xxe SYSTEM "{uri}">]>\n'),
        "xxe-trace.inkml": inkml("<trace>&xxe;</trace>", f'<!DOCTYPE ink [<!ENTITY xxe SYSTEM "{uri}">]>\n'),
        "xxe-param.inkml": inkml("<trace>1 2</trace>", f'<!DOCTYPE ink [<!ENTITY % p SYSTEM "{uri}"> %p;]>\n'),
        "xxe.xml": iam('<Stroke><Point x="1" y="2" time="&xxe;"/></Stroke>',
                       f'<!DOCTYPE WhiteboardCaptureSession [<!ENTITY xxe SYSTEM "{uri}">]>\n'),
    }
    for name, doc in docs.items():
        p = write(tmp_path, name, doc)
        for reader in (load_ink, read_inkml if name.endswith(".inkml") else read_iam_ondb):
            try:
                ink = quick(reader, p)
            except InputError as e:
                assert str(p) in str(e)
                chain, seen = [], e
                while seen is not None:
                    chain.append(repr(seen) + str(seen))
                    seen = seen.__cause__ or seen.__context__
                assert secret not in "".join(chain)
            else:  # parsing without expanding the entity would be safe too, but must not show the secret
                assert secret not in repr(ink) and secret not in str(ink.text)


@pytest.fixture()
def listener():
    """A TCP server nobody should connect to."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.0)
    yield srv, srv.getsockname()[1]
    srv.close()


def assert_no_connection(srv: socket.socket) -> None:
    try:
        conn, _ = srv.accept()
    except (BlockingIOError, socket.timeout):
        return
    conn.close()
    pytest.fail("the XML reader connected to the network")


def test_xxe_network_entity_no_connection(tmp_path, listener):
    srv, port = listener
    for url in (f"http://127.0.0.1:{port}/x", "http://127.0.0.1:9/x"):
        cases = {
            "net.inkml": inkml('<annotation type="truth">&e;</annotation><trace>1 2</trace>',
                               f'<!DOCTYPE ink [<!ENTITY e SYSTEM "{url}">]>\n'),
            "net-param.inkml": inkml("<trace>1 2</trace>", f'<!DOCTYPE ink [<!ENTITY % e SYSTEM "{url}"> %e;]>\n'),
            "net.xml": iam('<Stroke><Point x="1" y="2"/></Stroke>',
                           f'<!DOCTYPE WhiteboardCaptureSession [<!ENTITY e SYSTEM "{url}">]>\n'),
        }
        for name, doc in cases.items():
            p = write(tmp_path, name, doc)
            input_error(load_ink, p, match="unsafe")
        # an external DTD alone: refused or ignored, but never fetched
        dtd = write(tmp_path, "dtd.inkml", inkml("<trace>1 2, 3 4</trace>", f'<!DOCTYPE ink SYSTEM "{url}">\n'))
        try:
            ink = quick(read_inkml, dtd)
            assert ink.num_points == 2
        except InputError as e:
            assert str(dtd) in str(e)
        assert_no_connection(srv)


LOL = ('<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
       + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
       + "]>\n")


@pytest.mark.parametrize("name, doc", [
    ("lol.inkml", inkml('<annotation type="truth">&lol9;</annotation><trace>1 2</trace>', LOL)),
    ("lol.xml", iam('<Stroke><Point x="1" y="2" time="&lol9;"/></Stroke>', LOL)),
    ("quadratic.inkml", inkml('<annotation type="truth">' + "&a;" * 20000 + "</annotation><trace>1 2</trace>",
                              '<!DOCTYPE ink [<!ENTITY a "' + "x" * 20000 + '">]>\n')),
])
def test_billion_laughs(tmp_path, name, doc):
    assert "&lol8;" in LOL or "quadratic" in name
    p = write(tmp_path, name, doc)
    input_error(load_ink, p, match="unsafe")
    input_error(read_inkml if name.endswith(".inkml") else read_iam_ondb, p, match="unsafe")


def test_deeply_nested_xml(tmp_path):
    depth = 100_000
    nested = write(tmp_path, "deep.inkml", inkml("<traceGroup>" * depth + "<trace>1 2, 3 4</trace>" + "</traceGroup>" * depth))
    unclosed = write(tmp_path, "deep-open.inkml", inkml("<traceGroup>" * depth))
    iam_deep = write(tmp_path, "deep.xml", iam("<g>" * depth + '<Stroke><Point x="1" y="2"/></Stroke>' + "</g>" * depth))
    for p, reader in ((nested, read_inkml), (unclosed, read_inkml), (iam_deep, read_iam_ondb)):
        for fn in (reader, load_ink):
            try:
                ink = quick(fn, p)  # parsing safely is fine ...
            except InputError as e:  # ... and so is refusing; RecursionError or a crash is not
                assert str(p) in str(e)
            else:
                assert p is not unclosed
                assert ink.num_points >= 1


def test_deeply_nested_json(tmp_path):
    p = write(tmp_path, "deep.json", '{"strokes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    input_error(read_json, p)
    input_error(load_ink, p)
    p2 = write(tmp_path, "deep2.json", '{"strokes": [{"x": [1], "y": [2], "t": ' + "[" * 100_000 + "]" * 100_000 + "}]}")
    input_error(read_json, p2)


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("name, content, reader", [
    ("latin1-bytes.inkml", '<?xml version="1.0" encoding="UTF-8"?><ink><annotation type="truth">caf\xe9</annotation>'
                           "<trace>1 2</trace></ink>".encode("latin-1"), read_inkml),
    ("bogus-enc.inkml", b'<?xml version="1.0" encoding="no-such-encoding"?><ink><trace>1 2</trace></ink>', read_inkml),
    ("ascii-decl.inkml", '<?xml version="1.0" encoding="us-ascii"?><ink><annotation type="truth">\xe9</annotation>'
                         "<trace>1 2</trace></ink>".encode("latin-1"), read_inkml),
    ("utf16-decl.inkml", b'<?xml version="1.0" encoding="UTF-16"?><ink><trace>1 2</trace></ink>', read_inkml),
    ("random-bytes.inkml", b"<ink>" + bytes(range(256)) * 4 + b"</ink>", read_inkml),
    ("latin1.json", '{"text": "caf\xe9", "strokes": [{"x": [1], "y": [2]}]}'.encode("latin-1"), read_json),
    ("utf16.json", '{"strokes": [{"x": [1], "y": [2]}]}'.encode("utf-16"), read_json),
    ("latin1.xml", '<?xml version="1.0" encoding="utf-8"?><WhiteboardCaptureSession><StrokeSet caf\xe9="1">'
                   '<Stroke><Point x="1" y="2"/></Stroke></StrokeSet></WhiteboardCaptureSession>'.encode("latin-1"),
     read_iam_ondb),
])
def test_bad_encodings(tmp_path, name, content, reader):
    p = write(tmp_path, name, content)
    input_error(reader, p)
    try:
        quick(load_ink, p)
    except InputError as e:
        assert str(p) in str(e)
    else:
        pytest.fail("load_ink accepted a badly encoded file")


def test_declared_latin1_is_read_correctly(tmp_path):
    p = write(tmp_path, "latin1.inkml", '<?xml version="1.0" encoding="ISO-8859-1"?><ink><annotation type="truth">caf\xe9'
              "</annotation><trace>1 2</trace></ink>".encode("latin-1"))
    assert read_inkml(p).text == "caf\xe9"
    p = write(tmp_path, "bom.inkml", b"\xef\xbb\xbf" + inkml('<annotation type="truth">\u00e9t\u00e9</annotation><trace>1 2</trace>').encode())
    assert load_ink(p).text == "\u00e9t\u00e9"


# --------------------------------------------------------------------------- not a file


@pytest.mark.parametrize("reader", list(READERS) + ["detect_kind"])
def test_directory_and_missing_paths(tmp_path, reader):
    fn = detect_kind if reader == "detect_kind" else READERS[reader]
    folder = tmp_path / "folder.inkml"
    folder.mkdir()
    input_error(fn, folder)
    input_error(fn, tmp_path / "missing.json")
    input_error(fn, str(tmp_path / "no" / "such" / "dir" / "x.inkml"))


def test_too_many_points_iam_ondb(tmp_path):
    p = write(tmp_path, "huge.xml", iam(("<Stroke>" + '<Point x="1" y="2" time="0.5"/>' * 1000 + "</Stroke>") * 250))
    start = time.perf_counter()
    with pytest.raises(InputError, match="too many points") as info:
        read_iam_ondb(p)
    assert str(p) in str(info.value)
    assert time.perf_counter() - start < 3 * SECONDS  # XML parsing itself takes most of it


def test_load_ink_says_empty_file_and_not_an_image(tmp_path):
    """load_ink on an empty file says so; on an unreadable file named like an image, that it
    is not an image (it said "not an ink file ... (InkML, IAM-OnDB XML or hwr JSON)")."""
    input_error(load_ink, write(tmp_path, "note.inkml", b""), match="empty file")
    input_error(load_ink, write(tmp_path, "scan.PNG", "some text\n"), match="not an image (png, jpeg")
    input_error(load_ink, write(tmp_path, "notes.txt", "some text\n"), match="not an ink file hwr can read")
