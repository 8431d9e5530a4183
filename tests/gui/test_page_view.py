"""GUI tests: the Page tab, word alternatives, corrections, settings and help (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QElapsedTimer, QMimeData, QPoint, QPointF, QSettings, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QColor, QDropEvent, QFont, QImage, QPainter, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit  # noqa: E402

from hwr.types import Alternative, CharSpan, Ink, LineResult, Page, Stroke  # noqa: E402
from hwr_gui.corrections import CorrectionStore  # noqa: E402
from hwr_gui.main_window import MainWindow  # noqa: E402
from hwr_gui.page_view import LineItem  # noqa: E402
from hwr_gui.results_panel import replace_word, word_alternatives  # noqa: E402
from hwr_gui.settings import Settings, SettingsDialog  # noqa: E402

LINES = ["the quick brown fox", "jumps over the lazy dog", "hello world again"]


def render_page(path, lines=LINES, size=(900, 400)):
    """A page image with typed lines, 110 px apart."""
    img = QImage(size[0], size[1], QImage.Format.Format_Grayscale8)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    f = QFont("DejaVu Sans")
    f.setPixelSize(36)
    p.setFont(f)
    p.setPen(QColor(20, 20, 20))
    for i, t in enumerate(lines):
        p.drawText(60, 90 + i * 110, t)
    p.end()
    assert img.save(str(path))
    return path


class FakePageRecognizer:
    """One line per 110-px band of the image, with made-up text and alternatives."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.calls = 0

    def recognize_page(self, gray: np.ndarray, color: np.ndarray | None = None) -> Page:
        self.calls += 1
        time.sleep(self.delay)
        h, w = gray.shape
        lines = []
        for i in range(h // 110):
            y0, y1 = 45 + 110 * i, 105 + 110 * i
            alts = [Alternative(f"line {i + 1}", -1.0), Alternative(f"lime {i + 1}", -2.0)]
            lines.append(LineResult(text=f"line {i + 1}", confidence=0.3 if i == 1 else 0.9, alternatives=alts,
                                    polygon=[(50, y0), (w - 50, y0), (w - 50, y1), (50, y1)],
                                    baseline=[(50, y1 - 12), (w - 50, y1 - 12)]))
        return Page(image="", width=w, height=h, lines=lines)


class FakeInkRecognizer:
    def __init__(self, result: LineResult):
        self.result = result

    def recognize_ink(self, ink: Ink) -> LineResult:
        return self.result


@pytest.fixture
def store(tmp_path):
    return CorrectionStore(tmp_path / "corrections")


@pytest.fixture
def qsettings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, qsettings, store, recognizer=None, page_recognizer=None):
    w = MainWindow(recognizer=recognizer or FakeInkRecognizer(LineResult("x", 1.0)),
                   page_recognizer=page_recognizer, settings=qsettings, corrections=store)
    w.delay.setInterval(20)
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    return w


def open_page(qtbot, w, path):
    w.open_image(path)
    qtbot.waitUntil(lambda: w.last_page is not None or bool(w.page_view.message.styleSheet()), timeout=15000)
    assert w.last_page is not None, w.page_view.message.text()


# ---------------------------------------------------------------- page view


