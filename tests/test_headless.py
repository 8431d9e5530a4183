"""The library stays headless: no module of hwr/ imports Qt, not even inside a function
(DESIGN.md's import contract; the app in gui/ is the only Qt user, and `hwr gui` starts it by
importing hwr_gui only when that command runs)."""

import ast
from pathlib import Path

HWR = Path(__file__).resolve().parents[1] / "hwr"
QT = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6")


def test_no_qt_import_anywhere_in_hwr():
    found = []
    for path in sorted(HWR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(HWR.parent)}:{node.lineno} {n}" for n in names if n.split(".")[0] in QT]
    assert not found, found
