"""File → Transcribe a folder…: :func:`hwr.batch.transcribe` with a progress bar and a live list.

The run goes on a :class:`BatchWorker` on its own :class:`QThread` (the library starts its
own worker processes when ``workers > 1``); the dialog hears of each finished input through
queued signals. Cancel sets the library's stop event: the run ends after the inputs in
progress, and starting again on the same folders resumes (the library skips the inputs the
report marks done). Closing the dialog or the application during a run stops it cleanly.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QThread, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from hwr.batch import REPORT, Options, Summary, find_inputs, read_report, transcribe
from hwr.errors import HwrError

from .settings import Settings
from .workers import start_worker, stop_worker

log = logging.getLogger(__name__)

FORMAT_LABELS = {"txt": "Text (.txt)", "json": "JSON (.json)", "alto": "ALTO 4 (.alto.xml)",
                 "page": "PAGE 2019 (.page.xml)"}
DEFAULT_FORMATS = ("txt", "json")
ERROR_BACKGROUND = QColor(255, 222, 222)
ERROR_FOREGROUND = QColor(160, 0, 0)
EARLIER_FOREGROUND = QColor(110, 110, 110)
COLUMNS = ("Input", "Status", "Lines", "Seconds", "Details")


def default_workers() -> int:
    """As ``hwr transcribe``: the number of cores, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


def format_duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def batch_options(settings: Settings, formats: tuple[str, ...], workers: int, recursive: bool,
                  overwrite: bool) -> Options:
    """:class:`hwr.batch.Options` for the models, device and decoder of the application's settings.
    On a GPU one process feeds it (as ``hwr transcribe --device cuda``)."""
    device = settings.device or "cpu"
    if device.startswith("cuda"):
        workers = 1
    return Options(formats=formats, workers=workers, recursive=recursive, overwrite=overwrite, device=device,
                   ink_model=settings.ink_model or None, image_model=settings.image_model or None,
                   decoder=settings.decoder or None,
                   recognizer_options={k: v for k, v in settings.recognizer_options().items() if k != "decoder"})


@dataclass
class Scan:
    """What a run will find before it starts: every input, those finished by an earlier run
    (their report records) and those that cannot be read at all (unsupported file types)."""

    total: int = 0
    earlier: list[dict] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)


def scan(folder: Path, out_dir: Path, options: Options) -> Scan:
    """The inputs of ``folder`` as :func:`hwr.batch.transcribe` will see them."""
    jobs = find_inputs(folder, out_dir, options.formats, options.recursive)
    records = {} if options.overwrite else read_report(out_dir / REPORT)
    out_resolved = out_dir.resolve()
    result = Scan(total=len(jobs))
    for j in jobs:
        if j.kind is None:
            result.unsupported.append((j.rel, j.reason))
        elif j.finished(records.get(j.rel), out_resolved, options.recognition(j.kind)):
            result.earlier.append(records[j.rel])
    return result


class BatchWorker(QObject):
    """Runs :func:`hwr.batch.transcribe`; its slot runs on the worker thread.

    ``stop`` is the library's stop event: set it from any thread to end the run after the
    inputs in progress."""

    scanned = Signal(object)  # Scan
    progressed = Signal(object, int, int)  # report record, finished, total (as the library counts)
    finished = Signal(object)  # hwr.batch.Summary
    failed = Signal(str)

    def __init__(self, stop: threading.Event | None = None) -> None:
        super().__init__()
        self.stop = stop if stop is not None else threading.Event()
        self.latest = 0  # set by workers.stop_worker

    @Slot(str, str, object)
    def run(self, folder: str, out_dir: str, options: Options) -> None:
        try:
            if not Path(folder).is_dir():
                raise HwrError(f"{folder}: not a folder")
            self.scanned.emit(scan(Path(folder), Path(out_dir), options))
            summary = transcribe(folder, out_dir, options, progress=self._progress, stop=self.stop)
        except Exception as e:  # noqa: BLE001 - shown in the dialog
            if not isinstance(e, (HwrError, OSError)):
                log.exception("folder transcription failed")
            self.failed.emit(str(e) if isinstance(e, (HwrError, OSError)) else f"{type(e).__name__}: {e}")
            return
        self.finished.emit(summary)

    def _progress(self, record: dict, finished: int, total: int) -> None:
        self.progressed.emit(dict(record), finished, total)


