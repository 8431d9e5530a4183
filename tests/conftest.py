import sys
from pathlib import Path

# tests import helpers such as ``synth`` from this folder
sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


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
