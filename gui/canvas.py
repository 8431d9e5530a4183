"""InkCanvas: a widget to write on with the mouse or a pen (tablet, with pressure).

The canvas holds the ink as :class:`hwr.types.Stroke` objects in *ink
coordinates*.  Drawn strokes are stored as they were drawn (widget pixels, y
downwards); ink opened from a file is shown fitted to the widget through a view
transform, so saving it again gives back the file's coordinates.

Finished strokes are painted once into a cached pixmap; each paint event draws
that pixmap plus the stroke in progress and any highlighted strokes.  Each stroke's
path is built once (in numpy, read by ``QDataStream``) and kept with its bounding box,
so the cache is repainted only where something changed: a new stroke is drawn on top,
an erased stroke's box is repainted, and a resize paints only the uncovered strips
(a canvas of 10,000 strokes stays quick to resize; ``benchmarks/gui_load.py``).

Two tools: the pen writes; the eraser (the ``tool`` property, or the eraser end of
a tablet pen) deletes every whole stroke its path touches, as one undoable edit.
A pen stroke that is a scratch-out over written strokes (a horizontal zig-zag,
see :mod:`hwr.ink.gestures`) erases the strokes it covers instead of becoming ink.
"""

from __future__ import annotations

import struct

import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, QElapsedTimer, QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (QColor, QCursor, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPointingDevice,
                           QRegion, QTransform)
from PySide6.QtWidgets import QSizePolicy, QWidget

from hwr.ink.gestures import scratch_out_targets, stroke_boxes, strokes_hit
from hwr.types import Ink, Stroke

PEN_WIDTH = 3.0  # on-screen pixels for a mouse stroke / a pen stroke at full pressure
INK_COLOR = QColor(24, 32, 96)
PAPER_COLOR = QColor(255, 255, 252)
RULE_COLOR = QColor(180, 200, 230)
BASELINE = 220  # pixels from the top (less on a short canvas)
X_HEIGHT = 40  # pixels between the guide lines
MAX_UNDO = 500
ERASER_RADIUS = 8.0  # on-screen pixels around the eraser's path
HIGHLIGHT_COLOR = QColor(230, 120, 0)
TOOLS = ("pen", "eraser")
MAX_PARTIAL = 64  # changed strokes repainted in place; more: the whole cache is redrawn


def _segments(xy: np.ndarray) -> list[tuple[QPointF, QPointF | None, QPointF]]:
    """A smooth curve through the points as (start, control, end) pieces.

    Quadratic Béziers run from the midpoint of one segment to the midpoint of
    the next with the shared point as control; the ends are straight halves.
    """
    pts = [QPointF(float(x), float(y)) for x, y in xy]
    if len(pts) < 3:
        return [(pts[0], None, pts[-1])]
    mids = [(pts[i] + pts[i + 1]) / 2 for i in range(len(pts) - 1)]
    out: list[tuple[QPointF, QPointF | None, QPointF]] = [(pts[0], None, mids[0])]
    out += [(mids[i - 1], pts[i], mids[i]) for i in range(1, len(pts) - 1)]
    out.append((mids[-1], None, pts[-1]))
    return out


def _path_of_segments(xy: np.ndarray) -> QPainterPath:
    """The smooth path of :func:`_segments` through ``xy``, built call by call."""
    pieces = _segments(xy)
    path = QPainterPath(pieces[0][0])
    for _start, ctrl, end in pieces:
        _piece(path, ctrl, end)
    return path


# QPainterPath's QDataStream form (Qt 5 and 6): int32 count, (int32 type, f64 x, f64 y) per
# element, int32 cStart, int32 fill rule; big-endian (pyqtgraph's arrayToQPath reads paths so)
_ELEMENT = np.dtype([("type", ">i4"), ("x", ">f8"), ("y", ">f8")])
_MOVE, _LINE, _CURVE, _CURVE_DATA = 0, 1, 2, 3


