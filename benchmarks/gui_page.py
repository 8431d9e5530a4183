"""The desktop app's Page tab on real page images: time from File → Open image to the lines
shown, and the longest stall of the UI thread meanwhile (a 5 ms timer measures the gaps).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_page.py [IMAGE...] [--limit N]

Default images: the pages under ../shared/data/pages (taken in turn from each collection).  The
first page includes loading the image model (done when the first page needs it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def default_pages(limit: int) -> list[Path]:
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "pages"
    if not root.is_dir():
        sys.exit(f"no images given and {root} is absent")
    per = [sorted(d.rglob("*.jpg")) for d in sorted(root.iterdir()) if d.is_dir()]
    out = []
    for i in range(limit):  # round robin over the collections
        for pages in per:
            if i < len(pages) and len(out) < limit:
                out.append(pages[i])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    images = args.images or default_pages(args.limit)

    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from hwr_gui.corrections import CorrectionStore
    from hwr_gui.main_window import MainWindow

    tmp = tempfile.mkdtemp()
    app = QApplication.instance() or QApplication([])
    w = MainWindow(device=args.device, settings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat),
                   corrections=CorrectionStore(f"{tmp}/corrections"))
    w.resize(1200, 720)
    w.show()
    while w.model_state == "loading":  # the ink model, loaded at start-up
        app.processEvents()
        time.sleep(0.01)
    clock, longest = QElapsedTimer(), [0]
    ticker = QTimer(interval=5, timeout=lambda: longest.__setitem__(0, max(longest[0], clock.restart())))
    print(f"{'image':<28} {'lines':>5} {'shown after':>11} {'longest UI stall':>16}")
    for path in images:
        longest[0] = 0
        clock.start()
        ticker.start()
        t0 = time.perf_counter()
        w.open_image(path)
        while w.last_page is None and "Could not" not in w.page_view.message.text():
            app.processEvents()
            time.sleep(0.001)
        seconds = time.perf_counter() - t0
        ticker.stop()
        n = len(w.last_page.lines) if w.last_page else "error"
        print(f"{path.name[:28]:<28} {n:>5} {seconds:>10.2f}s {longest[0]:>14d}ms", flush=True)
    w.shutdown()


if __name__ == "__main__":
    main()
