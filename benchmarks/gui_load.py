"""The app under load: a canvas holding 10,000 strokes (issue 10's load case).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_load.py [--strokes 10000]

Fills the canvas with N short strokes (rows of small loops, like a page of writing),
then measures, with a 2 ms timer on the UI thread: the time to show them (first paint,
from scratch), the longest stall while a new stroke is drawn with mouse events, and the
longest stall while the embedded ink model recognises all that ink on its worker thread
(or refuses it: more points than a recognition takes), and the time until the answer
(text or message) is shown.  Then, with the ink shown: a repaint of all strokes from
scratch, a resize of the window (+40 x +30 px) and its repaint, and erasing one stroke
and undoing it, each with its repaint (the median of 5).  Runs against any checkout
(``PYTHONPATH=/other/checkout``) for a before/after on the same machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strokes", type=int, default=10_000)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from PySide6.QtCore import QElapsedTimer, QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    import hwr
    from hwr.types import Ink, Stroke

    # hwr_gui from the gui/ folder beside the hwr imported (PYTHONPATH picks the checkout),
    # not from wherever an editable install points
    gui = Path(hwr.__file__).resolve().parents[1] / "gui"
    spec = importlib.util.spec_from_file_location("hwr_gui", gui / "__init__.py", submodule_search_locations=[str(gui)])
    sys.modules["hwr_gui"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules["hwr_gui"])
    from hwr_gui.main_window import MainWindow

    print(f"code: {gui.parent}")

    app = QApplication.instance() or QApplication([])
    w = MainWindow()
    w.resize(1100, 720)
    w.show()
    deadline = time.time() + 60
    while w.model_state == "loading" and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    rng = np.random.default_rng(0)
    strokes = []
    per_row = 100
    t = 0.0
    for i in range(args.strokes):
        row, col = divmod(i, per_row)
        a = np.linspace(0, 2 * np.pi, 12)
        x = col * 10.0 + 4 * np.cos(a) + rng.normal(0, 0.3, a.size)
        y = row * 14.0 + 4 * np.sin(a) + rng.normal(0, 0.3, a.size)
        strokes.append(Stroke(x=x, y=y, t=t + np.linspace(0, 0.1, a.size)))
        t += 0.15
    ink = Ink(strokes)
    clock, longest = QElapsedTimer(), [0]

    def tick():
        longest[0] = max(longest[0], clock.restart())

    ticker = QTimer(interval=2, timeout=tick)
    t0 = time.perf_counter()
    w.canvas.set_ink(ink)
    w.canvas.repaint()
    show_ms = (time.perf_counter() - t0) * 1000
    w.last_result = None
    # let the recognition of the loaded ink finish (or fail) first
    deadline = time.time() + 300
    t_rec = time.perf_counter()
    clock.start()
    ticker.start()
    while w.last_result is None and not w.results.error_label.isVisible() and time.time() < deadline:
        app.processEvents()
        time.sleep(0.001)
    rec_s = time.perf_counter() - t_rec
    ticker.stop()
    stall_rec = longest[0]
    answer = w.last_result.text[:40] if w.last_result is not None else w.results.error_label.text()[:80]
    # draw one more stroke with mouse events
    longest[0] = 0
    clock.start()
    ticker.start()
    c = w.canvas
    pts = [QPoint(300 + 4 * k, 300 + (10 if k % 2 else -10)) for k in range(30)]
    t0 = time.perf_counter()
    QTest.mousePress(c, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        QTest.mouseMove(c, p)
        app.processEvents()
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, pos=pts[-1])
    draw_ms = (time.perf_counter() - t0) * 1000
    for _ in range(50):
        app.processEvents()
        time.sleep(0.002)
    ticker.stop()
    # repaints with the ink shown (the recognition is over: nothing else runs)
    app.processEvents()

    def timed(action) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            action()
            c.repaint()
            times.append((time.perf_counter() - t0) * 1000)
            app.processEvents()
        return sorted(times)[2]

    def full():
        c._cache = None  # what a change of the whole ink (open, clear) or of the view costs

    sizes = iter([(1140, 750), (1100, 720)] * 5)

    def resize():
        w.resize(*next(sizes))
        app.processEvents()

    def erase_undo():
        c.erase_strokes([len(c.strokes) // 2])
        c.repaint()
        c.undo()

    full_ms, resize_ms, erase_ms = timed(full), timed(resize), timed(erase_undo)
    print(f"{args.strokes} strokes ({ink.num_points:,} points), embedded ink model, 1 torch thread, {os.cpu_count()} CPUs")
    print(f"| measure | value |\n| --- | --- |")
    print(f"| show the strokes (set_ink + first paint) | {show_ms:.0f} ms |")
    print(f"| recognition answer shown after | {rec_s:.1f} s ({answer!r}) |")
    print(f"| longest UI stall while recognising | {stall_rec} ms |")
    print(f"| draw a 30-point stroke with the mouse | {draw_ms:.0f} ms |")
    print(f"| longest UI stall while drawing it | {longest[0]} ms |")
    print(f"| repaint all strokes from scratch | {full_ms:.0f} ms |")
    print(f"| resize the window by 40 x 30 px, repaint | {resize_ms:.0f} ms |")
    print(f"| erase one stroke, repaint, undo, repaint | {erase_ms:.0f} ms |")
    w.shutdown()


if __name__ == "__main__":
    main()