class _FolderField(QWidget):
    def __init__(self, title: str, placeholder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setMinimumWidth(360)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.title, self.edit.text())
        if path:
            self.edit.setText(path)

    def text(self) -> str:
        return self.edit.text().strip()


class BatchDialog(QDialog):
    """Choose the folders, the formats and the workers; Start, watch, Cancel, Resume.

    ``store``: where the last folders and choices are remembered (group ``batch``);
    ``settings``: the application's :class:`~hwr_gui.settings.Settings`, or a callable
    giving them (read at each Start), for the models, device and decoder.
    """

    runStarted = Signal()
    runFinished = Signal(object)  # hwr.batch.Summary, or None when the run failed to start

    _runRequested = Signal(str, str, object)

    def __init__(self, store: QSettings | None = None, settings: Settings | Callable[[], Settings] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Transcribe a folder — hwr")
        self.store = store if store is not None else QSettings("hwr", "hwr")
        self._settings = settings
        self.running = False
        self.summary: Summary | None = None
        self.error = ""
        self._resumable: tuple[str, str] | None = None  # folders of a cancelled run
        self._close_when_done = False
        self._rows: dict[str, int] = {}  # input -> table row
        self._status: dict[str, str] = {}  # input -> "done", "done earlier" or "error"
        self._total = 0
        self._this_run = 0  # inputs read in this run (not the earlier ones, not unsupported)
        self._t0 = 0.0  # when the run started
        self._eta: tuple[float, float] | None = None  # (time of the latest input, seconds left then)

        self.input = _FolderField("Folder to transcribe", "the folder of page images and ink files")
        self.output = _FolderField("Output folder", "where the text files go (created if needed)")
        self.input.edit.textChanged.connect(self._folders_changed)
        self.output.edit.textChanged.connect(self._folders_changed)
        self.formats = {f: QCheckBox(label) for f, label in FORMAT_LABELS.items()}
        formats_row = QHBoxLayout()
        for box in self.formats.values():
            box.toggled.connect(self._update_buttons)
            formats_row.addWidget(box)
        formats_row.addStretch(1)
        self.recursive = QCheckBox("Include subfolders")
        self.workers = QSpinBox()
        self.workers.setRange(1, max(16, os.cpu_count() or 1))
        self.workers.setToolTip("Worker processes, each with its own copy of the models (one on a GPU)")
        self.overwrite = QCheckBox("Redo inputs finished earlier")
        options_row = QHBoxLayout()
        options_row.addWidget(self.recursive)
        options_row.addSpacing(16)
        options_row.addWidget(QLabel("Workers"))
        options_row.addWidget(self.workers)
        options_row.addSpacing(16)
        options_row.addWidget(self.overwrite)
        options_row.addStretch(1)
        self.models_label = QLabel()
        self.models_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Input folder", self.input)
        form.addRow("Output folder", self.output)
        form.addRow("Formats", formats_row)
        form.addRow("Options", options_row)
        form.addRow("Recognition", self.models_label)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")  # no count before a run ("0 / 1" read as one input waiting)
        self.status = QLabel("Choose a folder and press Start.")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        for c in (1, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setToolTip("Stop after the inputs in progress; Start again later to resume")
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton("Open output folder")
        self.open_button.clicked.connect(self.open_output_folder)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary_label)
        layout.addLayout(buttons)
        self.resize(820, 560)

        self.ticker = QTimer(self, interval=1000)  # the elapsed time and the time left, between inputs
        self.ticker.timeout.connect(self._show_progress)
        self.stop_event = threading.Event()
        stop = self.stop_event
        # connected before start_worker's handler (which waits for the thread): a run ends soon
        self.destroyed.connect(lambda *_: stop.set())
        #: the worker and its thread, made for each run and ended when the run ends
        self._worker: BatchWorker | None = None
        self._thread: QThread | None = None

        self._load_choices()
        self._update_models_label()
        self._update_buttons()

    # ------------------------------------------------------------------ settings

    def settings(self) -> Settings:
        s = self._settings() if callable(self._settings) else self._settings
        return s if s is not None else Settings.load(self.store)

    def _update_models_label(self) -> None:
        s = self.settings()
        decoder = ("greedy decoder" if s.decoder == "greedy"
                   else f"beam search ({s.beam_width if s.beam_width > 0 else 'each model’s width'})")
        device = "GPU (one worker)" if s.device.startswith("cuda") else "CPU"
        self.models_label.setText(f"image model: {Path(s.image_model).name if s.image_model else 'embedded'}, "
                                  f"ink model: {Path(s.ink_model).name if s.ink_model else 'embedded'}, "
                                  f"{device}, {decoder} — change them in File → Settings…")
        cuda = s.device.startswith("cuda")
        self.workers.setEnabled(not cuda and not self.running)

    def _load_choices(self) -> None:
        st = self.store
        st.beginGroup("batch")
        try:
            self.input.edit.setText(str(st.value("input", "") or ""))
            self.output.edit.setText(str(st.value("output", "") or ""))
            formats = st.value("formats", ",".join(DEFAULT_FORMATS))
            chosen = set((formats if isinstance(formats, list) else str(formats or "").split(",")))
            if not chosen & set(FORMAT_LABELS):
                chosen = set(DEFAULT_FORMATS)
            for f, box in self.formats.items():
                box.setChecked(f in chosen)
            self.recursive.setChecked(_as_bool(st.value("recursive", False)))
            self.overwrite.setChecked(_as_bool(st.value("overwrite", False)))
            try:
                workers = int(st.value("workers", default_workers()))
            except (TypeError, ValueError):
                workers = default_workers()
            self.workers.setValue(min(max(workers, 1), self.workers.maximum()))
        finally:
            st.endGroup()

    def _save_choices(self) -> None:
        st = self.store
        st.beginGroup("batch")
        st.setValue("input", self.input.text())
        st.setValue("output", self.output.text())
        st.setValue("formats", ",".join(self.chosen_formats()))
        st.setValue("recursive", self.recursive.isChecked())
        st.setValue("overwrite", self.overwrite.isChecked())
        st.setValue("workers", self.workers.value())
        st.endGroup()
        st.sync()

    def chosen_formats(self) -> tuple[str, ...]:
        return tuple(f for f, box in self.formats.items() if box.isChecked())

    # ------------------------------------------------------------------ state

    def _folders_changed(self) -> None:
        if self._resumable is not None and self._resumable != (self.input.text(), self.output.text()):
            self._resumable = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        idle = not self.running
        for w in (self.input, self.output, self.recursive, self.overwrite, *self.formats.values()):
            w.setEnabled(idle)
        self.workers.setEnabled(idle and not self.settings().device.startswith("cuda"))
        self.start_button.setEnabled(idle and bool(self.input.text() and self.output.text()
                                                   and self.chosen_formats()))
        self.start_button.setText("Resume" if self._resumable is not None else "Start")
        self.cancel_button.setEnabled(self.running and not self.stop_event.is_set())
        out = self.output.text()
        self.open_button.setEnabled(bool(out) and Path(out).is_dir())

    # ------------------------------------------------------------------ the run

    def start(self) -> bool:
        """Start (or resume) a run with the fields as they are; False when they are not usable."""
        if self.running:
            return False
        folder, out = self.input.text(), self.output.text()
        if not folder or not out:
            self._show_error("Choose the input folder and the output folder.")
            return False
        try:
            options = batch_options(self.settings(), self.chosen_formats(), self.workers.value(),
                                    self.recursive.isChecked(), self.overwrite.isChecked())
        except ValueError as e:
            self._show_error(str(e))
            return False
        self._save_choices()
        self._update_models_label()
        self.running = True
        self._close_when_done = False
        self.summary, self.error = None, ""
        self.stop_event.clear()
        self._rows.clear()
        self._status.clear()
        self._this_run = 0
        self._total = 0
        self._eta = None
        self.table.setRowCount(0)
        self.progress.setRange(0, 0)  # busy until the inputs are counted
        self.status.setText("Looking for inputs…")
        self.summary_label.clear()
        self.summary_label.setStyleSheet("")
        self._t0 = time.monotonic()
        self._update_buttons()
        self._start_worker()
        self.ticker.start()
        self.runStarted.emit()
        self._runRequested.emit(folder, out, options)
        return True

    def _start_worker(self) -> None:
        self._worker = BatchWorker(self.stop_event)
        self._thread = start_worker(self._worker, self, "hwr-batch")
        queued = Qt.ConnectionType.QueuedConnection
        self._runRequested.connect(self._worker.run, queued)
        self._worker.scanned.connect(self._on_scanned, queued)
        self._worker.progressed.connect(self._on_progress, queued)
        self._worker.finished.connect(self._on_finished, queued)
        self._worker.failed.connect(self._on_failed, queued)

    def _end_worker(self) -> None:
        """End the thread of a run (its slot has returned or is returning: it has reported)."""
        if self._worker is None or self._thread is None:
            return
        self._runRequested.disconnect(self._worker.run)
        stop_worker(self._thread, self._worker)
        self._worker = self._thread = None

    def cancel(self) -> None:
        """End the run after the inputs in progress (they are finished and kept)."""
        if not self.running or self.stop_event.is_set():
            return
        self.stop_event.set()
        self.status.setText("Stopping after the inputs in progress…")
        self._update_buttons()

    @Slot(object)
    def _on_scanned(self, found: Scan) -> None:
        self._total = found.total
        self.progress.setRange(0, max(found.total, 1))
        for rec in found.earlier:
            self._add_record(rec, earlier=True)
        for rel, reason in found.unsupported:
            self._add_record({"input": rel, "status": "error", "error": reason, "seconds": 0.0})
        self._show_progress()

    @Slot(object, int, int)
    def _on_progress(self, record: dict, finished: int, total: int) -> None:
        self._total = max(self._total, total)
        self._this_run += 1
        self._add_record(record)
        now = time.monotonic()
        left = self._total - min(len(self._status), self._total)
        self._eta = (now, (now - self._t0) / self._this_run * left)
        self._show_progress()
        if not self.open_button.isEnabled():
            self.open_button.setEnabled(Path(self.output.text()).is_dir())

    def _show_progress(self) -> None:
        n, total = min(len(self._status), self._total), self._total
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(n)
        self.progress.setFormat(f"{n} / {total}")  # the real count: an empty folder is 0 / 0, not 0 / 1
        parts = [f"{n} of {total} inputs"]
        counts = Counter(self._status.values())
        if counts["done earlier"]:
            parts.append(f"{counts['done earlier']} already done")
        failed = counts["error"]
        if failed:
            parts.append(f"{failed} failed")
        elapsed = time.monotonic() - self._t0
        parts.append(f"{format_duration(elapsed)} elapsed")
        if self.running and 0 < n < total:
            if self._eta is not None:  # the rate so far, counted down between inputs
                at, left = self._eta
                parts.append(f"about {format_duration(max(left - (time.monotonic() - at), 0))} left")
            else:
                parts.append("time left: estimating…")
        if self.stop_event.is_set() and self.running:
            parts.append("stopping after the inputs in progress…")
        self.status.setText(" · ".join(parts))

    def _add_record(self, rec: dict, earlier: bool = False) -> None:
        """One row per input (a later record for an input replaces its row)."""
        rel = str(rec.get("input", ""))
        row = self._rows.get(rel)
        if row is None:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self._rows[rel] = row
        ok = rec.get("status") == "done"
        status = ("done earlier" if earlier else "done") if ok else "error"
        if ok:
            details = []
            if rec.get("pages"):
                details.append(f"{rec['pages']} pages")
            if rec.get("mean_confidence") is not None:
                details.append(f"confidence {rec['mean_confidence']:.0%}")
            detail = ", ".join(details)
        else:
            detail = self._reason(rel, str(rec.get("error") or "failed"))
        lines = rec.get("lines")
        seconds = rec.get("seconds")
        cells = [rel, status, "" if lines is None else str(lines),
                 "" if seconds is None or not ok else f"{float(seconds):.2f}", detail]
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col in (2, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not ok:
                item.setBackground(QBrush(ERROR_BACKGROUND))
                item.setForeground(QBrush(ERROR_FOREGROUND))
                item.setToolTip(str(rec.get("error") or ""))
            elif earlier:
                item.setForeground(QBrush(EARLIER_FOREGROUND))
                item.setToolTip("finished by an earlier run: skipped")
            self.table.setItem(row, col, item)
        self._status[rel] = status
        if not earlier:
            self.table.scrollToItem(self.table.item(row, 0))

    def _reason(self, rel: str, error: str) -> str:
        """The error without the input's path in front (the row names the input)."""
        prefixes = (rel, str(Path(self.input.text()) / rel))
        for p in prefixes:
            if error.startswith(p + ": "):
                return error[len(p) + 2:]
        return error

    @Slot(object)
    def _on_finished(self, summary: Summary) -> None:
        self._end_worker()
        self.ticker.stop()
        self.running = False
        self.summary = summary
        self._show_progress()
        if summary.cancelled:
            self._resumable = (self.input.text(), self.output.text())
        else:
            self._resumable = None
            self.progress.setValue(self.progress.maximum())
        done_now = f"{summary.done} transcribed"
        text = (f"{'Stopped' if summary.cancelled else 'Finished'}: {summary.total} inputs, {done_now}, "
                f"{summary.skipped} already done, {summary.failed} failed, in {format_duration(summary.seconds)}.")
        if summary.cancelled:
            left = summary.total - len(self._status)
            text += (f" {max(left, 0)} not read yet: press Resume (or Start again later with the same folders) "
                     "to continue; finished inputs are not read again.")
        if summary.report is not None:
            text += f"\nReport: {summary.report}"
        self.summary_label.setText(text)
        self.summary_label.setStyleSheet("color: #a00000;" if summary.failed else "")
        self._update_buttons()
        self.runFinished.emit(summary)
        if self._close_when_done:
            self._close_when_done = False
            super().reject()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end_worker()
        self.ticker.stop()
        self.running = False
        if not self._this_run:  # refused before any input was read (a bad pair of folders)
            self.table.setRowCount(0)
            self._rows.clear()
            self._status.clear()
        self.error = message
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("The run did not start.")
        self._show_error(message)
        self._update_buttons()
        self.runFinished.emit(None)
        if self._close_when_done:
            self._close_when_done = False
            super().reject()

    def _show_error(self, message: str) -> None:
        self.summary_label.setText(message)
        self.summary_label.setStyleSheet("color: #a00000;")

    def open_output_folder(self) -> bool:
        out = self.output.text()
        if not out or not Path(out).is_dir():
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(out).resolve())))

    # ------------------------------------------------------------------ closing

    def confirm_stop(self) -> bool:
        """During a run, ask whether to stop it; True when there is no run or it is being stopped."""
        if not self.running or self.stop_event.is_set():
            return True
        answer = QMessageBox.question(
            self, "Stop the run?",
            "A folder is being transcribed. Stop it?\n\nThe inputs finished so far are kept; start again with "
            "the same folders to resume.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.cancel()
        return True

    def reject(self) -> None:
        """Close (Esc, the Close button, the window's close button): during a run, ask, stop
        it, and close when the inputs in progress are finished."""
        if not self.running:
            super().reject()
            return
        if self.confirm_stop():
            self._close_when_done = True

    def done(self, result: int) -> None:
        self._save_choices()
        super().done(result)

    def shutdown(self) -> None:
        """Stop any run and end its thread; waits for the inputs in progress (at exit)."""
        self.stop_event.set()
        if self._worker is not None and self._thread is not None:
            stop_worker(self._thread, self._worker)

    def is_idle(self) -> bool:
        """No run and no thread of a run."""
        return not self.running and (self._thread is None or not self._thread.isRunning())


def _as_bool(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1")
