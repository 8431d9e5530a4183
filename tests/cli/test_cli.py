"""The command-line contract of DESIGN.md: jsonl fields, input order, errors per input, exit status."""

import json
import string
import subprocess
import sys

import pytest
from click.testing import CliRunner

from synth import synth_ink
from hwr.cli.main import cli
from hwr.data.inkset import write_inkset
from hwr.ink.io import write_inkml, write_json
from hwr.models.checkpoint import ModelInfo, save_model
from hwr.models.registry import build


@pytest.fixture
def model(tmp_path):
    import torch

    torch.manual_seed(0)  # the same random network every run
    alph = list(string.ascii_lowercase + " ")
    net = build("ink-blstm", dict(num_features=4, num_classes=len(alph) + 1, hidden=16, layers=1, conv_channels=8))
    return save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=alph,
                                     preprocessing={"spacing": 0.3}), tmp_path / "m.safetensors")


@pytest.fixture
def inputs(tmp_path):
    good1 = tmp_path / "a.inkml"
    write_inkml(synth_ink("olv zj"), good1)
    good2 = tmp_path / "b.json"
    write_json(synth_ink("zz ol"), good2)
    empty = tmp_path / "empty.inkml"
    empty.write_bytes(b"")
    nan = tmp_path / "nan.json"
    nan.write_text('{"strokes": [{"x": [0, 1, NaN], "y": [0, 1, 2]}]}')
    xxe = tmp_path / "xxe.inkml"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe.write_text(f'<?xml version="1.0"?><!DOCTYPE ink [<!ENTITY s SYSTEM "file://{secret}">]>'
                   '<ink><trace>&s;</trace></ink>')
    return [good1, empty, good2, nan, xxe, tmp_path / "missing.inkml"]


def test_recognize_jsonl_contract(model, inputs):
    res = CliRunner().invoke(cli, ["recognize", "--model", str(model), "--format", "jsonl", "--device", "cpu",
                                   *map(str, inputs)])
    assert res.exit_code == 1  # some inputs failed
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["input"] for o in objs] == [str(p) for p in inputs]  # one object per input, in order
    ok = [o for o in objs if "error" not in o]
    bad = [o for o in objs if "error" in o]
    assert [o["input"] for o in ok] == [str(inputs[0]), str(inputs[2])]
    for o in ok:
        assert set(o) == {"input", "text", "lines"}
        assert len(o["lines"]) == 1
        line = o["lines"][0]
        assert isinstance(line["text"], str) and 0.0 <= line["confidence"] <= 1.0
        assert isinstance(line["alternatives"], list)
        assert o["text"] == line["text"]
    assert "empty file" in bad[0]["error"]  # the file name holds "empty": say what is wrong
    assert "non-finite" in bad[1]["error"]
    assert "unsafe XML" in bad[2]["error"] and "TOPSECRET" not in res.output
    assert "cannot read" in bad[3]["error"]
    for o in bad:
        assert o["input"] in o["error"] and o["lines"] == []


def test_recognize_names_what_is_wrong_with_an_empty_or_fake_image(model, tmp_path):
    """Page mode (no --line): an empty .png and a text file named .png said "not an ink file hwr
    can read (InkML, ...)", while --line, segment and transcribe said "empty file" / "not an
    image (PNG, ...)"."""
    empty = tmp_path / "scan.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("a text file, renamed\n")
    res = CliRunner().invoke(cli, ["recognize", "--model", str(model), "--format", "jsonl", str(empty), str(text)])
    assert res.exit_code == 1
    errors = [json.loads(x)["error"] for x in res.stdout.splitlines()]
    assert errors == [f"{empty}: empty file", f"{text}: not an image (PNG, JPEG, TIFF, BMP, GIF or WebP)"]


def test_recognize_text_and_exit_status_zero(model, inputs):
    res = CliRunner().invoke(cli, ["recognize", "--model", str(model), str(inputs[0])])
    assert res.exit_code == 0, res.output
    assert res.stdout.count("\n") == 1


