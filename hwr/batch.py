"""Folder transcription: resumable, atomic, parallel.

:func:`transcribe` reads every supported input under a folder (page images, ink files),
recognises it and writes the outputs mirrored under an output folder, one file per
format, with the same relative paths (``scans/a.jpg`` → ``OUT/scans/a.txt``,
``OUT/scans/a.page.xml``, ...).

Nothing is lost and nothing is done twice:

- every output is written atomically (temporary file + rename, :mod:`hwr.formats`), so
  an output file that exists is complete;
- after an input's outputs are written, one record is appended to ``OUT/report.jsonl``
  (flushed and fsynced). An input counts as finished when the report holds a ``done``
  record for it *and* all its outputs exist *and* it was read with the same model, decoder
  and decoder options (``"recognition"`` in the record); a run that is killed at any moment and
  started again redoes only the unfinished inputs (their outputs are simply replaced);
- at the end the report is rewritten (atomically) with exactly one record per input of
  the folder, in input order: ``status`` (``done`` or ``error``), ``error``, ``seconds``,
  ``lines``, ``mean_confidence``, ``outputs``. While a run is going on, or after a kill,
  a later record for an input supersedes an earlier one.

Inputs that cannot be read (zero bytes, truncated, not what their extension says, too
large, unsupported type) are recorded as errors with the reason, and the run goes on.

Workers are processes (``spawn``), each with its own recogniser and one torch thread;
``workers=1`` runs in this process. This module imports no torch at import time.

Memory stays bounded however many inputs there are: torch's shape-keyed kernel caches are
bounded (:func:`hwr.device.bound_onednn_cache`), and after each input the C heap's free
memory goes back to the system (``malloc_trim`` on glibc), so the pages' tensors of ever
new sizes do not fragment it further (``benchmarks/batch_memory.py``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwr.errors import HwrError, InputError, ModelError
from hwr.imaging import IMAGE_SUFFIXES  # also hwr.batch.IMAGE_SUFFIXES, as before

log = logging.getLogger(__name__)

INK_SUFFIXES = frozenset({".inkml", ".json", ".xml"})
# files that travel beside scans and are not inputs: ground truth and hwr's own outputs
SIDECAR_RE = re.compile(r"(\.gt\.txt|\.page\.xml|\.alto\.xml)$", re.IGNORECASE)
INK_FORMATS = ("txt", "json")  # ALTO and PAGE describe page images: ink gets text and JSON
REPORT = "report.jsonl"
_TMP_RE = re.compile(r"^\..+\.tmp$")  # hwr.formats' temporary files (".NAME.XXXX.tmp")


@dataclass
class Options:
    """How :func:`transcribe` runs. ``formats``: names from :data:`hwr.formats.FORMATS`."""

    formats: tuple[str, ...] = ("txt", "json")
    workers: int = 1
    recursive: bool = False
    overwrite: bool = False
    device: str = "cpu"
    ink_model: str | None = None
    image_model: str | None = None
    decoder: str | None = None
    threads: int = 1  # torch threads per worker
    #: more keyword arguments of hwr.pipeline.Recognizer (beam_width, lm, lm_weight, lexicon, ...)
    recognizer_options: dict = field(default_factory=dict)

    def recognition(self, kind: str | None) -> dict:
        """What decides the text of an input of ``kind`` ("ink" or "image"): its model, the
        decoder and the decoder options, as JSON values (kept in the report, so that a run
        with other settings redoes the inputs instead of skipping them)."""
        model = self.image_model if kind == "image" else self.ink_model
        opts = {k: (v if isinstance(v, (int, float, bool)) or v is None else str(v))
                for k, v in sorted(self.recognizer_options.items())}
        return {"model": None if model is None else str(model), "decoder": self.decoder, **opts}

    def __post_init__(self) -> None:
        from hwr.formats import FORMATS

        self.formats = tuple(dict.fromkeys(f.strip().lower() for f in self.formats if f.strip()))
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise ValueError(f"unknown output format(s) {', '.join(bad) or '(none)'}; choose from "
                             f"{', '.join(FORMATS)}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


@dataclass
class Job:
    """One input file: where it is, what it is, where its outputs go."""

    path: Path  # absolute
    rel: str  # relative to the input folder, POSIX separators (the report's key)
    kind: str | None  # "image", "ink", or None when unsupported
    outputs: dict[str, Path] = field(default_factory=dict)
    reason: str = ""  # why an unsupported file is not read

    def finished(self, record: dict | None, out_dir: Path, recognition: dict | None = None) -> bool:
        """Done by an earlier run: the report says so, with every format asked for now,
        and every output it lists is there (outputs are written atomically: one that
        exists is complete).  ``recognition`` (:meth:`Options.recognition`): an input read
        with another model, decoder or decoder option is not finished (records written
        before these were kept, without ``"recognition"``, are taken as they are)."""
        if record is None or record.get("status") != "done":
            return False
        if not set(self.outputs) <= set(record.get("formats") or ()):
            return False
        if recognition is not None and record.get("recognition", recognition) != recognition:
            return False
        outs = record.get("outputs") or []
        return bool(outs) and all((out_dir / o).is_file() for o in outs)


@dataclass
class Summary:
    total: int = 0
    done: int = 0  # recognised in this run
    skipped: int = 0  # finished by an earlier run
    failed: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    report: Path | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.cancelled


# ------------------------------------------------------------------------------ discovery


def find_inputs(folder: Path, out_dir: Path, formats: Iterable[str], recursive: bool = False) -> list[Job]:
    """Every file under ``folder`` (sorted; hidden files and folders, ``out_dir`` and ground
    truth sidecars left out) as a :class:`Job` with its output paths."""
    from hwr.formats import FORMATS
    from hwr.ink.io import xml_flavour

    folder, out_dir = folder.resolve(), out_dir.resolve()
    formats = tuple(formats)
    jobs: list[Job] = []
    for root, dirs, files in os.walk(folder):
        rootp = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and recursive
                         and (rootp / d).resolve() != out_dir and not (rootp / d).is_symlink())
        for name in sorted(files):
            p = rootp / name
            if name.startswith(".") or SIDECAR_RE.search(name) or not p.is_file():
                continue
            suffix = p.suffix.lower()
            rel = p.relative_to(folder).as_posix()
            if suffix in IMAGE_SUFFIXES:
                jobs.append(Job(p, rel, "image"))
            elif suffix in INK_SUFFIXES:
                # XML that is not ink (ground truth, metadata) is not an input; an unreadable
                # file is, and its reader reports it
                if suffix == ".xml" and os.access(p, os.R_OK) and xml_flavour(p) not in ("inkml", "iam-ondb"):
                    continue
                jobs.append(Job(p, rel, "ink"))
            else:
                jobs.append(Job(p, rel, None, reason=f"unsupported file type ({suffix or 'no extension'})"))
    # outputs: OUT/<relative folder>/<stem><suffix>; inputs of one folder that share a stem
    # (a.png and a.jpg) keep their full names (a.png.txt, a.jpg.txt) so nothing collides
    stems: dict[tuple[str, str], int] = {}
    for j in jobs:
        if j.kind:
            key = (str(Path(j.rel).parent), j.path.stem.lower())
            stems[key] = stems.get(key, 0) + 1
    for j in jobs:
        if not j.kind:
            continue
        relp = Path(j.rel)
        base = relp.stem if stems[(str(relp.parent), j.path.stem.lower())] == 1 else relp.name
        fmts = formats if j.kind == "image" else tuple(f for f in formats if f in INK_FORMATS)
        j.outputs = {f: out_dir / relp.parent / (base + FORMATS[f].suffix) for f in fmts}
    return jobs


# ------------------------------------------------------------------------------ the report


def read_report(path: Path) -> dict[str, dict]:
    """The last record per input of a report/journal; a torn or unreadable line (a kill
    in the middle of an append) is skipped."""
    records: dict[str, dict] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("input"), str):
                    records[rec["input"]] = rec
    except FileNotFoundError:
        pass
    return records


class _Journal:
    def __init__(self, path: Path):
        self.path = path
        self.f = open(path, "a", encoding="utf-8")
        if self.f.tell() > 0:  # a kill may have left half a line: start on a fresh one
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    self.f.write("\n")

    def append(self, rec: dict) -> None:
        try:
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.f.flush()
            os.fsync(self.f.fileno())
        except OSError as e:  # the run cannot go on without its record (a full disk, a lost folder)
            raise HwrError(f"{self.path}: cannot record progress ({e.strerror or e}); run the same command "
                           "again when it can be written: finished inputs are kept") from e

    def close(self) -> None:
        self.f.close()


def _write_report(path: Path, jobs: list[Job], records: dict[str, dict]) -> None:
    from hwr.formats._common import write_output

    lines = [json.dumps(records[j.rel], ensure_ascii=False) + "\n" for j in jobs if j.rel in records]
    write_output(path, "".join(lines).encode("utf-8"))


def _clean_temporaries(out_dir: Path) -> int:
    """Remove temporary files a killed run left in ``out_dir`` (never a finished output)."""
    n = 0
    for root, _dirs, files in os.walk(out_dir):
        for name in files:
            if _TMP_RE.match(name):
                try:
                    os.unlink(os.path.join(root, name))
                    n += 1
                except OSError:
                    pass
    return n


# ------------------------------------------------------------------------------ the work


class _Worker:
    """Recognisers (loaded on first use) and the processing of one job."""

    def __init__(self, options: Options):
        self.options = options
        self.recognizers: dict[str, Any] = {}

    def recognizer(self, kind: str):
        if kind not in self.recognizers:
            from hwr.pipeline import Recognizer

            model = self.options.image_model if kind == "image" else self.options.ink_model
            self.recognizers[kind] = Recognizer(model, device=self.options.device, decoder=self.options.decoder,
                                                kind=None if model else kind, **self.options.recognizer_options)
        return self.recognizers[kind]

    def pages(self, job: Job) -> list:
        """The recognised pages of one input (an ink file is one page without an image)."""
        from hwr.types import Page

        if job.kind == "image":
            from hwr.imaging.load import count_pages, load_color, load_page

            rec = self.recognizer("image")
            n = count_pages(job.path)
            if n == 1:
                return [rec.recognize_page(job.path)]
            pages = []
            for i in range(n):  # a multi-page TIFF: one page in memory at a time
                page = rec.recognize_page(load_page(job.path, i), name=str(job.path),
                                          color=load_color(job.path, i))
                page.image, page.number = str(job.path), i + 1
                pages.append(page)
            return pages
        from hwr.ink.io import load_ink

        ink = load_ink(job.path)
        res = self.recognizer("ink").recognize_ink(ink)
        x0, y0, x1, y1 = ink.bounds() if ink.num_points else (0, 0, 0, 0)
        return [Page(image=str(job.path), width=max(int(x1 - x0) + 1, 1), height=max(int(y1 - y0) + 1, 1),
                     lines=[res])]

    @staticmethod
    def write(pages: list, fmt: str, dest: Path) -> list[Path]:
        """Write ``pages`` (one input) as ``fmt`` at ``dest``; returns the files written.
        Several pages: text with a form-feed line between pages, one JSON object with
        ``"pages"`` (the count) and every line with its ``"page"``, one ALTO document with a Page each, one PAGE XML per page
        (``STEM.pN.page.xml``)."""
        import io

        from hwr.formats import FORMATS, page_dict
        from hwr.formats._common import write_output
        from hwr.pipeline import PAGE_BREAK

        if len(pages) == 1:
            FORMATS[fmt].write(pages[0], dest)
            return [dest]
        if fmt == "alto":
            FORMATS[fmt].write(pages, dest)
            return [dest]
        if fmt == "page":
            stem = dest.name[: -len(FORMATS[fmt].suffix)]
            outs = [dest.with_name(f"{stem}.p{p.number}{FORMATS[fmt].suffix}") for p in pages]
            for p, d in zip(pages, outs):
                FORMATS[fmt].write(p, d)
            return outs
        if fmt == "txt":
            texts = []
            for p in pages:
                buf = io.BytesIO()
                FORMATS["txt"].write(p, buf)
                texts.append(buf.getvalue().decode("utf-8").rstrip("\n"))
            write_output(dest, (PAGE_BREAK.join(texts) + "\n").encode("utf-8", errors="replace"))
            return [dest]
        lines = [ln | {"page": p.number} for p in pages for ln in page_dict(p)["lines"]]
        obj = {"input": pages[0].image, "text": PAGE_BREAK.join(page_dict(p)["text"] for p in pages),
               "pages": len(pages), "lines": lines}
        write_output(dest, (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        return [dest]

    def run(self, job: Job) -> dict:
        t0 = time.perf_counter()
        rec: dict[str, Any] = {"input": job.rel, "kind": job.kind}
        try:
            pages = self.pages(job)
            outputs: list[str] = []
            for fmt, dest in job.outputs.items():
                dest.parent.mkdir(parents=True, exist_ok=True)
                outputs += [str(p) for p in self.write(pages, fmt, dest)]
            lines = [ln for p in pages for ln in p.lines]
            confs = [ln.confidence for ln in lines if ln.text]
            rec.update(status="done", lines=len(lines), outputs=outputs,
                       mean_confidence=round(sum(confs) / len(confs), 4) if confs else None)
            if len(pages) > 1:
                rec["pages"] = len(pages)
        except HwrError as e:
            rec.update(status="error", error=str(e))
        except MemoryError:
            rec.update(status="error", error=f"{job.rel}: out of memory")
        except OSError as e:  # writing an output: disk full, permissions
            rec.update(status="error", error=f"{job.rel}: cannot write output: {e.strerror or e}")
        except Exception as e:  # a bug must not stop the run: record it
            log.exception("%s: unexpected error", job.rel)
            rec.update(status="error", error=f"{job.rel}: {type(e).__name__}: {e}")
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        _trim_heap()  # after every input, in this process or a worker
        return rec


@functools.cache
def _libc() -> Any:
    """glibc with ``malloc_trim`` typed, or None (not Linux, musl, no ``malloc_trim``)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):
        return None


