#!/usr/bin/env python3
"""Drive the desktop app with real X11 input under Xvfb, print what it read, take screenshots.

    python tools/gui_demo.py OUT_DIR [--line a01-000u-01] [--shared ../shared/data]

What it does, on a virtual X server of its own (``Xvfb``), with ``xdotool`` as the
user's hand (real X11 pointer and key events, not Qt test events):

1. starts ``hwr-gui`` (this checkout's ``gui/``, with private settings and data
   folders), finds the canvas on the screen (by its paper colour) and writes one
   line of IAM-OnDB handwriting on it with the mouse, scaled to the canvas
   (``--line``, read from the archive in ``../shared/data``; nothing is copied);
2. waits for the text, presses Ctrl+Shift+C, reads the clipboard with ``xclip``
   and prints the transcription and the text read;
3. for the screenshots (only ink and pages the project owns): clears the canvas
   (Ctrl+N), writes ``data/line1.inkml`` with the mouse, hovers a word of the
   result (its strokes light up) -> ``write.png``; clicks the last word ->
   ``alternatives.png`` (its menu of alternatives); starts the app on ``data/page.jpg`` -> ``page.png``.

Screenshots are taken with ``xwd`` (read here, saved as PNG with OpenCV).  Needs the
Debian packages xvfb, xdotool, xclip and x11-apps.  Exit status 0 when the text
was read and copied.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCREEN = (1100, 720)
PAPER = (255, 255, 252)  # the canvas's paper colour (gui/canvas.py PAPER_COLOR)
BASELINE = 220  # the canvas's baseline guide, pixels from its top (gui/canvas.py BASELINE)
# start hwr_gui from this checkout's gui/ folder (as tests/conftest.py does), not an installed copy
BOOT = ("import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('hwr_gui', {str(REPO / 'gui' / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(REPO / 'gui')!r}]); "
        "m = importlib.util.module_from_spec(spec); sys.modules['hwr_gui'] = m; spec.loader.exec_module(m); "
        f"sys.path.insert(0, {str(REPO)!r}); sys.exit(m.main(sys.argv[1:]))")


def log(msg: str) -> None:
    print(f"[gui_demo {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- X11 helpers


class X:
    def __init__(self, display: str, env: dict):
        self.display, self.env = display, env

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        r = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])}...: {r.stderr.strip()}")
        return r.stdout

    def xdo(self, *args: str) -> str:
        return self.run("xdotool", *args)

    def screenshot(self) -> np.ndarray:
        """The whole screen as a BGR array (from ``xwd -root``)."""
        with tempfile.NamedTemporaryFile(suffix=".xwd") as f:
            self.run("xwd", "-root", "-silent", "-out", f.name)
            return read_xwd(Path(f.name).read_bytes())

    def clipboard(self) -> str:
        return self.run("xclip", "-o", "-selection", "clipboard", check=False, timeout=5)

    def clear_clipboard(self) -> None:
        """Own the clipboard with an empty text (xclip serves it until the app copies)."""
        subprocess.run(["xclip", "-selection", "clipboard", "-i"], input="", env=self.env, text=True, timeout=5)


def read_xwd(data: bytes) -> np.ndarray:
    """A 24/32-bit ZPixmap XWD file (what ``xwd`` writes for a TrueColor screen) as BGR."""
    h = np.frombuffer(data[:100], dtype=">u4")
    header_size, fmt, depth, width, height = (int(v) for v in h[[0, 2, 3, 4, 5]])
    byte_order, bpp, bpl, ncolors = int(h[7]), int(h[11]), int(h[12]), int(h[19])
    if fmt != 2 or bpp != 32 or depth < 24:
        raise ValueError(f"unsupported XWD (format {fmt}, depth {depth}, {bpp} bits per pixel)")
    start = header_size + 12 * ncolors
    px = np.frombuffer(data[start:start + height * bpl], dtype=np.uint8).reshape(height, bpl)[:, : 4 * width]
    px = px.reshape(height, width, 4)
    return np.ascontiguousarray(px[:, :, :3] if byte_order == 0 else px[:, :, 3:0:-1])


def find_canvas(img: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the canvas: the rows and columns mostly of its paper colour (no other
    widget has it)."""
    mask = np.all(img == np.array(PAPER[::-1], dtype=np.uint8), axis=2)
    rows = np.flatnonzero(mask.sum(axis=1) > 0.5 * img.shape[1])
    cols = np.flatnonzero(mask.sum(axis=0) > 0.3 * len(rows)) if len(rows) else []
    if not len(rows) or not len(cols):
        raise RuntimeError("no canvas on the screen")
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def save_png(img: np.ndarray, path: Path, limit: int = 150_000) -> None:
    """Save as PNG, scaled down until it is at most ``limit`` bytes."""
    import cv2

    scale = 1.0
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if len(buf) > limit:
        img = img & np.uint8(0xF8)  # 32 levels a channel: photographs compress far better, UI unchanged to the eye
    while True:
        small = img if scale == 1.0 else cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise RuntimeError("PNG encoding failed")
        if len(buf) <= limit or scale < 0.3:
            break
        scale *= 0.85
    path.write_bytes(buf.tobytes())
    log(f"wrote {path} ({small.shape[1]}x{small.shape[0]}, {len(buf) // 1024} KB)")


