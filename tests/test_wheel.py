"""The wheel, built from this checkout and installed into a fresh virtual environment,
recognises the sample page and ink file from a folder outside the checkout, with its own
files (code, embedded models, LM, schemas).

Offline: the wheel is built without build isolation (this environment's setuptools) and
installed with ``--no-deps --no-index``.  The dependencies (torch, OpenCV, ...) are not
installed again: a ``.pth`` file in the new environment's site-packages appends THIS
environment's site-packages to its path (after its own, so the wheel's ``hwr`` wins; the
``.pth`` files found there, such as an editable install's finder, are not run).
packaging/check_wheel.sh is the full online check (dependencies from the package index).

Deselect with ``-m "not wheel"`` (about 20-40 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("hwr", "gui", "setup.py", "pyproject.toml", "README.md", "LICENSE")
PHRASE = "thank you for the seeds"

pytestmark = pytest.mark.wheel


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _venv_script(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / (name + (".exe" if os.name == "nt" else ""))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built from a copy of its sources (no build/ or egg-info
    left in the checkout)."""
    from importlib.metadata import version

    have = version("setuptools")
    if int(have.split(".")[0]) < 77:  # the build backend pyproject.toml names (build-system.requires)
        pytest.fail(f"setuptools {have} here; building the wheel offline needs setuptools >= 77 "
                    "(the extra 'test' installs it)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp / "dist")], check=True, cwd=tmp)
    (whl,) = (tmp / "dist").glob("hwr-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    need = {f"hwr/models_data/{n}" for n in (
        "ink_default.safetensors", "ink_default.json", "ink_default.decoder.json", "ink_default.md",
        "image_default.safetensors", "image_default.json", "image_default.decoder.json", "image_default.md",
        "lm_en.arpa.gz", "lm_en.md")}
    need |= {f"hwr/formats/schemas/{n}" for n in ("alto-4-4.xsd", "pagecontent-2019-07-15.xsd", "xlink.xsd",
                                                  "README.md")}
    need |= {"hwr/segmentation/line_verifier.json"}
    need |= {"hwr_gui/app.py", "hwr_gui/icons/hwr.svg", "hwr_gui/icons/hwr-256.png", "hwr_gui/icons/hwr-48.png"}
    assert need <= names, sorted(need - names)
    assert not [n for n in names if n.startswith(("tests/", "gui/", "data/", "benchmarks/", "packaging/"))]
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry).decode()
    assert "hwr = hwr.cli.main:main" in scripts and "hwr-gui = hwr_gui.app:main" in scripts


def test_wheel_in_fresh_venv_recognises_samples(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = _venv_python(venv)
    # no PYTHONPATH (a checkout on it would make pip think hwr is installed already, and the
    # commands below import hwr from it)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    # install with this environment's pip into the new one (pip >= 22.3: --python)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, env=env)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_hwr_test_deps.pth").write_text("".join(p + "\n" for p in deps), encoding="utf-8")

    work = tmp_path / "work"  # outside the checkout; no PYTHONPATH: only the venv's own hwr is importable
    work.mkdir()
    for name in ("page.jpg", "line1.inkml"):
        shutil.copy2(REPO / "data" / name, work / name)
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")

    res = subprocess.run(
        [str(py), "-c", "import hwr, hwr_gui, hwr.pipeline as p, hwr.formats as f; "
                        "print(hwr.__file__); print(hwr_gui.__file__); print(p.MODELS_DIR); print(f.schema_path('page'))"],
        capture_output=True, text=True, cwd=work, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    where = res.stdout.split("\n")[:4]
    for path in where:
        assert Path(path).resolve().is_relative_to(venv.resolve()), where
        assert not Path(path).resolve().is_relative_to(REPO), where

    res = subprocess.run([str(_venv_script(venv, "hwr")), "recognize", "--format", "jsonl", "page.jpg", "line1.inkml"],
                         capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["input"] for o in objs] == ["page.jpg", "line1.inkml"]
    for o in objs:
        assert "error" not in o and PHRASE in o["text"], o
    assert len(objs[0]["lines"]) >= 5  # the page is segmented into lines (9 written, 7 found today)

    # the packaged schemas (hwr.formats.validate) accept the installed writers' output
    for fmt in ("page", "alto"):
        res = subprocess.run([str(_venv_script(venv, "hwr")), "segment", "--format", fmt, "page.jpg"],
                             capture_output=True, text=True, cwd=work, env=env, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        check = subprocess.run([str(py), "-c", f"import sys, hwr.formats as f; e = f.validate('page.{fmt}.xml'); "
                                               "print(e); sys.exit(1 if e else 0)"],
                               capture_output=True, text=True, cwd=work, env=env)
        assert check.returncode == 0, check.stdout + check.stderr