def _trim_heap() -> bool:
    """Give the C heap's free memory back to the system (glibc's ``malloc_trim``; elsewhere
    nothing).  Between inputs: each page's tensors have new sizes, and without it the free
    pieces they leave keep the peak creeping up run after run.  Returns whether it ran."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


_WORKER: _Worker | None = None


def _init_worker(options: Options) -> None:
    global _WORKER
    import torch

    torch.set_num_threads(max(1, options.threads))
    _WORKER = _Worker(options)


def _run_in_worker(job: Job) -> dict:
    assert _WORKER is not None
    return _WORKER.run(job)


def transcribe(folder: str | os.PathLike, out_dir: str | os.PathLike, options: Options | None = None,
               progress: Callable[[dict, int, int], None] | None = None,
               stop: threading.Event | None = None, show_progress: bool = False) -> Summary:
    """Transcribe every supported input under ``folder`` into ``out_dir`` (see the module
    docstring). ``progress(record, finished, total)`` is called after each input (in this
    process); setting ``stop`` ends the run after the inputs in progress (a later run
    resumes). Raises :class:`~hwr.errors.InputError` for a bad folder pair."""
    options = options or Options()
    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    fr, orr = folder.resolve(), out_dir.resolve()
    if orr == fr:
        raise InputError(f"{out_dir}: the output folder must not be the input folder")
    if fr.is_relative_to(orr):
        raise InputError(f"{out_dir}: the output folder must not contain the input folder")
    _check_models(options)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_abs = out_dir.resolve()
    t_start = time.perf_counter()
    _clean_temporaries(out_dir)
    jobs = find_inputs(folder, out_dir, options.formats, options.recursive)
    report_path = out_dir / REPORT
    records = read_report(report_path)
    summary = Summary(total=len(jobs), report=report_path)
    todo: list[Job] = []
    for j in jobs:
        if j.kind is None:
            records[j.rel] = {"input": j.rel, "kind": None, "status": "error", "error": f"{j.rel}: {j.reason}",
                              "seconds": 0.0}
        elif not options.overwrite and j.finished(records.get(j.rel), out_abs, options.recognition(j.kind)):
            summary.skipped += 1
        else:
            todo.append(j)
    journal = _Journal(report_path)
    finished = summary.skipped

    def record(rec: dict) -> None:
        nonlocal finished
        job = by_rel[rec["input"]]
        if rec["status"] == "done":
            rec["formats"] = list(job.outputs)
            rec["recognition"] = options.recognition(job.kind)
            rec["outputs"] = [Path(p).relative_to(out_abs).as_posix() for p in rec["outputs"]]
            summary.done += 1
        records[rec["input"]] = rec
        journal.append(rec)
        finished += 1
        if bar is not None:
            bar.update(1)
        if progress is not None:
            progress(rec, finished, len(jobs))

    by_rel = {j.rel: j for j in jobs}
    bar = None
    if show_progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="input", file=sys.stderr, dynamic_ncols=True)
    try:
        for j in jobs:  # unsupported files go in the report at once
            if j.kind is None:
                journal.append(records[j.rel])
        if options.workers == 1 or len(todo) <= 1:
            _run_here(todo, options, record, stop)
        else:
            _run_pool(todo, options, record, stop)
    finally:
        if bar is not None:
            bar.close()
        journal.close()
        summary.cancelled = bool(stop is not None and stop.is_set() and finished < len(jobs))
        try:
            _write_report(report_path, jobs, records)
        except OSError as e:  # disk full: the journal (appended as the run went) still holds every record
            log.warning("%s: could not rewrite the report (%s); it keeps the records as they were appended",
                        report_path, e.strerror or e)
    for j in jobs:
        rec = records.get(j.rel)
        if rec is not None and rec.get("status") == "error":
            summary.failed += 1
            summary.errors.append((j.rel, rec.get("error", "")))
    summary.seconds = time.perf_counter() - t_start
    return summary


def _check_models(options: Options) -> None:
    """Raise ModelError for a model name or LM file that does not exist: a typo would otherwise
    be recorded as the error of every input, one by one.  Cheap: nothing is loaded."""
    from hwr.pipeline import resolve_model

    for kind, model in (("ink", options.ink_model), ("image", options.image_model)):
        if model:
            resolve_model(model, kind)
    lm = options.recognizer_options.get("lm")
    if lm is not None and str(lm).lower() != "none" and not Path(lm).is_file():
        raise ModelError(f"{lm}: cannot read language model (no such file)")


def _run_here(todo: list[Job], options: Options, record: Callable[[dict], None],
              stop: threading.Event | None) -> None:
    """The jobs in this process, with ``options.threads`` torch threads (as a worker process
    would have), the caller's thread count restored afterwards.  Without this one worker
    (``--workers 1``, or a single input) ran with torch's default of every core: on a
    machine with another busy process a line took seconds instead of milliseconds."""
    if not todo:
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, options.threads))
    try:
        worker = _Worker(options)
        for job in todo:
            if stop is not None and stop.is_set():
                return
            record(worker.run(job))
    finally:
        torch.set_num_threads(before)


def _run_pool(todo: list[Job], options: Options, record: Callable[[dict], None],
              stop: threading.Event | None) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    pending = list(reversed(todo))
    depth = 2 * options.workers  # a few queued jobs per worker keep them busy; no more

    def new_pool():
        return ProcessPoolExecutor(max_workers=options.workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(options,))

    pool = new_pool()
    running: dict[Any, Job] = {}
    strikes: dict[str, int] = {}  # jobs that were in a pool when it broke
    try:
        while pending or running:
            while pending and len(running) < depth and not (stop is not None and stop.is_set()):
                if strikes.get(pending[-1].rel) and running:
                    break  # a suspect of a crash runs alone, so a second crash names it
                job = pending.pop()
                running[pool.submit(_run_in_worker, job)] = job
                if strikes.get(job.rel):
                    break
            if not running:
                break
            done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            broken = []
            for fut in done:
                job = running.pop(fut)
                try:
                    record(fut.result())
                except BrokenProcessPool:
                    broken.append(job)
            if broken:
                # a worker died (killed, out of memory, a crash in native code): every job of
                # the pool fails with it; each is retried alone, and one that kills a worker
                # again is recorded as an error
                broken += list(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
                for job in broken:
                    strikes[job.rel] = strikes.get(job.rel, 0) + 1
                    if strikes[job.rel] >= 2 or len(broken) == 1:
                        record({"input": job.rel, "kind": job.kind, "status": "error", "seconds": 0.0,
                                "error": f"{job.rel}: the worker process died while reading it "
                                         "(out of memory, or a crash in a decoder)"})
                    else:
                        pending.append(job)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
