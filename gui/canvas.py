"""InkCanvas: a widget to write on with the mouse or a pen (tablet, with pressure).

The canvas holds the ink as :class:`hwr.types.Stroke` objects in *ink
coordinates*.  Drawn strokes are stored as they were drawn (widget pixels, y
downwards); ink opened from a file is shown fitted to the widget through a view
transform, so saving it again gives back the file's coordinates.

Finished strokes are painted once into a cached pixmap; each paint event draws
that pixmap plus the stroke in progress and any highlighted strokes.

Two tools: the pen writes; the eraser (the ``tool`` property, or the eraser end of
a tablet pen) deletes every whole stroke its path touches, as one undoable edit.
A pen stroke that is a scratch-out over written strokes (a horizontal zig-zag,
see :mod:`hwr.ink.gestures`) erases the strokes it covers instead of becoming ink.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (QColor, QCursor, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPointingDevice,
                           QTransform)
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
    pieces = _segments(xy)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if pressure is None:  # one smooth path, one width
        path = QPainterPath(pieces[0][0])
        for _start, ctrl, end in pieces:
            _piece(path, ctrl, end)
        painter.setPen(pen)
        painter.drawPath(path)
        return
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
        """Replace the strokes; ``added``: the one new stroke, painted onto the cache."""
        incremental = added is not None and self._strokes and self._cache is not None \
            and self._cache.size() == self._cache_size()
        self._strokes = strokes
        self._highlight = frozenset()
        if incremental:
            painter = QPainter(self._cache)
            self._paint_strokes(painter, [added])
            painter.end()
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
        if x0 >= 0 and y0 >= 0 and x1 <= self.width() and y1 <= self.height() and extent >= 100:
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
            self._cache = None
            self.update()

    def _end_erase(self, apply: bool = True) -> None:
        if self._erase is None:
            return
        gone, self._erase, self._erasing = self._erasing, None, set()
        self._cache = None
        self.update()
        if apply:
            self.erase_strokes(gone)

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

    def _paint_strokes(self, painter: QPainter, strokes: list[Stroke]) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self._view)
        width = PEN_WIDTH / self._scale()
        for s in strokes:
            paint_stroke(painter, s.points, s.pressure, width)

    def _rebuild_cache(self) -> None:
        cache = QPixmap(self._cache_size())
        cache.setDevicePixelRatio(self.devicePixelRatioF())
        cache.fill(PAPER_COLOR)
        painter = QPainter(cache)
        base = min(BASELINE, self.height() - 40)  # writing guide: a baseline, a dashed x-height line
        painter.setPen(QPen(RULE_COLOR, 1))
        painter.drawLine(0, base, self.width(), base)
        painter.setPen(QPen(RULE_COLOR, 1, Qt.PenStyle.DashLine))
        painter.drawLine(0, base - X_HEIGHT, self.width(), base - X_HEIGHT)
        if not self._strokes:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRect(0, base + 8, self.width(), 30), Qt.AlignmentFlag.AlignHCenter,
                             "Write on the line with the mouse or a pen")
        self._paint_strokes(painter, [s for i, s in enumerate(self._strokes) if i not in self._erasing])
        painter.end()
        self._cache = cache

    def paintEvent(self, e) -> None:
        if self._cache is None or self._cache.size() != self._cache_size():
            self._rebuild_cache()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._cache)
        if self._highlight:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setTransform(self._view)
            for i in sorted(self._highlight):
                s = self._strokes[i]
                paint_stroke(painter, s.points, s.pressure, 1.6 * PEN_WIDTH / self._scale(), HIGHLIGHT_COLOR)
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
        self._cache = None
        super().resizeEvent(e)
