"""The page view: a page image with its found lines drawn over it, and their text beside it.

:class:`PageView` shows one :class:`hwr.types.Page` (the result of
``Recognizer(kind="image").recognize_page``) over its grayscale image.  The
image is zoomed with Ctrl+wheel or the +/−/fit buttons and panned by dragging;
each line's polygon is an item of the scene.  The list on the right holds the
lines' transcriptions; they are edited in place (double-click or F2).  Selecting
a line in the list selects its polygon and the other way round.

The view owns no worker: the main window reads and recognises the page in the
background and calls :meth:`show_image`, :meth:`show_page` or :meth:`show_error`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QImage, QPainter, QPen, QPixmap, QPolygonF, QTransform
from PySide6.QtWidgets import (QAbstractItemView, QGraphicsPixmapItem, QGraphicsPolygonItem, QGraphicsScene,
                               QGraphicsView, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QSplitter,
                               QToolButton, QVBoxLayout, QWidget)

from hwr.types import LineResult, Page

LOW_CONFIDENCE = 0.5  # lines (and words) below this are shown in orange
LINE_PEN = QColor(0, 110, 220)
SELECTED_PEN = QColor(230, 90, 0)
LOW_COLOR = QColor(192, 88, 0)
ZOOM_STEP = 1.25
ZOOM_RANGE = (0.02, 40.0)
#: pages larger than this (pixels) are shown from a reduced copy scaled back up, so that a
#: 20,000 x 20,000 page (which hwr reads) does not become a 1.6 GB pixmap; polygons, crops
#: and corrections keep using the full-size page
DISPLAY_MAX_PIXELS = 40_000_000

#: the formats the page can be exported to: name -> (file dialog filter, suffix)
EXPORT_FILTERS = {
    "txt": ("Plain text (*.txt)", ".txt"),
    "json": ("hwr JSON (*.json)", ".json"),
    "alto": ("ALTO 4 XML (*.alto.xml *.xml)", ".alto.xml"),
    "page": ("PAGE XML 2019 (*.page.xml *.xml)", ".page.xml"),
}


def page_pixmap_item(gray: np.ndarray, max_pixels: int = DISPLAY_MAX_PIXELS) -> QGraphicsPixmapItem:
    """The page as a pixmap item in page coordinates: a page over ``max_pixels`` is drawn from
    a reduced copy (area-averaged), scaled back to the page's size in the scene."""
    h, w = gray.shape[:2]
    if h * w <= max_pixels:
        return QGraphicsPixmapItem(QPixmap.fromImage(gray_to_qimage(gray)))
    import cv2

    f = (max_pixels / (h * w)) ** 0.5
    small = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    item = QGraphicsPixmapItem(QPixmap.fromImage(gray_to_qimage(small)))
    item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
    item.setTransform(QTransform.fromScale(w / small.shape[1], h / small.shape[0]))
    return item


def gray_to_qimage(gray: np.ndarray) -> QImage:
    """A deep copy of a uint8 (H, W) array as a QImage (the array may be freed afterwards)."""
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    h, w = gray.shape
    return QImage(gray.data, w, h, gray.strides[0], QImage.Format.Format_Grayscale8).copy()


def corrected(line: LineResult, text: str) -> LineResult:
    """``line`` with ``text`` typed by the user: certain, no longer the model's spans or n-best."""
    return dataclasses.replace(line, text=text, confidence=1.0, chars=[], alternatives=[])


class LineItem(QGraphicsPolygonItem):
    """One line's polygon; selectable; knows its line index."""

    def __init__(self, index: int, polygon: list[tuple[float, float]], low: bool):
        super().__init__(QPolygonF([QPointF(float(x), float(y)) for x, y in polygon]))
        self.index = index
        self.setFlag(QGraphicsPolygonItem.GraphicsItemFlag.ItemIsSelectable)
        self.setToolTip(f"line {index + 1}")
        self._low = low

    def paint(self, painter: QPainter, option, widget=None) -> None:
        selected = self.isSelected()
        pen = QPen(SELECTED_PEN if selected else (LOW_COLOR if self._low else LINE_PEN))
        pen.setCosmetic(True)  # same width at every zoom
        pen.setWidthF(3.0 if selected else 1.5)
        painter.setPen(pen)
        fill = QColor(SELECTED_PEN if selected else LINE_PEN)
        fill.setAlpha(60 if selected else 22)
        painter.setBrush(QBrush(fill))
        painter.drawPolygon(self.polygon())


