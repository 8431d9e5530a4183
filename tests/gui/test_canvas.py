"""GUI tests: the ink canvas and the main window (pytest-qt, offscreen, no real model needed)."""

from __future__ import annotations

import os
import string
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QElapsedTimer, QEvent, QPoint, QPointF, QRectF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPointingDevice, QTabletEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from hwr.types import Ink, LineResult, Stroke  # noqa: E402
from hwr_gui.canvas import InkCanvas  # noqa: E402
from hwr_gui.main_window import MainWindow  # noqa: E402


# ---------------------------------------------------------------- helpers


def draw(qtbot, widget, points):
    """Press, move through ``points`` and release with the left mouse button."""
    pts = [QPoint(*p) for p in points]
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=pts[-1])


def zigzag(x0, n=8, y=100):
    return [(x0 + 6 * i, y + (15 if i % 2 else -15)) for i in range(n)]


class FakeRecognizer:
    """Answers with the number of strokes it was given; can be slow."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.calls: list[Ink] = []
        self.started = threading.Event()

    def recognize_ink(self, ink: Ink) -> LineResult:
        self.calls.append(ink)
        self.started.set()
        time.sleep(self.delay)
        return LineResult(text=f"{len(ink.strokes)} strokes", confidence=0.75)


@pytest.fixture
def canvas(qtbot):
    c = InkCanvas()
    c.resize(600, 300)
    qtbot.addWidget(c)
    with qtbot.waitExposed(c):
        c.show()
    return c


def make_window(qtbot, recognizer=None, delay_ms=20, **kw):
    w = MainWindow(recognizer=recognizer, **kw)
    w.delay.setInterval(delay_ms)
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    return w


# ---------------------------------------------------------------- canvas


def test_mouse_strokes_become_ink(qtbot, canvas):
    finished = []
    canvas.strokeFinished.connect(finished.append)
    draw(qtbot, canvas, zigzag(20))
    draw(qtbot, canvas, [(200, 50), (200, 80), (200, 120)])
    ink = canvas.ink()
    assert len(ink.strokes) == 2 and len(finished) == 2 and len(finished[-1]) == 2
    first = ink.strokes[0]
    assert len(first) == 8
    assert first.x.tolist() == [20 + 6 * i for i in range(8)]
    assert first.y[:2].tolist() == [85, 115]
    assert first.pressure is None
    assert np.all(np.diff(first.t) >= 0) and np.all(ink.strokes[1].t >= first.t[-1])


def test_click_makes_a_dot(qtbot, canvas):
    draw(qtbot, canvas, [(30, 40)])
    (s,) = canvas.ink().strokes
    assert len(s) == 1 and (s.x[0], s.y[0]) == (30, 40)
    canvas.grab()  # a one-point stroke paints


def test_undo_redo_clear(qtbot, canvas):
    for i in range(3):
        draw(qtbot, canvas, zigzag(20 + 150 * i))
    assert len(canvas.strokes) == 3
    canvas.undo()
    canvas.undo()
    assert len(canvas.strokes) == 1
    canvas.redo()
    assert len(canvas.strokes) == 2
    draw(qtbot, canvas, zigzag(400))  # a new stroke forgets the redo history
    assert not canvas.can_redo() and len(canvas.strokes) == 3
    canvas.clear()
    assert canvas.is_empty()
    canvas.undo()  # clear is undoable
    assert len(canvas.strokes) == 3
    assert canvas.ink().strokes[2] == canvas.strokes[2]


def test_tablet_pressure(qtbot, canvas):
    pen = QPointingDevice("test pen", 1, QPointingDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                          QPointingDevice.Capability.Position | QPointingDevice.Capability.Pressure, 1, 2)

    def send(kind, x, y, pressure):
        pos = QPointF(x, y)
        ev = QTabletEvent(kind, pen, pos, canvas.mapToGlobal(pos), pressure, 0, 0, 0, 0, 0,
                          Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, ev)

    send(QEvent.Type.TabletPress, 10, 10, 0.2)
    for i in range(1, 6):
        send(QEvent.Type.TabletMove, 10 + 10 * i, 10 + 5 * i, 0.2 + 0.15 * i)
    send(QEvent.Type.TabletRelease, 70, 40, 0.0)
    (s,) = canvas.ink().strokes
    assert len(s) == 6
    np.testing.assert_allclose(s.pressure, [0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
    canvas.grab()


def test_set_ink_fits_large_coordinates(qtbot, canvas):
    ink = Ink(strokes=[Stroke([1000, 5000, 9000], [3000, 3500, 3100])])
    canvas.set_ink(ink)
    assert canvas.ink().strokes[0] == ink.strokes[0]  # kept in file coordinates
    draw(qtbot, canvas, [(100, 100), (120, 110)])
    added = canvas.ink().strokes[1]
    assert 1000 <= added.x[0] <= 9000  # drawn strokes are mapped into the same coordinates
    canvas.set_ink(Ink(strokes=[Stroke([0.5, 2.5], [0.2, 0.9])]))  # tiny (normalised) ink is enlarged
    assert canvas._view.m11() > 50


def test_painting_does_not_leak_none(qtbot, canvas):
    """PySide6 6.12.0 on CPython 3.11 dropped a reference to None per QPainter call (DESIGN.md)."""
    rng = np.random.default_rng(0)
    strokes = []
    for i in range(10_000):
        xy = rng.uniform(10, 290, size=(4, 2))
        strokes.append(Stroke(xy[:, 0], xy[:, 1], pressure=rng.uniform(0, 1, 4) if i % 2 else None))
    canvas.set_ink(Ink(strokes=strokes))
    image = QImage(canvas.size(), QImage.Format.Format_ARGB32)
    before = sys.getrefcount(None)
    canvas.render(image)
    painter = QPainter(image)
    for _ in range(2000):
        painter.drawLine(0, 0, 10, 10)
    painter.end()
    after = sys.getrefcount(None)
    assert after >= before - 5, f"refcount(None) fell by {before - after}"


# ---------------------------------------------------------------- window


def test_hwr_does_not_import_qt():
    import subprocess

    code = ("import sys, hwr, hwr.types, hwr.pipeline, hwr.ink.io; "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide', 'shiboken', 'hwr_gui'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_recognition_runs_after_pen_lifts(qtbot):
    fake = FakeRecognizer()
    w = make_window(qtbot, fake)
    shown_on = []
    show = w.results.show_result
    w.results.show_result = lambda *a: (shown_on.append(threading.current_thread()), show(*a))
    draw(qtbot, w.canvas, zigzag(20))
    draw(qtbot, w.canvas, zigzag(200))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=3000)
    assert w.results.text == "2 strokes"
    assert w.results.plain_text().replace("\xa0", " ") == "2 strokes"
    assert "75%" in w.results.info_label.text()
    assert len(fake.calls) == 1 and len(fake.calls[0].strokes) == 2  # debounced: one call for both strokes
    assert shown_on == [threading.main_thread()]  # the result is shown from the UI thread
    assert fake.calls[0].strokes[0].x.tolist() == [20 + 6 * i for i in range(8)]
    w.copy_text()
    assert QGuiApplication.clipboard().text() == "2 strokes"
    w.canvas.clear()
    assert w.results.text == "" and w.last_result is None


def test_stale_results_are_dropped(qtbot):
    fake = FakeRecognizer(delay=0.3)
    w = make_window(qtbot, fake)
    draw(qtbot, w.canvas, zigzag(20))
    qtbot.waitUntil(fake.started.is_set, timeout=3000)  # the 1-stroke ink is being recognised
    draw(qtbot, w.canvas, zigzag(200))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=5000)
    assert w.dropped == 1
    assert w.results.text == "2 strokes"


def test_ui_stays_responsive_while_recognising(qtbot):
    fake = FakeRecognizer(delay=0.6)
    w = make_window(qtbot, fake)
    draw(qtbot, w.canvas, zigzag(20))
    clock, longest = QElapsedTimer(), [0]
    clock.start()

    def tick():
        longest[0] = max(longest[0], clock.restart())

    ticker = QTimer(interval=10, timeout=tick)
    ticker.start()
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=5000)
    ticker.stop()
    assert fake.calls, "the recogniser did not run"
    assert longest[0] < 100, f"event loop stalled for {longest[0]} ms"


def test_recognition_errors_are_shown(qtbot):
    class Broken:
        def recognize_ink(self, ink):
            raise RuntimeError("boom")

    w = make_window(qtbot, Broken())
    draw(qtbot, w.canvas, zigzag(20))
    qtbot.waitUntil(w.results.error_label.isVisible, timeout=3000)
    assert "boom" in w.results.error_label.text()


def test_missing_model_is_shown_not_raised(qtbot, tmp_path):
    w = make_window(qtbot, model=str(tmp_path / "nope.safetensors"))
    qtbot.waitUntil(lambda: w.model_state == "failed", timeout=15000)
    assert "Could not load the recognition model" in w.results.error_label.text()
    assert "nope.safetensors" in w.results.error_label.text()
    draw(qtbot, w.canvas, zigzag(20))  # drawing still works
    assert len(w.canvas.strokes) == 1


def test_save_and_open_round_trip(qtbot, tmp_path):
    w = make_window(qtbot, FakeRecognizer())
    draw(qtbot, w.canvas, zigzag(20))
    draw(qtbot, w.canvas, [(300, 40), (310, 90)])
    ink = w.canvas.ink()
    for name in ("a.inkml", "a.json"):
        assert w.save_ink(tmp_path / name)
        w.canvas.clear()
        assert w.open_ink(tmp_path / name)
        assert w.canvas.ink().strokes == ink.strokes
    assert not w.open_ink(tmp_path / "missing.inkml")
    assert "Could not open ink" in w.results.error_label.text()


def test_tiny_real_model(qtbot, tmp_path):
    pytest.importorskip("torch")
    from hwr.models.checkpoint import ModelInfo, save_model
    from hwr.models.registry import build

    alph = list(string.ascii_lowercase + " ")
    net = build("ink-blstm", dict(num_features=4, num_classes=len(alph) + 1, hidden=16, layers=1, conv_channels=8))
    path = tmp_path / "m.safetensors"
    save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=alph,
                              preprocessing={"spacing": 0.3}), path)
    w = make_window(qtbot, model=str(path))
    qtbot.waitUntil(lambda: w.model_state != "loading", timeout=15000)
    assert w.model_state == "ready", w.results.error_label.text()
    draw(qtbot, w.canvas, zigzag(20, n=20))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=10000)
    assert isinstance(w.last_result.text, str) and 0 <= w.last_result.confidence <= 1
    assert w.results.text == w.last_result.text
    assert not w.results.error_label.isVisible()
    words = w.last_result.text.split()  # the real Recognizer links words to strokes
    assert len(w.word_links) == len(words)
    assert sorted(i for ws in w.word_links for i in ws) == ([0] if words else [])


def test_edit_shortcuts(qtbot):
    w = make_window(qtbot, FakeRecognizer())
    w.activateWindow()
    draw(qtbot, w.canvas, zigzag(20))
    draw(qtbot, w.canvas, zigzag(200))
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl)
    assert len(w.canvas.strokes) == 1
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert len(w.canvas.strokes) == 2
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Y, ctrl)
    assert len(w.canvas.strokes) == 2
    qtbot.keyClick(w.canvas, Qt.Key.Key_N, ctrl)
    assert w.canvas.is_empty() and not w.clear_action.isEnabled() and w.undo_action.isEnabled()


def test_bad_second_model_keeps_the_first(qtbot, tmp_path):
    pytest.importorskip("torch")
    w = make_window(qtbot, FakeRecognizer())
    w.load_model(str(tmp_path / "missing.safetensors"))
    qtbot.waitUntil(lambda: w.model_state != "loading", timeout=15000)
    assert w.model_state == "ready"
    assert "previous model" in w.results.error_label.text()
    draw(qtbot, w.canvas, zigzag(20))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=3000)
    assert w.results.text == "1 strokes" and not w.results.error_label.isVisible()


# ---------------------------------------------------------------- eraser and scratch-out


def letter(kind, x0, base=200, h=36, w=16):
    """Mouse points of a handwritten "m", "n" or "w" starting at ``x0`` (as a pen writes them)."""
    if kind == "w":
        return [(int(x0 + w * i / 2), base - h + (h if i % 2 else 0)) for i in range(5)]
    humps = 3 if kind == "m" else 2
    pts = [(x0, base - h)]
    for k in range(humps):
        x = x0 + k * w
        pts += [(x, int(base - h + t * h)) for t in np.linspace(0.2, 1, 5)]  # down
        if k < humps - 1:
            pts += [(x + 1, int(base - t * h)) for t in np.linspace(0.25, 0.85, 4)]  # retrace up
            pts += [(int(x + w / 2 + w / 2 * np.sin(a)), int(base - h - 6 * np.cos(a))) for a in
                    np.linspace(-np.pi / 2, np.pi / 2, 6)]  # the arch
    return pts


def scratch(x0, x1, y, passes=6):
    pts = []
    for k in range(passes):
        xs = range(x0, x1 + 1, 10) if k % 2 == 0 else range(x1, x0 - 1, -10)
        pts += [(x, y + k * 2) for x in xs]
    return pts


def test_eraser_tool_deletes_whole_strokes_undoably(qtbot, canvas):
    erased = []
    canvas.strokesErased.connect(erased.append)
    draw(qtbot, canvas, zigzag(20))  # x 20..62
    draw(qtbot, canvas, zigzag(200))  # x 200..242
    draw(qtbot, canvas, [(400, 50), (400, 150)])
    canvas.set_tool("eraser")
    before = canvas.revision
    draw(qtbot, canvas, [(30, 40), (30, 60), (40, 160), (230, 160), (230, 90)])  # crosses the first two
    assert [s.x[0] for s in canvas.strokes] == [400] and erased == [2]
    assert canvas.revision == before + 1  # one edit
    canvas.undo()
    assert len(canvas.strokes) == 3
    draw(qtbot, canvas, [(300, 30), (350, 30)])  # touches nothing: no edit
    assert len(canvas.strokes) == 3 and erased == [2]
    canvas.set_tool("pen")
    draw(qtbot, canvas, [(300, 30), (350, 30)])
    assert len(canvas.strokes) == 4
    with pytest.raises(ValueError):
        canvas.set_tool("brush")


def test_tablet_eraser_end_erases(qtbot, canvas):
    draw(qtbot, canvas, zigzag(20))
    draw(qtbot, canvas, zigzag(200))
    eraser = QPointingDevice("test eraser", 2, QPointingDevice.DeviceType.Stylus,
                             QPointingDevice.PointerType.Eraser,
                             QPointingDevice.Capability.Position | QPointingDevice.Capability.Pressure, 1, 2)

    def send(kind, x, y):
        pos = QPointF(x, y)
        ev = QTabletEvent(kind, eraser, pos, canvas.mapToGlobal(pos), 0.5, 0, 0, 0, 0, 0,
                          Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, ev)

    assert canvas.tool == "pen"
    send(QEvent.Type.TabletPress, 210, 60)
    send(QEvent.Type.TabletMove, 220, 100)
    send(QEvent.Type.TabletMove, 220, 140)
    send(QEvent.Type.TabletRelease, 220, 140)
    assert len(canvas.strokes) == 1 and canvas.strokes[0].x[0] == 20


def test_scratch_out_erases_the_word_under_it(qtbot, canvas):
    for x in (100, 150):
        draw(qtbot, canvas, letter("m", x))
    draw(qtbot, canvas, letter("n", 260))
    draw(qtbot, canvas, scratch(90, 200, 180))
    assert [s.x[0] for s in canvas.strokes] == [260]  # the two "m" went, the zig-zag is no ink
    canvas.undo()
    assert [s.x[0] for s in canvas.strokes] == [100, 150, 260]
    canvas.scratch_out = False
    draw(qtbot, canvas, scratch(90, 200, 180))
    assert len(canvas.strokes) == 4  # switched off: it is ink


def test_writing_is_not_taken_for_a_scratch_out(qtbot, canvas):
    draw(qtbot, canvas, [(80, 200), (420, 200)])  # an underline below everything
    for kind, x in (("m", 100), ("w", 170), ("n", 230), ("n", 270), ("m", 100)):  # "m w nn", an "m" over the "m"
        draw(qtbot, canvas, letter(kind, x))
    assert len(canvas.strokes) == 6


def test_hover_highlight_paints(qtbot, canvas):
    draw(qtbot, canvas, [(50, 100), (150, 100)])
    draw(qtbot, canvas, [(50, 150), (150, 150)])
    canvas.set_highlight([1, 7])
    assert canvas.highlighted() == {1}
    img = canvas.grab().toImage()
    dpr = img.devicePixelRatio()
    c = img.pixelColor(int(100 * dpr), int(150 * dpr))
    assert (c.red(), c.green()) == (230, 120), c.name()
    assert img.pixelColor(int(100 * dpr), int(100 * dpr)).red() < 100  # the other stroke: ink colour
    draw(qtbot, canvas, [(300, 50), (300, 80)])
    assert canvas.highlighted() == set()  # a change of the ink ends the highlight


def test_window_eraser_rerecognises(qtbot):
    fake = FakeRecognizer()
    w = make_window(qtbot, fake)
    draw(qtbot, w.canvas, zigzag(20))
    draw(qtbot, w.canvas, zigzag(200))
    qtbot.waitUntil(lambda: w.results.text == "2 strokes", timeout=3000)
    w.eraser_action.trigger()
    assert w.canvas.tool == "eraser" and w.eraser_action.isChecked()
    draw(qtbot, w.canvas, [(190, 100), (250, 100)])
    assert "Erased 1 stroke" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.results.text == "1 strokes", timeout=3000)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.results.text == "2 strokes", timeout=3000)
    w.pen_action.trigger()
    assert w.canvas.tool == "pen"


class WordsRecognizer(FakeRecognizer):
    """Reads "a b": word 0 wrote the strokes left of x=150, word 1 the others."""

    def recognize_ink(self, ink: Ink) -> LineResult:
        from hwr.types import CharSpan

        super().recognize_ink(ink)
        return LineResult(text="a b", confidence=0.9,
                          chars=[CharSpan("a", 0, 0, 0.9), CharSpan(" ", 1, 1, 0.9), CharSpan("b", 2, 2, 0.9)])

    def word_strokes(self, ink: Ink, result: LineResult) -> list[list[int]]:
        left = [i for i, s in enumerate(ink.strokes) if s.x.mean() < 150]
        return [left, [i for i in range(len(ink.strokes)) if i not in left]]


def test_hovering_a_word_highlights_its_strokes(qtbot):
    w = make_window(qtbot, WordsRecognizer())
    draw(qtbot, w.canvas, zigzag(20))
    draw(qtbot, w.canvas, zigzag(200))
    draw(qtbot, w.canvas, zigzag(80))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=3000)
    assert w.word_links == [[0, 2], [1]]
    label = w.results.text_label
    label.linkHovered.emit("w:0")
    assert w.canvas.highlighted() == {0, 2}
    label.linkHovered.emit("w:1")
    assert w.canvas.highlighted() == {1}
    label.linkHovered.emit("")  # the mouse left the word
    assert w.canvas.highlighted() == set()
    # a mouse move over the first word of the label (sent to the label alone: QTest.mouseMove would
    # move the application's cursor and disturb later tests' drags)
    from PySide6.QtGui import QMouseEvent

    pos = QPointF(label.fontMetrics().horizontalAdvance("a") / 2 + label.contentsRect().x(),
                  label.contentsRect().y() + label.fontMetrics().height() / 2)  # the text's first line
    QApplication.sendEvent(label, QMouseEvent(QEvent.Type.MouseMove, pos, label.mapToGlobal(pos),
                                              Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                              Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: w.canvas.highlighted() == {0, 2}, timeout=2000)
    w.results.apply("x y")  # a correction: the words no longer match the ink
    label.linkHovered.emit("w:0")
    assert w.canvas.highlighted() == set()


def test_worker_survives_a_failing_word_link(qtbot):
    class Bad(WordsRecognizer):
        def word_strokes(self, ink, result):
            raise RuntimeError("no frames")

    w = make_window(qtbot, Bad())
    draw(qtbot, w.canvas, zigzag(20))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=3000)
    assert w.results.text == "a b" and w.word_links == []


class LinesRecognizer(FakeRecognizer):
    """Reads each line of the ink on its own (as hwr's Recognizer does)."""

    def recognize_ink_lines(self, ink: Ink):
        from hwr.ink.lines import line_inks, split_lines

        groups = split_lines(ink)
        return [(g, self.recognize_ink(sub)) for g, sub in zip(groups, line_inks(ink, groups))]


def test_several_lines_of_writing_are_read_line_by_line(qtbot):
    fake = LinesRecognizer()
    w = make_window(qtbot, fake)
    draw(qtbot, w.canvas, zigzag(20, y=200))  # the lower line first
    draw(qtbot, w.canvas, zigzag(20, y=60))
    draw(qtbot, w.canvas, zigzag(200, y=60))
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=3000)
    assert w.results.text == "2 strokes\n1 strokes"  # top line first
    assert "<br>" in w.results.text_label.text()
    w.copy_text()
    assert QGuiApplication.clipboard().text() == "2 strokes\n1 strokes"


def test_ink_at_the_origin_is_not_cut_at_the_edges(qtbot, canvas):
    """Ink whose coordinates start at 0 (a file from another program) fitted the canvas as it
    was, touching the top-left corner: the pen's width and the ascenders were cut off."""
    ink = Ink(strokes=[Stroke([0, 120, 240], [0, 60, 20]), Stroke([10, 200], [80, 90])])
    canvas.set_ink(ink)
    box = canvas._view.mapRect(QRectF(0, 0, 240, 90))
    assert box.left() >= 4 and box.top() >= 4
    assert box.right() <= canvas.width() - 4 and box.bottom() <= canvas.height() - 4
