"""benchmarks/_kraken.py: the benchmarks install kraken into a venv of their own (never a
dependency of hwr), once, and never use a venv whose install did not finish.  pip is not run:
``subprocess.run`` is replaced by a fake that makes the files a real install would."""

import subprocess
from pathlib import Path

import pytest

from conftest import load_benchmark


@pytest.fixture
def kr(tmp_path, monkeypatch):
    mod = load_benchmark("_kraken")
    monkeypatch.setattr(mod, "CACHE", tmp_path / "cache")
    monkeypatch.delenv("HWR_KRAKEN_VENV", raising=False)
    return mod


class FakeInstall:
    """Stands in for ``subprocess.run``: records each command; ``fail`` names a word of the
    command that fails (exit status 1, pip-like message)."""

    def __init__(self, fail: str | None = None):
        self.cmds: list[list[str]] = []
        self.fail = fail

    def __call__(self, cmd, capture_output=False, text=False):
        self.cmds.append(cmd)
        if self.fail is not None and any(self.fail in c for c in cmd):
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for kraken==7.1.1")
        if cmd[1:3] == ["-m", "venv"]:
            (Path(cmd[3]) / "bin").mkdir(parents=True)
            (Path(cmd[3]) / "bin" / "python").write_text("")
        elif "pip" in cmd:
            (Path(cmd[0]).parent / "ketos").write_text("")
        return subprocess.CompletedProcess(cmd, 0, "ketos, version 7.1.1\n", "")


def test_installs_once_into_the_cache_with_torch_pinned(kr, monkeypatch):
    fake = FakeInstall()
    monkeypatch.setattr(kr.subprocess, "run", fake)
    venv = kr.kraken_venv()
    assert venv == kr.CACHE / f"kraken-{kr.KRAKEN_VERSION}"
    assert [c[1:3] for c in fake.cmds[:1]] == [["-m", "venv"]]
    assert fake.cmds[1][-1] == f"kraken=={kr.KRAKEN_VERSION}" and "pip" in fake.cmds[1]
    # torch and torchvision must work together (a CPU torch beside PyPI's torchvision does not)
    assert fake.cmds[2][1:] == ["-c", kr.CHECK] and fake.cmds[2][0] == str(fake.cmds[1][0])
    assert fake.cmds[3][-1] == "--version" and fake.cmds[3][0].endswith("ketos")
    assert (venv / kr.MARKER).exists()
    n = len(fake.cmds)
    assert kr.kraken_venv() == venv
    assert len(fake.cmds) == n  # installed: nothing runs again


@pytest.mark.parametrize("step", ["pip", "torchvision.ops.nms"])
def test_a_failed_install_says_why_and_leaves_nothing_behind(kr, monkeypatch, step):
    monkeypatch.setattr(kr.subprocess, "run", FakeInstall(fail=step))
    with pytest.raises(kr.KrakenUnavailable, match="No matching distribution"):
        kr.kraken_venv()
    assert not (kr.CACHE / f"kraken-{kr.KRAKEN_VERSION}").exists()
    fake = FakeInstall()
    monkeypatch.setattr(kr.subprocess, "run", fake)
    assert (kr.kraken_venv() / kr.MARKER).exists()


def test_an_unfinished_install_is_started_again(kr, monkeypatch):
    venv = kr.CACHE / f"kraken-{kr.KRAKEN_VERSION}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "ketos").write_text("")  # killed after pip, before the marker
    (venv / "stale").write_text("")
    with pytest.raises(kr.KrakenUnavailable, match="not installed"):
        kr.kraken_venv(install=False)
    fake = FakeInstall()
    monkeypatch.setattr(kr.subprocess, "run", fake)
    assert kr.kraken_venv() == venv
    assert len(fake.cmds) == 4 and not (venv / "stale").exists() and (venv / kr.MARKER).exists()


def test_a_missing_python_is_a_clear_error(kr):
    with pytest.raises(kr.KrakenUnavailable, match="installing kraken failed"):
        kr.kraken_venv(python="/nonexistent/python3")
    assert not (kr.CACHE / f"kraken-{kr.KRAKEN_VERSION}").exists()


def test_the_venv_named_by_the_environment_is_used_as_it_is(kr, monkeypatch, tmp_path):
    monkeypatch.setattr(kr.subprocess, "run", FakeInstall(fail=""))  # any command would fail
    mine = tmp_path / "kv"
    monkeypatch.setenv("HWR_KRAKEN_VENV", str(mine))
    with pytest.raises(kr.KrakenUnavailable, match="has no"):
        kr.kraken_venv()
    (mine / "bin").mkdir(parents=True)
    (mine / "bin" / "ketos").write_text("")
    assert kr.kraken_venv() == mine
    assert not kr.CACHE.exists()
