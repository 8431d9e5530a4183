"""Reading and writing ink: W3C InkML, IAM-OnDB line XML and hwr's own JSON.

All XML goes through :mod:`defusedxml`, which refuses DTDs with entities
(billion laughs) and external entities (XXE) instead of expanding them.
Every reader checks the result: no strokes, non-finite coordinates or more
than :data:`MAX_POINTS` points raise :class:`hwr.errors.InputError` naming the
input.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import numpy as np
from defusedxml import DefusedXmlException

from hwr.errors import InputError
from hwr.paths import find_files
from hwr.types import Ink, Stroke

#: Largest ink hwr accepts (points in all strokes).  A long line written on a
#: tablet at 200 Hz has a few thousand points; a page has tens of thousands.
MAX_POINTS = 200_000
#: Largest ink file read (bytes).
MAX_FILE_BYTES = 64 * 1024 * 1024

JSON_FORMAT = "hwr-ink"
JSON_VERSION = 1
INKML_NS = "http://www.w3.org/2003/InkML"

PathLike = str | os.PathLike


# --------------------------------------------------------------------------- helpers


def _read_bytes(path: PathLike) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path}: file too large for an ink file ({size} bytes > {MAX_FILE_BYTES})")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    if not data.strip():
        raise InputError(f"{path}: empty file")
    return data


def _parse_xml(data: bytes, name: str) -> Element:
    try:
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise InputError(f"{name}: refused unsafe XML ({type(e).__name__}: entities and external references are not allowed)") from e
    except SafeET.ParseError as e:
        raise InputError(f"{name}: malformed XML ({e})") from e
    except (ValueError, LookupError) as e:  # bad encodings
        raise InputError(f"{name}: unreadable XML ({e})") from e


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def validate_ink(ink: Ink, name: str = "ink") -> Ink:
    """Check that ``ink`` can be recognised; drop empty strokes.  Returns ``ink``."""
    ink.strokes = [s for s in ink.strokes if len(s) > 0]
    if not ink.strokes:
        raise InputError(f"{name}: no strokes (the ink has no points)")
    n = ink.num_points
    if n > MAX_POINTS:
        raise InputError(f"{name}: too many points ({n:,} > {MAX_POINTS:,}); split the ink into lines")
    for i, s in enumerate(ink.strokes):
        for arr, what in ((s.x, "x"), (s.y, "y"), (s.t, "time"), (s.pressure, "pressure")):
            if arr is not None and not np.all(np.isfinite(arr)):
                raise InputError(f"{name}: stroke {i} has non-finite {what} values (NaN or infinity)")
        if np.abs(s.x).max() > 1e9 or np.abs(s.y).max() > 1e9:
            raise InputError(f"{name}: stroke {i} has coordinates beyond ±1e9")
    return ink


# --------------------------------------------------------------------------- detection


def xml_flavour(path: PathLike) -> str | None:
    """What an XML file holds, from its first 4 KB: ``"inkml"``, ``"iam-ondb"``, ``"page"``
    (PAGE XML ground truth), ``"alto"``, or ``None`` (other XML, or unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lower()
    except OSError:
        return None
    if b"<whiteboardcapturesession" in head:
        return "iam-ondb"
    if re.search(rb"<(\w+:)?ink[\s>/]", head):
        return "inkml"
    if b"<pcgts" in head:
        return "page"
    if b"<alto" in head:
        return "alto"
    return None


def detect_kind(path: PathLike) -> str:
    """Tell what a file holds from its first bytes.

    Returns one of ``"inkml"``, ``"iam-ondb"``, ``"json"``, ``"image"`` or ``"unknown"``.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"BM", b"GIF8")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    ):
        return "image"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return "json"
    if text.startswith(b"<"):
        low = head.lower()
        if b"<whiteboardcapturesession" in low:
            return "iam-ondb"
        if re.search(rb"<(\w+:)?ink[\s>/]", head):
            return "inkml"
        # the root may come after a long prolog or comment: look at the extension
        ext = Path(path).suffix.lower()
        if ext == ".inkml":
            return "inkml"
        if ext == ".xml":
            return "iam-ondb"
    return "unknown"


def load_ink(path: PathLike) -> Ink:
    """Read any ink file hwr knows, detecting its kind from the content."""
    kind = detect_kind(path)
    if kind == "inkml":
        return read_inkml(path)
    if kind == "iam-ondb":
        return read_iam_ondb(path)
    if kind == "json":
        return read_json(path)
    if kind == "image":
        raise InputError(f"{path}: is an image, not ink")
    try:
        empty = os.path.getsize(path) == 0
    except OSError:
        empty = False
    if empty:
        raise InputError(f"{path}: empty file")
    from hwr.imaging import IMAGE_SUFFIXES

    if Path(path).suffix.lower() in IMAGE_SUFFIXES:  # named as an image: say what an image must be
        raise InputError(f"{path}: not an image (PNG, JPEG, TIFF, BMP, GIF or WebP)")
    raise InputError(f"{path}: not an ink file hwr can read (InkML, IAM-OnDB XML or hwr JSON)")


# --------------------------------------------------------------------------- IAM-OnDB


def read_iam_ondb(path: PathLike, text: str | None = None) -> Ink:
    """Read one IAM-OnDB ``lineStrokes`` XML file (``<WhiteboardCaptureSession>``)."""
    data = _read_bytes(path)
    # refuse a huge ink before building its tree (about 300 bytes of memory per <Point> element):
    # counting the tags in the bytes is fast and allocates nothing
    if data.count(b"<Point") > MAX_POINTS:
        raise InputError(f"{path}: too many points (> {MAX_POINTS:,} <Point> elements); split the ink into lines")
    root = _parse_xml(data, str(path))
    if _local(root.tag) != "WhiteboardCaptureSession":
        raise InputError(f"{path}: not an IAM-OnDB file (root element <{_local(root.tag)}>)")
    claimed = sum(1 for _ in root.iter("Point"))  # refuse a huge ink before converting its points
    if claimed > MAX_POINTS:
        raise InputError(f"{path}: too many points ({claimed:,} > {MAX_POINTS:,}); split the ink into lines")
    strokes = []
    for st in root.iter("Stroke"):
        pts = st.findall("Point")
        try:
            x = [float(p.attrib["x"]) for p in pts]
            y = [float(p.attrib["y"]) for p in pts]
            t = [float(p.attrib["time"]) for p in pts] if all("time" in p.attrib for p in pts) else None
        except (KeyError, ValueError) as e:
            raise InputError(f"{path}: bad <Point> ({e})") from e
        strokes.append(Stroke(x, y, t))
    if any(len(s) for s in strokes) and all(s.t is not None for s in strokes if len(s)):
        t0 = min(float(s.t[0]) for s in strokes if len(s))
        for s in strokes:
            if s.t is not None:
                s.t = s.t - t0
    ink = Ink(strokes=strokes, text=text, source="iam-ondb")
    return validate_ink(ink, str(path))


# --------------------------------------------------------------------------- InkML

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([!'\"]?)({_NUM}|[TF*?])")


def _parse_trace(text: str, nchan: int, name: str) -> np.ndarray:
    """Parse the content of an InkML ``<trace>`` into an ``(N, nchan)`` array.

    Supports explicit values, first (') and second (") differences with their
    state carried per channel, and values written without separating spaces.
    """
    rows: list[list[float]] = []
    mode = ["!"] * nchan
    prev = [0.0] * nchan
    vel = [0.0] * nchan
    for chunk in text.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        toks = _TOKEN.findall(chunk)
        consumed = "".join(p + v for p, v in toks)
        if consumed != re.sub(r"\s+", "", chunk):
            raise InputError(f"{name}: unreadable trace point {chunk[:40]!r}")
        if len(toks) < min(2, nchan) or len(toks) > nchan:
            raise InputError(f"{name}: trace point has {len(toks)} values, format has {nchan} channels")
        row = []
        for c in range(nchan):
            if c >= len(toks):  # trailing channels may be omitted: keep the previous value
                row.append(prev[c])
                continue
            prefix, v = toks[c]
            if prefix:
                mode[c] = prefix
            val = {"T": 1.0, "F": 0.0, "*": prev[c], "?": math.nan}.get(v)
            if val is None:
                val = float(v)
            if mode[c] == "!":
                vel[c] = val - prev[c] if rows else 0.0
                cur = val
            elif mode[c] == "'":
                vel[c] = val
                cur = prev[c] + val
            else:  # second difference
                vel[c] = vel[c] + val
                cur = prev[c] + vel[c]
            row.append(cur)
            prev[c] = cur
        rows.append(row)
    if not rows:
        return np.zeros((0, nchan))
    return np.asarray(rows, dtype=np.float64)


def _count_trace_points(text: str) -> int:
    """Points in the content of a ``<trace>`` (non-empty comma-separated chunks), without parsing them."""
    return sum(1 for chunk in text.split(",") if chunk.strip())


def _channels(fmt: Element | None) -> list[tuple[str, str]]:
    if fmt is None:
        return [("X", ""), ("Y", "")]
    chans = []
    for ch in fmt.iter():
        if _local(ch.tag) == "channel":
            chans.append((ch.attrib.get("name", "").upper(), ch.attrib.get("units", "").lower()))
    return chans or [("X", ""), ("Y", "")]


def _annotation_text(el: Element) -> str | None:
    """Ground truth held directly by ``el``: ``annotationXML type="Ground truth"`` or ``annotation type="truth"``."""
    for child in el:
        tag = _local(child.tag)
        typ = child.attrib.get("type", "").lower()
        if tag == "annotationXML" and typ in ("ground truth", "truth", "transcription"):
            for sub in child.iter():
                if _local(sub.tag) in ("label", "text", "transcription") and sub.text is not None:
                    return sub.text.strip()
        if tag == "annotation" and typ in ("truth", "transcription", "ground truth") and child.text:
            return child.text.strip()
    return None


def read_inkml(path: PathLike) -> Ink:
    """Read a W3C InkML file: all traces (in document order), channels from the
    ``traceFormat`` of each trace's context, and the ground-truth label if any."""
    name = str(path)
    root = _parse_xml(_read_bytes(path), name)
    if _local(root.tag) != "ink":
        raise InputError(f"{name}: not InkML (root element <{_local(root.tag)}>)")

    # formats by id, contexts by id -> format
    formats: dict[str, Element] = {}
    contexts: dict[str, str] = {}
    default_fmt: Element | None = None
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "traceFormat":
            fid = el.attrib.get("{http://www.w3.org/XML/1998/namespace}id", el.attrib.get("id"))
            if fid:
                formats[fid] = el
            if default_fmt is None:
                default_fmt = el
    for el in root.iter():
        if _local(el.tag) in ("context", "inkSource"):
            cid = el.attrib.get("{http://www.w3.org/XML/1998/namespace}id", el.attrib.get("id"))
            ref = el.attrib.get("traceFormatRef", "").lstrip("#")
            if not ref:
                inner = [c for c in el.iter() if _local(c.tag) == "traceFormat"]
                if inner:
                    ref = inner[0].attrib.get("{http://www.w3.org/XML/1998/namespace}id", inner[0].attrib.get("id", ""))
                src = el.attrib.get("inkSourceRef", "").lstrip("#")
                if not ref and src in contexts:
                    ref = contexts[src]
            if cid:
                contexts[cid] = ref

    text = _annotation_text(root)
    writer = None
    for child in root:
        if _local(child.tag) == "annotation" and child.attrib.get("type", "").lower() == "writer" and child.text:
            writer = child.text.strip()

    # count the points before parsing any: parsing is slow, refusing a huge ink must not be
    claimed = sum(_count_trace_points(el.text or "") for el in root.iter() if _local(el.tag) == "trace")
    if claimed > MAX_POINTS:
        raise InputError(f"{name}: too many points ({claimed:,} > {MAX_POINTS:,}); split the ink into lines")

    strokes: list[Stroke] = []
    total = 0
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "traceGroup" and text is None:
            text = _annotation_text(el)
        if tag != "trace":
            continue
        cref = el.attrib.get("contextRef", "").lstrip("#")
        fref = contexts.get(cref, "")
        fmt = formats.get(fref, default_fmt) if fref else default_fmt
        chans = _channels(fmt)
        names = [c for c, _ in chans]
        if "X" not in names or "Y" not in names:
            raise InputError(f"{name}: traceFormat has no X and Y channels ({names})")
        arr = _parse_trace(el.text or "", len(chans), name)
        total += len(arr)
        if total > MAX_POINTS:
            raise InputError(f"{name}: too many points (> {MAX_POINTS:,}); split the ink into lines")
        if len(arr) == 0:
            continue
        t = p = None
        if "T" in names:
            t = arr[:, names.index("T")].copy()
            if chans[names.index("T")][1] in ("ms", "millisecond", "milliseconds"):
                t = t / 1000.0
        for pname in ("F", "P"):
            if pname in names:
                p = arr[:, names.index(pname)]
                break
        strokes.append(Stroke(arr[:, names.index("X")], arr[:, names.index("Y")], t, p))
    ink = Ink(strokes=strokes, text=text, writer=writer, source="inkml")
    return validate_ink(ink, name)


def _fmt(v: float) -> str:
    """Shortest text that reads back as the same float64."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


# characters XML 1.0 cannot hold, not even as character references
_XML_UNREPRESENTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str, what: str, path: PathLike) -> str:
    """``value`` escaped for XML element content; carriage returns kept (parsers turn a raw one into \\n)."""
    from xml.sax.saxutils import escape

    bad = _XML_UNREPRESENTABLE.search(value)
    if bad:
        raise InputError(f"{path}: cannot write the ink's {what} as InkML: it contains {bad.group()!r}, "
                         "which XML cannot hold")
    return escape(value, {"\r": "&#13;"})


def write_inkml(ink: Ink, path: PathLike) -> None:
    """Write ``ink`` as W3C InkML.  Reading it back gives the same strokes, text and writer.

    Time (``T``, seconds) and pressure (``F``) channels are written when every
    stroke has them.
    """
    from xml.sax.saxutils import quoteattr

    has_t = bool(ink.strokes) and all(s.t is not None for s in ink.strokes)
    has_p = bool(ink.strokes) and all(s.pressure is not None for s in ink.strokes)
    chans = ['<channel name="X" type="decimal"/>', '<channel name="Y" type="decimal"/>']
    if has_t:
        chans.append('<channel name="T" type="decimal" units="s"/>')
    if has_p:
        chans.append('<channel name="F" type="decimal"/>')
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ink xmlns="{INKML_NS}">\n',
           '  <traceFormat xml:id="hwrFormat">\n    ' + "\n    ".join(chans) + "\n  </traceFormat>\n"]
    if ink.writer is not None:
        out.append(f"  <annotation type=\"writer\">{_xml_text(ink.writer, 'writer', path)}</annotation>\n")
    if ink.text is not None:
        out.append(f"  <annotation type=\"truth\">{_xml_text(ink.text, 'text', path)}</annotation>\n")
    for i, s in enumerate(ink.strokes):
        cols = [s.x, s.y] + ([s.t] if has_t else []) + ([s.pressure] if has_p else [])
        pts = ", ".join(" ".join(_fmt(c[j]) for c in cols) for j in range(len(s)))
        out.append(f"  <trace xml:id={quoteattr('t' + str(i))}>{pts}</trace>\n")
    out.append("</ink>\n")
    _atomic_write(path, "".join(out).encode("utf-8"))


# --------------------------------------------------------------------------- JSON


def ink_to_dict(ink: Ink) -> dict[str, Any]:
    strokes = []
    for s in ink.strokes:
        d: dict[str, Any] = {"x": s.x.tolist(), "y": s.y.tolist()}
        if s.t is not None:
            d["t"] = s.t.tolist()
        if s.pressure is not None:
            d["pressure"] = s.pressure.tolist()
        strokes.append(d)
    out: dict[str, Any] = {"format": JSON_FORMAT, "version": JSON_VERSION, "strokes": strokes}
    for key in ("text", "writer", "source"):
        if getattr(ink, key) is not None:
            out[key] = getattr(ink, key)
    return out


def ink_from_dict(obj: Any, name: str = "ink") -> Ink:
    if not isinstance(obj, dict) or not isinstance(obj.get("strokes"), list):
        raise InputError(f"{name}: not hwr ink JSON (expected an object with a 'strokes' list)")
    if obj.get("format", JSON_FORMAT) != JSON_FORMAT:
        raise InputError(f"{name}: unknown JSON format {obj.get('format')!r}")
    version = obj.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, (int, float)) or not math.isfinite(version):
        raise InputError(f"{name}: ink JSON version {version!r} is not a number")
    if version > JSON_VERSION:
        raise InputError(f"{name}: ink JSON version {obj.get('version')} is newer than this hwr reads ({JSON_VERSION})")
    strokes = []
    total = 0
    for i, s in enumerate(obj["strokes"]):
        if not isinstance(s, dict) or not isinstance(s.get("x"), list) or not isinstance(s.get("y"), list):
            raise InputError(f"{name}: stroke {i} needs 'x' and 'y' lists")
        total += len(s["x"])
        if total > MAX_POINTS:
            raise InputError(f"{name}: too many points (> {MAX_POINTS:,}); split the ink into lines")
        try:
            strokes.append(Stroke(s["x"], s["y"], s.get("t"), s.get("pressure")))
        except (TypeError, ValueError) as e:
            raise InputError(f"{name}: stroke {i}: {e}") from e
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise InputError(f"{name}: 'text' must be a string")
    ink = Ink(strokes=strokes, text=text, writer=obj.get("writer"), source=obj.get("source"))
    return validate_ink(ink, name)


def read_json(path: PathLike) -> Ink:
    """Read hwr's ink JSON: ``{"format": "hwr-ink", "version": 1, "text"?, "writer"?,
    "strokes": [{"x": [...], "y": [...], "t"?: [...], "pressure"?: [...]}]}``."""
    data = _read_bytes(path)
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise InputError(f"{path}: malformed JSON ({e})") from e
    return ink_from_dict(obj, str(path))


def write_json(ink: Ink, path: PathLike) -> None:
    """Write ``ink`` as hwr JSON; floats are written exactly (read back bit for bit)."""
    _atomic_write(path, json.dumps(ink_to_dict(ink), ensure_ascii=False).encode("utf-8"))


def _atomic_write(path: PathLike, data: bytes) -> None:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def iter_ink_files(folder: PathLike, patterns: Iterable[str] = ("*.inkml", "*.json", "*.xml")) -> list[Path]:
    """Ink files under ``folder`` (recursive), sorted."""
    return find_files(folder, *patterns)