def stroke_paths(xys: list[np.ndarray]) -> list[QPainterPath]:
    """The paths of :func:`_path_of_segments` for many strokes at once, with the same
    elements (a quadratic piece becomes the cubic ``QPainterPath.quadTo`` makes): computed
    in numpy over all the points together, then read by one ``QDataStream``, instead of a
    Python call per point.  A stroke with points that Qt would merge (repeated, not
    finite) or under 3 points is built the slow way, so the elements stay exactly Qt's."""
    xys = [np.asarray(xy, dtype=np.float64).reshape(-1, 2) for xy in xys]
    out: list[QPainterPath | None] = [None] * len(xys)
    lens = np.array([len(xy) for xy in xys], dtype=np.int64)
    fast = np.flatnonzero(lens >= 3)
    if len(fast):
        pts = np.concatenate([xys[i] for i in fast])
        n = lens[fast]
        first = np.r_[0, np.cumsum(n)[:-1]]
        last = first + n - 1
        step = np.abs(np.diff(pts, axis=0)).max(axis=1)
        merged = ~np.isfinite(pts).all(axis=1)
        merged[1:] |= step <= 1e-9 * (1.0 + np.abs(pts[1:]).max(axis=1))
        merged[first] = ~np.isfinite(pts[first]).all(axis=1)  # a step into a stroke's first point is no step
        bad = np.logical_or.reduceat(merged, first)
        mids = (pts[:-1] + pts[1:]) / 2  # mids[j]: between point j and j + 1 (of one stroke when j < last)
        k = 3 * n - 3  # elements per stroke
        e0 = np.r_[0, np.cumsum(k)[:-1]]
        el = np.empty(int(k.sum()), _ELEMENT)
        el["type"][e0] = _MOVE
        el["x"][e0], el["y"][e0] = pts[first, 0], pts[first, 1]
        el["type"][e0 + 1] = _LINE
        el["x"][e0 + 1], el["y"][e0 + 1] = mids[first, 0], mids[first, 1]
        el["type"][e0 + k - 1] = _LINE
        el["x"][e0 + k - 1], el["y"][e0 + k - 1] = pts[last, 0], pts[last, 1]
        inner = np.ones(len(pts), bool)
        inner[first] = inner[last] = False
        g = np.flatnonzero(inner)  # interior points: each the control of one quadratic piece
        stroke = np.repeat(np.arange(len(n)), n - 2)
        at = e0[stroke] + 2 + 3 * (g - first[stroke] - 1)
        c = pts[g]
        for j, q in enumerate(((mids[g - 1] + 2 * c) / 3, (mids[g] + 2 * c) / 3, mids[g])):
            el["type"][at + j] = _CURVE if j == 0 else _CURVE_DATA
            el["x"][at + j], el["y"][at + j] = q[:, 0], q[:, 1]
        raw = el.tobytes()
        tail = struct.pack(">ii", 0, 0)
        parts = []
        for kk, a in zip(k.tolist(), e0.tolist()):
            parts += [struct.pack(">i", kk), raw[20 * a: 20 * (a + kk)], tail]
        stream = QDataStream(QByteArray(b"".join(parts)))
        for i, is_bad in zip(fast.tolist(), bad.tolist()):
            path = QPainterPath()
            stream >> path
            if not is_bad:
                out[i] = path
    return [p if p is not None else _path_of_segments(xy) for p, xy in zip(out, xys)]


def stroke_path(xy: np.ndarray) -> QPainterPath:
    """:func:`stroke_paths` of one stroke."""
    return stroke_paths([xy])[0]


