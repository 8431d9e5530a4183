"""hwr-gui's entry point: the window icon (from the package's PNGs) and the hidden
--quit-after-first-window option used by packaging/smoke_test.sh and benchmarks/startup.py."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from hwr_gui import app  # noqa: E402


def test_icon_has_every_size(qapp):
    icon = app.app_icon()
    assert not icon.isNull()
    assert {QSize(s, s) for s in app.ICON_SIZES} <= set(icon.availableSizes())
    assert (app.ICON_DIR / "hwr.svg").is_file()


def test_quit_after_first_window(qapp, capsys):
    assert app.main(["--quit-after-first-window"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"hwr-gui: first window shown (\d+\.\d+) s after main\(\)(, (\d+\.\d+) s after the process started)?",
                  out)
    assert m, out
    assert 0 < float(m.group(1)) < 60
    if m.group(3):  # Linux: the process is older than main()
        assert float(m.group(3)) >= float(m.group(1))
    assert not QApplication.windowIcon().isNull()
    assert QApplication.desktopFileName() == "hwr"
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]  # the window was closed


def test_option_is_hidden(capsys):
    with pytest.raises(SystemExit):
        app.parse_args(["--help"])
    assert "quit-after" not in capsys.readouterr().out
    assert app.parse_args(["--quit-after-first-window"]).quit_after_first_window


def test_window_never_shown_exits_1(qapp, capsys):
    """The check can fail: a window that never paints gives "NOT shown" and exit status 1."""
    import time

    from PySide6.QtWidgets import QWidget

    hidden = QWidget()
    app._quit_after_first_paint(hidden, time.perf_counter(), timeout_s=0.05)
    assert qapp.exec() == 1
    assert "first window NOT shown" in capsys.readouterr().out


def test_open_image_filter_lists_only_what_hwr_reads(tmp_path):
    """The File → Open image filter offered *.jp2 *.pbm *.pgm *.ppm, which hwr refuses ("not an
    image"), and left out *.gif, which it reads.  Every suffix offered must load."""
    import cv2
    import numpy as np

    from hwr.imaging.load import load_image
    from hwr_gui.main_window import IMAGE_FILTERS, IMAGE_SUFFIXES

    assert ".gif" in IMAGE_SUFFIXES and "*.gif" in IMAGE_FILTERS
    im = np.full((40, 60), 255, np.uint8)
    im[10:30, 10:50] = 0
    written = 0
    for suffix in IMAGE_SUFFIXES:
        path = tmp_path / f"x{suffix}"
        try:
            ok = cv2.imwrite(str(path), im)
        except cv2.error:
            ok = False
        if not ok:
            continue  # this OpenCV build cannot write it; hwr's readers are tested elsewhere
        written += 1
        assert load_image(path).shape == im.shape, suffix
    assert written >= 6
