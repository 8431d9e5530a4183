"""A corpus of hostile and broken inputs for every reader of hwr, generated on the fly.

Each :class:`Case` writes one input (or a folder) with ``make(folder) -> path`` and reads it
with ``call(path)``.  :func:`run_case` runs it under a time guard, with tracemalloc and an
audit hook watching, and returns an :class:`Outcome`.  A case passes when

* ``expect="error"``: an :class:`hwr.errors.HwrError` comes out and its message names the
  input (``expect="ok"``: a result comes out, checked by ``check``; ``"either"``: one of the
  two, both being documented behaviours);
* nothing else comes out (a ``KeyError``, ``RecursionError``, ``MemoryError`` ... is a crash);
* it ends within ``seconds`` (a hang guard, not a speed test) and, where ``max_mb`` is set,
  Python's traced memory peak stays under it;
* no socket was connected, no pickle was unpickled, no process or shell started, no file
  named in ``forbidden`` opened, and the text ``secret`` appears in no result or error.

The tests (``tests/hardening/test_corpus.py``) and ``benchmarks/hardening.py`` both use
:func:`all_cases`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import pickle
import signal
import socket
import struct
import sys
import threading
import time
import tracemalloc
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hwr.errors import HwrError

SECONDS = 10.0          # hang guard per case (a quiet machine needs well under 1 s for most)
SECRET = "TOP-SECRET-7f3a9c2e"
INKML_NS = "http://www.w3.org/2003/InkML"
PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"


# ----------------------------------------------------------------------------- watching


class Hang(BaseException):
    """Raised by the time guard (a BaseException, so that no reader's ``except Exception`` hides it)."""


@dataclass
class _Watch:
    active: bool = False
    events: list[str] = field(default_factory=list)
    forbidden: tuple[str, ...] = ()


_WATCH = _Watch()
_HOOKED = False
# audit events that must never happen while a reader runs
# (not ctypes.dlopen: importing torch or OpenCV lazily, on the first read, loads libraries)
_BAD_EVENTS = ("socket.connect", "socket.getaddrinfo", "urllib.Request", "pickle.find_class", "os.system",
               "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")


def _audit(event: str, args: tuple) -> None:
    w = _WATCH
    if not w.active:
        return
    if event.startswith(_BAD_EVENTS):
        w.events.append(f"{event}{args!r:.200}")
    elif event == "open" and w.forbidden and args and isinstance(args[0], (str, bytes, os.PathLike)):
        name = os.fsdecode(args[0])
        if any(name.endswith(f) for f in w.forbidden):
            w.events.append(f"open({name!r})")


def _install_hook() -> None:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True


@contextlib.contextmanager
def time_guard(seconds: float):
    """Raise :class:`Hang` in the main thread after ``seconds`` (pure-Python loops; C code that
    never returns is caught when it does).  Elsewhere than the main thread: no guard."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise Hang(f"still running after {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def no_network():
    """Any ``socket.connect`` fails loudly (and is recorded) while the block runs."""
    real = socket.socket.connect, socket.socket.connect_ex

    def refuse(self, *args, **kwargs):
        _WATCH.events.append(f"socket.connect{args!r:.100}")
        raise AssertionError("a reader tried to open a network connection")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = real


# ----------------------------------------------------------------------------- cases


@dataclass
class Case:
    reader: str                               # what is read: "image", "ink", "page", "model", ...
    name: str
    make: Callable[[Path], Path]              # writes the input under a folder, returns its path
    call: Callable[[Path], Any]               # reads it
    expect: str = "error"                     # "error", "ok" or "either"
    check: Callable[[Any, Path], None] | None = None   # for a result
    match: str | None = None                  # a word the error message must hold (lower case)
    max_mb: float | None = None               # bound on Python's traced memory peak
    secret: bool = False                      # SECRET must appear in no result or message
    forbidden: tuple[str, ...] = ()           # file names that must not be opened
    names_input: bool = True                  # the error names the path ``make`` returned
    seconds: float = SECONDS

    @property
    def id(self) -> str:
        return f"{self.reader}:{self.name}"


@dataclass
class Outcome:
    case: Case
    status: str            # "pass", "crash", "hang", "wrong" (a documented result was not met), "unsafe"
    seconds: float
    peak_mb: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "pass"


def _chain(e: BaseException) -> str:
    parts, seen = [], e
    while seen is not None and len(parts) < 20:
        parts.append(repr(seen) + str(seen))
        seen = seen.__cause__ or seen.__context__
    return "".join(parts)


def run_case(case: Case, folder: Path, trace_memory: bool | None = None) -> Outcome:
    """Make the input under ``folder`` and read it; never raises (except KeyboardInterrupt).
    ``trace_memory``: measure the peak with tracemalloc (slows Python code down several times);
    by default only for cases with a memory bound."""
    _install_hook()
    if trace_memory is None:
        trace_memory = case.max_mb is not None
    folder.mkdir(parents=True, exist_ok=True)
    path = case.make(folder)
    result: Any = None
    error: BaseException | None = None
    if trace_memory:
        tracemalloc.start()
    _WATCH.events, _WATCH.forbidden, _WATCH.active = [], case.forbidden, True
    start = time.perf_counter()
    try:
        with no_network(), time_guard(case.seconds):
            result = case.call(path)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - judged below
        error = e
    finally:
        elapsed = time.perf_counter() - start
        _WATCH.active = False
        peak = 0.0
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

    def out(status: str, detail: str = "") -> Outcome:
        return Outcome(case, status, elapsed, peak, detail)

    if _WATCH.events:
        return out("unsafe", "; ".join(_WATCH.events[:3]))
    if isinstance(error, Hang) or elapsed > case.seconds:
        return out("hang", f"{elapsed:.1f} s")
    if error is not None and not isinstance(error, HwrError):
        return out("crash", f"{type(error).__name__}: {str(error)[:300]}")
    if case.max_mb is not None and peak > case.max_mb:
        return out("wrong", f"memory peak {peak:.0f} MB > {case.max_mb:.0f} MB")
    if case.secret:
        text = _chain(error) if error is not None else repr(result)
        if SECRET in text:
            return out("unsafe", "the secret file's content came out")
    if error is not None:
        if case.expect == "ok":
            return out("wrong", f"expected a result, got {type(error).__name__}: {str(error)[:300]}")
        msg = str(error)
        if case.names_input and str(path) not in msg:
            return out("wrong", f"the message does not name {path}: {msg[:300]}")
        if case.match and case.match not in msg.replace(str(path), "<input>").lower():  # not in the path
            return out("wrong", f"the message lacks {case.match!r}: {msg[:300]}")
        return out("pass", f"{type(error).__name__}: {msg[:200]}")
    if case.expect == "error":
        return out("wrong", f"expected an hwr error, got {type(result).__name__}")
    if case.check is not None:
        try:
            case.check(result, path)
        except AssertionError as e:
            return out("wrong", f"result check failed: {e}")
        except Exception as e:  # noqa: BLE001 - the result breaks when used (e.g. a damaged LM cache)
            return out("crash", f"using the result: {type(e).__name__}: {str(e)[:300]}")
    return out("pass", f"result {type(result).__name__}")


# ----------------------------------------------------------------------------- helpers


def writer(name: str, content: bytes | str | Callable[[Path], bytes | str]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        p = folder / name
        data = content(folder) if callable(content) else content
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return p
    return make


def _secret_file(folder: Path) -> Path:
    s = folder / "secret.txt"
    s.write_text(SECRET + "\n")
    return s


def _free_port() -> int:
    """A local port nothing listens on (connecting to it would fail; no_network catches it first)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, color_type: int, rows: bytes, depth: int = 8, extra: bytes = b"") -> bytes:
    """A PNG written by hand (palette images and lying headers, which OpenCV cannot write)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + extra
            + _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b""))


def palette_png() -> bytes:
    """4x2 palette image: index 0 black, 1 white."""
    plte = _png_chunk(b"PLTE", bytes([0, 0, 0, 255, 255, 255]))
    rows = b"".join(b"\x00" + bytes([0, 1, 0, 1]) for _ in range(2))
    return png(4, 2, 3, rows, extra=plte)


def bomb_png(side: int = 100_000) -> bytes:
    """A PNG whose header claims ``side`` x ``side`` grey pixels, with a few real rows."""
    return png(side, side, 0, b"\x00" + b"\x00" * side)


def cmyk_jpeg() -> bytes:
    """An 8x8 CMYK JPEG written by hand (Adobe APP14, 4 components, all DC 0 = mid grey).

    Each block codes DC difference 0 (category 0: Huffman code ``00``) and end-of-block
    (``1010``) with the standard luminance tables: 6 bits a block, 4 blocks."""
    dc_bits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    dc_vals = list(range(12))
    ac_bits = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]
    ac_vals = bytes.fromhex(
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435"
        "363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798"
        "999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4"
        "f5f6f7f8f9fa")

    def seg(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    app14 = seg(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, 0))       # transform 0: plain CMYK
    dqt = seg(0xDB, b"\x00" + bytes([1] * 64))
    sof = seg(0xC0, struct.pack(">BHHB", 8, 8, 8, 4) + b"".join(bytes([i, 0x11, 0]) for i in range(1, 5)))
    dht = seg(0xC4, b"\x00" + bytes(dc_bits) + bytes(dc_vals) + b"\x10" + bytes(ac_bits) + ac_vals)
    sos = seg(0xDA, b"\x04" + b"".join(bytes([i, 0x00]) for i in range(1, 5)) + b"\x00\x3f\x00")
    scan = bytes([0b00101000, 0b10100010, 0b10001010])
    return b"\xff\xd8" + app14 + dqt + sof + dht + sos + scan + b"\xff\xd9"


def _encode(ext: str, img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def _page_img(h: int = 40, w: int = 60, channels: int = 0, dtype=np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    shape = (h, w) if not channels else (h, w, channels)
    img = np.full(shape, top, dtype)
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = top // 8
    return img


def _gif_animation() -> bytes:
    import cv2

    anim = cv2.Animation()
    a = _page_img(channels=3)
    anim.frames = [a, 255 - a, a]
    anim.durations = [100, 100, 100]
    ok, buf = cv2.imencodeanimation(".gif", anim)
    assert ok
    return buf.tobytes()


def _tiff_pages(n: int = 3) -> bytes:
    import cv2

    pages = [_page_img(30 + 10 * i, 50 + 5 * i) for i in range(n)]
    ok, buf = cv2.imencodemulti(".tif", pages)
    assert ok
    return buf.tobytes()


def _gray(shape: tuple[int, int]):
    def check(img, path):
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == shape, (img.dtype, img.shape)
    return check


def _uniform_8x8(img, path):
    # C = M = Y = K = 128: the grey depends on how the CMYK is read (Adobe files are often inverted)
    assert img.dtype == np.uint8 and img.shape == (8, 8) and int(img.max()) - int(img.min()) <= 2, img


def _dark_square(img, path):
    assert img.dtype == np.uint8 and img.ndim == 2
    assert img[0, 0] > 200 and img[img.shape[0] // 2, img.shape[1] // 2] < 80, (img[0, 0], img[img.shape[0] // 2, img.shape[1] // 2])


def _tiff_all_pages(path: Path):
    from hwr.imaging.load import count_pages, load_page

    n = count_pages(path)
    return [load_page(path, i) for i in range(n)]


def _three_pages(pages, path):
    assert [p.shape for p in pages] == [(30, 50), (40, 55), (50, 60)], [p.shape for p in pages]


def image_cases() -> list[Case]:
    from hwr.imaging.load import count_pages, load_image, load_page

    png_ok = lambda: _encode(".png", _page_img())
    jpg_ok = lambda: _encode(".jpg", _page_img())
    tif_ok = lambda: _encode(".tif", _page_img())
    alpha = _page_img(channels=4)
    alpha[:, :, 3] = 0          # fully transparent: white paper whatever the colour
    alpha[:, :, :3] = 0
    c = [
        Case("image", "zero-bytes", writer("empty.png", b""), load_image, match="empty"),
        Case("image", "truncated-png", writer("cut.png", lambda f: png_ok()[:60]), load_image),
        Case("image", "truncated-png-header", writer("cut2.png", lambda f: png_ok()[:20]), load_image),
        # libjpeg decodes what a cut JPEG holds and fills the rest: a result or an error, never a crash
        Case("image", "truncated-jpeg", writer("cut.jpg", lambda f: jpg_ok()[: len(jpg_ok()) // 2]), load_image,
             expect="either"),
        Case("image", "truncated-jpeg-header", writer("cut2.jpg", lambda f: jpg_ok()[:30]), load_image),
        Case("image", "truncated-tiff", writer("cut.tif", lambda f: tif_ok()[:40]), load_image),
        Case("image", "truncated-tiff-page", writer("cut-p.tif", lambda f: tif_ok()[:40]),
             lambda p: load_page(p, 0)),
        Case("image", "png-named-jpg", writer("png.jpg", lambda f: png_ok()), load_image, expect="ok",
             check=_dark_square),
        Case("image", "text-named-png", writer("text.png", "hello, I am not an image\n"), load_image,
             match="not an image"),
        Case("image", "pdf-named-tif", writer("doc.tif", b"%PDF-1.7\n" + b"0" * 100), load_image),
        Case("image", "bomb-png-100k-square", writer("bomb.png", lambda f: bomb_png()), load_image,
             match="too large", max_mb=40),
        Case("image", "bomb-png-100k-square-page", writer("bomb-p.png", lambda f: bomb_png()), load_page,
             match="too large", max_mb=40),
        Case("image", "bomb-png-65535-square", writer("bomb65535.png", lambda f: bomb_png(65_535)), load_image,
             match="too large", max_mb=40),
        Case("image", "1x1", writer("one.png", lambda f: _encode(".png", np.zeros((1, 1), np.uint8))), load_image,
             expect="ok", check=_gray((1, 1))),
        Case("image", "65535-wide", writer("wide.png", lambda f: _encode(".png", np.full((1, 65_535), 255, np.uint8))),
             load_image, expect="ok", check=_gray((1, 65_535))),
        Case("image", "65535-tall", writer("tall.png", lambda f: _encode(".png", np.full((65_535, 1), 255, np.uint8))),
             load_image, expect="ok", check=_gray((65_535, 1))),
        Case("image", "16-bit", writer("deep.png", lambda f: _encode(".png", _page_img(dtype=np.uint16))), load_image,
             expect="ok", check=_dark_square),
        Case("image", "16-bit-colour", writer("deep-rgb.png", lambda f: _encode(".png", _page_img(channels=3, dtype=np.uint16))),
             load_image, expect="ok", check=_dark_square),
        Case("image", "cmyk-jpeg", writer("cmyk.jpg", lambda f: cmyk_jpeg()), load_image, expect="ok", check=_uniform_8x8),
        Case("image", "palette-png", writer("pal.png", lambda f: palette_png()), load_image, expect="ok",
             check=lambda img, p: np.testing.assert_array_equal(img, [[0, 255, 0, 255]] * 2)),
        Case("image", "alpha-png", writer("alpha.png", lambda f: _encode(".png", alpha)), load_image, expect="ok",
             check=lambda img, p: np.testing.assert_array_equal(img, np.full((40, 60), 255, np.uint8))),
        Case("image", "animated-gif", writer("anim.gif", lambda f: _gif_animation()), load_image, expect="ok",
             check=_dark_square),
        Case("image", "multi-page-tiff", writer("pages.tif", lambda f: _tiff_pages()), _tiff_all_pages, expect="ok",
             check=_three_pages),
        Case("image", "multi-page-tiff-count", writer("pages2.tif", lambda f: _tiff_pages(5)), count_pages,
             expect="ok", check=lambda n, p: None if n == 5 else (_ for _ in ()).throw(AssertionError(n))),
        Case("image", "tiff-page-past-end", writer("pages3.tif", lambda f: _tiff_pages(2)),
             lambda p: load_page(p, 7), match="no page 8"),
        Case("image", "directory", lambda f: (f / "dir.png").mkdir() or f / "dir.png", load_image),
        Case("image", "missing", lambda f: f / "missing.png", load_image),
    ]
    return c


# ----------------------------------------------------------------------------- XML (ink, PAGE, ALTO)


def inkml(body: str, prolog: str = "", ns: str = INKML_NS, decl: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return f'{decl}{prolog}<ink xmlns="{ns}">{body}</ink>\n'


def iam(body: str, prolog: str = "", decl: str = '<?xml version="1.0"?>\n', ns: str = "") -> str:
    x = f' xmlns="{ns}"' if ns else ""
    return f"{decl}{prolog}<WhiteboardCaptureSession{x}><StrokeSet>{body}</StrokeSet></WhiteboardCaptureSession>"


def page(lines: str, prolog: str = "", ns: str = PAGE_NS, decl: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
         page_attrs: str = 'imageFilename="p.png" imageWidth="400" imageHeight="200"') -> str:
    return (f'{decl}{prolog}<PcGts xmlns="{ns}"><Page {page_attrs}><TextRegion id="r1">'
            f"{lines}</TextRegion></Page></PcGts>\n")


def page_line(text: str = "hello", points: str = "10,20 390,20 390,80 10,80", attrs: str = "") -> str:
    return (f'<TextLine id="l1"{attrs}><Coords points="{points}"/><Baseline points="10,70 390,70"/>'
            f"<TextEquiv><Unicode>{text}</Unicode></TextEquiv></TextLine>")


def alto(lines: str, prolog: str = "", ns: str = ALTO_NS, decl: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return (f'{decl}{prolog}<alto xmlns="{ns}"><Description><MeasurementUnit>pixel</MeasurementUnit></Description>'
            f'<Layout><Page WIDTH="400" HEIGHT="200"><PrintSpace><TextBlock ID="b1">{lines}'
            "</TextBlock></PrintSpace></Page></Layout></alto>\n")


def alto_line(text: str = "hello", points: str = "10 20 390 20 390 80 10 80", attrs: str = "") -> str:
    return (f'<TextLine ID="t1" HPOS="10" VPOS="20" WIDTH="380" HEIGHT="60"{attrs}>'
            f'<Shape><Polygon POINTS="{points}"/></Shape><String CONTENT="{text}"/></TextLine>')


LOL = ('<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
       + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
       + "]>\n")


@dataclass
class XmlFormat:
    """How to write a minimal valid document of one XML format, and how to read it."""

    reader: str
    ext: str
    root: str
    doc: Callable[..., str]        # doc(body, prolog=..., ns=..., decl=...) -> text
    body: Callable[..., str]       # body(text=..., attrs=...) -> the element(s) inside
    read: Callable[[Path], Any]
    text_check: Callable[[Any], str]     # the text read back from a result
    deep: Callable[[int], str]     # a body nested n levels deep
    wrong_ns_ok: bool = True       # does the reader ignore namespaces (a result) or refuse?


def _xml_formats() -> list[XmlFormat]:
    from hwr.data.pages import read_page
    from hwr.ink.io import read_iam_ondb, read_inkml

    return [
        XmlFormat("inkml", ".inkml", "ink",
                  lambda body, **k: inkml(body, **k),
                  lambda text="hi", attrs="": f'<annotation type="truth"{attrs}>{text}</annotation><trace>1 2, 3 4, 5 7</trace>',
                  read_inkml, lambda ink: ink.text or "",
                  lambda n: "<traceGroup>" * n + "<trace>1 2, 3 4</trace>" + "</traceGroup>" * n),
        XmlFormat("iam-ondb", ".xml", "WhiteboardCaptureSession",
                  lambda body, **k: iam(body, **k),
                  lambda text="1", attrs="": f'<Stroke{attrs}><Point x="1" y="2" time="{text}"/><Point x="3" y="4" time="2"/></Stroke>',
                  read_iam_ondb, lambda ink: repr(ink),
                  lambda n: "<g>" * n + '<Stroke><Point x="1" y="2"/></Stroke>' + "</g>" * n, wrong_ns_ok=False),
        XmlFormat("page-xml", ".xml", "PcGts",
                  lambda body, **k: page(body, **k),
                  lambda text="hello", attrs="": page_line(text, attrs=attrs),
                  read_page, lambda doc: " ".join(l.text for l in doc.lines),
                  lambda n: '<TextRegion id="x">' * n + page_line() + "</TextRegion>" * n),
        XmlFormat("alto", ".xml", "alto",
                  lambda body, **k: alto(body, **k),
                  lambda text="hello", attrs="": alto_line(text, attrs=attrs),
                  read_page, lambda doc: " ".join(l.text for l in doc.lines),
                  lambda n: "<TextBlock>" * n + alto_line() + "</TextBlock>" * n),
    ]


def _no_secret(fmt: XmlFormat):
    def check(result, path):
        assert SECRET not in fmt.text_check(result) and SECRET not in repr(result)
    return check


def _big_attribute(fmt: XmlFormat, mb: int = 50) -> Callable[[Path], bytes]:
    """A valid document with one attribute of ``mb`` MB: digits in PAGE / ALTO polygons (a
    polygon of millions of points), digits in IAM-OnDB coordinates, letters elsewhere."""
    n = mb * 1_000_000

    def make(folder: Path) -> bytes:
        if fmt.reader == "page-xml":
            return fmt.doc(fmt.body(text="x")).encode().replace(b'points="10,20 390,20 390,80 10,80"',
                                                               b'points="' + b"1,2 " * (n // 4) + b'"', 1)
        if fmt.reader == "alto":
            return fmt.doc(fmt.body(text="x")).encode().replace(b'POINTS="10 20 390 20 390 80 10 80"',
                                                               b'POINTS="' + b"1 2 " * (n // 4) + b'"', 1)
        if fmt.reader == "iam-ondb":
            return fmt.doc(fmt.body()).encode().replace(b'x="1"', b'x="' + b"1" * n + b'"', 1)
        return fmt.doc(fmt.body(attrs=' comment="' + "a" * n + '"')).encode()
    return make


def xml_cases() -> list[Case]:
    cases: list[Case] = []
    for fmt in _xml_formats():
        r, ext = fmt.reader, fmt.ext
        valid = fmt.doc(fmt.body())
        dtd = f"<!DOCTYPE {fmt.root} "

        def xxe_file(folder: Path, fmt=fmt, dtd=dtd) -> str:
            uri = _secret_file(folder).resolve().as_uri()
            return fmt.doc(fmt.body(text="&xxe;"), prolog=f'{dtd}[<!ENTITY xxe SYSTEM "{uri}">]>\n')

        def xxe_param(folder: Path, fmt=fmt, dtd=dtd) -> str:
            uri = _secret_file(folder).resolve().as_uri()
            return fmt.doc(fmt.body(), prolog=f'{dtd}[<!ENTITY % p SYSTEM "{uri}"> %p;]>\n')

        def xxe_net(folder: Path, fmt=fmt, dtd=dtd) -> str:
            url = f"http://127.0.0.1:{_free_port()}/x.dtd"
            return fmt.doc(fmt.body(text="&e;"), prolog=f'{dtd}[<!ENTITY e SYSTEM "{url}">]>\n')

        def ext_dtd(folder: Path, fmt=fmt, dtd=dtd) -> str:
            return fmt.doc(fmt.body(), prolog=f'{dtd}SYSTEM "http://127.0.0.1:{_free_port()}/evil.dtd">\n')

        read = fmt.read
        cases += [
            Case(r, "valid", writer("valid" + ext, valid), read, expect="ok"),
            Case(r, "zero-bytes", writer("empty" + ext, b""), read, match="empty"),
            Case(r, "malformed-truncated", writer("cut" + ext, valid[: len(valid) // 2]), read),
            Case(r, "malformed-mismatched-tag", writer("mismatch" + ext, valid.replace(f"</{fmt.root}>", "</nope>")), read),
            Case(r, "malformed-binary", writer("bin" + ext, bytes(range(256)) * 8), read),
            Case(r, "xxe-file-entity", writer("xxe" + ext, xxe_file), read, expect="either", secret=True,
                 forbidden=("secret.txt",)),
            Case(r, "xxe-parameter-entity", writer("xxe-p" + ext, xxe_param), read, expect="either", secret=True,
                 forbidden=("secret.txt",)),
            Case(r, "xxe-network-entity", writer("net" + ext, xxe_net), read, match="unsafe"),
            Case(r, "external-dtd", writer("dtd" + ext, ext_dtd), read, expect="either"),
            Case(r, "billion-laughs", writer("lol" + ext, fmt.doc(fmt.body(text="&lol9;"), prolog=LOL.replace("lolz", fmt.root))),
                 read, match="unsafe", max_mb=50),
            Case(r, "quadratic-blowup", writer("quad" + ext, fmt.doc(fmt.body(text="&a;" * 20_000),
                                                                     prolog=f'{dtd}[<!ENTITY a "{"x" * 20_000}">]>\n')),
                 read, match="unsafe", max_mb=50),
            Case(r, "nested-10000", writer("deep" + ext, fmt.doc(fmt.deep(10_000))), read, expect="either"),
            Case(r, "nested-10000-unclosed", writer("deep-open" + ext, fmt.doc(fmt.deep(10_000))[:-40]), read),
            # the file itself is 50 MB; what is read on top of it stays small
            Case(r, "attribute-50MB", writer("bigattr" + ext, _big_attribute(fmt)), read, expect="either",
                 max_mb=400, seconds=30),
            Case(r, "wrong-namespace", writer("ns" + ext, fmt.doc(fmt.body(), ns="http://example.com/not-it")), read,
                 expect="ok" if fmt.wrong_ns_ok else "error"),
            Case(r, "declared-utf16-utf8-bytes", writer("u16" + ext, fmt.doc(fmt.body(), decl='<?xml version="1.0" encoding="UTF-16"?>\n')),
                 read),
            Case(r, "invalid-utf8", writer("badutf8" + ext, fmt.doc(fmt.body(text="caf\udce9")).encode("utf-8", "surrogateescape")),
                 read),
            Case(r, "declared-unknown-encoding", writer("enc" + ext, fmt.doc(fmt.body(), decl='<?xml version="1.0" encoding="x-no-such"?>\n')),
                 read),
            Case(r, "declared-latin1-lying", writer("latin" + ext, fmt.doc(fmt.body(text="\u00e9t\u00e9"), decl='<?xml version="1.0" encoding="ISO-8859-1"?>\n').encode()),
                 read, expect="either"),
            Case(r, "utf16-with-bom", writer("bom16" + ext, fmt.doc(fmt.body(), decl='<?xml version="1.0" encoding="UTF-16"?>\n').encode("utf-16")),
                 read, expect="ok"),
            Case(r, "nul-bytes", writer("nul" + ext, valid.replace(">", ">\x00", 3)), read),
        ]
    # one per format: the secret must stay out of the result when a reader parses without expanding
    for c in cases:
        if c.secret:
            fmt = next(f for f in _xml_formats() if f.reader == c.reader)
            c.check = _no_secret(fmt)
    return cases


def _traversal(image_name: str) -> Callable[[Path], Path]:
    """A PAGE file in ``sub/`` naming an image outside its folder (``secret.png`` beside ``sub/``)."""
    def make(folder: Path) -> Path:
        import cv2

        ok, buf = cv2.imencode(".png", _page_img())
        (folder / "secret.png").write_bytes(buf.tobytes())
        sub = folder / "sub"
        sub.mkdir()
        p = sub / "p.xml"
        p.write_text(page(page_line(), page_attrs=f'imageFilename="{image_name.format(folder=folder)}"'))
        return p
    return make


def _page_image(path: Path):
    from hwr.data.pages import page_image_path, read_page
    from hwr.imaging.load import load_image

    return load_image(page_image_path(read_page(path)))


def page_cases() -> list[Case]:
    """PAGE / ALTO specifics: numbers, polygons, the image file named by the XML."""
    from hwr.data.pages import read_page

    return [
        # the image is looked for beside the XML only: a path in imageFilename is not followed
        Case("page-xml", "image-path-traversal", _traversal("../secret.png"), _page_image, match="not found",
             forbidden=("secret.png",)),
        Case("page-xml", "image-absolute-path", _traversal("{folder}/secret.png"), _page_image, match="not found",
             forbidden=("secret.png",)),
        Case("page-xml", "width-not-a-number", writer("w.xml", page(page_line(), page_attrs='imageWidth="abc" imageHeight="9"')),
             read_page, match="imagewidth"),
        Case("page-xml", "width-infinite", writer("winf.xml", page(page_line(), page_attrs='imageWidth="inf" imageHeight="9"')),
             read_page),
        Case("page-xml", "height-nan", writer("hnan.xml", page(page_line(), page_attrs='imageWidth="9" imageHeight="nan"')),
             read_page),
        Case("page-xml", "index-superscript", writer("idx.xml", page(page_line().replace("<TextEquiv>", '<TextEquiv index="\u00b2">'))),
             read_page, expect="ok"),
        Case("page-xml", "points-1e999", writer("inf.xml", page(page_line(points="1e999,2 3,4 5,6"))), read_page,
             match="finite"),
        Case("page-xml", "points-odd", writer("odd.xml", page(page_line(points="1,2 3"))), read_page, match="odd"),
        Case("page-xml", "no-page", writer("nopage.xml", f'<PcGts xmlns="{PAGE_NS}"/>'), read_page),
        Case("page-xml", "other-root", writer("other.xml", "<html><body/></html>"), read_page, match="neither"),
        Case("alto", "width-infinite", writer("ainf.xml", alto(alto_line()).replace('WIDTH="400"', 'WIDTH="inf"')),
             read_page, expect="ok", check=lambda d, p: None if d.width == 0 else (_ for _ in ()).throw(AssertionError(d.width))),
        Case("alto", "hpos-nan", writer("anan.xml", alto(alto_line().replace('HPOS="10"', 'HPOS="nan"'))), read_page,
             expect="ok", check=lambda d, p: None if all(np.isfinite(d.lines[0].polygon).all() for _ in [0])
             else (_ for _ in ()).throw(AssertionError(d.lines[0].polygon))),
        Case("alto", "points-1e999", writer("apts.xml", alto(alto_line(points="1e999 2 3 4 5 6"))), read_page,
             match="finite"),
        Case("alto", "unit-mm10", writer("mm.xml", alto(alto_line()).replace(">pixel<", ">mm10<")), read_page,
             match="unit"),
    ]


# ----------------------------------------------------------------------------- ink (values)


def _ink_json(strokes: list[dict], **extra) -> str:
    return json.dumps({"format": "hwr-ink", "version": 1, "strokes": strokes, **extra})


def _points_check(n: int):
    def check(ink, path):
        assert ink.num_points == n, ink.num_points
    return check


def ink_cases() -> list[Case]:
    from hwr.ink.io import load_ink, read_iam_ondb, read_inkml, read_json

    million = lambda f: '{"strokes": [{"x": [' + "1.5," * 999_999 + '2], "y": [' + "0," * 999_999 + "1]}]}"
    return [
        Case("ink-json", "nan", writer("nan.json", '{"strokes": [{"x": [1, NaN], "y": [1, 2]}]}'), read_json,
             match="non-finite"),
        Case("ink-json", "inf", writer("inf.json", '{"strokes": [{"x": [1, 2], "y": [Infinity, 2]}]}'), read_json,
             match="non-finite"),
        Case("ink-json", "1e999", writer("big.json", '{"strokes": [{"x": [1e999], "y": [2]}]}'), read_json),
        Case("ink-json", "1e300", writer("e300.json", _ink_json([{"x": [1e300, 0], "y": [2, 3]}])), read_json,
             match="1e9"),
        Case("ink-json", "negative", writer("neg.json", _ink_json([{"x": [-5e5, -3], "y": [-2, -1e6]}])), read_json,
             expect="ok", check=_points_check(2)),
        Case("ink-json", "empty-strokes", writer("empty.json", _ink_json([{"x": [], "y": []}] * 3)), read_json,
             match="no strokes"),
        Case("ink-json", "some-empty-strokes", writer("some.json", _ink_json([{"x": [], "y": []}, {"x": [1], "y": [2]}])),
             read_json, expect="ok", check=_points_check(1)),
        Case("ink-json", "points-1e6", writer("million.json", million), read_json, match="too many points",
             max_mb=300, seconds=30),
        Case("ink-json", "lengths-differ", writer("len.json", _ink_json([{"x": [1, 2], "y": [1]}])), read_json),
        Case("ink-json", "nested-lists", writer("nested.json", _ink_json([{"x": [[1, 2]], "y": [[1, 2]]}])), read_json,
             expect="either"),
        Case("ink-json", "strings", writer("str.json", _ink_json([{"x": ["a"], "y": ["b"]}])), read_json),
        Case("ink-json", "version-not-a-number", writer("ver.json", _ink_json([{"x": [1], "y": [2]}]).replace('"version": 1', '"version": "one"')),
             read_json, match="version"),
        Case("ink-json", "version-null", writer("vnull.json", _ink_json([{"x": [1], "y": [2]}]).replace('"version": 1', '"version": null')),
             read_json, match="version"),
        Case("ink-json", "version-1e999", writer("vinf.json", _ink_json([{"x": [1], "y": [2]}]).replace('"version": 1', '"version": 1e999')),
             read_json, match="version"),
        Case("ink-json", "nested-100000", writer("deep.json", '{"strokes": ' + "[" * 100_000 + "]" * 100_000 + "}"),
             read_json),
        Case("ink-json", "not-an-object", writer("list.json", "[1, 2, 3]"), read_json),
        Case("inkml", "nan", writer("nan.inkml", inkml("<trace>1 2, NaN 3</trace>")), read_inkml),
        Case("inkml", "unknown-value", writer("q.inkml", inkml("<trace>1 2, ? 3</trace>")), read_inkml),
        Case("inkml", "1e300", writer("e300.inkml", inkml("<trace>1e300 2, 3 4</trace>")), read_inkml, match="1e9"),
        Case("inkml", "second-difference-overflow", writer("dd.inkml", inkml('<trace>0 0, "1e308 0, 1e308 0, 1e308 0</trace>')),
             read_inkml),
        Case("inkml", "negative", writer("neg.inkml", inkml("<trace>-100 -200, -5 -7</trace>")), read_inkml,
             expect="ok", check=_points_check(2)),
        Case("inkml", "empty-traces", writer("empty.inkml", inkml("<trace/><trace> </trace>")), read_inkml,
             match="no strokes"),
        Case("inkml", "points-1e6", writer("million.inkml", lambda f: inkml("<trace>" + "12 34, " * 999_999 + "5 6</trace>")),
             read_inkml, match="too many points", max_mb=300, seconds=30),
        Case("inkml", "no-xy-channels", writer("chan.inkml", inkml('<traceFormat><channel name="T"/></traceFormat><trace>1</trace>')),
             read_inkml, match="channels"),
        Case("inkml", "too-many-values", writer("vals.inkml", inkml("<trace>1 2 3 4 5</trace>")), read_inkml),
        Case("iam-ondb", "nan", writer("nan.xml", iam('<Stroke><Point x="nan" y="2"/></Stroke>')), read_iam_ondb,
             match="non-finite"),
        Case("iam-ondb", "missing-y", writer("noy.xml", iam('<Stroke><Point x="1"/></Stroke>')), read_iam_ondb),
        Case("iam-ondb", "1e300", writer("e300.xml", iam('<Stroke><Point x="1e300" y="2"/></Stroke>')), read_iam_ondb),
        Case("iam-ondb", "points-1e6", writer("million.xml", lambda f: iam("<Stroke>" + '<Point x="1" y="2"/>' * 1_000_000 + "</Stroke>")),
             read_iam_ondb, match="too many points", max_mb=100),
        Case("ink", "image-as-ink", writer("img.inkml", lambda f: _encode(".png", _page_img())), load_ink, match="image"),
        Case("ink", "unknown-kind", writer("what.dat", "just some text\n"), load_ink),
    ]


# ----------------------------------------------------------------------------- model files


_ALPH = list("abcdefghijklmnopqrstuvwxyz ")


def _small_model(folder: Path, name: str = "m", alphabet: list[str] | None = None, config: dict | None = None,
                 meta_edit: Callable[[dict], None] | None = None) -> Path:
    """A tiny ink model saved by hwr, with its metadata changed by ``alphabet`` / ``config`` / ``meta_edit``."""
    import torch
    from safetensors.torch import save_file

    from hwr.models.checkpoint import ModelInfo, save_model
    from hwr.models.registry import build

    torch.manual_seed(0)
    net = build("ink-blstm", dict(num_features=4, num_classes=len(_ALPH) + 1, hidden=8, layers=1, conv_channels=8))
    info = ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=_ALPH, name=name)
    p = save_model(net, info, folder / f"{name}.safetensors")
    if alphabet is None and config is None and meta_edit is None:
        return p
    meta = info.to_json()
    if alphabet is not None:
        meta["alphabet"] = alphabet
    if config is not None:
        meta["config"] = {**meta["config"], **config}
    if meta_edit is not None:
        meta_edit(meta)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(p), metadata={"hwr": json.dumps(meta) if not isinstance(meta, str) else meta})
    return p


class _Payload:
    """Unpickling this creates the file ``marker``: evidence that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_model(folder: Path, protocol: int = 4) -> Path:
    p = folder / f"evil{protocol}.safetensors"
    p.write_bytes(pickle.dumps(_Payload(str(folder / "PWNED")), protocol=protocol))
    return p


