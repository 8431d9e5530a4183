"""Make hwr's sample inputs in ``data/``: a handwritten-looking page and ink lines.

The pen strokes come from the Hershey "script simplex" font (single-stroke vector
glyphs digitised by A. V. Hershey at the U.S. National Bureau of Standards; the
Python package ``Hershey-Fonts`` carries them).  Each glyph is varied like
handwriting: the line has its own slant, size, rotation and a slowly wandering
baseline; every letter gets a little more slant, size, height and spacing jitter,
its points a smooth tremor; curves are smoothed; strokes that meet (the joins of
the script letters) are written without lifting the pen.  The page is drawn by
hwr's own renderer (:func:`hwr.ink.render.render_page`: pen width, pressure,
blur, paper, noise).

    pip install -e ".[samples]"      # Hershey-Fonts, the glyph source: only this script needs it
    python tools/make_samples.py --out data --seed 8

Writes ``page.jpg`` (the page), ``page.page.xml`` (its ground truth: line polygons,
baselines, text), ``page.gt.txt`` (the text) and ``line1.inkml`` ... (single lines
as pen strokes with their transcription).  The same seed gives the same files
(on the same platform and library versions).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwr.types import Ink, Stroke

#: the sample's text: an original note written for hwr (CC0, like the outputs)
PAGE_TEXT = [
    "Tuesday, 3 March 2026",
    "Dear Anna,",
    "thank you for the seeds you sent last week.",
    "The beans are up already and the tomatoes",
    "should follow in about 10 days, if the sun",
    "stays out. Could you come on Sunday at 4?",
    "We will have tea in the garden (weather",
    "permitting) and cake for 6 people.",
    "With love, Tom",
]
#: creation time written into the PAGE file (the letter's date), for reproducible files
DATE = "2026-03-03T12:00:00Z"
#: the lines written as ink files (indices into PAGE_TEXT)
INK_LINES = (2, 5, 7)

FONT = "scripts"  # Hershey script simplex: one stroke per pen movement
CAP, BASE = -12.0, 9.0  # the font's cap line and baseline (font units, y down)


@dataclass
class LineInk:
    """One written line: strokes in page pixels, the text, and where its characters are."""

    text: str
    strokes: list[np.ndarray]  # (N, 2) arrays, x right, y down
    origin: tuple[float, float]  # where the baseline starts
    angle: float  # direction of the baseline (radians, clockwise on the page)
    char_u: list[tuple[float, float]]  # per character of ``text``: (start, end) along the baseline, px

    def rotated(self, angle: float, centre: tuple[float, float]) -> "LineInk":
        """The line turned by ``angle`` (radians) about ``centre``: a skewed sheet."""
        r = _rotation(angle)
        c = np.asarray(centre, float)
        strokes = [(p - c) @ r.T + c for p in self.strokes]
        origin = tuple(float(v) for v in (np.asarray(self.origin) - c) @ r.T + c)
        return LineInk(self.text, strokes, origin, self.angle + angle, self.char_u)

    def frame(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors along the baseline and down from it."""
        u = np.array([np.cos(self.angle), np.sin(self.angle)])
        return u, np.array([-u[1], u[0]])

    def polygon(self, pad: float) -> list[tuple[float, float]]:
        """The line's outline: the box around its ink in the baseline's frame, ``pad`` px wider."""
        u, n = self.frame()
        pts = np.concatenate(self.strokes) - self.origin
        a, b = pts @ u, pts @ n
        corners = [(a.min() - pad, b.min() - pad), (a.max() + pad, b.min() - pad),
                   (a.max() + pad, b.max() + pad), (a.min() - pad, b.max() + pad)]
        return [tuple(float(v) for v in np.asarray(self.origin) + x * u + y * n) for x, y in corners]

    def baseline(self) -> list[tuple[float, float]]:
        """The baseline under the ink: from the first to the last written point."""
        u, _ = self.frame()
        a = (np.concatenate(self.strokes) - self.origin) @ u
        return [tuple(float(v) for v in np.asarray(self.origin) + x * u) for x in (a.min(), a.max())]


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _font():
    try:
        from HersheyFonts import HersheyFonts
    except ImportError:  # pragma: no cover - the message is the point
        sys.exit("this script needs the Hershey fonts: pip install Hershey-Fonts")
    f = HersheyFonts()
    f.load_default_font(FONT)
    return f