def test_page_lines_drawn_listed_and_linked(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, render_page(tmp_path / "p.png"))
    pv = w.page_view
    assert w.tabs.currentWidget() is pv
    assert pv.gray.shape == (400, 900)
    items = [it for it in pv.scene.items() if isinstance(it, LineItem)]
    assert len(items) == 3 == pv.lines.count()
    assert [pv.lines.item(i).text() for i in range(3)] == ["line 1", "line 2", "line 3"]
    assert pv.lines.item(1).foreground().color() != pv.lines.item(0).foreground().color()  # low confidence
    pv.select_line(2)  # list -> polygon
    assert pv.line_item(2).isSelected() and not pv.line_item(0).isSelected()
    pv.scene.clearSelection()  # polygon -> list (a click on the polygon in the view)
    centre = pv.view.mapFromScene(pv.line_item(0).polygon().boundingRect().center())
    qtbot.mouseClick(pv.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert pv.selected_line() == 0 and pv.line_item(0).isSelected()
    assert "page.png" not in w.windowTitle() and "p.png" in w.windowTitle()


def test_zoom_and_fit(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, render_page(tmp_path / "p.png"))
    view = w.page_view.view
    fitted = view.zoom()
    w.page_view.zoom_in_button.click()
    assert view.zoom() == pytest.approx(fitted * 1.25)
    w.page_view.zoom_out_button.click()
    w.page_view.zoom_out_button.click()
    assert view.zoom() == pytest.approx(fitted / 1.25)
    pos = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() == pytest.approx(fitted * 1.25)  # two steps in
    w.page_view.fit_button.click()
    assert view.zoom() == pytest.approx(fitted, rel=0.02)


def test_drag_pans_the_zoomed_page(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, render_page(tmp_path / "p.png"))
    view = w.page_view.view
    for _ in range(4):
        w.page_view.zoom_in_button.click()
    bar = view.horizontalScrollBar()
    assert bar.maximum() > 0
    before = bar.value()
    vp = view.viewport()
    start = QPoint(vp.width() // 2, 5)  # above the first line: the page image, not a polygon
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for dx in range(10, 130, 10):
        qtbot.mouseMove(vp, start + QPoint(dx, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(120, 0))
    assert bar.value() < before  # dragged right: the view moved left over the page
    assert not w.page_view.scene.selectedItems()


def test_edit_line_records_correction_and_exports(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, render_page(tmp_path / "p.png"))
    pv = w.page_view
    with qtbot.waitSignal(pv.lineEdited) as sig:
        pv.set_line_text(1, "jumps over the lazy dog")
    assert sig.args == [1, "line 2", "jumps over the lazy dog"]
    assert w.last_page.lines[1].text == "jumps over the lazy dog" and w.last_page.lines[1].confidence == 1.0
    gts = list((store.root / "lines").glob("*.gt.txt"))
    assert len(gts) == 1 and gts[0].read_text(encoding="utf-8") == "jumps over the lazy dog\n"
    png = gts[0].with_name(gts[0].name.replace(".gt.txt", ".png"))
    crop = QImage(str(png))
    assert not crop.isNull() and crop.height() >= 55 and crop.width() >= 700
    assert not [p for p in (store.root / "lines").iterdir() if p.name.startswith(".")]  # no temporary files left
    for fmt, name in (("txt", "o.txt"), ("json", "o.json"), ("alto", "o.alto.xml"), ("page", "o.page.xml")):
        assert w.export_page(tmp_path / name, fmt)
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "lazy" in text and "jumps" in text and "line" in text, fmt
    assert json.loads((tmp_path / "o.json").read_text())["lines"][1]["text"] == "jumps over the lazy dog"
    assert (tmp_path / "o.txt").read_text(encoding="utf-8").splitlines() == ["line 1", "jumps over the lazy dog",
                                                                            "line 3"]
    assert w.export_page(tmp_path / "auto.page.xml") and "PcGts" in (tmp_path / "auto.page.xml").read_text()
    w.tabs.setCurrentWidget(pv)
    pv.select_line(2)
    w.correct_action.trigger()  # Ctrl+R on the Page tab edits the selected line
    editor = pv.lines.findChild(QLineEdit)
    assert editor is not None and editor.text() == "line 3"
    editor.setText("hello world again")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.last_page.lines[2].text == "hello world again", timeout=2000)
    assert len(list((store.root / "lines").glob("*.gt.txt"))) == 2
    w.copy_text()
    assert QApplication.clipboard().text().splitlines()[1] == "jumps over the lazy dog"


def test_line_alternatives_menu(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, render_page(tmp_path / "p.png"))
    menu = w.page_view.line_menu(2)
    labels = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert labels == ["lime 3", "Correct the line…"]
    menu.actions()[0].trigger()
    assert w.last_page.lines[2].text == "lime 3" and w.page_view.lines.item(2).text() == "lime 3"
    gts = list((store.root / "lines").glob("*.gt.txt"))
    assert [g.read_text(encoding="utf-8") for g in gts] == ["lime 3\n"]
    pos = w.page_view.lines.visualItemRect(w.page_view.lines.item(0)).center()
    w.page_view.lines.customContextMenuRequested.emit(pos)
    qtbot.waitUntil(lambda: w.page_view.menu is not None and w.page_view.menu.isVisible(), timeout=2000)
    assert w.page_view.menu.actions()[0].text() == "lime 1"
    w.page_view.menu.close()


def test_unreadable_image_is_shown_not_raised(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    for path in (bad, tmp_path / "missing.jpg"):
        w.open_image(path)
        qtbot.waitUntil(lambda: "Could not read the page" in w.page_view.message.text(), timeout=5000)
        assert path.name in w.page_view.message.text()
        assert w.page_view.page is None and not w.export_action.isEnabled()
        w.page_view.show_message("")


def test_page_recognition_errors_are_shown(qtbot, tmp_path, qsettings, store):
    class Broken:
        def recognize_page(self, gray, color=None):
            raise RuntimeError("segmentation exploded")

    w = make_window(qtbot, qsettings, store, page_recognizer=Broken())
    w.open_image(render_page(tmp_path / "p.png"))
    qtbot.waitUntil(lambda: "exploded" in w.page_view.message.text(), timeout=5000)
    assert w.page_view.gray is not None  # the image is still shown


def test_image_model_that_fails_to_load_is_shown(qtbot, tmp_path, qsettings, store):
    pytest.importorskip("torch")
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    w.apply_settings(Settings(image_model=str(tmp_path / "nope.safetensors")))
    qtbot.waitUntil(lambda: w.model_state != "loading", timeout=15000)
    w.open_image(render_page(tmp_path / "p.png"))
    qtbot.waitUntil(lambda: "image model" in w.page_view.message.text(), timeout=15000)
    assert "nope.safetensors" in w.page_view.message.text() and w.last_page is None


def test_only_the_latest_page_is_shown(qtbot, tmp_path, qsettings, store):
    fake = FakePageRecognizer(delay=0.3)
    w = make_window(qtbot, qsettings, store, page_recognizer=fake)
    w.open_image(render_page(tmp_path / "a.png", size=(900, 240)))  # 2 lines
    w.open_image(render_page(tmp_path / "b.png"))  # 3 lines, asked before a.png is done
    qtbot.waitUntil(lambda: w.last_page is not None, timeout=5000)
    qtbot.wait(400)  # a late result for a.png would arrive by now
    assert w.last_page.image.endswith("b.png") and len(w.last_page.lines) == 3
    assert w.page_view.lines.count() == 3 and fake.calls <= 2


def test_drop_image_and_ink(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())

    def drop(path):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                        Qt.KeyboardModifier.NoModifier)
        w.dropEvent(ev)
        assert ev.isAccepted()

    drop(render_page(tmp_path / "dropped.jpg.png"))
    qtbot.waitUntil(lambda: w.last_page is not None, timeout=5000)
    assert w.tabs.currentWidget() is w.page_view
    from hwr.ink.io import write_json

    write_json(Ink([Stroke([0, 10, 20], [0, 5, 0])]), tmp_path / "ink.json")
    drop(tmp_path / "ink.json")
    assert w.tabs.currentIndex() == 0 and len(w.canvas.strokes) == 1


def test_ui_responsive_while_page_is_read(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer(delay=0.6))
    clock, longest = QElapsedTimer(), [0]
    clock.start()
    ticker = QTimer(interval=10, timeout=lambda: longest.__setitem__(0, max(longest[0], clock.restart())))
    ticker.start()
    w.open_image(render_page(tmp_path / "p.png"))
    qtbot.waitUntil(lambda: w.last_page is not None, timeout=5000)
    ticker.stop()
    assert longest[0] < 150, f"event loop stalled for {longest[0]} ms"


def test_real_image_model_on_rendered_page(qtbot, tmp_path, qsettings, store):
    pytest.importorskip("torch")
    pytest.importorskip("cv2")
    w = make_window(qtbot, qsettings, store)  # no fake page recogniser: the embedded image model
    open_page(qtbot, w, render_page(tmp_path / "p.png"))
    page = w.last_page
    assert len(page.lines) == 3
    assert all(len(ln.polygon) >= 3 for ln in page.lines)
    assert [ln.polygon[0][1] for ln in page.lines] == sorted(ln.polygon[0][1] for ln in page.lines)
    words = " ".join(ln.text for ln in page.lines).lower().split()
    assert sum(w_ in words for w_ in ("quick", "brown", "jumps", "over", "lazy", "dog", "world", "again")) >= 4, words


# ---------------------------------------------------------------- alternatives and ink corrections


def ink_result():
    text = "he1lo world"
    chars = [CharSpan(c, i, i, 0.2 if c == "1" else 0.95) for i, c in enumerate(text)]
    alts = [Alternative(text, -1.0), Alternative("hello world", -1.5), Alternative("he1lo word", -2.0),
            Alternative("hallo world", -2.5), Alternative("hello", -3.0)]
    return LineResult(text, 0.6, chars=chars, alternatives=alts)


def test_word_alternatives_helpers():
    r = ink_result()
    assert word_alternatives(r, 0) == ["hello", "hallo"]
    assert word_alternatives(r, 1) == ["word"]
    assert replace_word("a  b c", 1, "xyz") == "a  xyz c"


def write_something(qtbot, w):
    pts = [QPoint(20 + 6 * i, 100 + (15 if i % 2 else -15)) for i in range(8)]
    qtbot.mousePress(w.canvas, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(w.canvas, p)
    qtbot.mouseRelease(w.canvas, Qt.MouseButton.LeftButton, pos=pts[-1])
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=3000)


def test_alternatives_menu_replaces_word_and_records(qtbot, qsettings, store):
    from hwr.ink.io import load_ink

    w = make_window(qtbot, qsettings, store, recognizer=FakeInkRecognizer(ink_result()))
    write_something(qtbot, w)
    assert w.results.low_confidence_words() == ["he1lo"]
    assert "#c05800" in w.results.text_label.text()  # shown in orange
    assert "href='w:0'" in w.results.text_label.text()  # words are links
    menu = w.results.word_menu(0)
    labels = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert labels[:2] == ["hello", "hallo"] and "hello world" in labels and "Correct the line…" in labels
    with qtbot.waitSignal(w.results.textCorrected):
        next(a for a in menu.actions() if a.text() == "hello").trigger()
    assert w.results.text == "hello world"
    assert w.last_correction is not None and w.last_correction.suffix == ".inkml"
    saved = load_ink(w.last_correction)
    assert saved.text == "hello world" and saved.strokes == w.canvas.ink().strokes
    w.copy_text()
    assert QApplication.clipboard().text() == "hello world"


def test_link_click_opens_menu(qtbot, qsettings, store):
    w = make_window(qtbot, qsettings, store, recognizer=FakeInkRecognizer(ink_result()))
    write_something(qtbot, w)
    w.results.text_label.linkActivated.emit("w:1")
    qtbot.waitUntil(lambda: w.results.menu is not None and w.results.menu.isVisible(), timeout=2000)
    assert "word" in [a.text() for a in w.results.menu.actions()]
    w.results.menu.close()


def test_typed_correction_is_recorded(qtbot, qsettings, store):
    w = make_window(qtbot, qsettings, store, recognizer=FakeInkRecognizer(ink_result()))
    write_something(qtbot, w)
    w.correct_action.trigger()
    assert w.results.is_editing()
    w.results.editor.clear()
    qtbot.keyClicks(w.results.editor, "hello there")
    qtbot.keyClick(w.results.editor, Qt.Key.Key_Escape)  # cancel: nothing recorded
    assert not w.results.is_editing() and w.results.text == "he1lo world" and w.last_correction is None
    w.correct_action.trigger()
    w.results.editor.clear()
    qtbot.keyClicks(w.results.editor, "hello there")
    qtbot.keyClick(w.results.editor, Qt.Key.Key_Return)
    assert w.results.text == "hello there"
    files = list((store.root / "ink").glob("*.inkml"))
    assert files == [w.last_correction]
    assert "hello there" in files[0].read_text(encoding="utf-8")


# ---------------------------------------------------------------- settings and help


def test_settings_round_trip(qsettings):
    s = Settings(ink_model="/m/ink.safetensors", image_model="", device="cpu", decoder="greedy", beam_width=7,
                 lm=False)
    s.save(qsettings)
    assert Settings.load(qsettings) == s
    assert s.recognizer_options() == {"decoder": "greedy"}
    s2 = Settings(decoder="beam", beam_width=4, lm=False)
    assert s2.recognizer_options() == {"decoder": "beam", "beam_width": 4, "lm": "none"}
    qsettings.setValue("beam_width", "lots")
    assert Settings.load(qsettings).beam_width == 0  # a damaged value falls back to the default
    s3 = Settings(decoder="greedy", three_bands=True)
    s3.save(qsettings)
    assert Settings.load(qsettings).three_bands is True
    assert s3.recognizer_options() == {"decoder": "greedy", "bands": 3}
    s4 = Settings(flatten_photos=False)
    s4.save(qsettings)
    assert Settings.load(qsettings).flatten_photos is False
    assert s4.recognizer_options() == {"decoder": "beam", "paper": False}


def test_old_saved_default_beam_width_gives_way_to_the_models_own(qsettings):
    qsettings.setValue("beam_width", 16)  # saved by a version whose fixed default was 16
    assert Settings.load(qsettings).beam_width == 0
    Settings(beam_width=16).save(qsettings)  # chosen by the user now: kept
    assert Settings.load(qsettings).beam_width == 16


def test_default_beam_width_is_each_models_own(qsettings, qtbot):
    s = Settings()
    assert s.beam_width == 0 and s.recognizer_options() == {"decoder": "beam"}  # no override
    d = SettingsDialog(s, has_cuda=False)
    qtbot.addWidget(d)
    assert d.beam_width.value() == 0 and d.beam_width.text() == "each model's own"
    assert d.settings().recognizer_options() == {"decoder": "beam"}


def test_settings_dialog(qtbot):
    d = SettingsDialog(Settings(decoder="greedy", beam_width=9), has_cuda=False)
    qtbot.addWidget(d)
    assert d.device.count() == 1 and not d.beam_width.isEnabled()
    d.decoder.setCurrentIndex(d.decoder.findData("beam"))
    assert d.beam_width.isEnabled()
    d.lm.setChecked(False)
    d.image_model.edit.setText("/x/img.safetensors")
    assert not d.three_bands.isChecked()
    d.three_bands.setChecked(True)
    got = d.settings()
    assert (got.decoder, got.beam_width, got.lm, got.image_model) == ("beam", 9, False, "/x/img.safetensors")
    assert got.three_bands and got.recognizer_options()["bands"] == 3
    assert d.flatten_photos.isChecked() and "paper" not in got.recognizer_options()
    d.flatten_photos.setChecked(False)
    assert d.settings().recognizer_options()["paper"] is False
    d2 = SettingsDialog(Settings(device="cuda"), has_cuda=True)
    qtbot.addWidget(d2)
    assert d2.device.currentData() == "cuda"


def test_apply_settings_remembers_and_reloads(qtbot, tmp_path, qsettings, store):
    w = make_window(qtbot, qsettings, store)
    w.apply_settings(Settings(ink_model=str(tmp_path / "missing.safetensors"), decoder="greedy"))
    qtbot.waitUntil(lambda: "missing.safetensors" in w.results.error_label.text(), timeout=15000)
    assert Settings.load(QSettings(qsettings.fileName(), QSettings.Format.IniFormat)).decoder == "greedy"
    w2 = MainWindow(recognizer=FakeInkRecognizer(LineResult("x", 1.0)), settings=qsettings, corrections=store)
    qtbot.addWidget(w2)
    assert w2.settings.ink_model.endswith("missing.safetensors")


def test_help_dialogs(qtbot, qsettings, store):
    from hwr_gui.help import AboutDialog, ShortcutsDialog

    w = make_window(qtbot, qsettings, store)
    keys = dict(w.shortcuts())
    assert keys["Copy text"] == "Ctrl+Shift+C" and keys["Open image"] == "Ctrl+I"
    assert "Shift+Enter" in keys.values()  # a new line in a correction of several lines
    d = ShortcutsDialog(w.shortcuts())
    qtbot.addWidget(d)
    assert d.table.rowCount() == len(keys)
    a = AboutDialog()
    qtbot.addWidget(a)
    names = [a.cards.tabText(i) for i in range(a.cards.count())]
    assert "ink_default" in names and "image_default" in names
    assert a.cards.widget(names.index("ink_default")).toPlainText().strip()


def test_every_menu_action_is_wired(qtbot, qsettings, store):
    w = make_window(qtbot, qsettings, store)
    for menu_action in w.menuBar().actions():
        for a in menu_action.menu().actions():
            if not a.isSeparator():
                assert a.receivers("2triggered(bool)") > 0, a.text()


def test_several_lines_of_ink_are_recorded_one_file_per_line(store):
    from synth import synth_ink

    from hwr.ink.io import load_ink
    from hwr.types import Ink, Stroke

    a, b = synth_ink("olv zj", seed=1), synth_ink("zz lo", seed=2)
    two = Ink([Stroke(x=s.x, y=s.y, t=s.t) for s in a.strokes]
              + [Stroke(x=s.x, y=s.y + 220, t=s.t) for s in b.strokes])
    first = store.record_ink(two, "olv zj\nzz lo")
    files = sorted(first.parent.glob("*.inkml"))
    assert len(files) == 2
    inks = [load_ink(f) for f in files]
    assert [i.text for i in inks] == ["olv zj", "zz lo"]
    assert [len(i.strokes) for i in inks] == [len(a.strokes), len(b.strokes)]
    with pytest.raises(ValueError, match="one line of text per line"):
        store.record_ink(two, "olv zj zz lo")


def test_results_panel_shows_whole_lines_only(qtbot):
    """Past MAX_TEXT_LINES the text scrolls; the view was lineSpacing + 8 px per line, while
    rich text is laid out at a larger pitch: the top of the third line showed, cut through."""
    from hwr_gui.results_panel import MAX_TEXT_LINES, ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 240)
    panel.show()
    line = "stays out. Could you come on Sunday at 4?"
    panel.show_result(LineResult("\n".join([line] * MAX_TEXT_LINES), 0.9))
    whole = panel.text_label.sizeHint().height()  # exactly MAX_TEXT_LINES lines, as rendered
    panel.show_result(LineResult("\n".join([line] * (MAX_TEXT_LINES + 1)), 0.9))
    QApplication.processEvents()
    view = panel.scroll.viewport().height()
    assert whole <= view <= whole + 2, (whole, view)
    step = panel.scroll.verticalScrollBar().singleStep()
    assert abs(step * MAX_TEXT_LINES - whole) <= MAX_TEXT_LINES  # the wheel scrolls by whole lines


def test_correcting_several_lines_of_writing_by_typing(qtbot, qsettings, store):
    """Three lines of writing give three lines of text. Their correction was a one-line
    QLineEdit: the line breaks were invisible and could not be typed, so a retyped text never
    matched the ink's lines ("the text has 1 lines and the ink 3"). It is now one line of
    text per line of writing: Shift+Enter starts a line, Enter confirms, and every line of
    ink is recorded with its text."""
    from synth import synth_ink

    w = make_window(qtbot, qsettings, store, recognizer=FakeInkRecognizer(LineResult("olv\nzj\nzz ol", 0.9)))
    strokes = []
    for k, text in enumerate(["olv", "zj", "zz ol"]):
        ink = synth_ink(text)
        x0, y0, x1, y1 = ink.bounds()
        strokes += [Stroke(x=s.x - x0 + 20, y=s.y - y0 + 20 + 3 * (y1 - y0) * k, t=s.t) for s in ink.strokes]
    w.canvas.set_ink(Ink(strokes=strokes))
    w.recognize_now()
    qtbot.waitUntil(lambda: w.results.text == "olv\nzj\nzz ol", timeout=5000)
    w.correct_action.trigger()
    assert w.results.is_editing() and w.results.lines_editor.isVisible() and not w.results.editor.isVisible()
    editor = w.results.lines_editor
    assert editor.toPlainText() == "olv\nzj\nzz ol"
    editor.selectAll()
    qtbot.keyClicks(editor, "one")
    for line in ("two", "three"):
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        qtbot.keyClicks(editor, line)
    assert w.results.is_editing()  # Shift+Enter did not confirm
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert not w.results.is_editing()
    assert w.results.text == "one\ntwo\nthree"
    assert not w.results.error_label.isVisible(), w.results.error_label.text()
    files = sorted((store.root / "ink").glob("*.inkml"))
    assert len(files) == 3 and w.last_correction == files[0]
    assert [f.read_text(encoding="utf-8").count(t) for f, t in zip(files, ("one", "two", "three"))] == [1, 1, 1]
    w.correct_action.trigger()
    qtbot.keyClick(w.results.lines_editor, Qt.Key.Key_Escape)  # cancel
    assert not w.results.is_editing() and w.results.text == "one\ntwo\nthree"


def test_multipage_tiff_says_only_its_first_page_is_shown(qtbot, tmp_path, qsettings, store):
    """The Page tab reads the first page of a multi-page TIFF; it said nothing of the others."""
    import cv2

    one = tmp_path / "one.png"
    render_page(one)
    gray = cv2.imread(str(one), cv2.IMREAD_GRAYSCALE)
    tif = tmp_path / "scan.tif"
    assert cv2.imwritemulti(str(tif), [gray, gray, gray])
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, tif)
    assert "page 1 of 3" in w.page_view.message.text()
    open_page(qtbot, w, one)
    assert "page 1 of" not in w.page_view.message.text()