class _Drawing:
    """A stroke ready to paint at any pen width: a dot, one path, or (with pressure) one
    path per piece with its pressure; and its bounding box in ink coordinates."""

    __slots__ = ("stroke", "dot", "path", "pieces", "box")

    def __init__(self, stroke: Stroke, path: QPainterPath | None = None, box: np.ndarray | None = None):
        """``path`` and ``box``: already built (by :func:`drawings`) for a stroke without
        pressure of 3 points or more that is not a dot."""
        self.stroke = stroke
        self.dot: tuple[QPointF, float] | None = None
        self.path: QPainterPath | None = path
        self.pieces: list[tuple[float, QPainterPath]] = []
        if path is not None:
            self.box = box
            return
        xy, pressure = stroke.points, stroke.pressure
        self.box = (np.r_[xy.min(axis=0), xy.max(axis=0)] if len(xy) else np.full(4, np.nan))
        if not len(xy):
            return
        if len(xy) == 1 or not np.any(np.diff(xy, axis=0)):
            self.dot = (QPointF(float(xy[0, 0]), float(xy[0, 1])), 1.0 if pressure is None else float(pressure.max()))
        elif pressure is None:
            self.path = stroke_path(xy)
        else:
            for i, (start, ctrl, end) in enumerate(_segments(xy)):
                path = QPainterPath(start)
                _piece(path, ctrl, end)
                self.pieces.append((float(pressure[min(i, len(pressure) - 1)]), path))

    def paint(self, painter: QPainter, width: float, color: QColor = INK_COLOR) -> None:
        """What :func:`paint_stroke` draws, from the paths built once."""
        if self.dot is not None:
            r = width * (0.35 + 0.65 * self.dot[1]) / 2
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(self.dot[0], r, r)
            return
        pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.path is not None:
            painter.setPen(pen)
            painter.drawPath(self.path)
            return
        for p, path in self.pieces:
            pen.setWidthF(width * (0.35 + 0.65 * p))
            painter.setPen(pen)
            painter.drawPath(path)


def drawings(strokes: list[Stroke]) -> list[_Drawing]:
    """:class:`_Drawing` of many strokes: the paths and boxes of those without pressure are
    built together (:func:`stroke_paths`), the others one by one."""
    bulk = [i for i, s in enumerate(strokes) if s.pressure is None and len(s) >= 3]
    out: list[_Drawing | None] = [None] * len(strokes)
    if bulk:
        xs = [np.asarray(strokes[i].x, dtype=np.float64) for i in bulk]
        ys = [np.asarray(strokes[i].y, dtype=np.float64) for i in bulk]
        n = np.array([len(x) for x in xs])
        first = np.r_[0, np.cumsum(n)[:-1]]
        x, y = np.concatenate(xs), np.concatenate(ys)
        boxes = np.stack([np.minimum.reduceat(x, first), np.minimum.reduceat(y, first),
                          np.maximum.reduceat(x, first), np.maximum.reduceat(y, first)], axis=1)
        step = np.r_[(np.diff(x) != 0) | (np.diff(y) != 0), False]
        step[first + n - 1] = False  # from a stroke's last point to the next stroke's first: no step
        moves = np.logical_or.reduceat(step, first)  # False: all its points are one, a dot
        moves &= np.isfinite(boxes).all(axis=1)  # NaN bounds: the slow way decides
        keep = [j for j in range(len(bulk)) if moves[j]]
        paths = stroke_paths([np.column_stack([xs[j], ys[j]]) for j in keep])
        for j, path in zip(keep, paths):
            out[bulk[j]] = _Drawing(strokes[bulk[j]], path, boxes[j])
    return [d if d is not None else _Drawing(s) for d, s in zip(out, strokes)]


def eraser_cursor() -> QCursor:
    """A circle as big as the eraser."""
    r = int(ERASER_RADIUS)
    pix = QPixmap(2 * r + 3, 2 * r + 3)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(60, 60, 60), 1.2))
    painter.setBrush(QColor(255, 255, 255, 120))
    painter.drawEllipse(QPointF(r + 1.5, r + 1.5), r, r)
    painter.end()
    return QCursor(pix, r + 1, r + 1)


def _piece(path: QPainterPath, ctrl: QPointF | None, end: QPointF) -> None:
    if ctrl is None:
        path.lineTo(end)
    else:
        path.quadTo(ctrl, end)