def _torch_save_model(folder: Path) -> Path:
    import torch

    p = folder / "torchsave.safetensors"
    torch.save({"weights": torch.zeros(3), "payload": _Payload(str(folder / "PWNED"))}, p)
    return p


def _no_marker_call(fn):
    def call(path: Path):
        try:
            return fn(path)
        finally:
            marker = path.parent / "PWNED"
            if marker.exists():
                raise AssertionError(f"unpickling ran code: {marker} exists")
    return call


def _huge_header(folder: Path) -> Path:
    p = folder / "hdr.safetensors"
    p.write_bytes(struct.pack("<Q", 2**62) + b'{"__metadata__": {}}')
    return p


def _header_lies(folder: Path) -> Path:
    """A valid header whose tensor offsets point far past the end of the file."""
    p = _small_model(folder, "lies")
    data = bytearray(p.read_bytes())
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    for k, v in header.items():
        if k != "__metadata__":
            v["data_offsets"] = [0, 10**12]
    raw = json.dumps(header).encode()
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(data[8 + n:]))
    return p


def model_cases() -> list[Case]:
    from hwr.models.checkpoint import load_model, read_info

    def truncated(keep: float):
        def make(folder: Path) -> Path:
            p = _small_model(folder, f"cut{int(keep * 100)}")
            data = p.read_bytes()
            p.write_bytes(data[: int(len(data) * keep)])
            return p
        return make

    return [
        Case("model", "zero-bytes", writer("empty.safetensors", b""), load_model),
        Case("model", "truncated-header", truncated(0.01), load_model),
        Case("model", "truncated-half", truncated(0.5), load_model),
        Case("model", "truncated-last-byte", truncated(0.9999), load_model),
        Case("model", "header-length-2^62", _huge_header, load_model, max_mb=50),
        Case("model", "offsets-past-end", _header_lies, load_model, max_mb=50),
        Case("model", "wrong-shapes", lambda f: _small_model(f, "shapes", config={"hidden": 12}), load_model, match="shape"),
        Case("model", "config-claims-100GB", lambda f: _small_model(f, "huge", config={"hidden": 100_000}),
             load_model, match="shape", max_mb=50),
        Case("model", "config-negative", lambda f: _small_model(f, "neg", config={"hidden": -8}), load_model),
        Case("model", "config-string", lambda f: _small_model(f, "str", config={"hidden": "eight"}), load_model),
        Case("model", "config-unknown-key", lambda f: _small_model(f, "key", config={"evil": 1}), load_model),
        Case("model", "unknown-arch", lambda f: _small_model(f, "arch", meta_edit=lambda m: m.update(arch="gpt")), load_model,
             match="architecture"),
        Case("model", "wrong-alphabet-size", lambda f: _small_model(f, "alpha", alphabet=_ALPH[:-3]), load_model,
             match="alphabet"),
        Case("model", "alphabet-not-strings", lambda f: _small_model(f, "alpha2", alphabet=list(range(27))), load_model,
             match="alphabet"),
        Case("model", "alphabet-100000", lambda f: _small_model(f, "alpha3", alphabet=[chr(0x4E00 + i % 20000) for i in range(100_000)]),
             read_info, match="alphabet"),
        Case("model", "format-version-string", lambda f: _small_model(f, "ver", meta_edit=lambda m: m.update(format_version="x")),
             read_info, match="version"),
        Case("model", "format-version-newer", lambda f: _small_model(f, "ver2", meta_edit=lambda m: m.update(format_version=99)),
             read_info, match="newer"),
        Case("model", "metadata-nested-100000", lambda f: _small_model(f, "deep", meta_edit=lambda m: m.update(x=0)) and
             _rewrite_meta(f / "deep.safetensors", "[" * 100_000 + "]" * 100_000), read_info),
        Case("model", "metadata-not-json", lambda f: _rewrite_meta(_small_model(f, "nj"), "{not json"), read_info),
        Case("model", "no-hwr-metadata", lambda f: _rewrite_meta(_small_model(f, "nometa"), None), read_info),
        Case("model", "pickle-as-safetensors", _pickle_model, _no_marker_call(load_model), match="pickle"),
        Case("model", "pickle-protocol-0", lambda f: _pickle_model(f, 0), _no_marker_call(load_model)),
        Case("model", "pickle-read-info", _pickle_model, _no_marker_call(read_info)),
        Case("model", "torch-save-as-safetensors", _torch_save_model, _no_marker_call(load_model), match="pickle"),
        Case("model", "nan-weights", lambda f: _nan_model(f), load_model, match="nan"),
        Case("model", "directory", lambda f: (f / "d.safetensors").mkdir() or f / "d.safetensors", load_model),
    ]


