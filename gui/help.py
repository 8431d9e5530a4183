"""Help → Keyboard shortcuts and Help → About (version and the model cards)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QLabel, QTableWidget,
                               QTableWidgetItem, QTabWidget, QTextBrowser, QVBoxLayout, QWidget)


def model_cards() -> dict[str, str]:
    """Name -> Markdown of the model cards shipped with hwr (``hwr/models_data/*.md``)."""
    from hwr.pipeline import MODELS_DIR

    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(Path(MODELS_DIR).glob("*.md"))}


def version() -> str:
    import hwr

    return hwr.__version__


class ShortcutsDialog(QDialog):
    def __init__(self, shortcuts: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts — hwr")
        self.table = QTableWidget(len(shortcuts), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, (what, keys) in enumerate(shortcuts):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 520)


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About hwr")
        head = QLabel(f"<h2>hwr {version()}</h2><p>Handwriting recognition for pen ink and page images.</p>"
                      "<p>The models shipped with it:</p>")
        self.cards = QTabWidget()
        for name, text in model_cards().items():
            browser = QTextBrowser()
            browser.setOpenExternalLinks(True)
            browser.setMarkdown(text)
            self.cards.addTab(browser, name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.cards, 1)
        layout.addWidget(buttons)
        self.resize(720, 560)
