"""Folder transcription (hwr.batch, `hwr transcribe`): every input accounted for, outputs
complete and valid, nothing lost or written twice across kills and resumes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from synth import synth_ink, synth_page
from hwr.batch import REPORT, Options, find_inputs, read_report, transcribe
from hwr.cli.main import cli
from hwr.formats.validate import load_schema
from hwr.ink.io import write_inkml, write_json

FORMATS = ("txt", "json", "alto", "page")


def _page(seed: int, n_lines: int = 3) -> np.ndarray:
    return synth_page(seed, n_lines)


@pytest.fixture
def folder(tmp_path):
    """Good pages and ink, bad files, nested folders, non-ASCII names, ground-truth sidecars."""
    d = tmp_path / "in"
    (d / "sub" / "deeper").mkdir(parents=True)
    cv2.imwrite(str(d / "page1.png"), _page(1))
    cv2.imwrite(str(d / "sub" / "page2.jpg"), _page(2))
    cv2.imwrite(str(d / "sub" / "deeper" / "straße é.png"), _page(3, 2))
    write_inkml(synth_ink("olv zj"), d / "note.inkml")
    write_json(synth_ink("zz ol"), d / "sub" / "note2.json")
    (d / "empty.png").write_bytes(b"")
    good = (d / "page1.png").read_bytes()
    (d / "truncated.png").write_bytes(good[: len(good) // 3])
    (d / "text.png").write_text("this is not an image\n")
    (d / "doc.docx").write_bytes(b"PK\x03\x04 not really")
    (d / "page1.gt.txt").write_text("ground truth, not an input\n")
    (d / "page1.xml").write_text('<?xml version="1.0"?><PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/'
                                 'pagecontent/2019-07-15"><Page/></PcGts>')
    (d / ".hidden.png").write_bytes(good)
    return d


GOOD = {"page1.png", "sub/page2.jpg", "sub/deeper/straße é.png", "note.inkml", "sub/note2.json"}
BAD = {"empty.png", "truncated.png", "text.png", "doc.docx"}


def _expected_outputs(out: Path) -> set[str]:
    names = set()
    for rel in GOOD:
        p = Path(rel)
        fmts = FORMATS if p.suffix in (".png", ".jpg") else ("txt", "json")
        suffix = {"txt": ".txt", "json": ".json", "alto": ".alto.xml", "page": ".page.xml"}
        names |= {(p.parent / (p.stem + suffix[f])).as_posix() for f in fmts}
    return names


def _files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def schemas():
    return {"alto": load_schema("alto"), "page": load_schema("page")}


def _check_complete(out: Path, schemas) -> list[dict]:
    """Exactly the expected outputs (no temporaries, nothing twice), each complete and valid,
    and a report with one record per input."""
    assert _files(out) == _expected_outputs(out) | {REPORT}
    for rel in _expected_outputs(out):
        p = out / rel
        if rel.endswith(".json"):
            obj = json.loads(p.read_text(encoding="utf-8"))
            assert {"input", "text", "lines"} <= set(obj)
        elif rel.endswith(".alto.xml"):
            schemas["alto"].validate(str(p))
        elif rel.endswith(".page.xml"):
            schemas["page"].validate(str(p))
    records = [json.loads(line) for line in (out / REPORT).read_text(encoding="utf-8").splitlines()]
    assert sorted(r["input"] for r in records) == sorted(GOOD | BAD)
    by = {r["input"]: r for r in records}
    for rel in GOOD:
        assert by[rel]["status"] == "done", by[rel]
        assert by[rel]["lines"] >= 1
    for rel in BAD:
        assert by[rel]["status"] == "error" and rel in by[rel]["error"]
    return records


def test_every_input_accounted_for(folder, tmp_path, schemas):
    out = tmp_path / "out"
    s = transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"))
    assert (s.total, s.done, s.skipped, s.failed) == (9, 5, 0, 4)
    records = _check_complete(out, schemas)
    by = {r["input"]: r for r in records}
    assert "unsupported" in by["doc.docx"]["error"]
    assert by["page1.png"]["lines"] == 3 and 0 <= by["page1.png"]["mean_confidence"] <= 1
    assert by["sub/page2.jpg"]["outputs"] == ["sub/page2.txt", "sub/page2.json", "sub/page2.alto.xml",
                                              "sub/page2.page.xml"]
    text = (out / "page1.txt").read_text(encoding="utf-8").splitlines()
    assert len(text) == 3 and all(t.strip() for t in text)
    # a second run has nothing to do and changes nothing
    before = {p: (out / p).stat().st_mtime_ns for p in _expected_outputs(out)}
    s2 = transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"))
    assert (s2.done, s2.skipped, s2.failed) == (0, 5, 4)
    assert before == {p: (out / p).stat().st_mtime_ns for p in _expected_outputs(out)}
    _check_complete(out, schemas)


def test_not_recursive_reads_only_the_top_folder(folder, tmp_path):
    jobs = find_inputs(folder, tmp_path / "out", ("txt",), recursive=False)
    assert {j.rel for j in jobs} == {"page1.png", "note.inkml"} | BAD


def test_same_stem_keeps_full_names_and_output_folder_is_skipped(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), _page(1, 1))
    cv2.imwrite(str(d / "a.jpg"), _page(2, 1))
    jobs = find_inputs(d, d / "out", ("txt",), recursive=True)
    assert sorted(j.outputs["txt"].name for j in jobs) == ["a.jpg.txt", "a.png.txt"]
    (d / "out").mkdir()
    cv2.imwrite(str(d / "out" / "c.png"), _page(3, 1))  # the output folder inside the input folder
    assert len(find_inputs(d, d / "out", ("txt",), recursive=True)) == 2
    with pytest.raises(Exception, match="must not be the input folder"):
        transcribe(d, d)


class _Crash(BaseException):
    """Stands for a kill: not an Exception, so nothing in hwr catches it."""


def test_resume_after_crashes_at_every_stage(folder, tmp_path, monkeypatch, schemas):
    """Crash at the k-th output write (after the temporary file is written, before the
    rename), and in the journal append after an input's outputs; resume each time."""
    import hwr.batch as batch
    import hwr.formats._common as common

    out = tmp_path / "out"
    real_replace, real_append = os.replace, batch._Journal.append
    calls = {"n": 0}
    crashes = 0
    for k in (1, 5, 2, 3):
        calls["n"] = 0

        def replace(src, dst, _k=k):
            calls["n"] += 1
            if calls["n"] == _k:
                raise _Crash()  # the temporary file stays behind, as after a kill
            real_replace(src, dst)

        monkeypatch.setattr(common.os, "replace", replace)
        try:
            transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"))
        except _Crash:
            crashes += 1
        monkeypatch.setattr(common.os, "replace", real_replace)
    assert crashes == 4  # every run above stopped inside its work
    (out / ".page1.txt.x1y2.tmp").write_text("half an outp")  # what a SIGKILL mid-write leaves
    # a kill between the last output and the report record
    state = {"n": 0}

    def append(self, rec):
        if rec.get("status") == "done":
            state["n"] += 1
            if state["n"] == 1:
                raise _Crash()
        real_append(self, rec)

    monkeypatch.setattr(batch._Journal, "append", append)
    with pytest.raises(_Crash):
        transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"))
    monkeypatch.setattr(batch._Journal, "append", real_append)
    s = transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"))
    assert s.done + s.skipped == 5 and s.failed == 4
    _check_complete(out, schemas)