def _rewrite_meta(path: Path, hwr_meta: str | None) -> Path:
    from safetensors.torch import load_file, save_file

    state = load_file(str(path))
    save_file(state, str(path), metadata={"hwr": hwr_meta} if hwr_meta is not None else {"other": "1"})
    return path


def _nan_model(folder: Path) -> Path:
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    p = _small_model(folder, "nan")
    with safe_open(str(p), framework="pt") as f:
        meta = f.metadata()
    state = load_file(str(p))
    state["head.bias"][0] = float("nan")
    save_file(state, str(p), metadata=meta)
    return p


# ----------------------------------------------------------------------------- language models


ARPA = """\\data\\
ngram 1=5
ngram 2=2

\\1-grams:
-99\t<s>\t-0.3
-0.6\t</s>
-1.0\t<unk>
-0.5\ta\t-0.2
-0.5\tb\t-0.2

\\2-grams:
-0.3\t<s> a
-0.3\ta b

\\end\\
"""


def _gzip_bomb(folder: Path) -> bytes:
    """An ARPA header announcing 7 n-grams, then 1 GB of blank lines: 1,024 gzip members of
    1 MB each (a gzip file may hold several; readers decompress them all), about 1 MB in all."""
    block = gzip.compress(b"\n" * (1 << 20), compresslevel=9, mtime=0)
    return (gzip.compress(ARPA.replace("\\end\\\n", "").encode(), mtime=0) + block * 1024
            + gzip.compress(b"\\end\\\n", mtime=0))