def test_recognize_refuses_missing_gpu_clearly(model, inputs):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    res = CliRunner().invoke(cli, ["recognize", "--model", str(model), "--device", "cuda", str(inputs[0])])
    assert res.exit_code != 0 and "no CUDA GPU" in res.output
    # without --model too: one message before any input, not one per input naming the input
    res = CliRunner().invoke(cli, ["recognize", "--device", "cuda", str(inputs[0]), str(inputs[2])])
    assert res.exit_code != 0 and res.output.count("no CUDA GPU") == 1, res.output
    assert "UsageError" not in res.output and str(inputs[0]) not in res.output


def test_recognize_lm_of_another_alphabet_is_one_error_naming_the_file(model, inputs, tmp_path):
    """A wrong --lm fails every input alike: one error naming the LM file, not one per input."""
    from hwr.decoding.lm import CharNgramLM

    digits = tmp_path / "digits.arpa"
    CharNgramLM.train(["0123 456", "789 0011"] * 5, order=3).save(digits)
    res = CliRunner().invoke(cli, ["recognize", "--decoder", "beam", "--lm", str(digits), "--format", "jsonl",
                                   str(inputs[0]), str(inputs[2])])
    assert res.exit_code == 1
    assert res.output.count("wrong alphabet") == 1 and f"{digits}: language model of the wrong alphabet" in res.output
    assert res.stdout == ""  # no per-input jsonl objects


def test_recognize_bad_model(tmp_path, inputs):
    fake = tmp_path / "evil.safetensors"
    import pickle

    fake.write_bytes(pickle.dumps({"a": 1}))
    res = CliRunner().invoke(cli, ["recognize", "--model", str(fake), str(inputs[0])])
    assert res.exit_code != 0 and "pickle" in res.output


def test_evaluate_prints_cer_and_wer(model, tmp_path):
    ds = tmp_path / "d.h5"
    write_inkset(ds, [("a", synth_ink("olv")), ("b", synth_ink("zj o"))])
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(model), "--device", "cpu", "--json", str(ds)])
    assert res.exit_code == 0, res.output
    figs = json.loads(res.stdout)
    assert figs["lines"] == 2 and figs["chars"] == 7 and 0 <= figs["cer"] and figs["wer"] >= 0


def test_evaluate_with_the_decoders_lm_missing_is_one_line_naming_it(model, tmp_path):
    """A model whose decoder file names an LM that is not beside it (copied without it): hwr
    evaluate printed a ModelError traceback; now one line naming the LM file, exit status 1."""
    ds = tmp_path / "d.h5"
    write_inkset(ds, [("a", synth_ink("olv"))])
    model.with_suffix(".decoder.json").write_text(json.dumps(
        {"format": "hwr-decoder", "version": 1, "default": "beam",
         "beam": {"lm": "gone.arpa", "lm_weight": 0.5, "insertion_bonus": 0.0, "beam_width": 4}}))
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(model), "--device", "cpu", str(ds)])
    assert res.exit_code == 1, res.output
    assert "gone.arpa: cannot read language model" in res.output and "Traceback" not in res.output
    assert isinstance(res.exception, SystemExit)  # a clean exit, not an exception caught by the runner


def test_main_turns_an_uncaught_hwr_error_into_one_line(monkeypatch, capsys):
    """The entry point's safety net: an hwr error no command caught is one line, exit status 1."""
    import hwr.cli.main as cli_main
    from hwr.errors import ModelError

    def boom():
        raise ModelError("m.safetensors: no such model file")

    monkeypatch.setattr(cli_main, "cli", boom)
    with pytest.raises(SystemExit) as exit_:
        cli_main.main()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "hwr: error: m.safetensors: no such model file\n"


