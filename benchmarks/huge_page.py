"""Peak memory and time of ``hwr segment`` and ``hwr recognize`` on a huge page.

Draws a SIZE x SIZE page (default 20,000 x 20,000 = 400 million pixels: light paper,
a few lines of dark text) as a PNG in a temporary folder (mostly paper, so the file is
small), runs each command on it in a child process and prints the child's peak resident
memory (``ru_maxrss`` from ``os.wait4``) and wall time; the same for a small page
(2,000 x 2,000) as the baseline (Python, OpenCV, torch and the model alone).

    python benchmarks/huge_page.py [--size 20000] [--tiff-pages 3] [--keep]

``--tiff-pages N`` also segments a TIFF holding the big page N times (LZW, written beside
the PNG), to show that one page is in memory at a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORDS = "that which we held to be the first duty of the house has been left to the hands of those".split()


def draw_page(size: int, n_lines: int = 8, seed: int = 0) -> np.ndarray:
    """``size`` x ``size`` uint8 page: paper grey 235, ``n_lines`` lines of script text about
    ``size / 60`` pixels high spread over the upper part of the page."""
    rng = np.random.default_rng(seed)
    page = np.full((size, size), 235, np.uint8)
    scale = size / 1000.0 * 1.5
    thick = max(2, int(scale * 1.5))
    gap = size // (n_lines + 4)
    for i in range(n_lines):
        y = gap * (i + 2)
        x = size // 12
        while True:
            w = WORDS[int(rng.integers(0, len(WORDS)))]
            (tw, _), _ = cv2.getTextSize(w, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, thick)
            if x + tw > size - size // 12:
                break
            cv2.putText(page, w, (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 40, thick, cv2.LINE_AA)
            x += tw + int(scale * 15)
    return page


def run(args: list[str]) -> tuple[float, float, int, str]:
    """(peak RSS in MiB, seconds, exit status, last stderr line) of ``hwr ARGS`` in a child process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", QT_QPA_PLATFORM="offscreen")
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", "from hwr.cli.main import main; main()", *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    err = p.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    dt = time.perf_counter() - t
    last = (err.strip().splitlines() or [""])[-1]
    return usage.ru_maxrss / 1024.0, dt, p.returncode, last  # ru_maxrss: KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--keep", action="store_true", help="Keep the generated PNGs (their folder is printed).")
    ap.add_argument("--tiff-pages", type=int, default=3, metavar="N",
                    help="Also segment a TIFF holding the big page N times (0: skip).")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hwr_huge_"))
    try:
        rows = []
        for size in (2000, a.size):
            path = tmp / f"page_{size}.png"
            t = time.perf_counter()
            img = draw_page(size)
            cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            del img
            print(f"{size} x {size}: {path.stat().st_size / 2**20:.1f} MiB PNG, drawn in "
                  f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
            for cmd in (["segment", str(path)],
                        ["recognize", "--format", "jsonl", "--decoder", "greedy", "--threads", "1", str(path)]):
                rss, dt, rc, last = run(cmd)
                rows.append((f"{size} x {size}", cmd[0], rss, dt, rc, last))
        if a.tiff_pages:  # the big page N times in one TIFF: one page in memory at a time
            img = cv2.imread(str(tmp / f"page_{a.size}.png"), cv2.IMREAD_GRAYSCALE)
            tif = tmp / "pages.tif"
            cv2.imwritemulti(str(tif), [img] * a.tiff_pages)
            del img
            rss, dt, rc, last = run(["segment", str(tif)])
            rows.append((f"{a.tiff_pages} x TIFF", "segment", rss, dt, rc, last))
        print(f"{'page':>15} {'command':>10} {'peak RSS MiB':>13} {'seconds':>8}  exit")
        for what, cmd, rss, dt, rc, last in rows:
            print(f"{what:>15} {cmd:>10} {rss:>13.0f} {dt:>8.1f}  {rc}" + (f"  ({last})" if rc else ""))
    finally:
        if a.keep:
            print(f"pages kept in {tmp}", file=sys.stderr)
        else:
            for p in tmp.iterdir():
                p.unlink()
            tmp.rmdir()


if __name__ == "__main__":
    main()
