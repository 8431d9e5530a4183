"""Retrain / personalise a model from the app: Tools → Retrain model….

The training itself is ``hwr train`` run in a separate process (a :class:`QProcess`), so the
window stays responsive and a crash of the training (or a bad data folder) ends that process
only: its last messages are shown in the dialog. ``--progress-json`` makes it print one JSON
object per epoch on stdout, which feeds the live curves; its stderr (human progress, errors)
goes to the log. Cancel terminates the process; the run folder ``OUT.run/`` keeps the last
finished epoch and Resume runs the same command again, which continues from there. At the
end the new model is compared with its base on the same validation lines, each read with its
own decoder where ``hwr train`` measured that (``training.base_read_val_cer`` /
``read_val_cer``), else greedily (``base_val_cer`` / ``best_val_cer``:
:func:`hwr.training.card.comparison`), and "Use the new model" puts it in the Settings, with a
warning when it validates worse than its base.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import (QPointF, QProcess, QProcessEnvironment, QRectF, QSettings, QStandardPaths, Qt, QTimer,
                            Signal)
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMessageBox, QPlainTextEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from .settings import Settings, cuda_available

KINDS = ("ink", "image")
EMBEDDED = {"ink": "ink_default", "image": "image_default"}
LOSS_COLOR = QColor(31, 119, 180)
CER_COLOR = QColor(214, 39, 40)
BASE_COLOR = QColor(120, 120, 120)


def default_models_dir() -> Path:
    """``<AppDataLocation>/models``: where the app puts the models it trains."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    if not base:
        base = str(Path.home() / ".local" / "share" / "hwr")
    return Path(base) / "models"


def new_model_path(folder: Path, kind: str, avoid: str | os.PathLike | None = None) -> Path:
    """A fresh file name in ``folder`` for a new ``kind`` model (never an existing file, nor ``avoid``)."""
    stem = f"{kind}-personal-{time.strftime('%Y%m%d-%H%M')}"
    for i in range(1, 10_000):
        p = folder / (f"{stem}.safetensors" if i == 1 else f"{stem}-{i}.safetensors")
        if p.exists() or Path(str(p) + ".run").exists():
            continue
        if avoid is not None and p.resolve() == Path(avoid).resolve():
            continue
        return p
    raise OSError(f"{folder}: no free model name")


def data_kind(path: str | os.PathLike) -> str | None:
    """The model kind a data source trains, as ``hwr train`` decides it: ``"image"`` for a line
    dataset or a folder of line images / pages, ``"ink"`` for ink; None when it holds nothing usable."""
    p = Path(path)
    if p.is_file():
        from hwr.data.lineset import dataset_format

        fmt = dataset_format(p)
        return {"hwr-lineset": "image", "hwr-inkset": "ink"}.get(fmt or "")
    if p.is_dir():
        from hwr.training.sources import folder_contents

        contents = folder_contents(p)
        if contents & {"lines", "pages"}:
            return "image"
        return "ink" if "ink" in contents else None
    return None


def _nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}"



