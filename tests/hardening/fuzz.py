"""Fuzzing the text parsers: valid seed documents, mutations of them, and a check that only
hwr's own errors come out.

Used by ``tests/hardening/test_fuzz.py`` (hypothesis chooses the mutations) and by
``benchmarks/hardening.py`` (a fixed-time loop, random or coverage-guided).
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hwr.errors import HwrError

from hardening.corpus import ARPA, ALTO_NS, INKML_NS, PAGE_NS, SECONDS, Hang, no_network, time_guard

# ----------------------------------------------------------------------------- seeds

INKML_SEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<ink xmlns="{INKML_NS}">
 <definitions>
  <context xml:id="ctx0"><inkSource xml:id="src"><traceFormat xml:id="fmt">
   <channel name="X" type="decimal"/><channel name="Y" type="decimal"/>
   <channel name="T" type="decimal" units="ms"/><channel name="F" type="decimal"/>
  </traceFormat></inkSource></context>
 </definitions>
 <annotation type="writer">w01</annotation>
 <traceGroup><annotationXML type="Ground truth"><label>hello</label></annotationXML>
  <trace contextRef="#ctx0">10 20 0 0.5, 11 21 10 0.5, 13 24 20 0.6</trace>
  <trace contextRef="#ctx0">30 40 30 0.5, '1 '1 '10 '0, "2 "-1 "10 "0, 1 1 10 0</trace>
  <trace>5 6 * *, 7 8 T F</trace>
 </traceGroup>
</ink>
""".encode()

JSON_SEED = json.dumps({"format": "hwr-ink", "version": 1, "text": "hi", "writer": "w",
                        "strokes": [{"x": [1, 2, 3.5], "y": [4, 5, 6], "t": [0, 0.01, 0.02], "pressure": [0.5, 0.5, 0.4]},
                                    {"x": [7], "y": [8]}]}).encode()

IAM_SEED = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<WhiteboardCaptureSession><WhiteboardDescription><SensorLocation corner="top_left"/>
<DiagonallyOppositeCoords x="6512" y="1376"/></WhiteboardDescription>
<StrokeSet><Stroke colour="black" start_time="769.05" end_time="769.64">
<Point x="1073" y="1058" time="769.05"/><Point x="1072" y="1085" time="769.07"/></Stroke>
<Stroke colour="black" start_time="770.0" end_time="770.1"><Point x="1100" y="1050" time="770.0"/></Stroke>
</StrokeSet></WhiteboardCaptureSession>
"""

PAGE_SEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="{PAGE_NS}">
 <Page imageFilename="p1.png" imageWidth="400" imageHeight="200">
  <TextRegion id="r1"><Coords points="0,0 400,0 400,200 0,200"/>
   <TextLine id="l1"><Coords points="10,20 390,20 390,80 10,80"/><Baseline points="10,70 390,70"/>
    <TextEquiv index="1"><Unicode>second</Unicode></TextEquiv><TextEquiv index="0"><Unicode>first</Unicode></TextEquiv>
   </TextLine>
   <TextLine id="l2"><Coords points="10,110 390,110 390,180"/><TextEquiv><Unicode></Unicode></TextEquiv></TextLine>
  </TextRegion>
 </Page>
</PcGts>
""".encode()

ALTO_SEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="{ALTO_NS}">
 <Description><MeasurementUnit>pixel</MeasurementUnit>
  <sourceImageInformation><fileName>p1.png</fileName></sourceImageInformation></Description>
 <Layout><Page WIDTH="400" HEIGHT="200"><PrintSpace><TextBlock ID="b1">
  <TextLine ID="t1" BASELINE="10 70 390 70" HPOS="10" VPOS="20" WIDTH="380" HEIGHT="60">
   <Shape><Polygon POINTS="10 20 390 20 390 80 10 80"/></Shape>
   <String CONTENT="Ceci est"/><SP/><String CONTENT="mon testament"/></TextLine>
  <TextLine ID="t2" BASELINE="170" HPOS="10" VPOS="110" WIDTH="380" HEIGHT="70"><String CONTENT="deux"/></TextLine>
 </TextBlock></PrintSpace></Page></Layout>
