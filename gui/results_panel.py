"""The recognised text of the ink: words to click for alternatives, low confidence in colour, editable.

Each word of the text is a link; clicking it opens a menu with the n-best
alternatives for that word (taken from the line's n-best list where it differs
from the best text only in that word), the alternatives for the whole line, and
"Correct the line…".  Choosing an alternative, or typing a correction and
pressing Enter, replaces the text and emits ``textCorrected(old, new)``.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCursor, QFont, QPalette
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QLineEdit, QMenu, QPlainTextEdit, QPushButton,
                               QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from hwr.types import LineResult

LOW_CONFIDENCE = 0.5
MAX_TEXT_LINES = 2  # lines of text shown; more scroll (the panel's height never changes)
LOW_COLOR = "#c05800"
WORD = re.compile(r"\S+")
MAX_CHOICES = 8


def word_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in WORD.finditer(text)]


def word_confidences(result: LineResult) -> list[float]:
    """Each word's confidence: the lowest of its characters' (the line's when the spans do not fit the text)."""
    spans = word_spans(result.text)
    if result.chars and "".join(c.char for c in result.chars) == result.text:
        return [min(c.confidence for c in result.chars[a:b]) for a, b in spans]
    return [result.confidence] * len(spans)


def word_alternatives(result: LineResult, index: int) -> list[str]:
    """Other readings of word ``index``: from the n-best lines that have as many words and
    differ from the best text in that word, best first."""
    words = [result.text[a:b] for a, b in word_spans(result.text)]
    out: list[str] = []
    for alt in result.alternatives:
        alt_words = alt.text.split()
        if len(alt_words) != len(words):
            continue
        w = alt_words[index]
        if w != words[index] and w not in out:
            out.append(w)
    return out[:MAX_CHOICES]


def replace_word(text: str, index: int, word: str) -> str:
    a, b = word_spans(text)[index]
    return text[:a] + word + text[b:]


class ResultsPanel(QFrame):
    """The recognised text, its confidence and any error.

    Signals: ``textCorrected(old, new)``; ``wordHovered(index)`` when the mouse
    enters word ``index`` of the text, ``-1`` when it leaves (or the text changes).
    """

    textCorrected = Signal(str, str)
    wordHovered = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._height_key = None  # (font, dpi) the line height below was measured for
        self._lines_height = self._line_step = 0
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.text_label = QLabel()
        font = QFont(self.text_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.text_label.setFont(font)
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.text_label.linkActivated.connect(self._on_link)
        self.text_label.linkHovered.connect(self._on_hover)
        self.editor = QLineEdit()
        self.editor.setFont(font)
        self.editor.hide()
        self.editor.returnPressed.connect(self.confirm_edit)
        self.editor.installEventFilter(self)
        # several lines of writing: their texts one per line (a QLineEdit hid the line breaks and
        # could not type one, so a retyped correction never matched the ink's lines).  Enter
        # confirms, as in the one-line editor; Shift+Enter starts a new line.
        self.lines_editor = QPlainTextEdit()
        self.lines_editor.setFont(font)
        self.lines_editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.lines_editor.setToolTip("One line of text per line of writing; Enter confirms, "
                                     "Shift+Enter starts a new line, Esc cancels")
        self.lines_editor.hide()
        self.lines_editor.installEventFilter(self)
        self.edit_button = QPushButton("Correct…")
        self.edit_button.setToolTip("Type the right text (Ctrl+R); Enter confirms, Esc cancels")
        self.edit_button.clicked.connect(self.start_edit)
        # several lines of writing give several lines of text: past MAX_TEXT_LINES they scroll,
        # so a long result never squeezes the canvas (whose repaint grows with its strokes)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.text_label)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setStyleSheet("QScrollArea { background: transparent; }")
        self.scroll.viewport().setAutoFillBackground(False)
        self.text_label.setAutoFillBackground(False)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        top = QHBoxLayout()
        top.addWidget(self.scroll, 1)
        top.addWidget(self.editor, 1)
        top.addWidget(self.lines_editor, 1)
        top.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        self.info_label = QLabel()
        self.info_label.setStyleSheet("color: palette(placeholder-text);")
        self.info_label.setMinimumHeight(self.info_label.fontMetrics().height())  # shown or empty: same height
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: #a40000; background: #fde8e8; padding: 6px;")
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.info_label)
        layout.addWidget(self.error_label)
        self.result: LineResult | None = None
        self.menu: QMenu | None = None
        self.clear()

    @property
    def text(self) -> str:
        return self._text

    def plain_text(self) -> str:
        """What the label shows, without markup."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.text_label.text())
        return doc.toPlainText()

    def clear(self, placeholder: str = "nothing written yet") -> None:
        self._text = ""
        self.result = None
        self.wordHovered.emit(-1)
        self.cancel_edit()
        self.edit_button.setEnabled(False)
        self.text_label.setText(f"<span style='color: gray'>({html.escape(placeholder)})</span>")
        self._fit_height()
        self.info_label.setText("")

    def show_result(self, result: LineResult, truth: str | None = None) -> None:
        """Show ``result``; ``truth``: the transcription stored in an opened ink file."""
        self.cancel_edit()
        self.result = result
        self._text = result.text
        self._render()
        self.edit_button.setEnabled(True)
        info = f"confidence {result.confidence:.0%}"
        self.info_label.setText(info + (f"  ·  transcription in the file: {truth}" if truth else ""))
        self.info_label.show()
        self.info_label.setToolTip("\n".join(f"{c.char!r}: {c.confidence:.0%}" for c in result.chars))

    def _render(self) -> None:
        self.wordHovered.emit(-1)
        if not self._text:
            self.text_label.setText("<span style='color: gray'>(no text recognised)</span>")
            self._fit_height()
            return
        normal = self.palette().color(QPalette.ColorRole.WindowText).name()
        self.text_label.setText(self.rich(self.result, normal))
        self._fit_height()

    def _fit_height(self) -> None:
        """A fixed height of MAX_TEXT_LINES lines (more scroll): a result never resizes the
        canvas, whose repaint from scratch grows with its strokes."""
        # measured as the label renders rich text: its line pitch is not the font's lineSpacing
        # (26 against 25 px here), and lineSpacing + 8 px of slack showed the top of a third line
        font = self.text_label.font()
        key = (font.key(), self.logicalDpiY())
        if self._height_key != key:
            probe = QLabel()
            probe.setFont(font)
            probe.setTextFormat(Qt.TextFormat.RichText)
            probe.setText("<br>".join(["Xy"] * MAX_TEXT_LINES))
            self._height_key, self._lines_height = key, probe.sizeHint().height()
            self._line_step = max(1, self._lines_height // MAX_TEXT_LINES)
        self.scroll.setFixedHeight(self._lines_height)
        self.lines_editor.setFixedHeight(self._lines_height + 2 * self.lines_editor.frameWidth() + 8)
        self.scroll.verticalScrollBar().setSingleStep(self._line_step)  # a wheel step: whole lines

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        self._fit_height()

    @staticmethod
    def rich(result: LineResult, normal: str = "#000000") -> str:
        """The text with each word a link ``w:<index>``; words the model is unsure of in orange."""
        text = result.text
        confs = word_confidences(result)
        out, last = [], 0
        for i, ((a, b), conf) in enumerate(zip(word_spans(text), confs)):
            out.append(html.escape(text[last:a]).replace(" ", "&nbsp;").replace("\n", "<br>"))
            color = LOW_COLOR if conf < LOW_CONFIDENCE else normal
            style = f"text-decoration: none; color: {color};"
            out.append(f"<a href='w:{i}' style='{style}' title='{conf:.0%}'>{html.escape(text[a:b])}</a>")
            last = b
        out.append(html.escape(text[last:]).replace(" ", "&nbsp;").replace("\n", "<br>"))
        return "".join(out)

    def low_confidence_words(self) -> list[str]:
        if self.result is None:
            return []
        words = [self._text[a:b] for a, b in word_spans(self._text)]
        return [w for w, c in zip(words, word_confidences(self.result)) if c < LOW_CONFIDENCE]

    # ------------------------------------------------------------------ alternatives

    def word_menu(self, index: int) -> QMenu:
        """The menu for word ``index``: its alternatives, the line's, and "Correct the line…"."""
        menu = QMenu(self)
        word_alts = word_alternatives(self.result, index) if self.result else []
        if word_alts:
            menu.addSection("This word")
            for w in word_alts:
                action = QAction(w, menu)
                action.triggered.connect(lambda _=False, w=w: self.apply(replace_word(self._text, index, w)))
                menu.addAction(action)
        lines = [a.text for a in (self.result.alternatives if self.result else []) if a.text != self._text]
        if lines:
            menu.addSection("The whole line")
            for t in lines[:MAX_CHOICES]:
                action = QAction(t, menu)
                action.triggered.connect(lambda _=False, t=t: self.apply(t))
                menu.addAction(action)
        if not word_alts and not lines:
            none = menu.addAction("(no alternatives)")
            none.setEnabled(False)
        menu.addSeparator()
        menu.addAction("Correct the line…", self.start_edit)
        return menu

    def _on_hover(self, link: str) -> None:
        self.wordHovered.emit(int(link[2:]) if link.startswith("w:") else -1)

    def _on_link(self, link: str) -> None:
        if link.startswith("w:"):
            self.menu = self.word_menu(int(link[2:]))
            self.menu.popup(QCursor.pos())

    def apply(self, new: str) -> None:
        """Replace the text by ``new`` (a chosen alternative or a typed correction)."""
        old = self._text
        if new == old or self.result is None:
            return
        self._text = new
        self.result = LineResult(text=new, confidence=1.0, alternatives=self.result.alternatives)
        self._render()
        self.info_label.setText("corrected by you")
        self.textCorrected.emit(old, new)

    # ------------------------------------------------------------------ editing

    def is_editing(self) -> bool:
        return self.editor.isVisible() or self.lines_editor.isVisible()

    def start_edit(self) -> None:
        if self.result is None:
            return
        self.scroll.hide()
        if "\n" in self._text:  # several lines of writing: one line of text each
            self.lines_editor.setPlainText(self._text)
            self.lines_editor.show()
            self.lines_editor.setFocus()
            self.lines_editor.selectAll()
            return
        self.editor.setText(self._text)
        self.editor.show()
        self.editor.setFocus()
        self.editor.selectAll()

    def confirm_edit(self) -> None:
        if self.lines_editor.isVisible():
            new = "\n".join(t.strip() for t in self.lines_editor.toPlainText().splitlines() if t.strip())
        elif self.editor.isVisible():
            new = self.editor.text().strip()
        else:
            return
        self.cancel_edit()
        if new:
            self.apply(new)

    def cancel_edit(self) -> None:
        self.editor.hide()
        self.lines_editor.hide()
        self.scroll.show()

    def eventFilter(self, obj, e) -> bool:
        from PySide6.QtCore import QEvent

        if obj in (self.editor, self.lines_editor) and e.type() == QEvent.Type.KeyPress:
            if e.key() == Qt.Key.Key_Escape:
                self.cancel_edit()
                return True
            if (obj is self.lines_editor and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                    and not e.modifiers() & Qt.KeyboardModifier.ShiftModifier):
                self.confirm_edit()
                return True
        return super().eventFilter(obj, e)

    # ------------------------------------------------------------------ status

    def show_busy(self) -> None:
        self.info_label.setText("recognising…")
        self.info_label.show()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.hide()
        self.error_label.setText("")