def test_page_over_100_megapixels_opens_and_is_drawn_reduced(qtbot, tmp_path, qsettings, store):
    """hwr recognize reads pages up to 600 MP, but the Page tab loaded them as line images
    (100 MP at most): a 101 MP scan gave "image too large". It now loads them as pages and
    draws a reduced copy in page coordinates (no 400 MB pixmap for a 10,000 x 10,100 page)."""
    import cv2
    from PySide6.QtWidgets import QGraphicsPixmapItem

    from hwr_gui.page_view import DISPLAY_MAX_PIXELS

    big = np.full((10_000, 10_100), 250, np.uint8)
    big[45::110, 100:10_000] = 30  # dark rules for the fake recogniser's bands
    path = tmp_path / "big.png"
    assert cv2.imwrite(str(path), big)
    del big
    w = make_window(qtbot, qsettings, store, page_recognizer=FakePageRecognizer())
    open_page(qtbot, w, path)
    assert len(w.last_page.lines) == 10_000 // 110
    assert w.page_view.gray.shape == (10_000, 10_100)  # crops and corrections use the full page
    pix = [i for i in w.page_view.scene.items() if isinstance(i, QGraphicsPixmapItem)]
    assert len(pix) == 1
    size = pix[0].pixmap().size()
    assert size.width() * size.height() <= DISPLAY_MAX_PIXELS
    r = pix[0].sceneBoundingRect()
    assert abs(r.width() - 10_100) < 2 and abs(r.height() - 10_000) < 2
    assert w.page_view.line_crop(0) is not None
