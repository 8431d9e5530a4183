"""The Retrain dialog on a synthetic run: a small ink model trained from scratch on 60
synthetic corrections (tests/synth.py), in the separate `hwr train` process. Prints the
wall time, the validation CER per epoch and the longest stall of the UI thread meanwhile
(a 10 ms timer measures the gaps); saves screenshots of the dialog during and after.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_training.py --shots /tmp/shots [--epochs 14]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=Path, help="folder for the screenshots")
    ap.add_argument("--epochs", type=int, default=14)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="hwr-gui-training-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")  # the imported folder goes here, not to the user's cache
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    import conftest  # noqa: F401  (imports hwr_gui from this checkout)
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from synth import synth_ink

    from hwr_gui.corrections import CorrectionStore
    from hwr_gui.training_dialog import TrainingDialog

    texts = ["olv zj", "zz ol", "jo lv", "vz oj", "lov jo", "zoo lv"]
    store = CorrectionStore(tmp / "corrections")
    for i in range(60):
        store.record_ink(synth_ink(texts[i % len(texts)], seed=i), texts[i % len(texts)])
    d = TrainingDialog(QSettings(str(tmp / "app.ini"), QSettings.Format.IniFormat), corrections_root=store.root,
                       models_dir=tmp / "models", has_cuda=False,
                       extra_args=f"--epochs {args.epochs} --batch-size 2 --hidden 48 --layers 1 --lr 0.01 "
                                  "--threads 1 --val-fraction 0.2")
    d.set_source("ink-corrections")
    d.base.setCurrentIndex(d.base.findData("scratch"))
    d.show()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
        d.progressed.connect(lambda ev: ev["epoch"] == args.epochs // 2
                             and d.grab().save(str(args.shots / "training_running.png")))
    longest, clock = [0], QElapsedTimer()
    clock.start()
    ticker = QTimer(interval=10, timeout=lambda: longest.__setitem__(0, max(longest[0], clock.restart())))
    loop = QEventLoop()
    d.trainingFinished.connect(lambda ok: loop.quit())
    t0 = time.perf_counter()
    ticker.start()
    d.start()
    loop.exec()
    ticker.stop()
    secs = time.perf_counter() - t0
    QTimer.singleShot(200, loop.quit)
    loop.exec()
    if args.shots:
        d.grab().save(str(args.shots / "training_done.png"))
    print(f"{d.state}: {secs:.1f} s for {len(d.plot.cer)} epochs; longest UI stall {longest[0]} ms")
    print("val CER % per epoch: " + " ".join(f"{c:.1f}" for _, c in d.plot.cer))
    print(d.comparison.text())
    app.processEvents()


if __name__ == "__main__":
    main()
