"""The main window: a "Write" tab (a canvas and the recognised text below it) and a
"Page" tab (a page image with its lines and their text)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from hwr.errors import HwrError
from hwr.imaging import IMAGE_SUFFIXES as _HWR_IMAGE_SUFFIXES
from hwr.types import LineResult, Page

from .canvas import InkCanvas
from .corrections import CorrectionStore
from .page_view import EXPORT_FILTERS, PageView
from .results_panel import ResultsPanel
from .settings import Settings, SettingsDialog
from .workers import PageWorker, RecognitionWorker, start_worker, stop_worker

TITLE = "hwr — handwriting recognition"
# after the pen lifts: at once. A recognition costs ~60 ms of one core, off the UI thread; a result
# for ink that changed meanwhile is dropped, so while the writer goes on only the last one shows.
# (A 300 ms wait would outlast 73 % of the pauses between strokes but add 300 ms to every
# result: benchmarks/gui_latency.py --gaps.)
RECOGNITION_DELAY_MS = 0
INK_FILTERS = "InkML (*.inkml);;hwr ink JSON (*.json)"
OPEN_FILTERS = "Ink files (*.inkml *.json *.xml);;All files (*)"
IMAGE_SUFFIXES = tuple(sorted(_HWR_IMAGE_SUFFIXES))  # what hwr reads (not .jp2/.pbm/.pgm/.ppm)
IMAGE_FILTERS = "Images (" + " ".join("*" + x for x in IMAGE_SUFFIXES) + ");;All files (*)"


def is_image_file(path: str | Path) -> bool:
    """By the first bytes (as hwr reads images), else by the extension."""
    try:
        from hwr.imaging.load import is_image_bytes

        with open(path, "rb") as f:
            return is_image_bytes(f.read(16))
    except OSError:
        return str(path).lower().endswith(IMAGE_SUFFIXES)


class MainWindow(QMainWindow):
    """Write on the canvas; the text is recognised shortly after the pen lifts.

    ``recognizer``: any object with ``recognize_ink(ink) -> LineResult`` to use
    instead of loading ``model`` (tests pass a fake one); ``page_recognizer``: the
    same for page images (``recognize_page(gray, color=None) -> Page``), else the image model of
    the settings is loaded when the first page is opened.  ``settings``: where the
    settings are kept (default: the user's QSettings of hwr); ``corrections``: where
    confirmed corrections are written (default: the user's data folder).
    """

    _recognizeRequested = Signal(int, object)
    _loadRequested = Signal(object, str, object)
    _pageRequested = Signal(int, str)
    _pageConfigure = Signal(object, str, object)

    def __init__(self, model: str | None = None, device: str | None = None, recognizer: object | None = None,
                 parent: QWidget | None = None, *, page_recognizer: object | None = None,
                 settings: QSettings | None = None, corrections: CorrectionStore | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.store = settings if settings is not None else QSettings("hwr", "hwr")
        self.settings = Settings.load(self.store)
        self.corrections = corrections if corrections is not None else CorrectionStore()
        self.canvas = InkCanvas()
        self.results = ResultsPanel()
        write = QWidget()
        layout = QVBoxLayout(write)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.results, 0)
        self.page_view = PageView()
        self.tabs = QTabWidget()
        self.tabs.addTab(write, "Write")
        self.tabs.addTab(self.page_view, "Page")
        self.setCentralWidget(self.tabs)
        self.setAcceptDrops(True)
        self.statusBar().showMessage("Write on the line; the text appears below when you lift the pen.")
        self.resize(1000, 640)

        self.last_result: LineResult | None = None
        self.word_links: list[list[int]] = []  # the strokes of each word of the result shown
        self.model_state = "ready" if recognizer is not None else "loading"  # loading | ready | failed
        self._has_model = recognizer is not None
        self.dropped = 0  # results thrown away because the ink had changed meanwhile
        self.delay = QTimer(self, singleShot=True, interval=RECOGNITION_DELAY_MS)
        self.delay.timeout.connect(self.recognize_now)

        self._worker = RecognitionWorker(recognizer)
        self._thread = start_worker(self._worker, self)
        self._recognizeRequested.connect(self._worker.recognize)
        self._loadRequested.connect(self._worker.load)
        queued = Qt.ConnectionType.QueuedConnection  # results are handled on the UI thread
        self._worker.recognized.connect(self._on_recognized, queued)
        self._worker.failed.connect(self._on_failed, queued)
        self._worker.loaded.connect(self._on_loaded, queued)
        self._worker.loadFailed.connect(self._on_load_failed, queued)

        self.page_revision = 0
        self.last_page: Page | None = None
        self.last_correction: Path | None = None  # the file written for the latest correction
        self._pending_image = ""
        self._batch = None  # the batch dialog, made when first opened
        self._page_worker = PageWorker(page_recognizer)
        self._page_thread = start_worker(self._page_worker, self, "hwr-page")
        self._pageRequested.connect(self._page_worker.recognize)
        self._pageConfigure.connect(self._page_worker.configure)
        self._page_worker.imageLoaded.connect(self._on_page_image, queued)
        self._page_worker.recognized.connect(self._on_page, queued)
        self._page_worker.failed.connect(self._on_page_failed, queued)
        self._page_worker.modelLoaded.connect(self._on_page_model_loaded, queued)
        self._device = device or self.settings.device
        if page_recognizer is None:
            self._pageConfigure.emit(self.settings.image_model or None, self._device,
                                     self.settings.recognizer_options())

        self.canvas.strokeStarted.connect(self.delay.stop)
        self.canvas.inkChanged.connect(self._on_ink_changed)
        self.canvas.strokesErased.connect(self._on_erased)
        self.results.textCorrected.connect(self._on_ink_corrected)
        self.results.wordHovered.connect(self._on_word_hovered)
        self.page_view.lineEdited.connect(self._on_line_corrected)
        self.tabs.currentChanged.connect(lambda _i: self._update_actions())
        self._build_menus()
        self._update_actions()
        if recognizer is None:
            self.load_model(model if model is not None else (self.settings.ink_model or None), self._device)

    # ------------------------------------------------------------------ menus

    def _action(self, menu, text: str, slot, *shortcuts: str) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in shortcuts])
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open ink…", self._ask_open, "Ctrl+O")
        self.save_action = self._action(file_menu, "Save ink &as…", self._ask_save, "Ctrl+Shift+S")
        file_menu.addSeparator()
        self._action(file_menu, "Open &image…", self._ask_open_image, "Ctrl+I")
        self.export_action = self._action(file_menu, "&Export page…", self._ask_export, "Ctrl+E")
        self._action(file_menu, "&Transcribe a folder…", self.show_batch, "Ctrl+Shift+T")
        file_menu.addSeparator()
        self._action(file_menu, "&Load ink model…", self._ask_model)
        self._action(file_menu, "&Settings…", self.show_settings, "Ctrl+,")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo", self.canvas.undo, "Ctrl+Z")
        self.redo_action = self._action(edit, "&Redo", self.canvas.redo, "Ctrl+Shift+Z", "Ctrl+Y")
        self.clear_action = self._action(edit, "&Clear", self.canvas.clear, "Ctrl+N")
        edit.addSeparator()
        tools = QActionGroup(self)
        self.pen_action = self._action(edit, "&Pen", lambda: self.canvas.set_tool("pen"), "Ctrl+Shift+P")
        self.eraser_action = self._action(edit, "&Eraser (deletes whole strokes)",
                                          lambda: self.canvas.set_tool("eraser"), "Ctrl+Shift+E")
        for a in (self.pen_action, self.eraser_action):
            a.setCheckable(True)
            tools.addAction(a)
        self.pen_action.setChecked(True)
        self.canvas.toolChanged.connect(
            lambda t: (self.pen_action if t == "pen" else self.eraser_action).setChecked(True))
        self.scratch_action = QAction("&Scratch-out erases", self, checkable=True, checked=self.canvas.scratch_out)
        self.scratch_action.setToolTip("A quick horizontal zig-zag over written words erases them")
        self.scratch_action.toggled.connect(lambda on: setattr(self.canvas, "scratch_out", on))
        edit.addAction(self.scratch_action)
        edit.addSeparator()
        self.correct_action = self._action(edit, "C&orrect the text…", self.start_correction, "Ctrl+R")
        self.copy_action = self._action(edit, "Copy &text", self.copy_text, "Ctrl+Shift+C")
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Write", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self._action(view, "&Page", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        view.addSeparator()
        self.zoom_actions = [
            self._action(view, "Zoom &in", self.page_view.zoom_in_button.click, "Ctrl++", "Ctrl+="),
            self._action(view, "Zoom &out", self.page_view.zoom_out_button.click, "Ctrl+-"),
            self._action(view, "&Fit page", self.page_view.fit_button.click, "Ctrl+0"),
        ]
        self.write_bar = bar = self.addToolBar("Write")
        bar.setObjectName("write-tools")
        bar.setMovable(False)
        for a in (self.pen_action, self.eraser_action, None, self.undo_action, self.redo_action, self.clear_action):
            bar.addSeparator() if a is None else bar.addAction(a)
        self.eraser_action.setIconText("Eraser")
        tools = self.menuBar().addMenu("&Tools")
        self._action(tools, "&Retrain model…", self.show_training)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "&About hwr", self.show_about)

    def _on_page_tab(self) -> bool:
        return self.tabs.currentWidget() is self.page_view

    def _update_actions(self) -> None:
        self.undo_action.setEnabled(self.canvas.can_undo())
        self.redo_action.setEnabled(self.canvas.can_redo())
        self.clear_action.setEnabled(not self.canvas.is_empty())
        self.save_action.setEnabled(not self.canvas.is_empty())
        self.correct_action.setEnabled(self.page_view.page is not None and bool(self.page_view.page.lines)
                                       if self._on_page_tab() else self.results.result is not None)
        page_text = "\n".join(ln.text for ln in self.page_view.page.lines) if self.page_view.page else ""
        self.copy_action.setEnabled(bool(page_text if self._on_page_tab() else self.results.text))
        self.export_action.setEnabled(self.page_view.page is not None)
        for a in self.zoom_actions:
            a.setEnabled(self._on_page_tab())
        self.write_bar.setVisible(not self._on_page_tab())

    # ------------------------------------------------------------------ model

    def load_model(self, model: str | None, device: str | None = None) -> None:
        """Load an ink model on the worker thread; ``None``: the embedded default."""
        self.model_state = "loading"
        self.statusBar().showMessage("Loading the recognition model…")
        self._loadRequested.emit(model, device or self._device, self.settings.recognizer_options())

    @Slot(str)
    def _on_loaded(self, description: str) -> None:
        self.model_state = "ready"
        self._has_model = True
        self.results.clear_error()
        self.statusBar().showMessage(f"Model loaded: {description}", 5000)
        if not self.canvas.is_empty():
            self.recognize_now()

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        if self._has_model:  # the worker keeps the model it had
            self.model_state = "ready"
            self.results.show_error(f"Could not load the recognition model: {message}\n"
                                    "Still using the previous model.")
            return
        self.model_state = "failed"
        self.last_result = None
        self.results.clear("no recognition model" if not self.canvas.is_empty() else "nothing written yet")
        self._update_actions()
        self.results.show_error(f"Could not load the recognition model: {message}\n"
                                "You can still write and save ink. Choose a model with File → Load model… "
                                "or start hwr-gui --model PATH.")
        self.statusBar().showMessage("No recognition model")

    def _ask_model(self) -> None:
        filters = "Models (*.safetensors);;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self, "Load model", "", filters)
        if path:
            self.load_model(path)

    # ------------------------------------------------------------------ recognition

    def _on_ink_changed(self) -> None:
        self.word_links = []  # until the new ink is read
        self._update_actions()
        if self.canvas.is_empty():
            self.delay.stop()
            self.last_result = None
            self.results.clear()
            self.setWindowTitle(TITLE)
        elif self.model_state == "failed":
            self.results.clear("no recognition model")
        else:
            self.delay.start()

    @Slot(int)
    def _on_erased(self, n: int) -> None:
        self.statusBar().showMessage(f"Erased {n} stroke{'s' if n != 1 else ''} (Ctrl+Z brings "
                                     f"{'them' if n != 1 else 'it'} back)", 4000)

    def recognize_now(self) -> None:
        """Send the current ink to the worker (no-op without ink or model)."""
        self.delay.stop()
        if self.canvas.is_empty() or self.model_state == "failed":
            return
        revision = self.canvas.revision
        self._worker.latest = revision
        self.results.show_busy()
        self._recognizeRequested.emit(revision, self.canvas.ink())

    @Slot(int, object, float, object)
    def _on_recognized(self, revision: int, result: LineResult, seconds: float, links: object = None) -> None:
        if revision != self.canvas.revision:
            self.dropped += 1
            return
        self.last_result = result
        self.word_links = list(links) if links else []
        self.results.clear_error()
        self.results.show_result(result, self.canvas.ink().text)
        self._update_actions()
        self.statusBar().showMessage(f"Recognised in {seconds * 1000:.0f} ms", 4000)

    @Slot(int, str)
    def _on_failed(self, revision: int, message: str) -> None:
        if self.model_state == "failed":
            return  # the load error is already shown
        if revision != self.canvas.revision:
            self.dropped += 1
            return
        self.results.show_error(f"Recognition failed: {message}")
        self.statusBar().showMessage("Recognition failed", 4000)

    def copy_text(self) -> None:
        """Copy the text of the tab shown (the ink's, or the page's lines)."""
        if self._on_page_tab() and self.page_view.page is not None:
            text = "\n".join(ln.text for ln in self.page_view.page.lines)
        else:
            text = self.results.text
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Text copied", 2000)

    # ------------------------------------------------------------------ corrections

    def start_correction(self) -> None:
        """Edit the ink's text, or on the Page tab the selected line (the first when none is)."""
        if not self._on_page_tab():
            self.results.start_edit()
        elif self.page_view.page is not None and self.page_view.page.lines:
            row = max(self.page_view.selected_line(), 0)
            self.page_view.select_line(row)
            self.page_view.lines.editItem(self.page_view.lines.item(row))

    @Slot(int)
    def _on_word_hovered(self, index: int) -> None:
        """Highlight the strokes that wrote word ``index`` (none for -1)."""
        self.canvas.set_highlight(self.word_links[index] if 0 <= index < len(self.word_links) else ())

    @Slot(str, str)
    def _on_ink_corrected(self, old: str, new: str) -> None:
        self.word_links = []  # the words no longer match the frames
        self._update_actions()
        if self.canvas.is_empty():
            return
        try:
            path = self.corrections.record_ink(self.canvas.ink(), new)
        except (HwrError, OSError, ValueError) as e:
            self.results.show_error(f"Could not record the correction: {e}")
            return
        self.last_correction = path
        self.statusBar().showMessage(f"Correction recorded as training data: {path}", 5000)

    @Slot(int, str, str)
    def _on_line_corrected(self, index: int, old: str, new: str) -> None:
        self._update_actions()
        crop = self.page_view.line_crop(index)
        if crop is None:
            self.statusBar().showMessage(f"Line {index + 1} corrected (it has no image to record)", 5000)
            return
        try:
            path = self.corrections.record_line(crop, new)
        except OSError as e:
            self.page_view.show_error(f"Could not record the correction: {e}")
            return
        self.last_correction = path
        self.statusBar().showMessage(f"Correction recorded as training data: {path}", 5000)

    # ------------------------------------------------------------------ pages

    def open_image(self, path: str | Path) -> None:
        """Show the Page tab and read ``path`` in the background (errors are shown in the tab)."""
        self.tabs.setCurrentWidget(self.page_view)
        self.page_revision += 1
        self._page_worker.latest = self.page_revision
        self.last_page = None
        self.page_view.clear()
        self.page_view.show_message(f"Reading {Path(path).name}…")
        self._pending_image = str(path)
        self._update_actions()
        self._pageRequested.emit(self.page_revision, str(path))

    @Slot(str)
    def _on_page_model_loaded(self, description: str) -> None:
        self.statusBar().showMessage(f"Image model loaded: {description}", 5000)

    @Slot(int, object)
    def _on_page_image(self, revision: int, gray) -> None:
        if revision == self.page_revision:
            self.page_view.show_image(self._pending_image, gray)

    @Slot(int, object, float)
    def _on_page(self, revision: int, page: Page, seconds: float) -> None:
        if revision != self.page_revision:
            return
        self.last_page = page
        self.page_view.show_page(page)
        pages = self._page_count(page.image)
        if pages > 1:  # the Page tab reads the first page of a multi-page TIFF: say so
            n = len(page.lines)
            self.page_view.show_message(f"{Path(page.image).name}: page 1 of {pages}, {n} line{'s' if n != 1 else ''} "
                                        "(the other pages: File → Transcribe a folder…, or hwr recognize)")
        self.setWindowTitle(f"{Path(page.image).name} — hwr")
        self._update_actions()
        self.statusBar().showMessage(f"{len(page.lines)} lines read in {seconds:.1f} s", 5000)

    @staticmethod
    def _page_count(path: str | None) -> int:
        """Pages in ``path`` (a multi-page TIFF has several); 1 when unknown.  Reads headers only."""
        if not path:
            return 1
        try:
            from hwr.imaging.load import count_pages

            return count_pages(path)
        except Exception:  # noqa: BLE001 - only a note in the window depends on it
            return 1

    @Slot(int, str)
    def _on_page_failed(self, revision: int, message: str) -> None:
        if revision != self.page_revision:
            return
        self.page_view.show_error(f"Could not read the page: {message}")
        self.statusBar().showMessage("Could not read the page", 5000)

    def export_page(self, path: str | Path, fmt: str | None = None) -> bool:
        """Write the page as ``fmt`` (txt, json, alto, page; default: from the file name)."""
        if fmt is None:
            name = str(path).lower()
            fmt = "alto" if name.endswith(".alto.xml") else "page" if name.endswith(".xml") else \
                "json" if name.endswith(".json") else "txt"
        try:
            self.page_view.export(path, fmt)
        except (HwrError, OSError, ValueError) as e:
            self.page_view.show_error(f"Could not export the page: {e}")
            return False
        self.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def _ask_open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open page image", "", IMAGE_FILTERS)
        if path:
            self.open_image(path)

    def _ask_export(self) -> None:
        if self.page_view.page is None:
            return
        stem = Path(self.page_view.page.image or "page").stem
        filters = ";;".join(f for f, _s in EXPORT_FILTERS.values())
        path, chosen = QFileDialog.getSaveFileName(self, "Export page", stem + ".txt", filters)
        if not path:
            return
        fmt = next(k for k, (f, _s) in EXPORT_FILTERS.items() if f == chosen) if chosen else None
        if fmt and not path.lower().endswith((EXPORT_FILTERS[fmt][1], ".xml" if fmt in ("alto", "page") else "")):
            path += EXPORT_FILTERS[fmt][1]
        self.export_page(path, fmt)

    # ------------------------------------------------------------------ drag and drop

    @staticmethod
    def _dropped_file(mime) -> str | None:
        urls = [u for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        return urls[0].toLocalFile() if len(urls) == 1 else None

    def dragEnterEvent(self, e) -> None:
        if self._dropped_file(e.mimeData()):
            e.acceptProposedAction()
        else:
            e.ignore()

    def dragMoveEvent(self, e) -> None:
        self.dragEnterEvent(e)

    def dropEvent(self, e) -> None:
        path = self._dropped_file(e.mimeData())
        if not path:
            e.ignore()
            return
        e.acceptProposedAction()
        if is_image_file(path):
            self.open_image(path)
        else:
            self.tabs.setCurrentIndex(0)
            self.open_ink(path)

    # ------------------------------------------------------------------ settings and help

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.settings())

    def apply_settings(self, new: Settings) -> None:
        """Remember ``new`` and reload the models with it."""
        self.settings = new
        new.save(self.store)
        self._device = new.device
        self.load_model(new.ink_model or None, new.device)
        self._pageConfigure.emit(new.image_model or None, new.device, new.recognizer_options())

    def show_training(self) -> None:
        """Tools → Retrain model…: a non-modal dialog; a model chosen there is loaded at once."""
        from .training_dialog import TrainingDialog

        dialog = getattr(self, "training_dialog", None)
        if dialog is None:
            dialog = self.training_dialog = TrainingDialog(self.store, self.corrections.root, parent=self)
            dialog.modelChosen.connect(lambda _kind, _path: self.apply_settings(Settings.load(self.store)))
        dialog.show()
        dialog.raise_()

    def shortcuts(self) -> list[tuple[str, str]]:
        """(action, keys) for every menu action with a shortcut, in menu order."""
        out = []
        for menu_action in self.menuBar().actions():
            for a in menu_action.menu().actions():
                if a.shortcuts():
                    keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts())
                    out.append((a.text().replace("&", "").rstrip("…"), keys))
        return out + [("Zoom the page", "Ctrl+wheel"), ("Correct a page line", "F2 or double-click"),
                      ("Confirm / cancel a correction", "Enter / Esc"),
                      ("New line in a correction of several lines of writing", "Shift+Enter")]

    def show_shortcuts(self) -> None:
        from .help import ShortcutsDialog

        ShortcutsDialog(self.shortcuts(), self).exec()

    def show_about(self) -> None:
        from .help import AboutDialog

        AboutDialog(self).exec()

    # ------------------------------------------------------------------ files

    def open_ink(self, path: str | Path) -> bool:
        from hwr.ink.io import load_ink

        try:
            ink = load_ink(path)
        except (HwrError, OSError) as e:
            self.results.show_error(f"Could not open ink: {e}")
            return False
        self.canvas.set_ink(ink)
        self.results.clear_error()
        self.setWindowTitle(f"{Path(path).name} — hwr")
        self.statusBar().showMessage(f"Opened {path}")
        self.recognize_now()
        return True

    def save_ink(self, path: str | Path) -> bool:
        """Save as hwr JSON when ``path`` ends in .json, else as InkML."""
        from hwr.ink.io import write_inkml, write_json

        if self.canvas.is_empty():
            self.statusBar().showMessage("Nothing to save", 3000)
            return False
        write = write_json if str(path).lower().endswith(".json") else write_inkml
        try:
            write(self.canvas.ink(), path)
        except (HwrError, OSError) as e:
            self.results.show_error(f"Could not save ink: {e}")
            return False
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open ink", "", OPEN_FILTERS)
        if path:
            self.open_ink(path)

    def _ask_save(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Save ink as", "ink.inkml", INK_FILTERS)
        if path:
            if not Path(path).suffix:
                path += ".json" if "json" in chosen.lower() else ".inkml"
            self.save_ink(path)

    def show_batch(self) -> None:
        """File → Transcribe a folder…: one dialog, kept (with its run) while hidden."""
        from .batch_dialog import BatchDialog

        if self._batch is None:
            self._batch = BatchDialog(self.store, lambda: self.settings, self)
        self._batch.show()
        self._batch.raise_()
        self._batch.activateWindow()

    # ------------------------------------------------------------------ shutdown

    def closeEvent(self, e) -> None:
        if self._batch is not None and not self._batch.confirm_stop():
            e.ignore()
            return
        self.shutdown()
        super().closeEvent(e)

    def shutdown(self) -> None:
        """Stop the worker thread (waits for a recognition in progress) and a training."""
        self.delay.stop()
        if self._batch is not None:
            self._batch.shutdown()
        if getattr(self, "training_dialog", None) is not None:
            self.training_dialog.close()  # ends a running training; its run folder keeps the last epoch
        stop_worker(self._thread, self._worker)
        self._page_worker.latest = 1 << 62
        stop_worker(self._page_thread, self._page_worker)
