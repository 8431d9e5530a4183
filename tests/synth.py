"""Synthetic ink for tests: a tiny 'script' where each character is a distinct pen shape."""

from __future__ import annotations

import numpy as np

from hwr.types import Ink, Stroke


def _glyph(c: str, x0: float) -> list[np.ndarray]:
    t = np.linspace(0, 1, 25)
    if c == "o":  # circle in the core region
        a = 2 * np.pi * t
        return [np.stack([x0 + 0.5 + 0.45 * np.cos(a), -0.5 - 0.45 * np.sin(a)], 1)]
    if c == "l":  # tall vertical stroke
        return [np.stack([x0 + 0.3 + 0 * t, -1.8 + 1.8 * t], 1)]
    if c == "v":  # v shape
        x = x0 + t
        return [np.stack([x, -1.0 + 1.0 * (1 - np.abs(2 * t - 1))], 1)]
    if c == "z":  # zig-zag
        return [np.stack([x0 + t, -1.0 + (t > 0.33) * 1.0 - (t > 0.66) * 1.0 + 0.0], 1)]
    if c == "j":  # descender hook
        return [np.stack([x0 + 0.4 - 0.3 * t ** 2, -1.0 + 1.8 * t], 1)]
    raise KeyError(c)


CHARS = "olvzj"


def synth_ink(text: str, scale: float = 50.0, jitter: float = 0.0, seed: int = 0) -> Ink:
    """Ink for ``text`` (characters from :data:`CHARS` and spaces), y down, ``scale`` units per core height."""
    rng = np.random.default_rng(seed)
    strokes = []
    x = 0.0
    t0 = 0.0
    for c in text:
        if c == " ":
            x += 1.0
            continue
        for g in _glyph(c, x):
            g = g + rng.normal(0, jitter, g.shape)
            n = len(g)
            t = t0 + np.arange(n) * 0.01
            t0 = t[-1] + 0.1
            strokes.append(Stroke(g[:, 0] * scale, g[:, 1] * scale, t))
        x += 1.3
    return Ink(strokes=strokes, text=text)


PAGE_WORDS = "the quick letters of a long day were sent home by the evening post".split()


def synth_page(seed: int, n_lines: int = 3):
    """A small grey page (uint8) with ``n_lines`` lines of script text drawn by OpenCV."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = 120 + 110 * n_lines, 900
    page = np.full((h, w), 225, np.uint8)
    for i in range(n_lines):
        x, y = 60, 120 + 110 * i
        for _ in range(4):
            word = PAGE_WORDS[int(rng.integers(0, len(PAGE_WORDS)))]
            cv2.putText(page, word, (x, y + int(rng.integers(-4, 5))), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 40, 3,
                        cv2.LINE_AA)
            x += cv2.getTextSize(word, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 3)[0][0] + 28
    return page


def synth_line_image(text: str):
    """A grey image (uint8) of one line of ``text`` in OpenCV's script font."""
    import cv2

    img = np.full((60, 40 + 24 * len(text)), 230, np.uint8)
    cv2.putText(img, text, (15, 42), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.0, 30, 2, cv2.LINE_AA)
    return img


# the letters synth_ink draws (and a space), and a CRNN small enough to train in a test
SYNTH_CHARS = list("olvzj ")
TINY_CRNN = {"channels": [8, 16, 16], "hidden": 16, "layers": 1, "subsample": 4, "dropout": 0.0}
