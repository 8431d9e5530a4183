"""``hwr models`` (the embedded and your own models, with their cards) and ``hwr doctor``
(what a bug report needs: versions, device, threads, model and LM checks).

Registered on the main group by ``cli.add_command``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import click


def _model_rows() -> list[dict]:
    from hwr.models.checkpoint import read_info
    from hwr.paths import user_models_dir
    from hwr.pipeline import MODELS_DIR

    rows = []
    for where, folder in (("embedded", MODELS_DIR), ("yours", user_models_dir())):
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.safetensors")):
            row: dict = {"name": p.stem, "where": where, "path": str(p), "size_mb": round(p.stat().st_size / 1e6, 2)}
            try:
                info = read_info(p)
                tr = info.training or {}
                row.update(kind=info.kind, arch=info.arch, characters=len(info.alphabet),
                           val_cer=tr.get("best_val_cer"), base=os.path.basename(str(tr["base"])) if tr.get("base") else None)
            except Exception as e:  # a damaged file is listed with its problem
                row["error"] = str(e)
            card = p.with_suffix(".md")
            row["card"] = str(card) if card.exists() else None
            rows.append(row)
    return rows


@click.command("models")
@click.option("--card", "card", metavar="NAME", help="Print the model card of this model.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def models(card: str | None, as_json: bool) -> None:
    """List the embedded models and your own (in the user models folder; `hwr recognize
    --model NAME` finds them by name), or print one model's card."""
    from hwr.paths import user_models_dir

    rows = _model_rows()
    if card:
        row = next((r for r in rows if r["name"] == card), None)
        if row is None:
            raise click.ClickException(f"no model named {card!r} (`hwr models` lists them)")
        if not row.get("card"):
            raise click.ClickException(f"{row['path']}: has no model card ({Path(row['path']).with_suffix('.md').name})")
        click.echo(Path(row["card"]).read_text(encoding="utf-8"))
        return
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    click.echo(f"{'name':<22} {'where':<9} {'kind':<6} {'arch':<10} {'chars':>5} {'val CER':>8} {'MB':>6}  card")
    for r in rows:
        if "error" in r:
            click.echo(f"{r['name']:<22} {r['where']:<9} damaged: {r['error']}")
            continue
        cer = f"{100 * r['val_cer']:.2f}%" if isinstance(r.get("val_cer"), (int, float)) else "-"
        click.echo(f"{r['name']:<22} {r['where']:<9} {r['kind']:<6} {r['arch']:<10} {r['characters']:>5} {cer:>8} "
                   f"{r['size_mb']:>6.1f}  {'yes' if r['card'] else '-'}")
    click.echo(f"(your models folder: {user_models_dir()}; `hwr models --card NAME` prints a card)", err=True)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _check(name: str, fn, results: list[dict]) -> None:
    t0 = time.perf_counter()
    try:
        detail = fn()
        results.append({"check": name, "ok": True, "detail": detail, "seconds": round(time.perf_counter() - t0, 3)})
    except Exception as e:
        results.append({"check": name, "ok": False, "detail": f"{type(e).__name__}: {e}",
                        "seconds": round(time.perf_counter() - t0, 3)})


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def doctor(as_json: bool) -> None:
    """Print what a bug report needs: versions, device, threads, and checks that the
    embedded models and language model load and run."""
    import numpy as np

    from hwr import __version__
    from hwr.paths import data_dir

    report: dict = {
        "hwr": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
        "cpu_count": os.cpu_count(), "data_dir": str(data_dir()),
        "packages": {d: _version(d) for d in ("torch", "opencv-python-headless", "opencv-python", "h5py", "numpy",
                                              "PySide6-Essentials", "PySide6", "safetensors", "rapidfuzz",
                                              "defusedxml", "flashlight-text", "click", "tqdm")},
    }
    report["packages"] = {k: v for k, v in report["packages"].items() if v}
    checks: list[dict] = []

    def torch_info():
        import torch

        cuda = torch.cuda.is_available()
        # hwr recognize / transcribe / evaluate set 1 thread unless --threads says otherwise (on a busy
        # machine torch's default, one per core, made a line hundreds of times slower); hwr train and
        # library users keep torch's default unless they set it
        return {"torch_default_threads": torch.get_num_threads(), "commands_threads": 1,
                "interop_threads": torch.get_num_interop_threads(),
                "cuda": cuda, "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                if cuda else [], "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}

    def opencv_info():
        import cv2

        return {"version": cv2.__version__, "threads": cv2.getNumThreads()}

    def model_check(kind: str):
        def run():
            from hwr.pipeline import Recognizer

            rec = Recognizer(kind=kind)
            if kind == "ink":
                from hwr.types import Ink, Stroke

                t = np.linspace(0, 6.28, 60)
                res = rec.recognize_ink(Ink([Stroke(x=np.cos(t) * 20 + 20, y=np.sin(t) * 20 + 20, t=t)]))
            else:
                img = np.full((48, 200), 255, np.uint8)
                img[20:28, 20:180] = 0
                res = rec.recognize_line_image(img)
            return {"model": str(rec.model_path.name), "decoder": rec.decoder.describe(), "output": res.text}
        return run

    def qt_check():
        # hwr stays headless: the app's toolkit is looked up, never imported
        import importlib.util

        v = _version("PySide6-Essentials") or _version("PySide6")
        if v is None or importlib.util.find_spec("PySide6") is None:
            raise ModuleNotFoundError("PySide6 is not installed (pip install 'hwr[gui]')")
        return {"PySide6": v, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM")}

    _check("torch", torch_info, checks)
    _check("opencv", opencv_info, checks)
    _check("ink model", model_check("ink"), checks)
    _check("image model", model_check("image"), checks)
    _check("desktop app (PySide6)", qt_check, checks)
    report["checks"] = checks
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        click.echo(f"hwr {report['hwr']}  Python {report['python']}  {report['platform']}  "
                   f"{report['cpu_count']} CPUs")
        click.echo("packages: " + ", ".join(f"{k} {v}" for k, v in report["packages"].items()))
        click.echo(f"user data: {report['data_dir']}")
        for c in checks:
            detail = c["detail"] if isinstance(c["detail"], str) else json.dumps(c["detail"], ensure_ascii=False)
            click.echo(f"[{'ok' if c['ok'] else 'FAIL'}] {c['check']} ({c['seconds']:.2f} s): {detail}")
    failed = [c for c in checks if not c["ok"] and c["check"] != "desktop app (PySide6)"]
    if failed:
        sys.exit(1)