</alto>
""".encode()

ARPA_SEED = ("# hwr-charlm: " + json.dumps({"format": "hwr-charlm", "version": 1, "order": 2, "space_token": "<sp>",
                                            "vocab": ["a", "b"]}) + "\n\n" + ARPA).encode()


def _readers() -> dict[str, Callable[[Path], Any]]:
    from hwr.data.pages import read_page
    from hwr.decoding.lm import CharNgramLM
    from hwr.ink.io import load_ink, read_iam_ondb, read_inkml, read_json

    return {"inkml": read_inkml, "ink-json": read_json, "iam-ondb": read_iam_ondb, "page-xml": read_page,
            "alto": read_page, "arpa": CharNgramLM.load, "load_ink": load_ink}


@dataclass(frozen=True)
class Target:
    name: str
    filename: str
    seed: bytes


TARGETS = {t.name: t for t in (
    Target("inkml", "fuzz.inkml", INKML_SEED),
    Target("ink-json", "fuzz.json", JSON_SEED),
    Target("iam-ondb", "fuzz.xml", IAM_SEED),
    Target("page-xml", "fuzz.xml", PAGE_SEED),
    Target("alto", "fuzz.xml", ALTO_SEED),
    Target("arpa", "fuzz.arpa", ARPA_SEED),
)}

# ----------------------------------------------------------------------------- mutations

TOKENS = [b"<", b">", b"/>", b"</", b"&", b"&amp;", b"&#0;", b"&#x110000;", b'"', b"'", b",", b" ", b"-", b"=",
          b"1e999", b"-1e999", b"1e308", b"NaN", b"nan", b"inf", b"?", b"*", b"T", b"F", b"!", b"0", b"-0", b"99999999999999999999",
          b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\t", b"\n", b"\r", b"{", b"}", b"[", b"]", b"null", b"true", b"-99",
          b"<!DOCTYPE x [<!ENTITY e 'x'>]>", b"&e;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?xml version='1.0'?>",
          b"\\data\\", b"ngram 1=", b"ngram 11=1", b"\\1-grams:", b"\\2-grams:", b"\\end\\", b"<s>", b"</s>", b"<unk>",
          b"<sp>", b"xmlns=\"x\"", b'index="\xc2\xb2"', b"\xef\xbb\xbf", b"\xfe\xff"]

# what a field (a quoted value or a number) may be replaced with: wrong types, non-finite, huge
VALUES = [b"", b"abc", b"nan", b"NaN", b"inf", b"-inf", b"Infinity", b"1e999", b"-1e999", b"1e300", b"-1", b"0", b"1.5",
          b"99999999999999999999", b"\xc2\xb2", b"\xd9\xa3", b"1_0", b"0x10", b"null", b"true", b"[]", b"{}", b"[[[[", b"\"",
          b"&#0;", b"&#xD800;", b"\\u0000", b"<", b"\xff", b" "]
_FIELD = re.compile(rb'"[^"<>\n]{0,80}"|(?<![\w.#])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?')

OPS = ("delete", "insert", "replace", "duplicate", "token", "truncate", "swap", "value", "value")


def mutate(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """Apply ``ops`` (name, position, length, bytes) to ``data``; positions wrap around."""
    b = bytearray(data)
    for op, pos, length, extra in ops:
        n = len(b)
        i = pos % (n + 1)
        if op == "delete":
            del b[i:i + length]
        elif op == "insert":
            b[i:i] = extra
        elif op == "replace":
            b[i:i + len(extra)] = extra
        elif op == "duplicate":
            b[i:i] = b[i:i + length] * (1 + length % 7)
        elif op == "token":
            b[i:i] = TOKENS[length % len(TOKENS)]
        elif op == "truncate":
            del b[i:]
        elif op == "swap" and n:
            j = (pos * 31 + length) % n
            b[i:i + 1], b[j:j + 1] = b[j:j + 1], b[i:i + 1]
        elif op == "value":  # replace the pos-th field (quoted value or number) by a hostile value
            fields = list(_FIELD.finditer(b))
            if fields:
                m = fields[pos % len(fields)]
                v = VALUES[length % len(VALUES)]
                quoted = m.group().startswith(b'"')
                b[m.start():m.end()] = b'"' + v + b'"' if quoted else v
    return bytes(b)


def random_ops(rng: random.Random, max_ops: int = 8) -> list[tuple[str, int, int, bytes]]:
    return [(rng.choice(OPS), rng.randrange(1 << 16), rng.randrange(64), rng.randbytes(rng.randrange(1, 12)))
            for _ in range(rng.randrange(1, max_ops + 1))]


# ----------------------------------------------------------------------------- checking


class Finding(Exception):
    """A reader let something other than an hwr error out, or hung."""


def check(target: str, data: bytes, folder: Path, seconds: float = SECONDS) -> str:
    """Read ``data`` as ``target``: returns ``"ok"`` or ``"error"`` (an hwr error); raises
    :class:`Finding` for a crash (any other exception) or a hang."""
    readers = _readers()
    t = TARGETS[target]
    path = folder / t.filename
    path.write_bytes(data)
    fns = [readers[target]] + ([readers["load_ink"]] if target in ("inkml", "ink-json", "iam-ondb") else [])
    result = "ok"
    old = os.environ.get("HWR_NO_CACHE")
    os.environ["HWR_NO_CACHE"] = "1"  # thousands of LM variants: no parse cache
    try:
        for fn in fns:
            try:
                with no_network(), time_guard(seconds):
                    fn(path)
            except HwrError:
                result = "error"
            except Hang as e:
                raise Finding(f"{target}: hang ({e}) on {data[:200]!r}") from None
            except Exception as e:  # noqa: BLE001 - that is the finding
                raise Finding(f"{target}: {type(e).__name__}: {str(e)[:200]} on {data[:200]!r}") from e
    finally:
        if old is None:
            os.environ.pop("HWR_NO_CACHE", None)
        else:
            os.environ["HWR_NO_CACHE"] = old
    return result


# ----------------------------------------------------------------------------- coverage


_HWR_DIR = str(Path(__import__("hwr").__file__).resolve().parent)


def covered_lines(fn: Callable[[], Any]) -> set[tuple[str, int]]:
    """Lines of hwr's own code that ``fn()`` runs (sys.settrace; exceptions pass through)."""
    lines: set[tuple[str, int]] = set()

    def local(frame, event, arg):
        if event == "line":
            lines.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(_HWR_DIR) else None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(old)
    return lines
