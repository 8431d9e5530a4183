"""hwr-gui says which system libraries Qt's X11 plugin lacks, instead of letting Qt abort."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from hwr_gui import app, platform_check  # noqa: E402
from hwr_gui.platform_check import debian_package, platform_problem, xcb_missing_libraries  # noqa: E402


@pytest.mark.parametrize("soname, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libGL.so.1.7.0", "libgl1"),
    ("weird", "weird"),
])
def test_debian_package_names(soname, package):
    assert debian_package(soname) == package


def test_missing_libraries_are_named_once_with_their_packages():
    calls = []

    def missing():
        calls.append(1)
        return ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]

    msg = platform_problem({"DISPLAY": ":0"}, platform="linux", missing=missing)
    assert calls == [1]
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in msg
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in msg
    assert "sudo dnf install xcb-util-cursor libxkbcommon-x11" in msg
    # QT_QPA_PLATFORM=xcb is checked the same way
    assert platform_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb:foo=1"}, platform="linux",
                            missing=missing) == msg


def never(): raise AssertionError("the libraries must not be looked for")


@pytest.mark.parametrize("environ, platform", [
    ({"DISPLAY": ":0"}, "win32"),
    ({"DISPLAY": ":0"}, "darwin"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),  # Qt tries Wayland first
])
def test_no_check_where_qt_does_not_choose_xcb(environ, platform):
    assert platform_problem(environ, platform=platform, missing=never) is None


def test_nothing_missing_is_no_problem():
    assert platform_problem({"DISPLAY": ":1"}, platform="linux", missing=lambda: []) is None


def test_no_display():
    msg = platform_problem({}, platform="linux", missing=never)
    assert "DISPLAY is not set" in msg


def test_dlopened_library_and_ldd_results_merged(tmp_path):
    seen = []

    def not_found(path):
        seen.append(path)
        return ["libxcb-icccm.so.4", "libxcb-cursor.so.0"]

    libs = xcb_missing_libraries(tmp_path, can_load=lambda lib: False, not_found=not_found)
    assert libs == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    assert seen == [tmp_path / "platforms" / "libqxcb.so"]
    assert xcb_missing_libraries(tmp_path, can_load=lambda lib: True, not_found=lambda p: []) == []


def test_ldd_of_an_absent_file_finds_nothing(tmp_path):
    assert platform_check._ldd_not_found(tmp_path / "nothing.so") == []


def test_real_plugin_folder_is_checked():
    """This installation's xcb plugin is where the check looks, and what it reports are
    library names (the list itself depends on the machine)."""
    plugin_dir = platform_check._qt_plugin_dir()
    assert (plugin_dir / "platforms").is_dir()
    for lib in xcb_missing_libraries(plugin_dir):
        assert ".so" in lib


def test_main_exits_with_the_advice_instead_of_aborting(monkeypatch, capsys):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    assert app.main([]) == 1
    assert "DISPLAY is not set" in capsys.readouterr().err
