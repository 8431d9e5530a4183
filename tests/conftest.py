import sys
from pathlib import Path

# tests import helpers such as ``synth`` from this folder
sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    """``benchmarks/NAME.py`` as a module, its folder on ``sys.path`` while it loads (for its
    own ``from _data import ...``, as when it runs as a script)."""
    import importlib.util

    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def _gui_from_this_checkout() -> None:
    """Import ``hwr_gui`` from this checkout's ``gui/`` folder, not from wherever an
    editable install points (another checkout), so the tests test this code."""
    import importlib.util

    gui = Path(__file__).resolve().parents[1] / "gui" / "__init__.py"
    if "hwr_gui" in sys.modules or not gui.exists():
        return
    spec = importlib.util.spec_from_file_location("hwr_gui", gui, submodule_search_locations=[str(gui.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["hwr_gui"] = module
    spec.loader.exec_module(module)


_gui_from_this_checkout()


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Caches (parsed LMs, shifted ARPA copies) go to a temporary folder, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def pytest_configure(config):
    # one torch thread: small batch-1 networks run 4-8x slower with two threads on a busy
    # 2-core machine (OpenMP threads spinning against each other)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def typed_page(folder, name="p0", above=14, below=4):
    """A PAGE XML page of three typed lines, 100 px apart, beside its PNG image: each line's
    polygon reaches ``above`` px over its baseline and ``below`` under it (the default: thin
    bands around the baseline, the ascenders and descenders outside them, as on some of the
    Hooker pages).  Returns the XML's path."""
    import cv2
    import numpy as np

    img = np.full((420, 700), 235, np.uint8)
    lines = []
    for i, y in enumerate((120, 220, 320)):
        cv2.putText(img, "Kew lofty hedge", (40, y), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 30, 3)
        lines.append(f'<TextLine id="l{i}"><Coords points="30,{y - above} 640,{y - above} 640,{y + below} '
                     f'30,{y + below}"/><Baseline points="30,{y} 640,{y}"/><TextEquiv><Unicode>Kew lofty hedge'
                     "</Unicode></TextEquiv></TextLine>")
    cv2.imwrite(str(folder / f"{name}.png"), img)
    (folder / f"{name}.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/'
        f'2019-07-15"><Page imageFilename="{name}.png" imageWidth="700" imageHeight="420"><TextRegion id="r">'
        '<Coords points="0,0 700,0 700,420 0,420"/>' + "".join(lines) + "</TextRegion></Page></PcGts>",
        encoding="utf-8")
    return folder / f"{name}.xml"
