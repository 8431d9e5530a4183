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

    pip install Hershey-Fonts        # the glyph source, needed only by this script
    python tools/make_samples.py --out data --seed 7

Writes ``page.png`` (the page), ``page.page.xml`` (its ground truth: line polygons,
baselines, text), ``page.gt.txt`` (the text) and ``line1.inkml`` ... (single lines
as pen strokes with their transcription).  The same seed gives the same files
(the PAGE file's creation date aside).
"""

from __future__ import annotations

import argparse
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
#: the lines written as ink files (indices into PAGE_TEXT)
INK_LINES = (2, 5, 7)

FONT = "scripts"  # Hershey script simplex: one stroke per pen movement
CAP, BASE = -12.0, 9.0  # the font's cap line and baseline (font units, y down)


@dataclass
class LineInk:
    """One written line: strokes in page pixels, the text, and where each character is."""

    text: str
    strokes: list[np.ndarray]  # (N, 2) arrays, x right, y down
    char_x: list[tuple[float, float]]  # per character of ``text``: (x0, x1)
    baseline: list[tuple[float, float]]


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
    glyphs = font.glyphs_for_text(text)
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
    # smooth curves, tremor; then to page pixels: scale, rotate, translate
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out = []
    for p in joined:
        q = _smooth_curve(p, step=0.5, sigma=1.2)
        if len(q) > 1:
            q = q + 0.18 * np.stack([_wander(rng, len(q), max(2, len(q) // 12)) for _ in range(2)], 1)
        q = (q - (0, BASE)) * unit
        out.append(q @ rot.T + (x0, y0))
    ends = np.array([[0.0, 0.0], [x * unit, 0.0]])
    base = ends @ rot.T + (x0, y0)
    cx = [(x0 + a * unit * np.cos(angle), x0 + b * unit * np.cos(angle)) for a, b in char_x]
    return LineInk(text, out, cx, [tuple(map(float, b)) for b in base])


def line_to_ink(line: LineInk, speed: float = 600.0) -> Ink:
    """The line as ink with timestamps (constant pen speed in px/s, 0.12 s per pen lift)."""
    strokes = []
    t0 = 0.0
    for p in line.strokes:
        d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
        t = t0 + d / speed
        strokes.append(Stroke(np.round(p[:, 0], 2), np.round(p[:, 1], 2), np.round(t, 4)))
        t0 = float(t[-1]) + 0.12
    return Ink(strokes=strokes, text=line.text, writer="hwr-samples (Hershey script simplex)")
