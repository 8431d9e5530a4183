"""The main window: a canvas to write on and the recognised text below it."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QFrame, QLabel, QMainWindow, QSizePolicy, QVBoxLayout, QWidget

from hwr.errors import HwrError
from hwr.types import LineResult

from .canvas import InkCanvas
from .workers import RecognitionWorker, start_worker, stop_worker

TITLE = "hwr — handwriting recognition"
RECOGNITION_DELAY_MS = 400  # after the pen lifts
INK_FILTERS = "InkML (*.inkml);;hwr ink JSON (*.json)"
OPEN_FILTERS = "Ink files (*.inkml *.json *.xml);;All files (*)"


class ResultsPanel(QFrame):
    """The recognised text, its confidence and any error."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.text_label = QLabel()
        font = QFont(self.text_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.text_label.setFont(font)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.info_label = QLabel()
        self.info_label.setStyleSheet("color: palette(placeholder-text);")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: #a40000; background: #fde8e8; padding: 6px;")
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_label)
        layout.addWidget(self.info_label)
        layout.addWidget(self.error_label)
        self.clear()

    @property
    def text(self) -> str:
        return self._text

    def clear(self, placeholder: str = "nothing written yet") -> None:
        self._text = ""
        self.text_label.setText(f"<span style='color: gray'>({html.escape(placeholder)})</span>")
        self.info_label.setText("")
        self.info_label.hide()

    def show_result(self, result: LineResult, truth: str | None = None) -> None:
        """Show ``result``; ``truth``: the transcription stored in an opened ink file."""
        self._text = result.text
        if result.text:
            self.text_label.setText(self._rich(result))
        else:
            self.text_label.setText("<span style='color: gray'>(no text recognised)</span>")
        info = f"confidence {result.confidence:.0%}"
        self.info_label.setText(info + (f"  ·  transcription in the file: {truth}" if truth else ""))
        self.info_label.show()
        self.info_label.setToolTip("\n".join(f"{c.char!r}: {c.confidence:.0%}" for c in result.chars))

    @staticmethod
    def _rich(result: LineResult) -> str:
        """The text, with characters the model is unsure of in orange."""
        if "".join(c.char for c in result.chars) != result.text:
            return html.escape(result.text)
        out = []
        for c in result.chars:
            ch = html.escape(c.char).replace(" ", "&nbsp;")
            out.append(ch if c.confidence >= 0.5 else f"<span style='color: #c05800'>{ch}</span>")
        return "".join(out)

    def show_busy(self) -> None:
        self.info_label.setText("recognising…")
        self.info_label.show()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.hide()
        self.error_label.setText("")


class MainWindow(QMainWindow):
    """Write on the canvas; the text is recognised shortly after the pen lifts.

    ``recognizer``: any object with ``recognize_ink(ink) -> LineResult`` to use
    instead of loading ``model`` (tests pass a fake one).
    """

    _recognizeRequested = Signal(int, object)
    _loadRequested = Signal(object, str)

    def __init__(self, model: str | None = None, device: str = "cpu", recognizer: object | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.canvas = InkCanvas()
        self.results = ResultsPanel()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.results, 0)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Write on the line; the text appears below when you lift the pen.")
        self.resize(900, 560)

        self.last_result: LineResult | None = None
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

        self.canvas.strokeStarted.connect(self.delay.stop)
        self.canvas.inkChanged.connect(self._on_ink_changed)
        self._build_menus()
        self._update_actions()
        if recognizer is None:
            self.load_model(model, device)

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
        self._action(file_menu, "&Load model…", self._ask_model)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo", self.canvas.undo, "Ctrl+Z")
        self.redo_action = self._action(edit, "&Redo", self.canvas.redo, "Ctrl+Shift+Z", "Ctrl+Y")
        self.clear_action = self._action(edit, "&Clear", self.canvas.clear, "Ctrl+N")
        edit.addSeparator()
        self.copy_action = self._action(edit, "Copy &text", self.copy_text, "Ctrl+Shift+C")

    def _update_actions(self) -> None:
        self.undo_action.setEnabled(self.canvas.can_undo())
        self.redo_action.setEnabled(self.canvas.can_redo())
        self.clear_action.setEnabled(not self.canvas.is_empty())
        self.save_action.setEnabled(not self.canvas.is_empty())
        self.copy_action.setEnabled(bool(self.results.text))

    # ------------------------------------------------------------------ model

    def load_model(self, model: str | None, device: str = "cpu") -> None:
        """Load a model on the worker thread; ``None``: the embedded default."""
        self.model_state = "loading"
        self.statusBar().showMessage("Loading the recognition model…")
        self._loadRequested.emit(model, device)

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

    def recognize_now(self) -> None:
        """Send the current ink to the worker (no-op without ink or model)."""
        self.delay.stop()
        if self.canvas.is_empty() or self.model_state == "failed":
            return
        revision = self.canvas.revision
        self._worker.latest = revision
        self.results.show_busy()
        self._recognizeRequested.emit(revision, self.canvas.ink())

    @Slot(int, object, float)
    def _on_recognized(self, revision: int, result: LineResult, seconds: float) -> None:
        if revision != self.canvas.revision:
            self.dropped += 1
            return
        self.last_result = result
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
        QGuiApplication.clipboard().setText(self.results.text)
        self.statusBar().showMessage("Text copied", 2000)

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

    # ------------------------------------------------------------------ shutdown

    def closeEvent(self, e) -> None:
        self.shutdown()
        super().closeEvent(e)

    def shutdown(self) -> None:
        """Stop the worker thread (waits for a recognition in progress)."""
        self.delay.stop()
        stop_worker(self._thread, self._worker)
