"""The desktop app's Write tab: time from pen-up to the text shown, and the longest UI stall.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py [INK...] [--repeat 5] [--gaps 300]

For each line (default: the project's own ``data/line*.inkml``), the window (embedded ink
model, CPU, one torch thread) shows the line without its last stroke; the last stroke is
then written with Qt mouse events and the clock runs from its release (pen-up) to the
moment the result panel shows the new text.  Measured twice: with the canvas's
recognition delay set to 0 (the work itself: worker hand-off, normalisation, model,
decoder, linking words to strokes, showing the result) and with the app's delay
(``RECOGNITION_DELAY_MS``, what a user waits).  A 2 ms timer on the UI thread measures
the longest gap between its ticks from pen-up to text shown (the longest UI stall).

"worker CPU" is the CPU time of the worker thread for recognising and linking words to
strokes (what pen-up to text would be on an idle core, less the hand-offs).

``--gaps N`` also reads the pen-up gaps (pen-up to the next pen-down) of the first N
lines of IAM-OnDB in ../shared/data and prints which share of them each delay would
outlast (each such gap starts a recognition while the writer is still writing).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]


def load_gui():
    """``hwr_gui`` from this checkout's gui/ folder (as tests/conftest.py does)."""
    if "hwr_gui" not in sys.modules:
        spec = importlib.util.spec_from_file_location("hwr_gui", REPO / "gui" / "__init__.py",
                                                      submodule_search_locations=[str(REPO / "gui")])
        module = importlib.util.module_from_spec(spec)
        sys.modules["hwr_gui"] = module
        spec.loader.exec_module(module)
    return sys.modules["hwr_gui"]