def _damaged_cache(folder: Path) -> Path:
    """A valid ARPA file whose parse cache (in XDG_CACHE_HOME) holds inconsistent arrays."""
    from hwr.decoding.lm import _cache_path

    p = folder / "cached.arpa"
    p.write_text(ARPA)
    cache = _cache_path(p, None)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, vocab=np.array(["a", "b"]), order=np.array(2), meta=np.array("{}"),
                 keys0=np.array([0, 1, 2, 3, 4], np.int64), p0=np.zeros(2), bow0=np.zeros(5),
                 keys1=np.array([9, 3], np.int64), p1=np.zeros(2), bow1=np.zeros(2))
    return p


def _lm_ok(lm, path):
    assert lm.order == 2 and lm.vocab == ("a", "b"), lm
    assert np.isfinite(lm.log_prob("a", "b")) and lm.log_prob("a", "b") < 0


def lm_cases() -> list[Case]:
    from hwr.decoding.lm import CharNgramLM

    load = CharNgramLM.load
    meta = lambda m: "# hwr-charlm: " + m + "\n" + ARPA
    return [
        Case("lm", "valid", writer("ok.arpa", ARPA), load, expect="ok", check=_lm_ok),
        Case("lm", "zero-bytes", writer("empty.arpa", b""), load),
        Case("lm", "binary", writer("bin.arpa", bytes(range(256)) * 16), load),
        Case("lm", "truncated-in-section", writer("cut.arpa", ARPA[: ARPA.index("a b")]), load, match="2-gram"),
        Case("lm", "truncated-no-end", writer("noend.arpa", ARPA.replace("\\end\\\n", "")), load, match="truncated"),
        Case("lm", "truncated-gzip", writer("cut.arpa.gz", lambda f: gzip.compress(ARPA.encode())[:40]), load),
        Case("lm", "counts-lie-more", writer("more.arpa", ARPA.replace("ngram 2=2", "ngram 2=1")), load),
        Case("lm", "counts-lie-fewer", writer("fewer.arpa", ARPA.replace("ngram 2=2", "ngram 2=3")), load),
        Case("lm", "counts-absurd", writer("absurd.arpa", ARPA.replace("ngram 2=2", "ngram 2=99999999999999")), load,
             match="absurd", max_mb=20),
        Case("lm", "counts-negative", writer("negc.arpa", ARPA.replace("ngram 2=2", "ngram 2=-2")), load),
        Case("lm", "nan-probability", writer("nan.arpa", ARPA.replace("-0.3\ta b", "nan\ta b")), load, match="finite"),
        Case("lm", "inf-backoff", writer("inf.arpa", ARPA.replace("-0.5\ta\t-0.2", "-0.5\ta\tinf")), load),
        Case("lm", "positive-log-probability", writer("pos.arpa", ARPA.replace("-0.3\ta b", "3.0\ta b")), load),
        Case("lm", "order-11", writer("order.arpa", ARPA.replace("ngram 2=2", "ngram 2=2\n" + "".join(
            f"ngram {n}=1\n" for n in range(3, 12)))), load, match="order"),
        Case("lm", "order-1000", writer("order1000.arpa", "\\data\\\n" + "".join(f"ngram {n}=1\n" for n in range(1, 1001))),
             load),
        Case("lm", "unknown-word-in-bigram", writer("unk.arpa", ARPA.replace("-0.3\ta b", "-0.3\ta z")), load),
        Case("lm", "multi-char-unigram", writer("word.arpa", ARPA.replace("-0.5\tb\t", "-0.5\thello\t")), load),
        Case("lm", "duplicate-bigram", writer("dup.arpa", ARPA.replace("-0.3\ta b", "-0.3\t<s> a")), load),
        Case("lm", "gzip-bomb-1GB", writer("bomb.arpa.gz", _gzip_bomb), load, match="bytes", max_mb=60, seconds=30),
        Case("lm", "metadata-nested-100000", writer("deepmeta.arpa", meta("[" * 100_000 + "]" * 100_000)), load),
        Case("lm", "metadata-vocab-number", writer("vocab.arpa", meta('{"version": 1, "vocab": 5}')), load, match="vocab"),
        Case("lm", "metadata-vocab-mixed", writer("vocab2.arpa", meta('{"version": 1, "vocab": [1, "a"]}')), load, match="vocab"),
        Case("lm", "metadata-space-token-number", writer("sp.arpa", meta('{"version": 1, "space_token": 5}')), load,
             match="space_token"),
        Case("lm", "metadata-version-newer", writer("ver.arpa", meta('{"version": 99}')), load, match="version"),
        Case("lm", "damaged-parse-cache", _damaged_cache, load, expect="ok", check=_lm_ok),
        Case("lm", "private-use-unigram", writer("pua.arpa", ARPA.replace("-0.5\tb\t", "-0.5\t\ue000\t")), load,
             match="reserved"),
    ]


