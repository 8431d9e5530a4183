"""kraken, for the benchmarks that compare hwr with it, in a venv of its own.

kraken is never a dependency of hwr.  :func:`kraken_venv` gives the venv to run its ``ketos``
and ``kraken`` commands from: ``$HWR_KRAKEN_VENV`` when set (used as it is), else
``$HWR_BENCH_CACHE/kraken-VERSION``, which it makes on first use with ``python -m venv`` and
``pip install kraken==VERSION``, then checks that its torch and torchvision work together.
kraken's torchvision comes with the torch it was built for: from PyPI, a CUDA build (about
6 GB in all; it runs on a CPU too).  The CPU build of torch alone beside PyPI's torchvision
fails (``operator torchvision::nms does not exist``), which the check catches.  A venv is
used only once its install has finished (a marker file written last), so an install that was
killed or failed is started again from scratch next time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from _data import CACHE

KRAKEN_VERSION = "7.1.1"
#: run by the venv's python after the install: its torch and torchvision must work together
CHECK = "import torch, torchvision; torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)"
MARKER = ".hwr-kraken-installed"


class KrakenUnavailable(RuntimeError):
    """kraken could not be found or installed; the message says why and what to do."""


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def kraken_venv(install: bool = True, python: str = sys.executable) -> Path:
    """The venv holding kraken's commands (see the module's text).  Raises
    :class:`KrakenUnavailable` when ``$HWR_KRAKEN_VENV`` has no ``ketos``, when the cached venv
    is missing and ``install`` is false, or when the install fails (pip's last lines in the
    message; nothing half-installed is kept)."""
    given = os.environ.get("HWR_KRAKEN_VENV")
    if given:
        venv = Path(given)
        if not _bin(venv, "ketos").exists():
            raise KrakenUnavailable(f"$HWR_KRAKEN_VENV={given} has no {_bin(venv, 'ketos')}: point it at a venv "
                                    f"with kraken installed, or unset it to let the benchmark install kraken "
                                    f"{KRAKEN_VERSION} into {CACHE}")
        return venv
    venv = CACHE / f"kraken-{KRAKEN_VERSION}"
    if (venv / MARKER).exists() and _bin(venv, "ketos").exists():
        return venv
    if not install:
        raise KrakenUnavailable(f"kraken is not installed in {venv}")
    if venv.exists():  # an earlier install that did not finish
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"installing kraken {KRAKEN_VERSION} into its own venv {venv} (about 6 GB with its torch); "
          "this takes a few minutes, once ...", file=sys.stderr, flush=True)
    steps = [[python, "-m", "venv", str(venv)],
             [str(_bin(venv, "python")), "-m", "pip", "install", "-q", "--disable-pip-version-check",
              f"kraken=={KRAKEN_VERSION}"],
             [str(_bin(venv, "python")), "-c", CHECK],
             [str(_bin(venv, "ketos")), "--version"]]
    try:
        for cmd in steps:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-5:])
                raise KrakenUnavailable(f"installing kraken failed at `{' '.join(cmd)}` (exit status "
                                        f"{r.returncode}):\n{tail}")
    except KrakenUnavailable:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    except OSError as e:  # e.g. no such python
        shutil.rmtree(venv, ignore_errors=True)
        raise KrakenUnavailable(f"installing kraken failed: {e}") from e
    (venv / MARKER).write_text(f"kraken=={KRAKEN_VERSION}\n")
    return venv