def pen_gaps(limit: int) -> list[float]:
    import tarfile

    from hwr.ink.io import read_iam_ondb

    archive = REPO.parent / "shared" / "data" / "iam-ondb" / "iam-ondb-train-val.tar.xz"
    if not archive.exists():
        sys.exit(f"--gaps needs {archive}")
    gaps, lines = [], 0
    with tarfile.open(archive) as tf, tempfile.TemporaryDirectory() as tmp:
        for m in tf:
            if lines >= limit:
                break
            if not (m.isfile() and m.name.startswith("lineStrokes/") and m.name.endswith(".xml")):
                continue
            path = Path(tmp) / "line.xml"
            path.write_bytes(tf.extractfile(m).read())
            strokes = [s for s in read_iam_ondb(path).strokes if len(s) and s.t is not None]
            gaps += [float(b.t[0] - a.t[-1]) for a, b in zip(strokes, strokes[1:])]
            lines += 1
    return gaps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inks", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--gaps", type=int, default=0, metavar="N")
    args = ap.parse_args()
    inks = args.inks or sorted((REPO / "data").glob("line*.inkml"))
    sys.path.insert(0, str(REPO))
    load_gui()
    import torch
    from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QSettings, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from hwr.ink.io import load_ink
    from hwr.types import Ink
    from hwr_gui.corrections import CorrectionStore
    from hwr_gui.main_window import RECOGNITION_DELAY_MS, MainWindow

    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp()
    app = QApplication.instance() or QApplication([])
    w = MainWindow(device="cpu", settings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat),
                   corrections=CorrectionStore(f"{tmp}/corrections"))
    w.resize(1100, 640)
    w.show()
    while w.model_state == "loading":
        app.processEvents()
        time.sleep(0.01)
    if w.model_state != "ready":
        sys.exit("the ink model did not load")

    shown: list[float] = []
    show = w.results.show_result
    w.results.show_result = lambda *a: (show(*a), shown.append(time.perf_counter()))
    clock, longest = QElapsedTimer(), [0]
    ticker = QTimer(interval=2, timeout=lambda: longest.__setitem__(0, max(longest[0], clock.restart())))
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    canvas = w.canvas
    seconds: list[float] = []  # the worker's CPU time for each recognition and word linking
    rec = w._worker.recognizer

    def cpu_timed(fn):
        def run(*a):
            t = time.thread_time()
            try:
                return fn(*a)
            finally:
                seconds.append(time.thread_time() - t)
        return run

    rec.recognize_ink, rec.word_strokes = cpu_timed(rec.recognize_ink), cpu_timed(rec.word_strokes)

    def mouse(kind, p: QPointF, buttons):
        QApplication.sendEvent(canvas, QMouseEvent(kind, p, canvas.mapToGlobal(p), Qt.MouseButton.LeftButton,
                                                   buttons, Qt.KeyboardModifier.NoModifier))

    def one(ink: Ink, delay_ms: int) -> tuple[float, int, float]:
        """(pen-up to text shown in ms, longest stall in ms, worker seconds) for the last stroke of ``ink``."""
        w.delay.setInterval(delay_ms)
        shown.clear()
        canvas.set_ink(Ink(strokes=ink.strokes[:-1]))
        w.recognize_now()  # the line without its last stroke, read before the pen comes down again
        t_wait = time.perf_counter()
        while not shown and time.perf_counter() - t_wait < 30:
            app.processEvents()
            time.sleep(0.001)
        for _ in range(50):
            app.processEvents()
            time.sleep(0.002)
        last = ink.strokes[-1]
        pts = [canvas._view.map(QPointF(float(x), float(y))) for x, y in zip(last.x, last.y)]
        mouse(QEvent.Type.MouseButtonPress, pts[0], Qt.MouseButton.LeftButton)
        for p in pts[1:]:
            mouse(QEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
        shown.clear()
        seconds.clear()
        clock.start()
        longest[0] = 0
        ticker.start()
        t0 = time.perf_counter()
        mouse(QEvent.Type.MouseButtonRelease, pts[-1], Qt.MouseButton.NoButton)
        while not shown and time.perf_counter() - t0 < 30:
            app.processEvents()
            time.sleep(0.0005)
        ticker.stop()
        if not shown:
            sys.exit("no result within 30 s")
        return (shown[0] - t0) * 1000, longest[0], sum(seconds)

    print(f"embedded ink model, CPU, 1 torch thread; {args.repeat} runs per line and delay (medians)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} "
          "(wall times grow with the load; the worker's CPU time does not)")
    print(f"{'line':<14} {'points':>6} {'worker CPU':>10} {'pen-up→text':>12} {'stall':>6} "
          f"{'pen-up→text':>12} {'stall':>6}")
    other = 300 if RECOGNITION_DELAY_MS == 0 else RECOGNITION_DELAY_MS
    print(f"{'':<14} {'':>6} {'':>10} {'delay 0':>12} {'':>6} {f'delay {other}':>12} {'':>6}"
          f"   (the app's delay: {RECOGNITION_DELAY_MS} ms)")
    all_stalls = []
    for path in inks:
        ink = load_ink(path)
        rows = {}
        for delay in (0, other):
            runs = [one(ink, delay) for _ in range(args.repeat)]
            rows[delay] = runs
            all_stalls += [r[1] for r in runs]
        med = {d: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
               for d, runs in rows.items()}
        worker = statistics.median(r[2] for r in rows[0]) * 1000
        print(f"{path.name:<14} {ink.num_points:>6} {worker:>8.0f}ms {med[0][0]:>10.0f}ms {med[0][1]:>4}ms "
              f"{med[other][0]:>10.0f}ms {med[other][1]:>4}ms")
    print(f"longest UI stall over all runs: {max(all_stalls)} ms")
    w.shutdown()

    if args.gaps:
        gaps = pen_gaps(args.gaps)
        print(f"\npen-up gaps of {args.gaps} IAM-OnDB lines: {len(gaps)}; "
              f"median {statistics.median(gaps) * 1000:.0f} ms")
        for d in (150, 200, 250, 300, 400, 500):
            share = sum(g > d / 1000 for g in gaps) / len(gaps)
            print(f"  delay {d:>3} ms: {share:6.1%} of the gaps outlast it (a recognition starts while writing)")


if __name__ == "__main__":
    main()