def test_stop_event_and_resume(folder, tmp_path, schemas):
    out = tmp_path / "out"
    stop = threading.Event()
    seen = []

    def progress(rec, finished, total):
        seen.append((rec["input"], finished, total))
        if rec["status"] == "done":
            stop.set()

    s = transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"), progress=progress, stop=stop)
    assert s.cancelled and not s.ok and s.done == 1
    s = transcribe(folder, out, Options(formats=FORMATS, recursive=True, decoder="greedy"))
    assert (s.done, s.skipped) == (4, 1)
    _check_complete(out, schemas)


def test_two_workers_give_the_same_outputs(folder, tmp_path, schemas):
    one, two = tmp_path / "one", tmp_path / "two"
    transcribe(folder, one, Options(formats=FORMATS, recursive=True, decoder="greedy", workers=1))
    s = transcribe(folder, two, Options(formats=FORMATS, recursive=True, decoder="greedy", workers=2))
    assert (s.done, s.failed) == (5, 4)
    _check_complete(two, schemas)
    for rel in _expected_outputs(one):
        if rel.endswith(".txt"):
            assert (one / rel).read_text(encoding="utf-8") == (two / rel).read_text(encoding="utf-8"), rel


def test_cli_exit_status_and_summary(folder, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["transcribe", str(folder), "--out", str(out), "-r", "--workers", "1",
                                 "--formats", "txt,page"])
    assert r.exit_code == 1, r.output
    assert "9 inputs: 5 transcribed, 0 already done, 4 failed" in r.output
    assert (out / "sub" / "deeper" / "straße é.page.xml").is_file()
    good = tmp_path / "good"
    good.mkdir()
    cv2.imwrite(str(good / "p.png"), _page(5, 2))
    r = CliRunner().invoke(cli, ["transcribe", str(good), "--out", str(tmp_path / "out2"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["transcribe", str(good), "--out", str(tmp_path / "out3"), "--formats", "pdf"])
    assert r.exit_code == 2 and "pdf" in r.output


def test_killed_process_resumes(folder, tmp_path, schemas):
    """Real SIGKILLs of `hwr transcribe` at random moments, then a run to the end."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from hwr.cli.main import main; main()", "transcribe", str(folder), "--out",
           str(out), "-r", "--workers", "1", "-q", "--decoder", "greedy", "--formats", ",".join(FORMATS)]
    rng = random.Random(7)
    for _ in range(2):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 5.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr  # the bad inputs
    _check_complete(out, schemas)
    assert len(read_report(out / REPORT)) == 9


def test_multipage_tiff(tmp_path, schemas):
    d = tmp_path / "in"
    d.mkdir()
    assert cv2.imwritemulti(str(d / "scan.tif"), [_page(1, 2), _page(2, 3)])
    out = tmp_path / "out"
    s = transcribe(d, out, Options(formats=FORMATS, decoder="greedy"))
    assert (s.done, s.failed) == (1, 0)
    assert _files(out) == {"scan.txt", "scan.json", "scan.alto.xml", "scan.p1.page.xml", "scan.p2.page.xml", REPORT}
    pages = (out / "scan.txt").read_text(encoding="utf-8").split("\n\f\n")
    assert [len(p.strip("\n").split("\n")) for p in pages] == [2, 3]
    obj = json.loads((out / "scan.json").read_text(encoding="utf-8"))
    assert obj["pages"] == 2 and [ln["page"] for ln in obj["lines"]] == [1, 1, 2, 2, 2]
    schemas["alto"].validate(str(out / "scan.alto.xml"))
    for k in (1, 2):
        schemas["page"].validate(str(out / f"scan.p{k}.page.xml"))
    rec = read_report(out / REPORT)["scan.tif"]
    assert rec["pages"] == 2 and rec["lines"] == 5 and len(rec["outputs"]) == 5
    assert transcribe(d, out, Options(formats=FORMATS, decoder="greedy")).skipped == 1  # finished, all five there
    (out / "scan.p2.page.xml").unlink()
    assert transcribe(d, out, Options(formats=FORMATS, decoder="greedy")).done == 1  # one missing: redone
    assert transcribe(d, out, Options(formats=("txt", "json", "alto", "page"), decoder="greedy")).skipped == 1


def test_disk_full_is_an_error_and_leaves_no_output(folder, tmp_path, monkeypatch):
    """ENOSPC while writing: the input is recorded as an error naming the cause, no output
    file (or temporary) is left behind as if finished, and a later run redoes it."""
    import errno

    import hwr.formats._common as common

    out = tmp_path / "out"
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, k):
            return getattr(self.f, k)

    monkeypatch.setattr(common.os, "fdopen", lambda fd, mode="r", *a, **k: Full(real_fdopen(fd, mode, *a, **k)))
    s = transcribe(folder, out, Options(formats=("txt", "page"), recursive=True, decoder="greedy"))
    monkeypatch.setattr(common.os, "fdopen", real_fdopen)
    assert s.done == 0 and s.failed == 9
    recs = read_report(out / REPORT)
    assert "No space left on device" in recs["page1.png"]["error"]
    assert _files(out) == {REPORT}  # nothing half-written, no temporaries
    s = transcribe(folder, out, Options(formats=("txt", "page"), recursive=True, decoder="greedy"))
    assert s.done == 5 and s.failed == 4


def test_report_that_cannot_be_written_stops_the_run_clearly(folder, tmp_path, monkeypatch):
    import builtins
    import errno
    import io

    import hwr.batch as batch
    from hwr.errors import HwrError

    class FullFile(io.StringIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fake_open(path, mode="r", *a, **k):
        return FullFile() if mode == "a" else builtins.open(path, mode, *a, **k)

    monkeypatch.setattr(batch, "open", fake_open, raising=False)
    with pytest.raises(HwrError, match="cannot record progress.*No space left"):
        transcribe(folder, tmp_path / "out", Options(formats=("txt",), recursive=True, decoder="greedy"))


# ------------------------------------------------------------------------------ bounded memory


def test_kernel_caches_are_bounded_unless_the_user_chose(monkeypatch):
    """oneDNN and ideep kept a compiled kernel per new input shape (each page's line widths
    differ) up to 1,024: +0.4 MiB a page in `hwr transcribe` (benchmarks/batch_memory.py).
    hwr bounds their caches, but a capacity the user set is left alone."""
    from hwr.device import IDEEP_CACHE_ENV, ONEDNN_CACHE_ENV, bound_onednn_cache

    monkeypatch.delenv(ONEDNN_CACHE_ENV, raising=False)
    monkeypatch.delenv(IDEEP_CACHE_ENV, raising=False)
    monkeypatch.delenv("DNNL_PRIMITIVE_CACHE_CAPACITY", raising=False)
    bound_onednn_cache()
    assert os.environ[ONEDNN_CACHE_ENV] == "16" and os.environ[IDEEP_CACHE_ENV] == "1"
    monkeypatch.setenv(ONEDNN_CACHE_ENV, "256")
    monkeypatch.setenv(IDEEP_CACHE_ENV, "64")
    bound_onednn_cache()
    assert os.environ[ONEDNN_CACHE_ENV] == "256" and os.environ[IDEEP_CACHE_ENV] == "64"
    monkeypatch.delenv(ONEDNN_CACHE_ENV)
    monkeypatch.setenv("DNNL_PRIMITIVE_CACHE_CAPACITY", "8")  # the older name counts too
    bound_onednn_cache()
    assert ONEDNN_CACHE_ENV not in os.environ


def test_importing_hwr_bounds_the_caches_before_torch_reads_them(tmp_path):
    """In a fresh process (as `hwr transcribe` and a batch worker are): importing hwr sets
    the variables, and the pages then recognised leave the process's heap where it was (no
    kernel kept per page), while with the libraries' default capacities the same pages grow
    it."""
    code = (
        "import hwr\n"
        "import ctypes, os, sys, torch\n"
        "sys.path.insert(0, %r)\n"
        "from synth import synth_page\n"
        "torch.set_num_threads(1)\n"
        "from hwr.pipeline import Recognizer\n"
        "rec = Recognizer(kind='image', decoder='greedy')\n"
        "class MI(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in 'a b c d e f g uord i j'.split()]\n"
        "libc = ctypes.CDLL('libc.so.6'); libc.mallinfo2.restype = MI\n"
        "pages = [synth_page(s, 2)[:, : 500 + 37 * s] for s in range(9)]\n"
        "for p in pages[:2]: rec.recognize_page(p)\n"
        "before = libc.mallinfo2().uord\n"
        "for p in pages[2:]: rec.recognize_page(p)\n"
        "print(os.environ.get('ONEDNN_PRIMITIVE_CACHE_CAPACITY') + os.environ.get('LRU_CACHE_CAPACITY'),\n"
        "      (libc.mallinfo2().uord - before) / 2**20)\n"
    ) % str(Path(__file__).parent)
    env = {k: v for k, v in os.environ.items() if "PRIMITIVE_CACHE" not in k and k != "LRU_CACHE_CAPACITY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    value, grown = out.stdout.split()
    assert value == "161"
    env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = env["LRU_CACHE_CAPACITY"] = "1024"  # their default: hwr before
    old = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert old.returncode == 0, old.stderr[-2000:]
    old_value, old_grown = old.stdout.split()
    assert old_value == "10241024"
    print("heap grown by 7 pages, MiB: caches bounded", grown, "default capacities", old_grown)
    assert float(grown) < 0.5 * float(old_grown), (grown, old_grown)


def test_heap_is_trimmed_after_each_input(folder, tmp_path, monkeypatch):
    """Free C heap goes back to the system between inputs (the peak of a long run stays
    that of a short one); the outputs and the report are the same as without."""
    import hwr.batch as batch

    assert batch._trim_heap() == sys.platform.startswith("linux")  # glibc here; a no-op elsewhere
    calls = []
    trim = batch._trim_heap
    monkeypatch.setattr(batch, "_trim_heap", lambda: calls.append(1) or trim())
    s = transcribe(folder, tmp_path / "a", Options(formats=("txt",), decoder="greedy"))
    read = [j for j in find_inputs(folder, tmp_path / "a", ("txt",)) if j.kind]  # unsupported ones are not read
    assert s.done > 0 and len(calls) == len(read)
    monkeypatch.setattr(batch, "_trim_heap", lambda: False)
    transcribe(folder, tmp_path / "b", Options(formats=("txt",), decoder="greedy"))
    texts = lambda d: sorted((p.relative_to(d).as_posix(), p.read_text()) for p in d.rglob("*.txt"))  # noqa: E731
    assert texts(tmp_path / "a") == texts(tmp_path / "b")
    strip = lambda d: [{k: v for k, v in r.items() if k != "seconds"} for r in read_report(d / REPORT).values()]  # noqa: E731
    assert strip(tmp_path / "a") == strip(tmp_path / "b")


@pytest.mark.parametrize("n_inputs", [1, 2])
def test_in_process_run_uses_the_threads_option(tmp_path, monkeypatch, n_inputs):
    """workers=1 (or a single input) runs in this process: it must use ``threads`` torch
    threads, as a worker process does, and give the caller's count back afterwards.  With
    torch's default (every core) a busy machine made each line take seconds."""
    import torch

    from hwr import batch

    d = tmp_path / "in"
    d.mkdir()
    for i in range(n_inputs):
        write_inkml(synth_ink("ol zj"), d / f"n{i}.inkml")
    seen = []
    real_run = batch._Worker.run

    def run(self, job):
        seen.append(torch.get_num_threads())
        return real_run(self, job)

    monkeypatch.setattr(batch._Worker, "run", run)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        s = transcribe(d, tmp_path / "out", Options(formats=("txt",), decoder="greedy", workers=2 if n_inputs == 1 else 1,
                                                    threads=1))
        assert s.done == n_inputs
        assert seen == [1] * n_inputs
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_missing_model_or_lm_stops_before_any_input(tmp_path):
    """A misspelt --ink-model/--image-model or a missing --lm file: one error before the run
    (it was recorded as the error of every input, one by one), no output folder made."""
    from hwr.errors import ModelError

    d = tmp_path / "in"
    d.mkdir()
    write_inkml(synth_ink("ol zj"), d / "n.inkml")
    for opts, what in ((Options(ink_model="no-such-model"), "no-such-model"),
                       (Options(image_model="no-such-model"), "no-such-model"),
                       (Options(recognizer_options={"lm": str(tmp_path / "missing.arpa")}), "missing.arpa")):
        with pytest.raises(ModelError, match=what):
            transcribe(d, tmp_path / "out", opts)
        assert not (tmp_path / "out").exists()
    r = CliRunner().invoke(cli, ["transcribe", str(d), "--out", str(tmp_path / "out"), "--ink-model", "no-such-model"])
    assert r.exit_code == 1 and r.output.count("no-such-model") == 1 and "Traceback" not in r.output
    s = transcribe(d, tmp_path / "out", Options(formats=("txt",), decoder="greedy", workers=1,
                                                recognizer_options={"lm": "none"}))
    assert s.done == 1


def test_other_model_or_decoder_redoes_finished_inputs(tmp_path):
    """A run with another decoder (or model, or decoder option) skipped the inputs an earlier
    run had finished, keeping their old text without a word. The report now records what
    read each input, and a run with other settings reads it again."""
    d = tmp_path / "in"
    d.mkdir()
    write_inkml(synth_ink("ol zj"), d / "a.inkml")
    out = tmp_path / "out"
    greedy = Options(formats=("txt",), decoder="greedy")
    beam = Options(formats=("txt",), decoder="beam", recognizer_options={"lm": "none", "beam_width": 4})
    assert (transcribe(d, out, greedy).done, transcribe(d, out, greedy).skipped) == (1, 1)
    (rec,) = read_report(out / REPORT).values()
    assert rec["recognition"] == {"model": None, "decoder": "greedy"}
    assert transcribe(d, out, beam).done == 1
    assert transcribe(d, out, beam).skipped == 1
    assert transcribe(d, out, Options(formats=("txt",), decoder="beam",
                                      recognizer_options={"lm": "none", "beam_width": 8})).done == 1
    # a report written before the settings were kept: its inputs stay finished
    lines = [json.loads(x) for x in (out / REPORT).read_text(encoding="utf-8").splitlines()]
    for x in lines:
        x.pop("recognition")
    (out / REPORT).write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    assert transcribe(d, out, greedy).skipped == 1


def test_cli_bands_reads_the_folder_again(tmp_path):
    """`hwr transcribe --bands 3` reads each page's lines by three bands; the setting is kept in
    the report, so a run with the other setting reads the page again instead of skipping it."""
    good = tmp_path / "good"
    good.mkdir()
    cv2.imwrite(str(good / "p.png"), _page(5, 2))
    out = tmp_path / "out"
    args = ["transcribe", str(good), "--out", str(out), "--workers", "1", "--decoder", "greedy", "--formats", "txt"]
    r = CliRunner().invoke(cli, [*args, "--bands", "3"])
    assert r.exit_code == 0, r.output
    rec = [json.loads(x) for x in (out / REPORT).read_text(encoding="utf-8").splitlines() if x.strip()]
    assert [x["recognition"]["bands"] for x in rec if x.get("input", "").endswith("p.png")] == [3]
    assert "1 transcribed" in CliRunner().invoke(cli, args).output  # bands 1: read again
    assert "1 already done" in CliRunner().invoke(cli, args).output
    assert CliRunner().invoke(cli, [*args, "--bands", "0"]).exit_code == 2