def _row(field: QWidget, button: QWidget) -> QWidget:
    """A text field that takes the width, with its button beside it, as one form row."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    layout.addWidget(button)
    return row

class CurvePlot(QWidget):
    """Training loss (left axis) and validation CER in % (right axis) against the epoch,
    drawn with QPainter; the base model's CER, when known, as a dashed line."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss: list[tuple[int, float]] = []
        self.cer: list[tuple[int, float]] = []  # percent
        self.base_cer: float | None = None  # percent
        self.setMinimumSize(420, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def clear(self) -> None:
        self.loss, self.cer, self.base_cer = [], [], None
        self.update()

    def add(self, epoch: int, loss: float | None, cer_percent: float | None) -> None:
        """Add (or replace) the figures of ``epoch``."""
        self.loss = [p for p in self.loss if p[0] != epoch]
        self.cer = [p for p in self.cer if p[0] != epoch]
        if loss is not None and math.isfinite(loss):
            self.loss.append((epoch, float(loss)))
        if cer_percent is not None and math.isfinite(cer_percent):
            self.cer.append((epoch, float(cer_percent)))
        self.loss.sort()
        self.cer.sort()
        self.update()

    def set_base(self, cer_percent: float | None) -> None:
        self.base_cer = cer_percent
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        fm = p.fontMetrics()
        left, right, top, bottom = fm.horizontalAdvance("00.00") + 14, fm.horizontalAdvance("100") + 16, \
            fm.height() + 8, fm.height() * 2 + 8
        plot = QRectF(left, top, max(self.width() - left - right, 10), max(self.height() - top - bottom, 10))
        text = self.palette().text().color()
        grid = QColor(text)
        grid.setAlpha(40)

        epochs = [e for e, _ in self.loss] + [e for e, _ in self.cer]
        x0, x1 = 0, max(epochs + [2])
        loss_max = max([v for _, v in self.loss] + [1e-6]) * 1.1
        cer_vals = [v for _, v in self.cer] + ([self.base_cer] if self.base_cer is not None else [])
        cer_max = min(max(cer_vals + [1.0]) * 1.1, 110.0)

        def sx(e: float) -> float:
            return plot.left() + (e - x0) / max(x1 - x0, 1e-9) * plot.width()

        def sy(v: float, vmax: float) -> float:
            return plot.bottom() - v / vmax * plot.height()

        if not self.loss and not self.cer:
            p.setPen(QPen(text, 1))
            p.drawRect(plot)
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "the curves of the training loss and the validation "
                       "CER\nappear here after the first epoch")
            p.end()
            return
        # grid, ticks and labels
        p.setPen(QPen(grid, 1))
        step = _nice_step(loss_max)
        v = 0.0
        while v <= loss_max + 1e-9:
            y = sy(v, loss_max)
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(LOSS_COLOR)
            p.drawText(QRectF(0, y - fm.height() / 2, left - 6, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, _fmt(v))
            p.setPen(QPen(grid, 1))
            v += step
        cstep = _nice_step(cer_max)
        v = 0.0
        while v <= cer_max + 1e-9:
            p.setPen(CER_COLOR)
            p.drawText(QRectF(plot.right() + 6, sy(v, cer_max) - fm.height() / 2, right - 6, fm.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, _fmt(v))
            v += cstep
        xstep = max(1, int(_nice_step(x1 - x0, 8)))
        p.setPen(text)
        for e in range(x0, x1 + 1, xstep):
            x = sx(e)
            p.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            p.drawText(QRectF(x - 20, plot.bottom() + 4, 40, fm.height()), Qt.AlignmentFlag.AlignHCenter, str(e))
        p.drawText(QRectF(plot.left(), plot.bottom() + 4 + fm.height(), plot.width(), fm.height()),
                   Qt.AlignmentFlag.AlignHCenter, "epoch")
        p.setPen(LOSS_COLOR)
        p.drawText(QRectF(0, 0, left + 40, top), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   "loss")
        p.setPen(CER_COLOR)
        p.drawText(QRectF(self.width() - right - 80, 0, right + 76, top),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "val CER %")
        p.setPen(QPen(text, 1))
        p.drawRect(plot)

        if self.base_cer is not None:
            y = sy(self.base_cer, cer_max)
            p.setPen(QPen(BASE_COLOR, 1.5, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.drawText(QRectF(plot.left() + 4, y - fm.height() - 1, plot.width() - 8, fm.height()),
                       Qt.AlignmentFlag.AlignLeft, f"base model {self.base_cer:.1f} %")

        for series, vmax, color in ((self.loss, loss_max, LOSS_COLOR), (self.cer, cer_max, CER_COLOR)):
            if not series:
                continue
            pts = [QPointF(sx(e), sy(v, vmax)) for e, v in series]
            path = QPainterPath(pts[0])
            for q in pts[1:]:
                path.lineTo(q)
            p.setPen(QPen(color, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setBrush(color)
            for q in pts:
                p.drawEllipse(q, 3, 3)
        p.end()


class TrainingDialog(QDialog):
    """Choose data, base model, time budget, device and output; train in a separate process
    with live curves; compare with the base; put the new model in the Settings.

    ``store``: the QSettings of the app (the models in use are read from and written to it).
    ``corrections_root``: the app's corrections folder (``ink/`` and ``lines/`` below it).
    ``extra_args``: further ``hwr train`` options (the "Advanced" field), e.g. ``--hidden 64``.
    """

    trainingFinished = Signal(bool)  # True: a model was written; False: failed or cancelled
    modelChosen = Signal(str, str)  # kind, path: the new model was put in the Settings
    progressed = Signal(dict)  # one epoch's figures, as `hwr train --progress-json` prints them

    SOURCES = (("folder", "A folder (line images + .gt.txt, pages with PAGE/ALTO, ink files)"),
               ("dataset", "A dataset file (.h5 from hwr import)"),
               ("ink-corrections", "My corrections: ink"),
               ("line-corrections", "My corrections: page lines"))

    def __init__(self, store: QSettings, corrections_root: str | os.PathLike | None = None,
                 models_dir: str | os.PathLike | None = None, parent: QWidget | None = None, *,
                 has_cuda: bool | None = None, extra_args: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Retrain model — hwr")
        self.store = store
        if corrections_root is None:
            from .corrections import default_root

            corrections_root = default_root()
        self.corrections_root = Path(corrections_root)
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self.state = "idle"  # idle | running | cancelled | failed | done
        self.result: dict | None = None  # the "done" event, completed from the model file
        self.stderr_tail: deque[str] = deque(maxlen=200)
        self._out_buf = b""
        self._err_buf = b""
        self._cancelling = False
        self._out_edited = False
        self._last_epoch = 0

        self.source = QComboBox()
        for key, label in self.SOURCES:
            self.source.addItem(label, key)
        self.path = QLineEdit()
        self.path.setMinimumWidth(360)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse_data)
        path_row = _row(self.path, self.browse)

        self.kind = QComboBox()
        self.kind.addItem("Automatic (from the data)", "")
        self.kind.addItem("Ink (pen strokes)", "ink")
        self.kind.addItem("Image (line images)", "image")
        self.kind_note = QLabel()

        self.base = QComboBox()
        self.base.addItem("The model in use (Settings)", "in-use")
        self.base.addItem("The embedded model", "embedded")
        self.base.addItem("A model file…", "file")
        self.base.addItem("None: train from scratch", "scratch")
        self.base_file = QLineEdit()
        self.base_file.setPlaceholderText("a .safetensors model")
        base_browse = self.base_browse = QPushButton("Browse…")
        base_browse.clicked.connect(self._browse_base)
        self.base_file_row = _row(self.base_file, base_browse)

        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.5, 24 * 60)
        self.minutes.setDecimals(1)
        self.minutes.setValue(10.0)
        self.minutes.setSuffix(" min")
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        if cuda_available() if has_cuda is None else has_cuda:
            self.device.addItem("GPU (CUDA)", "cuda")
        settings = Settings.load(store)
        self.device.setCurrentIndex(max(self.device.findData(settings.device), 0))

        self.members = QComboBox()
        self.members.addItem("One model", 1)
        self.members.addItem("Two, read together: better, reads twice as slowly", 2)
        self.members.addItem("Three, read together: better still, reads three times as slowly", 3)
        self.members.setToolTip("hwr train --members N --ensemble: N fine-tunings side by side (other seeds; on a "
                                "CPU a process each, the cores shared out), kept as one model that reads with all "
                                "of them, if that validates better than the best one alone. Needs a model to "
                                "start from.")

        self.out = QLineEdit()
        out_browse = self.out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._browse_out)
        out_row = _row(self.out, out_browse)
        self.advanced = QLineEdit(extra_args)
        self.advanced.setPlaceholderText("more hwr train options, e.g. --hidden 64 --layers 2 --batch-size 16")

        self.source.setToolTip("What to train on. Without separate validation data, a tenth of the lines "
                               "(chosen by name, the same every time) is held out to measure the models.")
        self.kind.setToolTip("Ink data trains the ink model, line images and pages the image model; an image "
                             "model can also learn from ink (rendered to images).")
        self.base.setToolTip("Fine-tune an existing model (it is measured on the same validation lines first, "
                             "so the new one can be compared with it), or start from nothing.")
        self.minutes.setToolTip("hwr train --max-minutes: no epoch is started that would not finish in time; "
                                "the learning rate decays to the end of the budget (--anneal).")
        self.out.setToolTip("A new file: the model in use is never overwritten. Its model card (.md) is "
                            "written beside it, its checkpoints in the .run folder.")
        form = QFormLayout()
        form.addRow("Data", self.source)
        form.addRow("", path_row)
        form.addRow("Kind", self.kind)
        form.addRow("", self.kind_note)
        form.addRow("Start from", self.base)
        form.addRow("", self.base_file_row)
        form.addRow("Time budget", self.minutes)
        form.addRow("Fine-tunings", self.members)
        form.addRow("Device", self.device)
        form.addRow("New model file", out_row)
        form.addRow("Advanced", self.advanced)

        self.plot = CurvePlot()
        self.status = QLabel("Choose the data and press Start.")
        self.status.setWordWrap(True)
        self.comparison = QLabel()
        self.comparison.setWordWrap(True)
        self.comparison.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bold = QFont(self.comparison.font())
        bold.setBold(True)
        self.comparison.setFont(bold)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setFixedHeight(96)
        self.log.setPlaceholderText("messages of hwr train")

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setToolTip("Stop the training; the last finished epoch is kept and Resume goes on from it.")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.use_button = QPushButton("Use the new model")
        self.use_button.clicked.connect(self.use_new_model)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.resume_button, self.use_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.comparison)
        layout.addWidget(self.log)
        layout.addLayout(buttons)

        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_process_error)
        self._kill_timer = QTimer(self, singleShot=True, interval=5000)
        self._kill_timer.timeout.connect(self.process.kill)

        self.source.currentIndexChanged.connect(self._source_changed)
        self.path.editingFinished.connect(self._refresh_kind)
        self.kind.currentIndexChanged.connect(self._refresh_kind)
        self.base.currentIndexChanged.connect(self._update)
        self.out.textEdited.connect(self._mark_out_edited)
        self._source_changed()
        self.resize(780, 760)

    # ------------------------------------------------------------------ choices
    def _mark_out_edited(self, _text: str = "") -> None:
        self._out_edited = True

    def set_source(self, key: str, path: str | os.PathLike | None = None) -> None:
        """Choose the data source (one of :attr:`SOURCES`' keys) and, for a folder or dataset, its path."""
        self.source.setCurrentIndex(self.source.findData(key))
        if path is not None:
            self.path.setText(str(path))
        self._refresh_kind()

    def _source_changed(self) -> None:
        key = self.source.currentData()
        corrections = key.endswith("corrections")
        folders = {str(self.corrections_root / "ink"), str(self.corrections_root / "lines")}
        if corrections:
            self.path.setText(str(self.corrections_root / ("ink" if key == "ink-corrections" else "lines")))
        elif self.path.text() in folders:  # from "my corrections" back to a folder or file of one's own
            self.path.clear()
        self.path.setReadOnly(corrections)
        self.browse.setEnabled(not corrections)
        self._refresh_kind()

    def _browse_data(self) -> None:
        if self.source.currentData() == "dataset":
            path, _ = QFileDialog.getOpenFileName(self, "Choose a dataset", self.path.text(),
                                                  "Datasets (*.h5 *.hdf5);;All files (*)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Choose a folder of training data", self.path.text())
        if path:
            self.path.setText(path)
            self._refresh_kind()

    def _browse_base(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the base model", self.base_file.text(),
                                              "Models (*.safetensors);;All files (*)")
        if path:
            self.base_file.setText(path)
            self.base.setCurrentIndex(self.base.findData("file"))

    def _browse_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New model file", self.out.text(),
                                              "Models (*.safetensors)")
        if path:
            if not path.endswith(".safetensors"):
                path += ".safetensors"
            self.out.setText(path)
            self._out_edited = True

    def chosen_kind(self) -> str | None:
        """The kind to train: the one chosen, else the one the data (or the corrections folder) gives."""
        if self.kind.currentData():
            return self.kind.currentData()
        key = self.source.currentData()
        if key == "ink-corrections":
            return "ink"
        if key == "line-corrections":
            return "image"
        text = self.path.text().strip()
        if not text:
            return None
        try:
            return data_kind(text)
        except Exception:  # an unreadable folder or file: hwr train will say what is wrong
            return None

    def base_model(self, kind: str) -> str | None:
        """``--base`` for ``kind``: a file, an embedded model's name, or None (from scratch)."""
        choice = self.base.currentData()
        if choice == "scratch":
            return None
        if choice == "file":
            return self.base_file.text().strip() or None
        if choice == "in-use":
            s = Settings.load(self.store)
            in_use = s.ink_model if kind == "ink" else s.image_model
            if in_use:
                return in_use
        return EMBEDDED[kind]

    def _refresh_kind(self) -> None:
        kind = self.chosen_kind()
        if self.kind.currentData():
            self.kind_note.setText("")
        elif kind:
            self.kind_note.setText(f"this data trains the {kind} model")
        elif self.path.text().strip():
            self.kind_note.setText("no usable training data found here (yet)")
        else:
            self.kind_note.setText("")
        if kind and not self._out_edited:
            try:
                base = self.base_model(kind)
                self.out.setText(str(new_model_path(self.models_dir, kind, base if base and Path(base).exists()
                                                    else None)))
            except OSError:
                pass
        self._update()

    def _update(self) -> None:
        running = self.state == "running"
        self.base_file_row.setVisible(self.base.currentData() == "file")
        for w in (self.source, self.path, self.kind, self.base, self.base_file_row, self.minutes, self.device,
                  self.out, self.out_browse, self.advanced):
            w.setEnabled(not running)
        self.members.setEnabled(not running and self.base.currentData() != "scratch")
        self.browse.setEnabled(not running and not self.source.currentData().endswith("corrections"))
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.state in ("cancelled", "failed")
                                      and bool(self.state_files()))
        self.use_button.setEnabled(not running and self.state == "done" and self.result is not None)

    def run_dir(self) -> Path:
        return Path(self.out.text().strip() + ".run")

    def state_files(self) -> list[Path]:
        """The run's checkpoint states: its own, or its members' (``--members``), those that exist."""
        st = self.run_dir() / "state.json"
        return [st] if st.exists() else sorted(self.run_dir().glob("member-*/state.json"))

    # ------------------------------------------------------------------ the command
    def command(self, restart: bool) -> list[str]:
        """The arguments of ``python`` for this training (raises ValueError when a choice is missing)."""
        data = self.path.text().strip()
        if not data:
            raise ValueError("choose the training data first")
        if not Path(data).exists():
            if self.source.currentData().endswith("corrections"):
                raise ValueError(f"no corrections recorded yet ({data} does not exist): correct some "
                                 "recognised text first, or choose a folder")
            raise ValueError(f"{data}: no such file or folder")
        kind = self.chosen_kind()
        if kind is None:
            raise ValueError(f"{data}: holds no line images with .gt.txt, no PAGE/ALTO pages and no ink files "
                             "(or choose the kind)")
        out = self.out.text().strip()
        if not out:
            raise ValueError("choose the file for the new model")
        if not out.endswith(".safetensors"):
            raise ValueError("the new model's file name must end in .safetensors")
        base = self.base_model(kind)
        if self.base.currentData() == "file" and not base:
            raise ValueError("choose the base model's file (or another starting point)")
        if base and Path(base).exists() and Path(base).resolve() == Path(out).resolve():
            raise ValueError("the new model must not overwrite its base: choose another file name")
        if base and Path(base).is_file():
            from hwr.models.checkpoint import read_info

            try:
                base_info = read_info(base)
            except Exception as e:
                raise ValueError(f"the base model cannot be read: {e}") from e
            base_kind = base_info.kind
            if base_info.arch == "ensemble":
                raise ValueError(f"{Path(base).name} is an ensemble of {len(base_info.config['members'])} models, "
                                 "which cannot be fine-tuned as one: start from the embedded model or another "
                                 "model file")
            if base_kind != kind:
                raise ValueError(f"{Path(base).name} is an {base_kind} model and this data trains an {kind} model: "
                                 "choose another base model, or train from scratch")
        try:
            extra = shlex.split(self.advanced.text())
        except ValueError as e:
            raise ValueError(f"advanced options: {e}") from e
        args = ["-m", "hwr.cli.main", "train", "--kind", kind, "--data", data, "--out", out,
                "--max-minutes", f"{self.minutes.value():g}", "--anneal", "--device", self.device.currentData(),
                "--progress-json"]
        if base:
            args += ["--base", base]
        n = int(self.members.currentData())
        if n > 1:
            if not base:
                raise ValueError("several fine-tunings read together need a model to start from")
            args += ["--members", str(n), "--ensemble"]
        if restart:
            args.append("--restart")
        return args + extra

    def start(self) -> bool:
        """Start a fresh training (an earlier run of the same output file is discarded)."""
        return self._launch(restart=True)

    def resume(self) -> bool:
        """Run the same training again: it continues from the last finished epoch in ``OUT.run/``."""
        return self._launch(restart=False)

    def _launch(self, restart: bool) -> bool:
        if self.state == "running":
            return False
        try:
            args = self.command(restart)
            Path(self.out.text().strip()).parent.mkdir(parents=True, exist_ok=True)
        except (ValueError, OSError) as e:
            self._show_error(str(e))
            return False
        self.result = None
        self.comparison.clear()
        self.comparison.setMinimumHeight(0)
        self.status.setMinimumHeight(0)
        self.comparison.setStyleSheet("")
        self.stderr_tail.clear()
        self._out_buf = self._err_buf = b""
        self._cancelling = False
        if restart:
            self.plot.clear()
            self._last_epoch = 0
            self.log.clear()
        else:
            self._load_history()
        env = QProcessEnvironment.systemEnvironment()
        import hwr

        root = str(Path(hwr.__file__).resolve().parent.parent)  # the child imports the same hwr as the app
        env.insert("PYTHONPATH", os.pathsep.join([root] + [p for p in [env.value("PYTHONPATH", "")] if p]))
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.setProgram(sys.executable)
        self.process.setArguments(args)
        self.log.appendPlainText("$ hwr " + " ".join(shlex.quote(a) for a in args[3:]))
        self.state = "running"
        self.status.setStyleSheet("")
        self.status.setText("Resuming the training…" if not restart else
                            "Training… (preparing the data; the first point appears after the first epoch)")
        self._update()
        self.process.start()
        return True

    def _load_history(self) -> None:
        """On resume: the curve from the run folder's history (the epochs the checkpoint keeps)."""
        own, first = self.run_dir() / "state.json", self.run_dir() / "member-1" / "state.json"
        try:  # members side by side: the first one's curve, as while they train
            hist = json.loads((own if own.exists() else first).read_text()).get("history") or []
        except (OSError, ValueError):
            return
        self.plot.clear()
        self._last_epoch = 0
        for h in hist:
            self._add_point(h)

    def _add_point(self, ev: dict) -> None:
        if int(ev.get("member") or 0) > 1:  # members side by side: the curves are the first one's
            return
        epoch = int(ev.get("epoch", 0))
        cer = ev.get("val_cer")
        self.plot.add(epoch, ev.get("loss"), None if cer is None else 100.0 * float(cer))
        self._last_epoch = max(self._last_epoch, epoch)

    def cancel(self) -> None:
        """Stop the training process; the run folder keeps its last finished epoch."""
        if self.state != "running":
            return
        self._cancelling = True
        self.status.setText("Stopping…")
        self.process.terminate()
        self._kill_timer.start()

    # ------------------------------------------------------------------ the process
    @staticmethod
    def _lines(buf: bytes, chunk: bytes) -> tuple[list[str], bytes]:
        buf += chunk
        *done, rest = buf.split(b"\n")
        return [d.decode("utf-8", "replace").rstrip("\r") for d in done], rest

    def _read_stdout(self) -> None:
        lines, self._out_buf = self._lines(self._out_buf, bytes(self.process.readAllStandardOutput().data()))
        for line in lines:
            self._handle_stdout(line)

    def _handle_stdout(self, line: str) -> None:
        try:
            ev = json.loads(line)
        except ValueError:
            ev = None
        if not isinstance(ev, dict):
            if line.strip():
                self._log(line)
            return
        if ev.get("event") == "epoch":
            self._add_point(ev)
            cer = ev.get("val_cer")
            who = f" of fine-tuning {ev['member']}" if ev.get("member") else ""  # --members N in Advanced
            self.status.setText(f"Epoch {ev.get('epoch')}{who}: loss {float(ev.get('loss', 0)):.3f}, validation CER "
                                + (f"{100 * float(cer):.2f} %" if cer is not None else "?")
                                + f" — {float(ev.get('seconds', 0)) / 60:.1f} of {self.minutes.value():g} min")
            self.progressed.emit(ev)
        elif ev.get("event") == "done":
            self.result = ev

    def _log(self, line: str) -> None:
        self.log.appendPlainText(line)
        bar = self.log.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _read_stderr(self) -> None:
        lines, self._err_buf = self._lines(self._err_buf, bytes(self.process.readAllStandardError().data()))
        for line in lines:
            if line.strip():
                self.stderr_tail.append(line)
                self._log(line)

    def _on_process_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.state = "failed"
            self._show_error(f"could not start the training ({self.process.errorString()})")
            self.trainingFinished.emit(False)

    def _on_finished(self, code: int, status) -> None:
        self._kill_timer.stop()
        self._read_stdout()
        self._read_stderr()
        for tail, handle in ((self._out_buf, self._handle_stdout), (self._err_buf, None)):
            if tail.strip():
                text = tail.decode("utf-8", "replace")
                if handle:
                    handle(text)
                else:
                    self.stderr_tail.append(text)
                    self._log(text)
        self._out_buf = self._err_buf = b""
        crashed = status == QProcess.ExitStatus.CrashExit
        if self._cancelling:
            self.state = "cancelled"
            kept = self._kept_epoch()
            self.status.setStyleSheet("")
            self.status.setText("Cancelled. " + (f"The run folder keeps epoch {kept}: Resume continues from there."
                                                 if kept else "No epoch had finished: Resume starts afresh."))
            self._update()
            self.trainingFinished.emit(False)
            return
        if code == 0 and not crashed and self.result is not None:
            self.state = "done"
            self._show_result()
            self._update()
            self.trainingFinished.emit(True)
            return
        self.state = "failed"
        last = self.stderr_tail[-1] if self.stderr_tail else "(no message)"  # an error, or a traceback's end
        why = "crashed" if crashed else f"stopped with exit status {code}"
        again = ("Start again, or Resume from the last finished epoch" if self.state_files()
                 else "Start again")
        self._show_error(f"The training {why}: {last}\n(its messages are below; fix the cause, then {again})")
        self.trainingFinished.emit(False)

    def _kept_epoch(self) -> int:
        """The last finished epoch in the run folder (of the member furthest on, with ``--members``)."""
        kept = 0
        for st in self.state_files():
            try:
                kept = max(kept, int(json.loads(st.read_text()).get("epoch", 0)))
            except (OSError, ValueError):
                pass
        return kept

    def _show_error(self, message: str) -> None:
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(message)
        self._fit_label(self.status)
        self._update()

    def _show_result(self) -> None:
        """Old vs new validation CER, from the written model's own figures."""
        from hwr.models.checkpoint import read_info
        from hwr.training.card import comparison, verdict

        res = dict(self.result or {})
        try:
            info = read_info(res["model"])
            tr = info.training
            # judged: the figures that decide (each model read with its own decoder where measured)
            res.update(kind=info.kind, base_val_cer=tr.get("base_val_cer"), best_val_cer=tr.get("best_val_cer"),
                       verdict=verdict(info), judged=comparison(info))
        except Exception as e:  # the model file went away or is unreadable
            self.result = None
            self._show_error(f"the training finished but its model cannot be read: {e}")
            return
        self.result = res
        base, new = res.get("base_val_cer"), res.get("best_val_cer")
        self.plot.set_base(None if base is None else 100.0 * base)
        name = Path(res["model"]).name
        self.status.setStyleSheet("")
        self.status.setText(f"Done: {name} (its model card: {Path(res['card']).name}).")
        if res.get("judged"):
            text = f"The new model is {res['verdict']}."  # the verdict gives both figures
            self.comparison.setStyleSheet("color: #1b5e20;" if self.is_better() else "color: #b00020;")
        elif new is not None:
            text = f"Validation CER of the new model: {100 * new:.2f} % (trained from scratch: no base to compare)."
        else:
            text = "The new model has no validation figure."
        if info.arch == "ensemble":
            n = len(info.config["members"])
            text += (f"\nIt is an ensemble of {n} fine-tunings read together (their outputs averaged), "
                     f"so it reads about {n} times as slowly as one model.")
        from hwr.training.lm_adapt import read_tuning, summary

        tuning = read_tuning(res["model"])
        if tuning:
            text += f"\nDecoding: {summary(tuning)}."
        self.comparison.setText(text)
        self._fit_label(self.comparison)

    @staticmethod
    def _fit_label(label: QLabel) -> None:
        """Room for every line of a word-wrapped label (layouts do not always ask for it)."""
        label.setMinimumHeight(max(label.heightForWidth(max(label.width(), 200)),
                                   label.fontMetrics().lineSpacing() * (label.text().count("\n") + 1)))

    def is_better(self) -> bool | None:
        """Whether the new model validates better than its base, each read with its own decoder
        where hwr train measured that, else greedily (None: no base, or no result)."""
        judged = (self.result or {}).get("judged")
        if not judged:
            return None
        base, new, _how = judged
        return new < base

    # ------------------------------------------------------------------ the result
    def use_new_model(self) -> bool:
        """Put the new model in the Settings (the ink or the image model); warns first when it
        validates worse than its base. Returns whether it was put in."""
        if self.state != "done" or not self.result:
            return False
        kind, path = self.result.get("kind", "ink"), str(self.result["model"])
        if self.is_better() is False:
            base, new, how = self.result["judged"]
            read = " read as each reads by default" if how == "read" else ""
            answer = QMessageBox.warning(
                self, "The new model is not better",
                f"The new model validates worse than its base on the same lines{read} (CER {100 * base:.2f} % → "
                f"{100 * new:.2f} %). Keeping the base model is advised.\n\nUse the new model anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        s = Settings.load(self.store)
        if kind == "image":
            s.image_model = path
        else:
            s.ink_model = path
        s.save(self.store)
        self.status.setText(f"{Path(path).name} is now the {kind} model in use.")
        self.modelChosen.emit(kind, path)
        return True

    def _stop_now(self) -> None:
        """Closing the dialog ends a running training (its run folder keeps the last finished epoch)."""
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self._cancelling = True
            self.process.terminate()
            if not self.process.waitForFinished(3000):
                self.process.kill()
                self.process.waitForFinished(2000)

    def closeEvent(self, e) -> None:
        self._stop_now()
        super().closeEvent(e)

    def reject(self) -> None:  # Esc
        self._stop_now()
        super().reject()