class PageGraphicsView(QGraphicsView):
    """Zoom with Ctrl+wheel, pan by dragging the page."""

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(96, 96, 96))
        self.fitted = True  # the page follows the view's size until the user zooms

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        new = min(max(self.zoom() * factor, ZOOM_RANGE[0]), ZOOM_RANGE[1])
        f = new / self.zoom()
        self.scale(f, f)
        self.fitted = False

    def fit(self) -> None:
        rect = self.sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.fitted = True

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        if self.fitted:
            self.fit()

    def wheelEvent(self, e) -> None:
        if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = e.angleDelta().y() / 120.0
            if steps:
                self.zoom_by(ZOOM_STEP ** steps)
            e.accept()
        else:
            super().wheelEvent(e)


class PageView(QWidget):
    """A page and its lines.  Signals: ``lineEdited(index, old_text, new_text)`` after the
    user changed a line's text (``self.page`` already holds the new text)."""

    lineEdited = Signal(int, str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.page: Page | None = None
        self.gray: np.ndarray | None = None
        self.path: str | None = None
        self._syncing = False
        self._items: list[LineItem] = []

        self.scene = QGraphicsScene(self)
        self.view = PageGraphicsView(self.scene)
        self.lines = QListWidget()
        self.lines.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.lines.setWordWrap(True)
        self.lines.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.lines.customContextMenuRequested.connect(self._on_context_menu)
        self.menu: QMenu | None = None
        self.lines.setAlternatingRowColors(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        tools = QHBoxLayout()
        self.zoom_in_button = self._button("+", "Zoom in (Ctrl+wheel up)", lambda: self.view.zoom_by(ZOOM_STEP))
        self.zoom_out_button = self._button("−", "Zoom out (Ctrl+wheel down)",
                                            lambda: self.view.zoom_by(1 / ZOOM_STEP))
        self.fit_button = self._button("Fit", "Fit the page to the view", self.view.fit)
        for b in (self.zoom_in_button, self.zoom_out_button, self.fit_button):
            tools.addWidget(b)
        tools.addWidget(self.message, 1)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("Lines (double-click or F2 to correct; right-click for alternatives)")
        rl.addWidget(hint)
        rl.addWidget(self.lines, 1)
        splitter = QSplitter()
        splitter.addWidget(self.view)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(splitter, 1)

        self.scene.selectionChanged.connect(self._on_scene_selection)
        self.lines.currentRowChanged.connect(self._on_row)
        self.lines.itemChanged.connect(self._on_item_changed)
        self.clear()

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ------------------------------------------------------------------ state

    def clear(self) -> None:
        self.page, self.gray, self.path = None, None, None
        self._items = []
        self.scene.clear()
        self.scene.setSceneRect(QRectF())
        self._fill_list()
        self.show_message("Open a page image with File → Open image… or drop one on the window.")

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #a40000; background: #fde8e8; padding: 4px;" if error else "")

    def show_error(self, text: str) -> None:
        self.show_message(text, error=True)

    def show_image(self, path: str, gray: np.ndarray) -> None:
        """Show the page image alone (its lines follow with :meth:`show_page`)."""
        self.page, self.path, self.gray = None, str(path), gray
        self._items = []
        self.scene.clear()
        self.scene.addItem(page_pixmap_item(gray))
        self.scene.setSceneRect(0, 0, gray.shape[1], gray.shape[0])
        self._fill_list()
        self.view.fit()
        self.show_message(f"{Path(path).name}: finding and reading the lines…")

    def show_page(self, page: Page) -> None:
        """Draw ``page``'s line polygons over the image and list their text."""
        self.page = page
        for item in self._items:
            self.scene.removeItem(item)
        self._items = []
        for i, line in enumerate(page.lines):
            if line.polygon and len(line.polygon) >= 3:
                item = LineItem(i, line.polygon, line.confidence < LOW_CONFIDENCE)
                self.scene.addItem(item)
                self._items.append(item)
        self._fill_list()
        name = Path(page.image).name if page.image else "page"
        self.show_message(f"{name}: {len(page.lines)} line{'s' if len(page.lines) != 1 else ''}")

    def _fill_list(self) -> None:
        self._syncing = True
        try:
            self.lines.clear()
            for i, line in enumerate(self.page.lines if self.page else []):
                item = QListWidgetItem(line.text)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self._style(item, line, i)
                self.lines.addItem(item)
        finally:
            self._syncing = False

    @staticmethod
    def _style(item: QListWidgetItem, line: LineResult, i: int) -> None:
        low = line.confidence < LOW_CONFIDENCE
        item.setForeground(QBrush(LOW_COLOR) if low else QBrush())
        tip = f"line {i + 1}, confidence {line.confidence:.0%}"
        if line.alternatives:
            tip += "\nalternatives:\n" + "\n".join(f"  {a.text}" for a in line.alternatives[1:6])
        item.setToolTip(tip)

    # ------------------------------------------------------------------ selection

    def line_item(self, index: int) -> LineItem | None:
        return next((it for it in self._items if it.index == index), None)

    def select_line(self, index: int) -> None:
        self.lines.setCurrentRow(index)

    def selected_line(self) -> int:
        return self.lines.currentRow()

    def _on_row(self, row: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.scene.clearSelection()
            item = self.line_item(row)
            if item is not None:
                item.setSelected(True)
                self.view.ensureVisible(item, 40, 40)
        finally:
            self._syncing = False

    def _on_scene_selection(self) -> None:
        if self._syncing:
            return
        chosen = [it for it in self.scene.selectedItems() if isinstance(it, LineItem)]
        if chosen:
            self._syncing = True
            try:
                self.lines.setCurrentRow(chosen[0].index)
                self.lines.scrollToItem(self.lines.item(chosen[0].index))
            finally:
                self._syncing = False

    # ------------------------------------------------------------------ editing

    def line_menu(self, index: int) -> QMenu:
        """The n-best alternatives of line ``index`` and "Correct the line…"."""
        menu = QMenu(self)
        line = self.page.lines[index]
        alts = [a.text for a in line.alternatives if a.text != line.text][:8]
        for text in alts:
            action = QAction(text, menu)
            action.triggered.connect(lambda _=False, t=text: self.set_line_text(index, t))
            menu.addAction(action)
        if not alts:
            menu.addAction("(no alternatives)").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Correct the line…", lambda: self.lines.editItem(self.lines.item(index)))
        return menu

    def _on_context_menu(self, pos) -> None:
        item = self.lines.itemAt(pos)
        if item is None or self.page is None:
            return
        self.menu = self.line_menu(self.lines.row(item))
        self.menu.popup(self.lines.viewport().mapToGlobal(pos))

    def set_line_text(self, index: int, text: str) -> None:
        """Correct line ``index`` as the user would (emits ``lineEdited`` when it changed)."""
        self.lines.item(index).setText(text)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing or self.page is None:
            return
        i = self.lines.row(item)
        old = self.page.lines[i].text
        new = item.text()
        if new == old:
            return
        self.page.lines[i] = corrected(self.page.lines[i], new)
        self._syncing = True
        try:
            self._style(item, self.page.lines[i], i)
        finally:
            self._syncing = False
        self.lineEdited.emit(i, old, new)

    # ------------------------------------------------------------------ export

    def export(self, path: str | Path, fmt: str) -> None:
        """Write the page (with the user's corrections) as ``fmt`` (txt, json, alto, page); raises on failure."""
        from hwr.formats import FORMATS

        if self.page is None:
            raise ValueError("no page has been read yet")
        FORMATS[fmt].write(self.page, path)

    def line_crop(self, index: int) -> np.ndarray | None:
        """The image of line ``index`` as the recogniser saw it (uint8), or None when it has none."""
        from hwr.errors import InputError
        from hwr.segmentation.crops import cut_line, line_spacings

        if self.page is None or self.gray is None:
            return None
        try:
            return cut_line(self.gray, self.page.lines[index], line_spacings(self.page.lines)[index], f"l{index}")
        except InputError:
            return None
