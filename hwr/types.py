"""Plain data passed between the stages of hwr.

Nothing here imports torch: readers, writers and the GUI can use these types
without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Stroke:
    """One pen-down trace: points ``x``, ``y`` and optional ``t`` (seconds) and ``pressure``.

    Coordinates use the screen convention: y grows downwards.
    """

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray | None = None
    pressure: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=np.float64).reshape(-1)
        self.y = np.asarray(self.y, dtype=np.float64).reshape(-1)
        if self.x.shape != self.y.shape:
            raise ValueError(f"stroke x and y differ in length ({self.x.size} vs {self.y.size})")
        for name in ("t", "pressure"):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, dtype=np.float64).reshape(-1)
                if value.shape != self.x.shape:
                    raise ValueError(f"stroke {name} has {value.size} values for {self.x.size} points")
                setattr(self, name, value)

    def __len__(self) -> int:
        return int(self.x.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stroke):
            return NotImplemented

        def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
            if a is None or b is None:
                return a is None and b is None
            return a.shape == b.shape and bool(np.array_equal(a, b))

        return (
            same(self.x, other.x)
            and same(self.y, other.y)
            and same(self.t, other.t)
            and same(self.pressure, other.pressure)
        )

    @property
    def points(self) -> np.ndarray:
        """``(N, 2)`` array of x, y."""
        return np.stack([self.x, self.y], axis=1)


@dataclass
class Ink:
    """A piece of handwriting as pen strokes, with an optional transcription."""

    strokes: list[Stroke] = field(default_factory=list)
    text: str | None = None
    writer: str | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_points(self) -> int:
        return sum(len(s) for s in self.strokes)

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) over all points; raises on empty ink."""
        pts = [s.points for s in self.strokes if len(s)]
        if not pts:
            raise ValueError("ink has no points")
        allp = np.concatenate(pts)
        return (float(allp[:, 0].min()), float(allp[:, 1].min()),
                float(allp[:, 0].max()), float(allp[:, 1].max()))


@dataclass
class CharSpan:
    """One recognised character with its position in the model's output frames."""

    char: str
    start: int  # first output frame
    end: int  # last output frame (inclusive)
    confidence: float


@dataclass
class Alternative:
    text: str
    score: float


@dataclass
class LineResult:
    """What the recogniser says about one line of handwriting."""

    text: str
    confidence: float
    chars: list[CharSpan] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    polygon: list[tuple[float, float]] | None = None
    baseline: list[tuple[float, float]] | None = None
    raw_confidence: float | None = None  # the decoder's confidence before calibration
    page: int | None = None  # 1-based page of a multi-page input (None: a one-page input)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "text": self.text,
            "confidence": round(float(self.confidence), 4),
        }
        if self.page is not None:
            d["page"] = int(self.page)
        if self.polygon is not None:
            d["polygon"] = [[float(x), float(y)] for x, y in self.polygon]
        if self.baseline is not None:
            d["baseline"] = [[float(x), float(y)] for x, y in self.baseline]
        d["alternatives"] = [{"text": a.text, "score": round(float(a.score), 4)} for a in self.alternatives]
        return d


@dataclass
class Region:
    """A text block of a page: its outline and its lines (indices into ``Page.lines``, in reading order)."""

    polygon: list[tuple[float, float]]
    lines: list[int] = field(default_factory=list)


@dataclass
class Page:
    """A page image with its text lines in reading order.

    After segmentation each line has a ``polygon`` and a ``baseline`` (page pixel
    coordinates of the original image) and an empty text; recognition fills in text,
    confidence, character spans and alternatives.  ``regions`` group the lines into
    text blocks (empty: one block holding every line).
    """

    image: str  # the image file (as given by the user)
    width: int
    height: int
    lines: list[LineResult] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    number: int = 1  # 1-based page number within its image file (a multi-page TIFF)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)