# ---------------------------------------------------------------- ink


def iam_line(shared: Path, line_id: str):
    """One IAM-OnDB line (``a01-000u-01``) read from the archive in ``shared`` (into a temporary folder)."""
    from hwr.data.importers import iter_iam_ondb

    m = re.fullmatch(r"([a-z]\d\d-\d\d\d[a-z]?)-(\d\d)", line_id)
    if not m:
        raise SystemExit(f"bad IAM-OnDB line id {line_id!r} (like a01-000u-01)")
    form = m.group(1)
    archive = shared / "iam-ondb" / "iam-ondb-train-val.tar.xz"
    if not archive.exists():
        raise SystemExit(f"IAM-OnDB not found at {archive} (--shared)")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tf:  # one pass: only this form's transcription and strokes
            for member in tf:
                name = Path(member.name).name
                if member.isfile() and (name == f"{form}.txt" or name.startswith(form + "-")):
                    tf.extract(member, tmp, filter="data")
        root = Path(tmp)
        if not (root / "ascii").exists():
            raise SystemExit(f"form {form} is not in {archive}")
        for name, ink in iter_iam_ondb(root, [form]):
            if name == line_id:
                return ink
    raise SystemExit(f"line {line_id} is not in {archive}")


def writing_box(app: "App", canvas: tuple[int, int, int, int], height: int) -> tuple[int, int, int, int]:
    """Screen box for a line of ``height`` pixels whose lower part sits on the canvas's baseline guide."""
    cx, cy, cw, ch = canvas
    gx, gy, _w, _h = app.geometry()
    base = min(BASELINE, ch - 40)
    return gx + cx + 30, gy + cy + max(base - int(0.75 * height), 5), cw - 60, height


def mouse_path(ink, box: tuple[int, int, int, int], step: float = 3.0) -> list[np.ndarray]:
    """The strokes of ``ink`` as integer screen points, fitted into ``box`` (x, y, w, h), about
    ``step`` pixels apart."""
    x0, y0, x1, y1 = ink.bounds()
    bx, by, bw, bh = box
    s = min(bw / max(x1 - x0, 1e-9), bh / max(y1 - y0, 1e-9))
    ox, oy = bx + (bw - s * (x1 - x0)) / 2, by + (bh - s * (y1 - y0)) / 2
    out = []
    for st in ink.strokes:
        p = np.column_stack([ox + s * (st.x - x0), oy + s * (st.y - y0)])
        keep = [0]
        for i in range(1, len(p)):
            if np.hypot(*(p[i] - p[keep[-1]])) >= step:
                keep.append(i)
        if keep[-1] != len(p) - 1:
            keep.append(len(p) - 1)
        out.append(np.round(p[keep]).astype(int))
    return out


