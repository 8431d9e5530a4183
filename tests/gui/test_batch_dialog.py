"""The batch dialog (File → Transcribe a folder…): a real run of hwr.batch on a small folder,
driven through the dialog's widgets (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from PySide6.QtCore import QElapsedTimer, QObject, QSettings, Qt, QTimer, QUrl, Slot  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from synth import synth_page  # noqa: E402
from hwr.batch import REPORT  # noqa: E402
from hwr_gui.batch_dialog import BatchDialog, default_workers, format_duration  # noqa: E402
from hwr_gui.settings import Settings  # noqa: E402

GREEDY = Settings(decoder="greedy")
RUN_TIMEOUT = 60_000  # ms; a run of three small pages takes 1-3 s (the first loads the image model)


def _page(seed: int, n_lines: int = 2) -> np.ndarray:
    return synth_page(seed, n_lines)


@pytest.fixture
def folder(tmp_path):
    """Two pages, a file that claims to be a PNG and is not, and an unsupported file."""
    d = tmp_path / "scans"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), _page(1))
    cv2.imwrite(str(d / "b.jpg"), _page(2))
    (d / "broken.png").write_text("this is not an image\n")
    (d / "notes.docx").write_bytes(b"PK\x03\x04 not really")
    return d


GOOD = ("a.png", "b.jpg")
BAD = ("broken.png", "notes.docx")


@pytest.fixture
def qsettings(tmp_path):
    return QSettings(str(tmp_path / "hwr.ini"), QSettings.Format.IniFormat)


def make_dialog(qtbot, qsettings, folder=None, out=None, formats=("txt", "json", "page")):
    d = BatchDialog(qsettings, GREEDY)
    qtbot.addWidget(d)
    if folder is not None:
        d.input.edit.setText(str(folder))
        d.output.edit.setText(str(out))
        for f, box in d.formats.items():
            box.setChecked(f in formats)
        d.workers.setValue(1)
    d.show()
    return d


def table(d) -> dict[str, list[str]]:
    return {d.table.item(r, 0).text(): [d.table.item(r, c).text() for c in range(d.table.columnCount())]
            for r in range(d.table.rowCount())}


def run(qtbot, d):
    with qtbot.waitSignal(d.runFinished, timeout=RUN_TIMEOUT) as sig:
        qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    return sig.args[0]


def test_run_lists_every_input_and_writes_the_outputs(qtbot, qsettings, folder, tmp_path):
    out = tmp_path / "text"
    d = make_dialog(qtbot, qsettings, folder, out)
    assert d.start_button.isEnabled() and not d.cancel_button.isEnabled()
    summary = run(qtbot, d)
    assert (summary.total, summary.done, summary.skipped, summary.failed) == (4, 2, 0, 2)
    rows = table(d)
    assert set(rows) == set(GOOD) | set(BAD)
    for rel in GOOD:
        _, status, lines, seconds, _detail = rows[rel]
        assert status == "done" and int(lines) == 2 and float(seconds) > 0
        stem = rel.rsplit(".", 1)[0]
        assert (out / f"{stem}.txt").read_text(encoding="utf-8").count("\n") == 2
        assert json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))["lines"]
        assert (out / f"{stem}.page.xml").is_file() and not (out / f"{stem}.alto.xml").exists()
    assert rows["broken.png"][1] == "error" and "not an image" in rows["broken.png"][4]
    assert rows["notes.docx"][1] == "error" and "unsupported" in rows["notes.docx"][4]
    # errors are highlighted, done rows are not
    r_bad = next(r for r in range(d.table.rowCount()) if d.table.item(r, 0).text() == "broken.png")
    r_good = next(r for r in range(d.table.rowCount()) if d.table.item(r, 0).text() == "a.png")
    assert d.table.item(r_bad, 1).background().color() != d.table.item(r_good, 1).background().color()
    records = {r["input"]: r for r in map(json.loads, (out / REPORT).read_text(encoding="utf-8").splitlines())}
    assert set(records) == set(GOOD) | set(BAD)
    assert [records[g]["status"] for g in GOOD] == ["done", "done"]
    assert d.progress.value() == d.progress.maximum() == 4
    assert "Finished: 4 inputs, 2 transcribed, 0 already done, 2 failed" in d.summary_label.text()
    assert d.start_button.text() == "Start" and d.open_button.isEnabled()
    # a second Start has nothing left to do: every good input is "done earlier"
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != REPORT}
    summary = run(qtbot, d)
    assert (summary.done, summary.skipped) == (0, 2)
    assert [table(d)[g][1] for g in GOOD] == ["done earlier", "done earlier"]
    assert "2 already done" in d.status.text()
    assert before == {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != REPORT}


def test_cancel_after_the_first_input_then_resume(qtbot, qsettings, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    names = [f"p{i}.png" for i in range(3)]
    for i, n in enumerate(names):
        cv2.imwrite(str(folder / n), _page(i, 1))
    out = tmp_path / "text"
    d = make_dialog(qtbot, qsettings, folder, out, formats=("txt",))
    seen: list[list[str]] = [[], []]
    clicked = threading.Event()
    run_no = [0]

    def hold_first(record, finished, total):  # on the worker thread, before the library goes on
        seen[run_no[0]].append(record["input"])
        if run_no[0] == 0 and len(seen[0]) == 1:
            clicked.wait(10)  # until Cancel is clicked on the UI thread

    # each run has its own worker: hook it as it starts, before it is given the folder
    d.runStarted.connect(lambda: d._worker.progressed.connect(hold_first, Qt.ConnectionType.DirectConnection))
    with qtbot.waitSignal(d.runFinished, timeout=RUN_TIMEOUT) as sig:
        qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: d.table.rowCount() == 1, timeout=RUN_TIMEOUT)
        assert d.cancel_button.isEnabled() and not d.start_button.isEnabled()
        assert d.status.text().startswith("1 of 3 inputs") and " left" in d.status.text()  # the ETA
        assert (d.progress.value(), d.progress.maximum()) == (1, 3)
        qtbot.mouseClick(d.cancel_button, Qt.MouseButton.LeftButton)
        assert not d.cancel_button.isEnabled()
        clicked.set()
    s1 = sig.args[0]
    assert s1.cancelled and s1.done == 1 and seen[0] == ["p0.png"]
    assert d.start_button.text() == "Resume" and d.start_button.isEnabled()
    assert "Stopped" in d.summary_label.text() and "Resume" in d.summary_label.text()
    assert "2 not read yet" in d.summary_label.text()
    first = (out / "p0.txt").stat().st_mtime_ns
    run_no[0] = 1
    s2 = run(qtbot, d)
    assert not s2.cancelled and (s2.done, s2.skipped, s2.failed) == (2, 1, 0)
    assert seen[1] == ["p1.png", "p2.png"]  # nothing read twice
    assert (out / "p0.txt").stat().st_mtime_ns == first
    rows = table(d)
    assert [rows[n][1] for n in names] == ["done earlier", "done", "done"]
    assert "1 already done" in d.status.text()
    assert sorted(p.name for p in out.iterdir()) == sorted([REPORT] + [n.replace(".png", ".txt") for n in names])
    report = [json.loads(line) for line in (out / REPORT).read_text(encoding="utf-8").splitlines()]
    assert [r["input"] for r in report] == names and {r["status"] for r in report} == {"done"}
    assert d.start_button.text() == "Start"


def test_ui_stays_responsive_during_a_run(qtbot, qsettings, folder, tmp_path):
    # the application has imported torch before (its ink model loads at start), as has
    # tests/conftest.py: torch's first import holds the GIL for long stretches, whichever
    # thread imports it, so it is not part of what is measured here
    import torch  # noqa: F401

    d = make_dialog(qtbot, qsettings, folder, tmp_path / "text")
    clock, longest = QElapsedTimer(), [0]
    ticker = QTimer(interval=10)
    ticker.timeout.connect(lambda: longest.__setitem__(0, max(longest[0], clock.restart())))
    with qtbot.waitSignal(d.runFinished, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
        clock.start()
        ticker.start()
    ticker.stop()
    assert d.summary is not None and d.summary.done == 2
    assert longest[0] < 250, f"event loop stalled for {longest[0]} ms"


def test_choices_are_remembered(qtbot, qsettings, folder, tmp_path):
    d = make_dialog(qtbot, qsettings, folder, tmp_path / "text", formats=("alto", "page"))
    d.recursive.setChecked(True)
    d.workers.setValue(3)
    d.close()  # remembered when the dialog closes (and at each Start)
    d2 = make_dialog(qtbot, qsettings)
    assert d2.input.text() == str(folder) and d2.output.text() == str(tmp_path / "text")
    assert d2.chosen_formats() == ("alto", "page")
    assert d2.recursive.isChecked() and d2.workers.value() == 3 and not d2.overwrite.isChecked()


def test_defaults_and_invalid_fields(qtbot, qsettings, tmp_path):
    d = make_dialog(qtbot, qsettings)
    assert d.workers.value() == default_workers() and d.chosen_formats() == ("txt", "json")
    assert not d.start_button.isEnabled()  # no folders yet
    d.input.edit.setText(str(tmp_path / "missing"))
    d.output.edit.setText(str(tmp_path / "out"))
    for box in d.formats.values():
        box.setChecked(False)
    assert not d.start_button.isEnabled()  # no format
    d.formats["txt"].setChecked(True)
    assert run(qtbot, d) is None
    assert "not a folder" in d.summary_label.text() and not d.running and d.start_button.isEnabled()
    d.input.edit.setText(str(tmp_path))
    d.output.edit.setText(str(tmp_path))
    assert run(qtbot, d) is None and "must not be the input folder" in d.summary_label.text()
    assert d.table.rowCount() == 0
    assert (format_duration(5), format_duration(125), format_duration(7380)) == ("5 s", "2 min 05 s", "2 h 03 min")


class _UrlCatcher(QObject):
    def __init__(self):
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def handle(self, url):
        self.urls.append(url)


def test_open_output_folder(qtbot, qsettings, folder, tmp_path):
    out = tmp_path / "text"
    d = make_dialog(qtbot, qsettings, folder, out)
    assert not d.open_button.isEnabled()  # not there yet
    run(qtbot, d)
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "handle")
    try:
        qtbot.mouseClick(d.open_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(out.resolve())]


def test_closing_during_a_run_asks_and_stops_cleanly(qtbot, qsettings, folder, tmp_path, monkeypatch):
    d = make_dialog(qtbot, qsettings, folder, tmp_path / "text")
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or answers.pop(0))
    with qtbot.waitSignal(d.runFinished, timeout=RUN_TIMEOUT) as sig:
        qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
        d.close()  # "No": the run goes on, the dialog stays
        assert d.isVisible() and d.running and not d.stop_event.is_set()
        d.close()  # "Yes": the run stops after the input in progress, then the dialog closes
        assert d.stop_event.is_set()
    assert len(asked) == 2 and sig.args[0] is not None
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=5000)
    assert d.is_idle()  # the run's thread has ended


def test_main_window_menu_opens_the_dialog_and_exit_stops_a_run(qtbot, qsettings, folder, tmp_path, monkeypatch):
    from hwr_gui.corrections import CorrectionStore
    from hwr_gui.main_window import MainWindow

    class FakeInk:
        def recognize_ink(self, ink):
            raise AssertionError("not used")

    qsettings.setValue("decoder", "greedy")
    w = MainWindow(recognizer=FakeInk(), settings=qsettings, corrections=CorrectionStore(tmp_path / "c"))
    qtbot.addWidget(w)
    action = next(a for m in w.menuBar().actions() for a in m.menu().actions()
                  if a.text().replace("&", "") == "Transcribe a folder…")
    action.trigger()
    d = w._batch
    assert d is not None and d.isVisible() and d.settings().decoder == "greedy"
    action.trigger()
    assert w._batch is d  # one dialog
    d.input.edit.setText(str(folder))
    d.output.edit.setText(str(tmp_path / "text"))
    d.workers.setValue(1)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    assert d.running
    thread = d._thread
    w.close()  # asks, stops the run, waits for the input in progress, ends the threads
    assert d.stop_event.is_set() and thread is not None and not thread.isRunning()
    assert asked == ["Stop the run?"]


def test_quitting_during_a_run_asks_once(qtbot, qsettings, folder, tmp_path, monkeypatch):
    """Quitting the application closes every window (the dialog, then the main window): the
    dialog asks, the main window does not ask again, and the run's thread ends."""
    from hwr_gui.corrections import CorrectionStore
    from hwr_gui.main_window import MainWindow

    class FakeInk:
        def recognize_ink(self, ink):
            raise AssertionError("not used")

    w = MainWindow(recognizer=FakeInk(), settings=qsettings, corrections=CorrectionStore(tmp_path / "c"))
    qtbot.addWidget(w)
    w.show()
    w.show_batch()
    d = w._batch
    d.input.edit.setText(str(folder))
    d.output.edit.setText(str(tmp_path / "text"))
    d.workers.setValue(1)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or QMessageBox.StandardButton.Yes)
    d.start()
    thread = d._thread
    d.close()
    w.close()
    assert asked == ["Stop the run?"] and d.stop_event.is_set()
    assert not w.isVisible() and not thread.isRunning()


def test_progress_count_is_true_before_and_for_an_empty_folder(qtbot, qsettings, tmp_path):
    """The bar read "0 / 1" before any run and for a folder with no inputs (its range is kept
    at 1 or more so that it is not a busy indicator); it shows nothing, then "0 / 0"."""
    d = make_dialog(qtbot, qsettings)
    assert d.progress.text() == ""
    empty = tmp_path / "empty"
    empty.mkdir()
    d = make_dialog(qtbot, qsettings, empty, tmp_path / "out")
    run(qtbot, d)
    assert d.progress.text() == "0 / 0"