def _smooth_curve(p: np.ndarray, step: float, sigma: float) -> np.ndarray:
    """Resample the polyline ``p`` every ``step`` units and smooth it (Gaussian, ``sigma`` in samples)."""
    if len(p) < 2:
        return p.astype(float)
    seg = np.hypot(*np.diff(p, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return p[:1].astype(float)
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    u = np.linspace(0, s[-1], n)
    q = np.stack([np.interp(u, s, p[:, 0]), np.interp(u, s, p[:, 1])], 1)
    if sigma > 0 and n > 3:
        r = int(np.ceil(3 * sigma))
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        k /= k.sum()
        pad = np.concatenate([np.repeat(q[:1], r, 0), q, np.repeat(q[-1:], r, 0)])
        q = np.stack([np.convolve(pad[:, 0], k, "valid"), np.convolve(pad[:, 1], k, "valid")], 1)
    return q


def _wander(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """A smooth random curve over ``n`` samples in about [-1, 1]."""
    k = rng.uniform(-1, 1, knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), k)


def write_line(font, text: str, x0: float, y0: float, size: float, rng: np.random.Generator) -> LineInk:
    """Write ``text`` with its baseline starting at page pixel ``(x0, y0)``, ``size`` px from baseline to cap line."""
    unit = size / (BASE - CAP)
    slant = rng.normal(0.18, 0.05)  # the writer's slant (shear), line by line
    angle = np.deg2rad(rng.normal(0.0, 0.6))  # the line drifts up or down a little
    glyphs = list(font.glyphs_for_text(text))
    if len(glyphs) != len(text):
        raise ValueError(f"the font lacks characters of {text!r}")
    # positions along the line, in font units, with spacing jitter
    strokes: list[np.ndarray] = []
    char_x: list[tuple[float, float]] = []
    x = 0.0
    wobble = _wander(rng, max(len(text), 2), max(2, len(text) // 6))
    for i, (c, g) in enumerate(zip(text, glyphs)):
        w = g.char_width * rng.uniform(0.95, 1.08)
        if c == " ":
            x += w * rng.uniform(0.9, 1.3)
            char_x.append((x - w, x))
            continue
        gs = rng.normal(1.0, 0.04)  # this letter's size
        gslant = slant + rng.normal(0, 0.04)
        dy = 0.9 * wobble[i] + rng.normal(0, 0.25)  # baseline wobble (font units)
        left = x - g.left_offset
        for s in g.strokes:
            p = np.asarray(s, float)
            if len(p) == 0:
                continue
            p = np.stack([p[:, 0] * gs, (p[:, 1] - BASE) * gs + BASE], 1)  # grow from the baseline
            p[:, 0] += left - gslant * (p[:, 1] - BASE)
            p[:, 1] += dy
            strokes.append(p)
        char_x.append((x, x + w))
        x += w
    # join strokes whose ends meet (the script's ligatures): one pen movement
    joined: list[np.ndarray] = []
    for p in strokes:
        if joined and np.hypot(*(joined[-1][-1] - p[0])) < 1.2:
            joined[-1] = np.concatenate([joined[-1], p[1:]])
        else:
            joined.append(p)
    # smooth curves, tremor; then to page pixels: scale, rotate, translate, resample every 2 px
    rot = _rotation(angle)
    out = []
    for p in joined:
        q = _smooth_curve(p, step=0.5, sigma=1.2)
        if len(q) > 1:
            q = q + 0.18 * np.stack([_wander(rng, len(q), max(2, len(q) // 12)) for _ in range(2)], 1)
        q = _smooth_curve((q - (0, BASE)) * unit, step=2.0, sigma=0)
        out.append(q @ rot.T + (x0, y0))
    return LineInk(text, out, (float(x0), float(y0)), float(angle),
                   [(a * unit, b * unit) for a, b in char_x])


def line_width(font, text: str) -> float:
    """Width of ``text`` in cap heights, before variation."""
    return sum(g.char_width for g in font.glyphs_for_text(text)) / (BASE - CAP)


def write_page(font, lines: list[str], width: int, height: int,
               rng: np.random.Generator) -> tuple[list[LineInk], float]:
    """Lay ``lines`` out as a letter on a ``width`` x ``height`` page: the first line (the date)
    to the right, the last (the signature) indented, the sheet slightly skewed.
    Returns the lines and the writing size (px from baseline to cap line)."""
    margin = 0.11 * width
    size = min((width - 2 * margin) / max(line_width(font, t) for t in lines) / 1.04, height / (3.2 * len(lines)))
    pitch = size * rng.uniform(2.6, 2.9)
    top = (height - pitch * (len(lines) - 1)) * rng.uniform(0.3, 0.38)
    out = []
    for i, text in enumerate(lines):
        w = line_width(font, text) * size
        if i == 0:
            x0 = width - margin - w
        elif i == len(lines) - 1:
            x0 = width * 0.5
        else:
            x0 = margin + rng.normal(0, 0.1 * size)
        y0 = top + i * pitch + rng.normal(0, 0.08 * size)
        out.append(write_line(font, text, x0, y0, size, rng))
    skew = np.deg2rad(rng.uniform(-1.2, 1.2))
    return [ln.rotated(skew, (width / 2, height / 2)) for ln in out], size


def line_to_ink(line: LineInk, speed: float = 600.0) -> Ink:
    """The line as ink in page pixels, with timestamps (constant pen speed in px/s, 0.12 s per pen lift)."""
    strokes = []
    t0 = 0.0
    for p in line.strokes:
        d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
        t = t0 + d / speed
        strokes.append(Stroke(np.round(p[:, 0], 1), np.round(p[:, 1], 1), np.round(t, 3)))
        t0 = float(t[-1]) + 0.12
    return Ink(strokes=strokes, text=line.text, writer="hwr-samples (Hershey script simplex)")


def page_result(lines: list[LineInk], image: str, width: int, height: int):
    """The ground truth as an hwr :class:`~hwr.types.Page` (line polygons, baselines, text).

    The characters' spans hold their page x positions (pixels, not model frames), so that
    the PAGE writer places the word boxes where the words are written."""
    from hwr.types import CharSpan, LineResult, Page

    out = []
    for ln in lines:
        u, _ = ln.frame()
        x = [(ln.origin[0] + a * u[0], ln.origin[0] + b * u[0]) for a, b in ln.char_u]
        chars = [CharSpan(c, int(round(a)), max(int(round(a)), int(round(b)) - 1), 1.0)
                 for c, (a, b) in zip(ln.text, x)]
        out.append(LineResult(ln.text, 1.0, chars=chars, polygon=ln.polygon(pad=6.0), baseline=ln.baseline()))
    return Page(image=image, width=width, height=height, lines=out)


def make_samples(out: Path, seed: int = 8, width: int = 1240, height: int = 1754) -> list[Path]:
    """Write the samples into ``out``; returns the files written."""
    import cv2

    from hwr.formats.pagexml import to_page
    from hwr.ink.io import write_inkml
    from hwr.ink.render import render_page

    font = _font()
    rng = np.random.default_rng(seed)
    lines, size = write_page(font, PAGE_TEXT, width, height, rng)
    page_ink = Ink(strokes=[s for ln in lines for s in line_to_ink(ln).strokes])
    img = render_page(page_ink, width, height, pen=max(1.5, 0.075 * size), rng=rng)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "page.jpg", out / "page.page.xml", out / "page.gt.txt"]
    if not cv2.imwrite(str(written[0]), img, [cv2.IMWRITE_JPEG_QUALITY, 80]):
        raise OSError(f"cannot write {written[0]}")
    # the writer stamps the current time; the letter's date keeps the file reproducible
    xml = to_page(page_result(lines, written[0].name, width, height))
    xml = re.sub(rb"(<(Created|LastChange)>)[^<]*", rb"\g<1>" + DATE.encode(), xml)
    written[1].write_bytes(xml)
    written[2].write_text("".join(ln.text + "\n" for ln in lines), encoding="utf-8")
    for k, i in enumerate(INK_LINES, start=1):
        path = out / f"line{k}.inkml"
        write_inkml(line_to_ink(lines[i]), path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("data"), help="folder for the files (default: data)")
    ap.add_argument("--seed", type=int, default=8, help="random seed (default: 8, the committed samples)")
    ap.add_argument("--width", type=int, default=1240, help="page width, px (default: A4 at 150 dpi)")
    ap.add_argument("--height", type=int, default=1754, help="page height, px")
    args = ap.parse_args(argv)
    for p in make_samples(args.out, args.seed, args.width, args.height):
        print(f"{p}  {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
