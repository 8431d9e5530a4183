"""Sizes and cold-start times of hwr as a wheel, from source and as the desktop bundle.

    python benchmarks/startup.py [--bundle DIR] [--runs N] [--no-wheel]

Prints:
- the wheel's size (built from this checkout, offline, into a temporary folder);
- the bundle's size on disk and as .tar.gz (``--bundle``: the folder made by
  packaging/build_bundle.sh that holds ``hwr`` and ``hwr-gui``);
- the wall time of ``hwr recognize data/page.jpg data/line1.inkml`` in a fresh process:
  from source (this Python, the checkout on PYTHONPATH), from the wheel installed in a fresh
  virtual environment (offline: its dependencies are this environment's, through a .pth
  file, as in tests/test_wheel.py) and from the bundle;
- the time from process start to the GUI's first painted window (offscreen,
  ``hwr-gui --quit-after-first-window``), from source and from the bundle.

"Cold" here means a fresh process each run, NOT a cold disk: this script cannot drop the
OS file cache (that needs root and a real machine), so the first run may find the files
cached already (right after a build they are) and the later runs surely do.  Run 1 and the
median of the runs are both printed.  Every run uses a private HOME (no settings, caches).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = ("page.jpg", "line1.inkml")
PHRASE = "thank you for the seeds"
SOURCES = ("hwr", "gui", "setup.py", "pyproject.toml", "README.md", "LICENSE")
# hwr_gui from this checkout's gui/ (an editable install may point elsewhere; see tests/conftest.py)
GUI_FROM_SOURCE = (
    "import importlib.util, sys; from pathlib import Path; "
    "gui = Path(sys.argv[1]) / 'gui' / '__init__.py'; "
    "spec = importlib.util.spec_from_file_location('hwr_gui', gui, submodule_search_locations=[str(gui.parent)]); "
    "m = importlib.util.module_from_spec(spec); sys.modules['hwr_gui'] = m; spec.loader.exec_module(m); "
    "from hwr_gui.app import main; sys.exit(main(['--quit-after-first-window']))"
)


def mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 10e6 else f"{n / 1e6:.1f} MB"


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    for name in SOURCES:
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(p, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp / "dist")], check=True, cwd=tmp)
    return next((tmp / "dist").glob("hwr-*.whl"))


def wheel_venv(wheel: Path, venv: Path, env: dict) -> Path:
    """A fresh venv with the wheel; its dependencies come from this environment (a .pth file)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, env=env)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "zz_hwr_deps.pth").write_text("".join(p + "\n" for p in deps), encoding="utf-8")
    return venv / "bin" / "hwr"


def timed(cmd: list[str], cwd: Path, env: dict, expect: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0 or expect not in res.stdout:
            raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-1500:]}\n{res.stderr[-1500:]}")
    return times


def gui_first_window(cmd: list[str], cwd: Path, env: dict, runs: int) -> list[float]:
    """Seconds from starting the process to the line "first window shown" on its stdout."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if "first window" in line:
                break
        t = time.perf_counter() - t0
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0 or "first window shown" not in line:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {line}\n{err[-1500:]}")
        times.append(t)
    return times


def show(label: str, times: list[float]) -> None:
    print(f"  {label:<46} run 1: {times[0]:5.2f} s   median of {len(times)}: {statistics.median(times):5.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, help="bundle folder (holds hwr and hwr-gui)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-wheel", action="store_true", help="skip the wheel (size and venv timings)")
    ap.add_argument("--no-tar", action="store_true", help="skip packing the bundle into a .tar.gz to measure it")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="hwr-startup-") as tmp_:
        tmp = Path(tmp_)
        work = tmp / "work"
        work.mkdir()
        for name in SAMPLES:
            shutil.copy2(REPO / "data" / name, work / name)
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        clean.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"), XDG_DATA_HOME=str(tmp / "data"),
                     XDG_CONFIG_HOME=str(tmp / "config"), QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
        source_env = dict(clean, PYTHONPATH=str(REPO))
        recognize = ["recognize", *SAMPLES]

        print("sizes")
        wheel = None
        if not args.no_wheel:
            wheel = build_wheel(tmp / "wheel")
            print(f"  wheel {wheel.name}: {mb(wheel.stat().st_size)}")
        if args.bundle:
            raw, n = folder_size(args.bundle)
            if args.no_tar:
                print(f"  bundle {args.bundle}: {mb(raw)} in {n} files")
        if args.bundle and not args.no_tar:
            archive = tmp / "bundle.tar.gz"
            t0 = time.perf_counter()
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(args.bundle, arcname=args.bundle.name)
            print(f"  bundle {args.bundle}: {mb(raw)} in {n} files; tar.gz {mb(archive.stat().st_size)} "
                  f"({time.perf_counter() - t0:.0f} s to pack)")
            archive.unlink()

        print(f"cold start (a fresh process each run; the OS file cache is NOT dropped: warm after run 1), "
              f"hwr recognize {' '.join(SAMPLES)}")
        show("from source (python -m hwr.cli.main)",
             timed([sys.executable, "-m", "hwr.cli.main", *recognize], work, source_env, PHRASE, args.runs))
        if wheel is not None:
            hwr = wheel_venv(wheel, tmp / "venv", clean)
            show("wheel in a fresh venv (bin/hwr)", timed([str(hwr), *recognize], work, clean, PHRASE, args.runs))
        if args.bundle:
            show("bundle (hwr)", timed([str(args.bundle / "hwr"), *recognize], work, clean, PHRASE, args.runs))

        print("GUI: process start to first painted window (offscreen)")
        show("from source", gui_first_window([sys.executable, "-c", GUI_FROM_SOURCE, str(REPO)], work, source_env,
                                             args.runs))
        if args.bundle:
            show("bundle (hwr-gui)", gui_first_window([str(args.bundle / "hwr-gui"), "--quit-after-first-window"],
                                                      work, clean, args.runs))


if __name__ == "__main__":
    main()