def write_ink(x: X, strokes: list[np.ndarray], pause: float = 0.004) -> None:
    """Press, move, release along each stroke with real X pointer events."""
    for pts in strokes:
        args = ["mousemove", str(pts[0][0]), str(pts[0][1]), "mousedown", "1"]
        for px, py in pts[1:]:
            args += ["sleep", str(pause), "mousemove", str(px), str(py)]
        args += ["sleep", str(pause), "mouseup", "1"]
        x.xdo(*args)


# ---------------------------------------------------------------- the run


class App:
    def __init__(self, x: X, args: list[str], home: Path):
        env = dict(x.env, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(home / "config"),
                   XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"), OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [x.env.get("PYTHONPATH")] if p]))
        self.log = open(home / f"app-{time.time_ns()}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-c", BOOT, *args], env=env, stdout=self.log, stderr=self.log)
        self.x = x
        deadline = time.time() + 60
        self.wid = ""
        while time.time() < deadline and not self.wid:
            if self.proc.poll() is not None:
                self.log.flush()
                said = Path(self.log.name).read_text(errors="replace").strip()[-2000:]
                raise RuntimeError(f"hwr-gui exited with {self.proc.returncode}:\n{said}")
            self.wid = x.run("xdotool", "search", "--onlyvisible", "--name", "hwr", check=False).split("\n")[0]
            time.sleep(0.3)
        if not self.wid:
            raise RuntimeError("the hwr-gui window did not appear")
        x.xdo("windowmove", self.wid, "0", "0")
        x.xdo("windowsize", self.wid, str(SCREEN[0]), str(SCREEN[1]))
        time.sleep(1.0)
        x.xdo("windowfocus", "--sync", self.wid)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float = 90, quiet: float = 0.05) -> None:
        """Until the app uses under ``quiet`` CPU seconds per half second (the model has loaded):
        pointer moves that arrive while its UI thread waits for the GIL can be lost."""
        deadline = time.time() + timeout
        last = self.cpu_seconds()
        while time.time() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < quiet:
                return
            last = now

    def keys(self, *keys: str) -> None:
        self.x.xdo("windowfocus", "--sync", self.wid)
        self.x.xdo("key", "--clearmodifiers", *keys)

    def geometry(self) -> tuple[int, int, int, int]:
        out = self.x.xdo("getwindowgeometry", "--shell", self.wid)
        g = dict(line.split("=", 1) for line in out.split())
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    def shot(self) -> np.ndarray:
        gx, gy, gw, gh = self.geometry()
        return self.x.screenshot()[gy:gy + gh, gx:gx + gw]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wait_for_text(app: App, timeout: float = 90) -> str:
    """Ctrl+Shift+C until the clipboard holds the text (the copy is disabled until there is one)."""
    deadline = time.time() + timeout
    app.x.clear_clipboard()
    while time.time() < deadline:
        app.keys("ctrl+shift+c")
        time.sleep(0.3)
        text = app.x.clipboard().strip()
        if text:
            return text
        time.sleep(0.7)
    raise RuntimeError("no text was recognised in time")