def test_import_ink_folder(tmp_path):
    folder = tmp_path / "writer1"
    folder.mkdir()
    write_inkml(synth_ink("olv"), folder / "x.inkml")
    ink = synth_ink("zz")
    ink.text = None
    write_json(ink, folder / "y.json")
    (folder / "y.gt.txt").write_text("zz\n")
    out = tmp_path / "set.h5"
    res = CliRunner().invoke(cli, ["import", "ink", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    from hwr.data.inkset import InkSet

    s = InkSet(out)
    assert sorted(s.texts) == ["olv", "zz"] and set(s.writers) == {"writer1"}


def test_help_does_not_import_torch():
    code = "import sys; from hwr.cli.main import cli; import hwr.ink.io; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_recognize_uses_the_embedded_model_without_flags(inputs):
    from hwr.models.checkpoint import read_info
    from hwr.pipeline import default_model_path

    info = read_info(default_model_path("ink"))
    assert info.kind == "ink" and info.training["best_val_cer"] < 0.3
    res = CliRunner().invoke(cli, ["recognize", "--format", "jsonl", str(inputs[0])])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["lines"][0]["confidence"] > 0


def test_recognize_with_beam_lm_and_lexicon(model, inputs, tmp_path):
    from hwr.decoding.lm import CharNgramLM

    lm = tmp_path / "lm.arpa.gz"
    CharNgramLM.train(["olv zj", "zz ol", "a quick brown fox"] * 5, order=3).save(lm)
    words = tmp_path / "words.txt"
    words.write_text("olv\nzj\nzz\nol\n")
    args = ["recognize", "--model", str(model), "--format", "jsonl", "--decoder", "beam", "--lm", str(lm),
            "--beam-width", "4", "--nbest", "3", "--lexicon", str(words), str(inputs[0]), str(inputs[2])]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    for line in res.stdout.splitlines():
        alts = json.loads(line)["lines"][0]["alternatives"]
        assert 1 <= len(alts) <= 3 and all(set(a) == {"text", "score"} for a in alts)
        assert abs(sum(a["score"] for a in alts) - 1.0) < 0.01  # n-best posteriors
        assert all(w in {"olv", "zj", "zz", "ol"} for w in alts[0]["text"].split())


def test_recognize_refuses_a_broken_lm_clearly(model, inputs, tmp_path):
    from hwr.decoding.lm import CharNgramLM

    good = tmp_path / "lm.arpa"
    CharNgramLM.train(["olv zj", "zz ol"] * 5, order=3).save(good)
    cut = tmp_path / "cut.arpa"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    res = CliRunner().invoke(cli, ["recognize", "--model", str(model), "--decoder", "beam", "--lm", str(cut),
                                   str(inputs[0])])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert str(cut) in res.output


def test_recognize_line_image_with_the_embedded_image_model(tmp_path):
    import cv2

    from hwr.ink.render import render_ink

    img = render_ink(synth_ink("olv zj zz"), height=64)  # uint8, dark ink on light paper
    path = tmp_path / "line.png"
    assert cv2.imwrite(str(path), img)
    res = CliRunner().invoke(cli, ["recognize", "--line", "--format", "jsonl", "--decoder", "greedy", str(path)])
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout)["lines"][0]
    assert isinstance(line["text"], str) and 0.0 <= line["confidence"] <= 1.0


def test_recognize_page_image_segments_and_reads_each_line(tmp_path):
    import cv2

    from segmentation.test_segmentation import make_page

    page, boxes = make_page(n_lines=3, seed=3)
    path = tmp_path / "page.png"
    assert cv2.imwrite(str(path), page)
    res = CliRunner().invoke(cli, ["recognize", "--format", "jsonl", "--decoder", "greedy", str(path)])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert len(obj["lines"]) == len(boxes)
    ys = [min(y for _, y in ln["polygon"]) for ln in obj["lines"]]
    assert ys == sorted(ys)  # reading order: top to bottom
    for ln in obj["lines"]:
        assert len(ln["polygon"]) >= 3 and len(ln["baseline"]) >= 2 and isinstance(ln["text"], str)
    assert obj["text"] == "\n".join(ln["text"] for ln in obj["lines"])


def test_recognize_multipage_tiff_one_object_pages_and_form_feeds(tmp_path):
    import cv2

    from segmentation.test_segmentation import make_page

    imgs = [make_page(n_lines=n, seed=s, noise=False)[0] for n, s in ((2, 21), (1, 22))]
    path = tmp_path / "two.tif"
    assert cv2.imwritemulti(str(path), imgs)
    res = CliRunner().invoke(cli, ["recognize", "--format", "jsonl", "--decoder", "greedy", str(path)])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["pages"] == 2 and "error" not in obj
    assert [ln["page"] for ln in obj["lines"]] == [1, 1, 2]
    texts = obj["text"].split("\n\f\n")  # pages separated by a form-feed line
    assert texts == ["\n".join(ln["text"] for ln in obj["lines"] if ln["page"] == k) for k in (1, 2)]
    out = CliRunner().invoke(cli, ["recognize", "--decoder", "greedy", str(path)])
    assert out.exit_code == 0 and out.stdout == obj["text"] + "\n"


def test_recognize_huge_page_cuts_lines_without_full_size_copies():
    """Lines are cut from the original 8-bit page: no copy of the page at all (float, colour or
    even 8-bit); what is allocated is the analysis copy and each line's crop."""
    import tracemalloc

    import cv2
    import numpy as np

    from hwr.pipeline import Recognizer

    rec = Recognizer(kind="image", decoder="greedy")
    page = np.full((12000, 12000), 235, np.uint8)  # 144 MB
    for k in range(2):
        cv2.putText(page, "the first duty of the house", (800, 3000 + 3000 * k), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
                    18.0, 40, 28, cv2.LINE_AA)
    tracemalloc.start()
    try:
        result = rec.recognize_page(page)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.lines) == 2 and all(isinstance(ln.text, str) for ln in result.lines)
    assert min(x for x, _ in result.lines[0].polygon) > 500  # original coordinates
    assert peak < page.nbytes, f"peak {peak / 2**20:.0f} MiB for a {page.nbytes / 2**20:.0f} MiB page"


