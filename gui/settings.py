"""Settings of the application (models, device, decoder), kept in QSettings, and their dialog."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget)

DECODERS = ("beam", "greedy")
#: written with the settings; before version 2 the beam width had a fixed default of 16
SETTINGS_VERSION = 2


@dataclass
class Settings:
    """``ink_model`` / ``image_model``: a .safetensors path, or "" for the embedded model.
    ``beam_width`` 0: each model's own tuned width (its ``.decoder.json``; 16 for the embedded
    ink model, 32 for the embedded image model)."""

    ink_model: str = ""
    image_model: str = ""
    device: str = "cpu"
    decoder: str = "beam"
    beam_width: int = 0
    lm: bool = True
    #: read each line of a page cut by three bands (``hwr recognize --bands 3``)
    three_bands: bool = False
    #: find a sheet photographed on a table and flatten it before reading (``hwr recognize``
    #: does; ``--no-paper`` does not)
    flatten_photos: bool = True

    def recognizer_options(self) -> dict:
        """Keyword arguments for :class:`hwr.pipeline.Recognizer` (besides model and device)."""
        opts: dict = {"decoder": self.decoder}
        if self.three_bands:
            opts["bands"] = 3
        if not self.flatten_photos:
            opts["paper"] = False
        if self.decoder == "beam":
            if self.beam_width > 0:
                opts["beam_width"] = self.beam_width
            if not self.lm:
                opts["lm"] = "none"  # with the LM on, the model's own tuned LM (if it has one)
        return opts

    @classmethod
    def load(cls, store: QSettings) -> Settings:
        s = cls()
        for f in fields(cls):
            value = store.value(f.name)
            if value is None:
                continue
            try:
                if f.type in ("bool", bool):
                    value = value if isinstance(value, bool) else str(value).lower() in ("true", "1")
                elif f.type in ("int", int):
                    value = int(value)
                else:
                    value = str(value)
            except (TypeError, ValueError):
                continue  # a damaged entry: keep the default
            setattr(s, f.name, value)
        if s.decoder not in DECODERS:
            s.decoder = "beam"
        s.beam_width = min(max(s.beam_width, 0), 256)
        if store.value("settings_version") is None and s.beam_width == 16:
            s.beam_width = 0  # the old fixed default, saved as is: let each model's tuned width apply
        return s

    def save(self, store: QSettings) -> None:
        for name, value in asdict(self).items():
            store.setValue(name, value)
        store.setValue("settings_version", SETTINGS_VERSION)
        store.sync()


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class _ModelField(QWidget):
    """A model path, empty for the embedded model, with a Browse… button."""

    def __init__(self, value: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText("embedded default model")
        self.edit.setMinimumWidth(320)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        default = QPushButton("Embedded")
        default.clicked.connect(self.edit.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)
        layout.addWidget(default)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", self.edit.text(),
                                              "Models (*.safetensors);;All files (*)")
        if path:
            self.edit.setText(path)

    def value(self) -> str:
        return self.edit.text().strip()


class SettingsDialog(QDialog):
    """Edit a :class:`Settings`; :meth:`settings` gives the edited copy."""

    def __init__(self, settings: Settings, parent: QWidget | None = None, has_cuda: bool | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings — hwr")
        self.ink_model = _ModelField(settings.ink_model)
        self.image_model = _ModelField(settings.image_model)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        if cuda_available() if has_cuda is None else has_cuda:
            self.device.addItem("GPU (CUDA)", "cuda")
        self.device.setCurrentIndex(max(self.device.findData(settings.device), 0))
        self.decoder = QComboBox()
        self.decoder.addItem("Beam search", "beam")
        self.decoder.addItem("Greedy (fastest)", "greedy")
        self.decoder.setCurrentIndex(max(self.decoder.findData(settings.decoder), 0))
        self.beam_width = QSpinBox()
        self.beam_width.setRange(0, 256)
        self.beam_width.setSpecialValueText("each model's own")  # shown for 0
        self.beam_width.setToolTip("0: the width each model was tuned with (ink 16, image 32)")
        self.beam_width.setValue(settings.beam_width)
        self.lm = QCheckBox("Use the model's language model")
        self.lm.setChecked(settings.lm)
        self.three_bands = QCheckBox("Read each page line three times (slower)")
        self.three_bands.setToolTip("Cut each line found on a page by three bands about its baseline and keep the "
                                    "text that fits all three: about a point better on a difficult hand, "
                                    "for about twice the time a page takes")
        self.three_bands.setChecked(settings.three_bands)
        self.flatten_photos = QCheckBox("Flatten pages photographed on a table")
        self.flatten_photos.setToolTip("Find the sheet of paper in a photograph (a bright page on a darker "
                                       "background, seen at an angle), flatten it and read it flat; the lines are "
                                       "still shown on the photograph. Scans are read as they are either way")
        self.flatten_photos.setChecked(settings.flatten_photos)
        self.decoder.currentIndexChanged.connect(self._update)
        form = QFormLayout(self)
        form.addRow("Ink model", self.ink_model)
        form.addRow("Image model", self.image_model)
        form.addRow("Device", self.device)
        form.addRow("Decoder", self.decoder)
        form.addRow("Beam width", self.beam_width)
        form.addRow("", self.lm)
        form.addRow("Pages", self.three_bands)
        form.addRow("", self.flatten_photos)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._update()

    def _update(self) -> None:
        beam = self.decoder.currentData() == "beam"
        self.beam_width.setEnabled(beam)
        self.lm.setEnabled(beam)

    def settings(self) -> Settings:
        return Settings(ink_model=self.ink_model.value(), image_model=self.image_model.value(),
                        device=self.device.currentData(), decoder=self.decoder.currentData(),
                        beam_width=self.beam_width.value(), lm=self.lm.isChecked(),
                        three_bands=self.three_bands.isChecked(),
                        flatten_photos=self.flatten_photos.isChecked())