def free_display() -> str:
    for n in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    raise RuntimeError("no free X display number")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for the screenshots (PNG)")
    ap.add_argument("--line", default="a01-000u-01", help="IAM-OnDB line to write (default: %(default)s)")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                    help="the folder holding iam-ondb/ (default: %(default)s)")
    ap.add_argument("--debug-shot", type=Path,
                    help="also save a screenshot of the IAM-OnDB line read (not for the repository)")
    ap.add_argument("--no-screenshots", action="store_true", help="only write the IAM line and print the text")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))  # this checkout's hwr
    for tool in ("Xvfb", "xdotool", "xclip", "xwd"):
        if not shutil.which(tool):
            print(f"gui_demo: {tool} is missing (apt-get install xvfb xdotool xclip x11-apps)", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    ink = iam_line(args.shared, args.line)
    display = free_display()
    home = Path(tempfile.mkdtemp(prefix="hwr-gui-demo-"))
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    x = X(display, dict(os.environ, DISPLAY=display))
    apps: list[App] = []
    try:
        for _ in range(100):  # the server's socket appears when it is ready
            if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
                break
            time.sleep(0.1)
        time.sleep(0.3)
        log(f"Xvfb on {display}; starting hwr-gui")
        app = App(x, [], home)
        apps.append(app)
        app.wait_idle()  # the model loads meanwhile
        canvas = find_canvas(app.shot())
        cx, cy, cw, ch = canvas
        gx, gy, _w, _h = app.geometry()
        log(f"canvas at {canvas} (window at {gx},{gy})")
        strokes = mouse_path(ink, writing_box(app, canvas, 160))
        t0 = time.time()
        write_ink(x, strokes)
        log(f"wrote {args.line} with the mouse: {len(strokes)} strokes, "
            f"{sum(len(s) for s in strokes)} points in {time.time() - t0:.1f} s")
        text = wait_for_text(app)
        if args.debug_shot:  # IAM-OnDB ink: for checking the run, never for the repository
            save_png(app.shot(), args.debug_shot)
        print(f"line:       {args.line}")
        print(f"written:    {ink.text}")
        print(f"clipboard:  {text}")
        if not args.no_screenshots:
            screenshots(app, x, canvas, args.out)
            app.close()
            apps.remove(app)
            page = REPO / "data" / "page.jpg"
            if page.exists():
                papp = App(x, [str(page)], home)
                apps.append(papp)
                deadline = time.time() + 120
                shot = papp.shot()
                while time.time() < deadline:  # read when the status bar says so; poll the title
                    title = x.xdo("getwindowname", papp.wid).strip()
                    if title.startswith("page.jpg"):
                        break
                    time.sleep(1.0)
                time.sleep(1.0)
                shot = papp.shot()
                save_png(shot, args.out / "page.png")
        return 0
    finally:
        for a in apps:
            a.close()
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def screenshots(app: App, x: X, canvas: tuple[int, int, int, int], out: Path) -> None:
    from hwr.ink.io import load_ink

    cx, cy, cw, ch = canvas
    gx, gy, _w, _h = app.geometry()
    app.keys("ctrl+n")
    time.sleep(0.5)
    own = load_ink(REPO / "data" / "line1.inkml")
    write_ink(x, mouse_path(own, writing_box(app, canvas, 110)))
    text = wait_for_text(app)
    log(f"data/line1.inkml read as: {text}")
    # the result's words sit just under the canvas, from its left edge: hover the fifth, click the last
    img = app.shot()
    below = img[cy + ch + 5: cy + ch + 90, cx: cx + cw // 2]
    dark = np.argwhere(below.min(axis=2) < 150)  # black and orange (unsure) words
    if len(dark):
        ty = int(np.median(dark[:, 0])) + cy + ch + 5
        cols = np.unique(dark[:, 1])
        gaps = np.flatnonzero(np.diff(cols) > 8)  # blank columns between words
        words = np.split(cols, gaps + 1)
        hover, click = words[min(4, len(words) - 1)], words[-1]
        x.xdo("mousemove", str(gx + cx + int(hover.mean())), str(gy + ty))
        time.sleep(0.8)
        save_png(app.shot(), out / "write.png")
        x.xdo("mousemove", str(gx + cx + int(click.mean())), str(gy + ty), "click", "1")
        time.sleep(0.8)
        save_png(x.screenshot()[gy:gy + SCREEN[1], gx:gx + SCREEN[0]], out / "alternatives.png")
        x.xdo("key", "Escape")
    else:
        log("no result text found under the canvas: no write/alternatives screenshots")
        save_png(app.shot(), out / "write.png")


if __name__ == "__main__":
    sys.exit(main())