def test_recognize_bad_blank_and_noise_pages(tmp_path):
    """A truncated JPEG and a non-image are errors naming the file; a blank page and a page of
    noise are read and have no lines; the exit status reports the errors."""
    import cv2
    import numpy as np

    from segmentation.test_segmentation import make_page

    ok, buf = cv2.imencode(".jpg", make_page(n_lines=2)[0])
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(buf.tobytes()[: len(buf) * 2 // 3])
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    blank = tmp_path / "blank.png"
    assert cv2.imwrite(str(blank), np.full((1400, 1000), 228, np.uint8))
    noise = tmp_path / "noise.png"
    assert cv2.imwrite(str(noise), np.random.default_rng(0).integers(0, 256, (1400, 1000), dtype=np.uint8))
    res = CliRunner().invoke(cli, ["recognize", "--format", "jsonl", "--decoder", "greedy",
                                   str(trunc), str(fake), str(blank), str(noise)])
    assert res.exit_code == 1
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["input"] for r in rows] == [str(trunc), str(fake), str(blank), str(noise)]
    assert "trunc.jpg" in rows[0]["error"] and "corrupt" in rows[0]["error"]
    assert "fake.png" in rows[1]["error"]
    assert rows[2]["lines"] == [] and rows[2]["text"] == "" and "error" not in rows[2]
    assert "error" not in rows[3] and rows[3]["lines"] == [] and rows[3]["text"] == ""
    assert "2 of 4 inputs failed" in res.stderr


def test_python_dash_m_hwr_is_the_cli():
    import hwr

    out = subprocess.run([sys.executable, "-m", "hwr", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"hwr, version {hwr.__version__}"


def test_evaluate_line_dataset_without_model_uses_the_image_model(tmp_path):
    """`hwr evaluate lines.h5` (no --model) said "not an hwr ink dataset (format 'hwr-lineset')":
    the default is now the embedded image model for line datasets, as hwr train picks --kind."""
    import cv2
    import numpy as np

    folder = tmp_path / "lines"
    folder.mkdir()
    for i, text in enumerate(["hello world", "a line of text"]):
        im = np.full((60, 400), 255, np.uint8)
        cv2.putText(im, text, (10, 42), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.2, 0, 2)
        cv2.imwrite(str(folder / f"l{i}.png"), im)
        (folder / f"l{i}.gt.txt").write_text(text + "\n")
    ds = tmp_path / "lines.h5"
    res = CliRunner().invoke(cli, ["import", "lines", str(folder), "-o", str(ds)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["evaluate", "--json", "--decoder", "greedy", "--device", "cpu", "--threads", "1",
                                   str(ds)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["model"].endswith("image_default.safetensors") and out["lines"] == 2


def test_gui_help_is_the_apps_help():
    """`hwr gui --help` printed click's help, without the app's FILE, --model and --device."""
    pytest.importorskip("PySide6")
    res = CliRunner().invoke(cli, ["gui", "--help"])
    assert res.exit_code == 0, res.output
    assert "usage: hwr-gui" in res.output and "FILE" in res.output and "--model" in res.output


def test_import_ink_with_no_usable_file_is_an_error_and_keeps_out(tmp_path):
    """`hwr import ink` of a folder with no transcribed ink wrote an empty dataset (over an
    existing OUT) and exited 0, where `hwr import lines` says so and exits 1."""
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "empty.inkml").write_bytes(b"")
    out = tmp_path / "mine.h5"
    res = CliRunner().invoke(cli, ["import", "ink", str(folder), "--out", str(out)])
    assert res.exit_code == 1 and "no ink file with a transcription" in res.output and "empty.inkml" in res.output
    assert not out.exists()
    write_inkset(out, [("a", synth_ink("olv"))])
    before = out.read_bytes()
    res = CliRunner().invoke(cli, ["import", "ink", str(folder), "--out", str(out)])
    assert res.exit_code == 1 and out.read_bytes() == before


def test_evaluate_uses_one_thread_by_default(model, tmp_path, monkeypatch):
    """hwr evaluate left torch's default (every core): with a training run on the other core
    three ink lines took 58 s instead of 0.3 s. Its default is now 1, as for recognize."""
    import torch

    import hwr.evaluation

    ds = tmp_path / "d.h5"
    write_inkset(ds, [("a", synth_ink("olv"))])
    seen = []
    real = hwr.evaluation.evaluate_ink_model

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return real(*a, **k)

    monkeypatch.setattr(hwr.evaluation, "evaluate_ink_model", spy)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        res = CliRunner().invoke(cli, ["evaluate", "--model", str(model), "--device", "cpu", "--json", str(ds)])
        assert res.exit_code == 0, res.output
        assert seen == [1]
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("args", [["lm", "train", "CORPUS", "-o", "NODIR/x.arpa"],
                                  ["import", "ink", "INK", "--out", "NODIR/x.h5"]])
def test_output_in_a_missing_folder_is_one_line_not_a_traceback(tmp_path, args):
    """`hwr lm train c.txt -o /no/such/dir/x.arpa` (and hwr import, hwr segment --out, ...)
    ended in a FileNotFoundError traceback."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n")
    ink = tmp_path / "ink"
    ink.mkdir()
    write_inkml(synth_ink("olv"), ink / "a.inkml")
    nodir = tmp_path / "no" / "such"
    args = [str(corpus) if a == "CORPUS" else str(ink) if a == "INK" else a.replace("NODIR", str(nodir))
            for a in args]
    r = subprocess.run([sys.executable, "-m", "hwr", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "hwr: error:" in r.stderr
    assert str(nodir) in r.stderr
