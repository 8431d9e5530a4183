import sys
from pathlib import Path

# tests import helpers such as ``synth`` from this folder
sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


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
