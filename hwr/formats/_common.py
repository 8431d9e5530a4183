"""Shared pieces of the writers: atomic output, XML-safe text, integer geometry, word boxes.

Nothing here imports torch, OpenCV or Qt.
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Union

from hwr.types import LineResult, Page

Dest = Union[str, os.PathLike, IO[str], IO[bytes]]
Point = tuple[int, int]

# characters XML 1.0 forbids (C0 controls except tab/LF/CR, surrogates, U+FFFE/U+FFFF)
_XML_FORBIDDEN = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(s: str) -> str:
    """``s`` without the characters XML 1.0 cannot carry (escaping is ElementTree's job)."""
    return _XML_FORBIDDEN.sub("", s)


# ---------------------------------------------------------------- output


_UMASK: int | None = None


def _file_mode() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def write_output(dest: Dest, data: bytes) -> None:
    """Write ``data`` (UTF-8) to ``dest``.

    A path is written atomically: a temporary file beside it, flushed and renamed over
    the destination, so readers see the old file or the new one, never half of one; on
    any error the temporary file is removed and the destination is left as it was.
    A file object gets the bytes (binary) or the decoded text (text mode) as they are.
    """
    if hasattr(dest, "write"):
        if isinstance(dest, io.TextIOBase):
            dest.write(data.decode("utf-8"))
        else:
            dest.write(data)
        return
    path = Path(os.fspath(dest))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---------------------------------------------------------------- geometry


def _clip(v: float, hi: int) -> int:
    """Round to an integer pixel in ``[0, hi]`` (``hi < 0``: no upper bound)."""
    i = int(round(float(v)))
    if i < 0:
        return 0
    return min(i, hi) if hi >= 0 else i


def int_points(points, page: Page) -> list[Point]:
    """Integer points clipped into the page, consecutive duplicates and non-finite points dropped."""
    xmax, ymax = page.width - 1, page.height - 1
    out: list[Point] = []
    for x, y in points or ():
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        p = (_clip(x, xmax), _clip(y, ymax))
        if not out or out[-1] != p:
            out.append(p)
    return out


def _area2(pts: list[Point]) -> int:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1])))


def bbox(pts: list[Point]) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def box_polygon(x0: int, y0: int, x1: int, y1: int, page: Page) -> list[Point]:
    """A rectangle of at least one pixel each way, kept inside the page where it can be."""
    if x1 <= x0:
        x1 = x0 + 1
        if page.width > 0 and x1 > page.width - 1:
            x0, x1 = max(0, page.width - 2), max(1, page.width - 1)
    if y1 <= y0:
        y1 = y0 + 1
        if page.height > 0 and y1 > page.height - 1:
            y0, y1 = max(0, page.height - 2), max(1, page.height - 1)
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def outline(polygon, page: Page, fallback: list[Point] | None = None) -> list[Point]:
    """A valid outline (>= 3 points, non-zero area) for ``polygon``.

    A polygon that is missing, has fewer than 3 distinct points or no area is replaced
    by its bounding box; with no points at all, by the box of ``fallback`` points, else
    by the whole page.
    """
    pts = int_points(polygon, page)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]  # an explicitly closed ring
    if len(set(pts)) >= 3 and _area2(pts) > 0:
        return pts
    if not pts:
        pts = list(fallback or [])
    if not pts:
        pts = [(0, 0), (max(page.width - 1, 1), max(page.height - 1, 1))]
    return box_polygon(*bbox(pts), page)


def baseline_points(line: LineResult, page: Page) -> list[Point] | None:
    """The baseline as >= 2 distinct integer points, or None."""
    pts = int_points(line.baseline, page)
    return pts if len(pts) >= 2 else None


def line_outline(line: LineResult, page: Page) -> list[Point]:
    base = int_points(line.baseline, page)
    return outline(line.polygon, page, fallback=base)


# ---------------------------------------------------------------- words


@dataclass
class Word:
    text: str  # XML-safe
    confidence: float
    x0: int
    x1: int  # exclusive-ish right edge, > x0


# a word: a run of non-space characters; the white-space controls that XML forbids
# (VT, FF, FS..US) are dropped from the output, so they do not split words either
_WORD = re.compile(r"(?:\S|[\x0b\x0c\x1c-\x1f])+")


def _words_of(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of the words of ``text``."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def clamp01(v: float) -> float:
    v = float(v)
    if v != v:  # NaN
        return 0.0
    return min(1.0, max(0.0, v))


def line_words(line: LineResult, x0: int, x1: int) -> list[Word]:
    """The words of ``line`` with horizontal extents estimated inside ``[x0, x1]``.

    With character spans that match the text, a word spans from its first character's
    start frame to its last character's end frame, the frames between the line's first
    and last character being spread over the line's width; without them the width is
    shared out in proportion to the number of characters.  A word's confidence is the
    mean of its characters' (else the line's).  Words made only of characters XML cannot
    carry are left out.
    """
    text = line.text or ""
    spans = _words_of(text)
    width = max(x1 - x0, 1)
    chars = line.chars if line.chars and "".join(c.char for c in line.chars) == text else None
    if chars:
        f0 = min(c.start for c in chars)
        f1 = max(c.end for c in chars) + 1
        frames = max(f1 - f0, 1)
    out: list[Word] = []
    for a, b in spans:
        content = xml_text(text[a:b])
        if not content:
            continue
        if chars:
            cs = chars[a:b]
            s = min(c.start for c in cs) - f0
            e = max(c.end for c in cs) + 1 - f0
            wx0 = x0 + width * s / frames
            wx1 = x0 + width * e / frames
            conf = sum(clamp01(c.confidence) for c in cs) / len(cs)
        else:
            wx0 = x0 + width * a / len(text)
            wx1 = x0 + width * b / len(text)
            conf = clamp01(line.confidence)
        ix0 = int(round(wx0))
        ix1 = max(int(round(wx1)), ix0 + 1)
        out.append(Word(content, conf, ix0, ix1))
    return out


# ---------------------------------------------------------------- regions


def reading_order(page: Page) -> list[tuple[list[Point], list[int]]]:
    """``(outline, line indices)`` per region in reading order.

    Without regions, one region holds every line.  Lines that no region lists go into
    one more region at the end; a line listed twice is written once (first listing).
    A region without a usable polygon gets the box around its lines.
    """
    n = len(page.lines)
    groups: list[tuple[object, list[int]]] = []
    seen: set[int] = set()
    for region in page.regions:
        idx = []
        for i in region.lines:
            if 0 <= i < n and i not in seen:
                seen.add(i)
                idx.append(i)
        groups.append((region.polygon, idx))
    rest = [i for i in range(n) if i not in seen]
    if rest:
        groups.append((None, rest))
    out = []
    for polygon, idx in groups:
        pts: list[Point] = []
        for i in idx:
            pts.extend(line_outline(page.lines[i], page))
        out.append((outline(polygon, page, fallback=pts), idx))
    return out


def points_str(pts: list[Point]) -> str:
    return " ".join(f"{x},{y}" for x, y in pts)


def serialize(tree, namespace: str, xsi_namespace: str) -> bytes:
    """An ElementTree as indented UTF-8 bytes with an XML declaration, ``namespace`` as the default."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", namespace)
    ET.register_namespace("xsi", xsi_namespace)
    ET.indent(tree, space=" ")
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True) + b"\n"