# ----------------------------------------------------------------------------- HDF5 datasets


def _h5(folder: Path, name: str, arrays: dict, attrs: dict) -> Path:
    import h5py

    p = folder / name
    with h5py.File(p, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for k, v in arrays.items():
            if isinstance(v, list):
                f.create_dataset(k, data=np.asarray(v, dtype=object), dtype=h5py.string_dtype())
            else:
                f.create_dataset(k, data=v)
    return p


def _lineset_arrays(n: int = 2, h: int = 4, w: int = 3) -> tuple[dict, dict]:
    arrays = {"pixels": np.zeros(n * h * w, np.uint8), "offsets": np.arange(n + 1, dtype=np.int64) * h * w,
              "width": np.full(n, w, np.int32)}
    for k in ("text", "writer", "source", "collection", "id"):
        arrays[k] = [f"{k}{i}" for i in range(n)]
    attrs = {"format": "hwr-lineset", "version": 1, "height": h, "preprocessing": json.dumps({"height": h})}
    return arrays, attrs


def _inkset_arrays() -> tuple[dict, dict]:
    return ({"points": np.zeros((10, 3), np.float32), "stroke_offsets": np.array([0, 4, 10], np.int64),
             "sample_offsets": np.array([0, 1, 2], np.int64), "text": ["a", "b"], "writer": ["w", "w"],
             "source": ["s", "s"], "id": ["1", "2"]}, {"format": "hwr-inkset", "version": 1})


def _edited(base: Callable[[], tuple[dict, dict]], name: str,
            edit: Callable[[dict, dict], None]) -> Callable[[Path], Path]:
    """A case: the valid dataset ``base()`` gives, changed by ``edit``, written as ``name``."""
    def make(folder: Path) -> Path:
        arrays, attrs = base()
        edit(arrays, attrs)
        return _h5(folder, name, arrays, attrs)
    return make


def _lineset(name: str, edit: Callable[[dict, dict], None]) -> Callable[[Path], Path]:
    return _edited(_lineset_arrays, name, edit)


def _inkset(name: str, edit: Callable[[dict, dict], None]) -> Callable[[Path], Path]:
    return _edited(_inkset_arrays, name, edit)


def _real_inkset(folder: Path, name: str = "real.h5") -> Path:
    from hwr.data.inkset import write_inkset
    from hwr.types import Ink, Stroke

    rng = np.random.default_rng(0)
    inks = [(f"s{i}", Ink(strokes=[Stroke(rng.normal(size=200), rng.normal(size=200))], text="hello"))
            for i in range(50)]
    p = folder / name
    write_inkset(p, inks)
    return p


def _read_inkset_all(path: Path):
    from hwr.data.inkset import InkSet

    ds = InkSet(path)
    return [ds[i] for i in range(len(ds))]


def _read_lineset_all(path: Path):
    from hwr.data.lineset import LineSet

    ds = LineSet(path)
    return [ds[i] for i in range(len(ds))]


def _truncated(make_full: Callable[[Path], Path], keep: float) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        p = make_full(folder)
        data = p.read_bytes()
        cut = folder / f"cut{int(keep * 100)}-{p.name}"
        cut.write_bytes(data[: int(len(data) * keep)])
        return cut
    return make


def hdf5_cases() -> list[Case]:
    from hwr.data.lineset import dataset_format

    def set_(key, value):
        return lambda a, t: a.__setitem__(key, value)

    def attr(key, value):
        return lambda a, t: t.__setitem__(key, value)

    return [
        Case("hdf5", "inkset-truncated-90", _truncated(_real_inkset, 0.9), _read_inkset_all),
        Case("hdf5", "inkset-truncated-30", _truncated(_real_inkset, 0.3), _read_inkset_all),
        Case("hdf5", "inkset-not-hdf5", writer("junk.h5", b"\x89HDF\r\n\x1a\n" + bytes(200)), _read_inkset_all),
        Case("hdf5", "inkset-writer-list-short", _inkset("short.h5", set_("writer", ["w"])), _read_inkset_all),
        Case("hdf5", "inkset-nan-points", _inkset("nanpts.h5", set_("points", np.full((10, 3), np.nan, np.float32))),
             _read_inkset_all, match="finite"),
        Case("hdf5", "inkset-offsets-out-of-range", _inkset("oor.h5", set_("sample_offsets", np.array([0, 1, 7], np.int64))),
             _read_inkset_all),
        Case("hdf5", "inkset-negative-offsets", _inkset("neg.h5", set_("stroke_offsets", np.array([0, -4, 10], np.int64))),
             _read_inkset_all),
        Case("hdf5", "lineset-valid", _lineset("ok.h5", lambda a, t: None), _read_lineset_all, expect="ok"),
        Case("hdf5", "lineset-truncated", _truncated(_lineset("full.h5", lambda a, t: None), 0.5), _read_lineset_all),
        Case("hdf5", "lineset-wrong-schema", _lineset("schema.h5", set_("pixels", np.zeros((4, 6), np.uint8))),
             _read_lineset_all),
        Case("hdf5", "lineset-missing-width", _lineset("nowidth.h5", lambda a, t: a.pop("width")), _read_lineset_all),
        Case("hdf5", "lineset-offsets-out-of-range", _lineset("oor.h5", set_("offsets", np.array([0, 12, 10**12], np.int64))),
             _read_lineset_all),
        Case("hdf5", "lineset-negative-widths", _lineset("negw.h5", lambda a, t: (a.__setitem__("width", np.array([-3, -3], np.int32)),
                                                                                   a.__setitem__("offsets", np.array([0, -12, -24], np.int64)))),
             _read_lineset_all),
        Case("hdf5", "lineset-zero-height", _lineset("h0.h5", lambda a, t: (t.__setitem__("height", 0),
                                                                            a.__setitem__("offsets", np.zeros(3, np.int64)),
                                                                            a.__setitem__("pixels", np.zeros(0, np.uint8)))),
             _read_lineset_all, match="height"),
        Case("hdf5", "lineset-zero-widths", _lineset("w0.h5", lambda a, t: (a.__setitem__("width", np.zeros(2, np.int32)),
                                                                            a.__setitem__("offsets", np.zeros(3, np.int64)),
                                                                            a.__setitem__("pixels", np.zeros(0, np.uint8)))),
             _read_lineset_all, match="width"),
        Case("hdf5", "lineset-height-string", _lineset("hs.h5", attr("height", "tall")), _read_lineset_all),
        Case("hdf5", "lineset-preprocessing-nested", _lineset("pp.h5", attr("preprocessing", "[" * 100_000 + "]" * 100_000)),
             _read_lineset_all),
        Case("hdf5", "lineset-preprocessing-not-object", _lineset("pp2.h5", attr("preprocessing", "[1, 2]")),
             _read_lineset_all, match="preprocessing"),
        Case("hdf5", "lineset-newer-version", _lineset("v9.h5", attr("version", 9)), _read_lineset_all, match="newer"),
        Case("hdf5", "dataset-format-of-junk", writer("junk2.h5", os.urandom(4096)), dataset_format, expect="ok",
             check=lambda r, p: None if r is None else (_ for _ in ()).throw(AssertionError(r))),
        Case("hdf5", "dataset-format-of-truncated", _truncated(_real_inkset, 0.5), dataset_format, expect="either"),
    ]


# ----------------------------------------------------------------------------- lexicon and line folders


def _sparse(name: str, size: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        p = folder / name
        with open(p, "wb") as f:
            f.truncate(size)
        return p
    return make


def _line_folder(kind: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        root = folder / f"lines-{kind}"
        root.mkdir()
        good = _encode(".png", _page_img(20, 80))
        (root / "good.png").write_bytes(good)
        (root / "good.gt.txt").write_text("a good line\n")
        if kind == "bad-image":
            (root / "bad.png").write_bytes(good[:50])
            (root / "bad.gt.txt").write_text("text")
        elif kind == "bad-text":
            (root / "bad.png").write_bytes(good)
            (root / "bad.gt.txt").write_bytes(b"caf\xe9 \xff\xfe")
        elif kind == "huge-text":
            (root / "bad.png").write_bytes(good)
            with open(root / "bad.gt.txt", "wb") as f:
                f.truncate(10**9)
        elif kind == "no-image":
            (root / "bad.gt.txt").write_text("orphan")
        elif kind == "symlink-loop":
            (root / "loop").symlink_to(root, target_is_directory=True)
        elif kind == "bomb-image":
            (root / "bad.png").write_bytes(bomb_png())
            (root / "bad.gt.txt").write_text("text")
        return root
    return make


def _iter_folder(root: Path):
    from hwr.data.linefolder import iter_line_folder

    errors: list[str] = []
    items = [(p.name, text, img.shape) for p, text, img in iter_line_folder(root, errors.append)]
    return items, errors


def _one_good_one_reported(result, root):
    items, errors = result
    assert [i[:2] for i in items] == [("good.png", "a good line")], items
    assert len(errors) == 1 and "bad" in errors[0] and str(root) in errors[0], errors


def lexicon_folder_cases() -> list[Case]:
    from hwr.decoding.lexicon import Lexicon

    return [
        Case("lexicon", "zero-bytes", writer("empty.txt", b""), Lexicon.load, match="no words"),
        Case("lexicon", "binary", writer("bin.txt", bytes(range(256)) * 4), Lexicon.load, match="utf-8"),
        Case("lexicon", "sparse-1GB", _sparse("huge.txt", 10**9), Lexicon.load, match="limit", max_mb=10),
        Case("lexicon", "only-numbers", writer("num.txt", "123\n456\n"), Lexicon.load, match="no words"),
        Case("lexicon", "word-of-1MB", writer("long.txt", "a" * 1_000_000 + "\nword\n"), Lexicon.load, expect="ok",
             check=lambda lex, p: None if len(lex) == 1 else (_ for _ in ()).throw(AssertionError(len(lex)))),
        Case("lexicon", "directory", lambda f: (f / "lexdir").mkdir() or f / "lexdir", Lexicon.load),
        Case("line-folder", "corrupt-image", _line_folder("bad-image"), _iter_folder, expect="ok", check=_one_good_one_reported),
        Case("line-folder", "not-utf8-text", _line_folder("bad-text"), _iter_folder, expect="ok", check=_one_good_one_reported),
        Case("line-folder", "sparse-1GB-text", _line_folder("huge-text"), _iter_folder, expect="ok",
             check=_one_good_one_reported, max_mb=20),
        Case("line-folder", "text-without-image", _line_folder("no-image"), _iter_folder, expect="ok",
             check=_one_good_one_reported),
        Case("line-folder", "bomb-image", _line_folder("bomb-image"), _iter_folder, expect="ok",
             check=_one_good_one_reported, max_mb=40),
        Case("line-folder", "symlink-loop", _line_folder("symlink-loop"), _iter_folder, expect="either"),
    ]


# ----------------------------------------------------------------------------- all


GROUPS: dict[str, Callable[[], list[Case]]] = {
    "images": image_cases,
    "xml": xml_cases,
    "page-alto": page_cases,
    "ink": ink_cases,
    "models": model_cases,
    "lm": lm_cases,
    "hdf5": hdf5_cases,
    "lexicon-folders": lexicon_folder_cases,
}


def all_cases() -> list[Case]:
    cases = [c for make in GROUPS.values() for c in make()]
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids: {sorted(dup)}"
    return cases