def paint_stroke(painter: QPainter, xy: np.ndarray, pressure: np.ndarray | None, width: float,
                 color: QColor = INK_COLOR) -> None:
    """Draw one stroke (``xy`` is ``(N, 2)``) with a round pen of ``width`` (painter units)."""
    pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    if len(xy) == 1 or not np.any(np.diff(xy, axis=0)):  # a dot
        p = 1.0 if pressure is None else float(pressure.max())
        r = width * (0.35 + 0.65 * p) / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(QPointF(float(xy[0, 0]), float(xy[0, 1])), r, r)
        return
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if pressure is None:  # one smooth path, one width
        painter.setPen(pen)
        painter.drawPath(stroke_path(xy))
        return
    pieces = _segments(xy)
    # pressure: each piece gets the width of the pressure at its middle point
    for i, (start, ctrl, end) in enumerate(pieces):
        p = float(pressure[min(i, len(pressure) - 1)])
        pen.setWidthF(width * (0.35 + 0.65 * p))
        painter.setPen(pen)
        path = QPainterPath(start)
        _piece(path, ctrl, end)
        painter.drawPath(path)


class InkCanvas(QWidget):
    """A sheet to write on.  Mouse (left button) and tablet pens both draw.

    Signals: ``strokeStarted()`` when the pen (or the eraser) touches down,
    ``strokeFinished(list)`` with all strokes when a written stroke ends,
    ``inkChanged()`` after any change of the ink (stroke, erasure, undo, redo,
    clear, set_ink), ``strokesErased(int)`` with the number of strokes an eraser
    path or a scratch-out removed, ``toolChanged(str)``.
    """

    strokeStarted = Signal()
    strokeFinished = Signal(object)
    inkChanged = Signal()
    strokesErased = Signal(int)
    toolChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 160)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._strokes: list[Stroke] = []
        self._undo: list[list[Stroke]] = []
        self._redo: list[list[Stroke]] = []
        self._meta: dict = {}
        self._view = QTransform()  # ink -> widget
        self._cur: list[list[float]] | None = None  # x, y, t, pressure of the stroke in progress
        self._cur_tablet = False
        self._clock = QElapsedTimer()
        self._clock.start()
        self._t_offset = 0.0
        self._cache: QPixmap | None = None
        self._cache_geometry: tuple | None = None  # the _geometry() it was painted for
        self._drawings: dict[int, _Drawing] = {}  # id(stroke) -> its paths, built once
        self.revision = 0  # grows with every change of the ink
        self._tool = "pen"
        self.scratch_out = True  # a scratch-out stroke erases what it covers
        self._erase: list[tuple[float, float]] | None = None  # eraser path in progress (ink coordinates)
        self._erase_tablet = False
        self._erasing: set[int] = set()  # strokes the eraser path in progress has touched
        self._erase_boxes = np.zeros((0, 4))  # the strokes' bounding boxes while erasing
        self._highlight: frozenset[int] = frozenset()

    # ------------------------------------------------------------------ model

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return tuple(self._strokes)

    def ink(self) -> Ink:
        """The finished strokes as a new :class:`Ink` (the stroke in progress is not included)."""
        return Ink(strokes=list(self._strokes), **self._meta)

    def is_empty(self) -> bool:
        return not self._strokes

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        """``"pen"`` or ``"eraser"`` (for the mouse and the pen's tip; a pen's eraser end always erases)."""
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self._tool:
            self._tool = tool
            self.setCursor(eraser_cursor() if tool == "eraser" else Qt.CursorShape.CrossCursor)
            self.toolChanged.emit(tool)

    def highlighted(self) -> frozenset[int]:
        return self._highlight

    def set_highlight(self, indices) -> None:
        """Draw the strokes with these indices in the highlight colour (none: ``()``)."""
        new = frozenset(i for i in indices if 0 <= i < len(self._strokes))
        if new != self._highlight:
            self._highlight = new
            self.update()

    def erase_strokes(self, indices) -> int:
        """Delete the strokes with these indices (one undoable edit); returns how many went."""
        gone = {i for i in indices if 0 <= i < len(self._strokes)}
        if gone:
            self._meta.pop("text", None)
            self._change([s for i, s in enumerate(self._strokes) if i not in gone])
            self.strokesErased.emit(len(gone))
        return len(gone)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def _change(self, strokes: list[Stroke], added: Stroke | None = None) -> None:
        """Replace the strokes, remembering the old ones for undo."""
        self._undo.append(self._strokes)
        del self._undo[:-MAX_UNDO]
        self._redo.clear()
        self._set(strokes, added)

    def _set(self, strokes: list[Stroke], added: Stroke | None = None) -> None:
        """Replace the strokes; ``added``: the one new stroke, painted onto the cache.
        Otherwise only the boxes of the strokes that came or went are repainted (a few of
        them; more, or none before: the cache is redrawn at the next paint)."""
        valid = self._cache_valid()
        incremental = added is not None and self._strokes and valid
        old = self._drawings
        self._drawings = {id(st): d for st in strokes if (d := old.get(id(st))) is not None and d.stroke is st}
        changed = [d for k, d in old.items() if k not in self._drawings]  # gone
        new = [st for st in strokes if id(st) not in self._drawings]
        for d in drawings(new):
            self._drawings[id(d.stroke)] = d
        changed += [self._drawings[id(st)] for st in new]
        self._strokes = strokes
        self._highlight = frozenset()
        if incremental:
            painter = QPainter(self._cache)
            self._paint_strokes(painter, [added])
            painter.end()
        elif valid and self._strokes and old and len(changed) <= MAX_PARTIAL:
            self._repaint_boxes([d.box for d in changed])
        else:
            self._cache = None
        self.revision += 1
        self.update()
        self.inkChanged.emit()

    def _busy(self) -> bool:
        return self._cur is not None or self._erase is not None

    def undo(self) -> None:
        if self._undo and not self._busy():
            self._redo.append(self._strokes)
            self._set(self._undo.pop())

    def redo(self) -> None:
        if self._redo and not self._busy():
            self._undo.append(self._strokes)
            self._set(self._redo.pop())

    def clear(self) -> None:
        """Remove all strokes (undoable)."""
        self._cur = None
        self._end_erase(apply=False)
        self._meta = {}
        if self._strokes:
            self._change([])

    def set_ink(self, ink: Ink) -> None:
        """Show ``ink`` fitted to the widget; forgets the undo history."""
        self._cur = None
        self._end_erase(apply=False)
        self._undo.clear()
        self._redo.clear()
        self._meta = {k: getattr(ink, k) for k in ("text", "writer", "source") if getattr(ink, k) is not None}
        ts = [s.t.max() for s in ink.strokes if s.t is not None and len(s)]
        self._t_offset = (max(ts) + 1.0 - self._now_raw()) if ts else 0.0
        self._view = self._fit(ink)
        self._set(list(ink.strokes))

    def _fit(self, ink: Ink) -> QTransform:
        """Identity when the ink fits the widget at a readable size, else scale and centre it."""
        try:
            x0, y0, x1, y1 = ink.bounds()
        except ValueError:
            return QTransform()
        m = 20.0
        w, h = max(self.width() - 2 * m, 1.0), max(self.height() - 2 * m, 1.0)
        extent = max(x1 - x0, y1 - y0)
        pad = 4.0  # ink on the very edge (a file whose coordinates start at 0) had half its pen cut off
        if x0 >= pad and y0 >= pad and x1 <= self.width() - pad and y1 <= self.height() - pad and extent >= 100:
            return QTransform()
        s = 1.0 if extent == 0 else min(w / max(x1 - x0, 1e-9), h / max(y1 - y0, 1e-9))
        s = min(max(s, 1e-4), 1e4)
        dx = m + (w - s * (x1 - x0)) / 2 - s * x0
        dy = m + (h - s * (y1 - y0)) / 2 - s * y0
        return QTransform(s, 0, 0, s, dx, dy)

    def _scale(self) -> float:
        return max(abs(self._view.m11()), 1e-9)

    # ------------------------------------------------------------------ input

    def _now_raw(self) -> float:
        return self._clock.nsecsElapsed() / 1e9

    def _begin(self, pos: QPointF, pressure: float | None) -> None:
        self._cur_tablet = pressure is not None
        self._cur = [[], [], [], []]
        self._add(pos, pressure)
        self.strokeStarted.emit()

    def _add(self, pos: QPointF, pressure: float | None) -> None:
        cur = self._cur
        p, _ok = self._view.inverted()
        q = p.map(pos)
        if cur[0] and cur[0][-1] == q.x() and cur[1][-1] == q.y():
            return
        cur[0].append(q.x())
        cur[1].append(q.y())
        cur[2].append(self._now_raw() + self._t_offset)
        cur[3].append(1.0 if pressure is None else float(pressure))
        self.update(self._dirty_rect())

    def _dirty_rect(self) -> QRect:
        """Widget area touched by the last few points of the stroke in progress."""
        xs, ys = self._cur[0][-3:], self._cur[1][-3:]
        r = self._view.mapRect(QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
        pad = PEN_WIDTH + 2
        return r.adjusted(-pad, -pad, pad, pad).toAlignedRect()

    def _end(self) -> None:
        x, y, t, p = self._cur
        self._cur = None
        stroke = Stroke(np.array(x), np.array(y), np.array(t), np.array(p) if self._cur_tablet else None)
        targets = scratch_out_targets(stroke, self._strokes) if self.scratch_out else []
        if targets:
            self.update()  # the zig-zag itself disappears
            self.erase_strokes(targets)
            return
        self._meta.pop("text", None)  # a transcription of opened ink no longer fits
        self._change(self._strokes + [stroke], added=stroke)
        self.strokeFinished.emit(list(self._strokes))

    # the eraser: the strokes its path touches fade at once and go when it lifts

    def _ink_point(self, pos: QPointF) -> tuple[float, float]:
        inv, _ok = self._view.inverted()
        q = inv.map(pos)
        return q.x(), q.y()

    def _begin_erase(self, pos: QPointF, tablet: bool) -> None:
        self._erase, self._erase_tablet, self._erasing = [], tablet, set()
        self._erase_boxes = stroke_boxes(self._strokes)
        self.strokeStarted.emit()
        self._erase_to(pos)

    def _erase_to(self, pos: QPointF) -> None:
        path = self._erase
        q = self._ink_point(pos)
        if path and path[-1] == q:
            return
        path.append(q)
        rest = [i for i in range(len(self._strokes)) if i not in self._erasing]
        hits = strokes_hit([self._strokes[i] for i in rest], np.array(path[-2:]), ERASER_RADIUS / self._scale(),
                           self._erase_boxes[rest])
        if hits:
            self._erasing.update(rest[k] for k in hits)
            self._repaint_boxes([self._drawing(self._strokes[rest[k]]).box for k in hits])
            self.update()

    def _end_erase(self, apply: bool = True) -> None:
        if self._erase is None:
            return
        gone, self._erase, self._erasing = self._erasing, None, set()
        if apply:
            self.erase_strokes(gone)
        else:  # the faded strokes come back
            self._repaint_boxes([self._drawing(self._strokes[i]).box for i in gone if i < len(self._strokes)])
        self.update()

    def mousePressEvent(self, e) -> None:
        if e.button() == Qt.MouseButton.LeftButton and not self._busy():
            if self._tool == "eraser":
                self._begin_erase(e.position(), False)
            else:
                self._begin(e.position(), None)
            e.accept()
        else:
            super().mousePressEvent(e)

    def mouseMoveEvent(self, e) -> None:
        if self._cur is not None and not self._cur_tablet:
            self._add(e.position(), None)
            e.accept()
        elif self._erase is not None and not self._erase_tablet:
            self._erase_to(e.position())
            e.accept()

    def mouseReleaseEvent(self, e) -> None:
        if e.button() != Qt.MouseButton.LeftButton:
            return
        if self._cur is not None and not self._cur_tablet:
            self._add(e.position(), None)
            self._end()
            e.accept()
        elif self._erase is not None and not self._erase_tablet:
            self._erase_to(e.position())
            self._end_erase()
            e.accept()

    def tabletEvent(self, e) -> None:
        kind = e.type()
        if kind == QEvent.Type.TabletPress and not self._busy():
            if self._tool == "eraser" or e.pointerType() == QPointingDevice.PointerType.Eraser:
                self._begin_erase(e.position(), True)
            else:
                self._begin(e.position(), e.pressure())
        elif kind == QEvent.Type.TabletMove and self._cur is not None and self._cur_tablet:
            self._add(e.position(), e.pressure())
        elif kind == QEvent.Type.TabletMove and self._erase is not None and self._erase_tablet:
            self._erase_to(e.position())
        elif kind == QEvent.Type.TabletRelease and self._cur is not None and self._cur_tablet:
            self._end()  # the release point has pressure 0: not added
        elif kind == QEvent.Type.TabletRelease and self._erase is not None and self._erase_tablet:
            self._end_erase()
        e.accept()  # no synthesised mouse events

    # ------------------------------------------------------------------ painting

    def _cache_size(self):
        return self.size() * self.devicePixelRatioF()

    def _geometry(self) -> tuple:
        """What the cache's pixels depend on: size, pixel ratio, guide line, view."""
        v = self._view
        view = (v.m11(), v.m22(), v.dx(), v.dy())
        return self.width(), self.height(), self.devicePixelRatioF(), self._baseline(), view

    def _baseline(self) -> int:
        return min(BASELINE, self.height() - 40)

    def _cache_valid(self) -> bool:
        return self._cache is not None and self._cache_geometry == self._geometry()

    def _drawing(self, stroke: Stroke) -> _Drawing:
        d = self._drawings.get(id(stroke))
        if d is None or d.stroke is not stroke:
            d = self._drawings[id(stroke)] = _Drawing(stroke)
        return d

    def _paint_strokes(self, painter: QPainter, strokes: list[Stroke]) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self._view)
        width = PEN_WIDTH / self._scale()
        for s in strokes:
            self._drawing(s).paint(painter, width)
        painter.resetTransform()

    def _paint_paper(self, painter: QPainter) -> None:
        """Paper and the writing guide: a baseline and a dashed x-height line (and, on an
        empty canvas, a hint)."""
        painter.fillRect(QRect(0, 0, self.width(), self.height()), PAPER_COLOR)
        base = self._baseline()
        painter.setPen(QPen(RULE_COLOR, 1))
        painter.drawLine(0, base, self.width(), base)
        painter.setPen(QPen(RULE_COLOR, 1, Qt.PenStyle.DashLine))
        painter.drawLine(0, base - X_HEIGHT, self.width(), base - X_HEIGHT)
        if not self._strokes:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRect(0, base + 8, self.width(), 30), Qt.AlignmentFlag.AlignHCenter,
                             "Write on the line with the mouse or a pen")

    def _visible(self) -> list[Stroke]:
        return [s for i, s in enumerate(self._strokes) if i not in self._erasing]

    def _rebuild_cache(self) -> None:
        cache = QPixmap(self._cache_size())
        cache.setDevicePixelRatio(self.devicePixelRatioF())
        painter = QPainter(cache)
        self._paint_paper(painter)
        self._paint_strokes(painter, self._visible())
        painter.end()
        self._cache, self._cache_geometry = cache, self._geometry()

    def _repaint_region(self, rects: list[QRect]) -> None:
        """Repaint the cache inside ``rects`` (widget pixels) from scratch: paper, guide and
        every visible stroke whose box reaches them, in order, clipped to them; the pixels
        come out as a full redraw would paint them."""
        rects = [r for r in rects if not r.isEmpty()]
        if not rects or self._cache is None:
            return
        region = QRegion()
        for r in rects:
            region = region.united(r)
        visible = [(i, s) for i, s in enumerate(self._strokes) if i not in self._erasing]
        boxes = np.array([self._drawing(s).box for _i, s in visible]).reshape(-1, 4)
        # ink boxes -> widget boxes (the view only scales and moves), widened by the pen
        sx, sy, dx, dy = self._view.m11(), self._view.m22(), self._view.dx(), self._view.dy()
        x0, x1 = np.sort(np.stack([boxes[:, 0] * sx + dx, boxes[:, 2] * sx + dx]), axis=0)
        y0, y1 = np.sort(np.stack([boxes[:, 1] * sy + dy, boxes[:, 3] * sy + dy]), axis=0)
        pad = PEN_WIDTH + 2
        hit = np.zeros(len(visible), bool)
        for r in rects:
            hit |= ((x1 + pad >= r.left()) & (x0 - pad <= r.right() + 1)
                    & (y1 + pad >= r.top()) & (y0 - pad <= r.bottom() + 1))
        painter = QPainter(self._cache)
        painter.setClipRegion(region)
        self._paint_paper(painter)
        self._paint_strokes(painter, [visible[k][1] for k in np.flatnonzero(hit)])
        painter.end()

    def _repaint_boxes(self, boxes) -> None:
        """Repaint the cache where strokes with these ink boxes are (or were)."""
        if not self._cache_valid():
            self._cache = None
            return
        rects = []
        pad = PEN_WIDTH + 3
        for b in boxes:
            if np.isfinite(b).all():
                r = self._view.mapRect(QRectF(b[0], b[1], b[2] - b[0], b[3] - b[1]))
                rects.append(r.adjusted(-pad, -pad, pad, pad).toAlignedRect())
        self._repaint_region(rects)

    def _resize_cache(self) -> bool:
        """After a resize: keep the painted part and paint only the strips uncovered (when
        the pixel ratio and the guide lines are where they were).  False: repaint it all."""
        old, geom = self._cache, self._cache_geometry
        if old is None or geom is None or not self._strokes:
            return False
        w, h, *rest = self._geometry()
        if list(geom[2:]) != rest:
            return False
        cache = QPixmap(self._cache_size())
        cache.setDevicePixelRatio(rest[0])
        painter = QPainter(cache)
        painter.drawPixmap(0, 0, old)
        painter.end()
        self._cache, self._cache_geometry = cache, self._geometry()
        ow, oh = min(geom[0], w), min(geom[1], h)
        self._repaint_region([QRect(ow, 0, w - ow, h), QRect(0, oh, ow, h - oh)])
        return True

    def paintEvent(self, e) -> None:
        if not self._cache_valid() and not self._resize_cache():
            self._rebuild_cache()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._cache)
        if self._highlight:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setTransform(self._view)
            width = 1.6 * PEN_WIDTH / self._scale()
            for i in sorted(self._highlight):
                self._drawing(self._strokes[i]).paint(painter, width, HIGHLIGHT_COLOR)
            painter.resetTransform()
        if self._cur is not None and self._cur[0]:
            x, y, _t, p = self._cur
            self._paint_one(painter, np.column_stack([x, y]), np.array(p) if self._cur_tablet else None)
        painter.end()

    def _paint_one(self, painter: QPainter, xy: np.ndarray, pressure: np.ndarray | None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self._view)
        paint_stroke(painter, xy, pressure, PEN_WIDTH / self._scale())

    def resizeEvent(self, e) -> None:
        # the cache is kept: the next paint reuses what it can (_resize_cache)
        super().resizeEvent(e)
