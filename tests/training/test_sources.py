"""`hwr train --data` takes folders (line images + .gt.txt, PAGE pages, ink) and holds out
validation lines by itself when no --val is given."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from synth import synth_ink, synth_line_image
from hwr.cli.main import cli
from hwr.data.inkset import InkSet, write_inkset
from hwr.data.lineset import LineSet
from hwr.errors import InputError
from hwr.ink.io import write_inkml
from hwr.models.checkpoint import read_info
from hwr.training.sources import folder_contents, prepare_sources

WORDS = "the quick letters of a long day were sent home by the evening post".split()


def _line(text: str) -> np.ndarray:
    return synth_line_image(text)


@pytest.fixture
def lines(tmp_path):
    d = tmp_path / "lines"
    d.mkdir()
    for i in range(40):
        t = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(2))
        cv2.imwrite(str(d / f"l{i:03d}.png"), _line(t))
        (d / f"l{i:03d}.gt.txt").write_text(t + "\n")
    return d


@pytest.fixture
def inks(tmp_path):
    d = tmp_path / "inks"
    d.mkdir()
    for i in range(30):
        write_inkml(synth_ink(["olv", "zj o", "lvz", "oo jl"][i % 4], seed=i), d / f"i{i:02d}.inkml")
    return d


def test_line_folder_is_split_and_cached(lines, tmp_path):
    msgs = []
    s = prepare_sources([lines], height=32, on_message=msgs.append)
    assert s.kind == "image" and len(s.train) == len(s.val) == 1
    tr, va = LineSet(s.train[0]), LineSet(s.val[0])
    assert len(tr) + len(va) == 40 and 1 <= len(va) <= 10 and tr.height == 32
    assert not {tr[i].id for i in range(len(tr))} & {va[i].id for i in range(len(va))}
    assert any("importing lines" in m for m in msgs)
    msgs.clear()
    s2 = prepare_sources([lines], height=32, on_message=msgs.append)
    assert s2.train == s.train and s2.val == s.val and not any("importing" in m for m in msgs)  # cached
    (lines / "l000.gt.txt").write_text("changed text\n")
    s3 = prepare_sources([lines], height=32, on_message=msgs.append)
    assert s3.train != s.train  # a changed folder is imported again


def test_given_val_folder_holds_nothing_out(lines, inks):
    s = prepare_sources([lines], [lines], height=32)
    assert len(LineSet(s.train[0])) == 40 and len(LineSet(s.val[0])) == 40


def test_ink_folder_and_dataset_split(inks, tmp_path):
    assert folder_contents(inks) == {"ink"}
    s = prepare_sources([inks])
    assert s.kind == "ink"
    assert len(InkSet(s.train[0])) + len(InkSet(s.val[0])) == 30
    h5 = tmp_path / "all.h5"
    write_inkset(h5, [(f"x/{i}", synth_ink("olv", seed=i)) for i in range(50)])
    s = prepare_sources([h5], val_fraction=0.2)
    n_tr, n_va = len(InkSet(s.train[0])), len(InkSet(s.val[0]))
    assert n_tr + n_va == 50 and 3 <= n_va <= 20


def test_unusable_sources(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="holds no line images"):
        prepare_sources([empty])
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not a dataset"):
        prepare_sources([bad])


def test_line_images_for_an_ink_model_are_refused_up_front(lines, inks, tmp_path, monkeypatch):
    """--kind ink with line images says so before anything is split or imported; a folder
    holding both keeps only its ink."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(InputError, match="line images or pages, no ink.*--kind image"):
        prepare_sources([lines], kind="ink")
    ls = prepare_sources([lines], height=32).train[0]  # a line-image dataset file
    with pytest.raises(InputError, match="a line-image dataset.*--kind image"):
        prepare_sources([ls], kind="ink")
    with pytest.raises(InputError, match="a line-image dataset"):
        prepare_sources([inks], [ls], kind="ink")
    both = tmp_path / "both"
    both.mkdir()
    for p in list(lines.iterdir())[:20] + list(inks.iterdir()):
        (both / p.name).write_bytes(p.read_bytes())
    msgs = []
    s = prepare_sources([both], kind="ink", on_message=msgs.append)
    assert s.kind == "ink" and all(InkSet(p) is not None for p in s.train)
    assert any("skipped: the line images" in m for m in msgs)
    r = CliRunner().invoke(cli, ["train", "--kind", "ink", "--data", str(lines), "--out", str(tmp_path / "m.safetensors")])
    assert r.exit_code != 0 and "--kind image" in r.output and "Traceback" not in r.output


def test_train_cli_on_a_line_folder(lines, tmp_path):
    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(cli, ["train", "--data", str(lines), "--out", str(out), "--epochs", "1", "--device", "cpu",
                                 "--channels", "4,8,8", "--hidden", "8", "--layers", "1", "--height", "32"])
    assert r.exit_code == 0, r.output
    assert "held out for validation" in r.output
    info = read_info(out)
    assert info.kind == "image" and info.config["height"] == 32


def test_a_few_corrections_still_hold_some_lines_out(tmp_path):
    """A tenth of a dozen corrections is often no line at all; a few are held out instead,
    the same ones every time, while a large set is split as before."""
    from hwr.data.linefolder import MIN_HELD_OUT, held_out, is_validation

    names = [f"pen/{i:03d}.inkml" for i in range(12)]
    assert not any(is_validation(n, 0.1) for n in names)  # what made `hwr train` refuse these
    held = held_out(names, 0.1)
    assert len(held) == MIN_HELD_OUT and held == held_out(list(reversed(names)), 0.1)
    assert len(held_out(names[:6], 0.1)) == 1 and held_out(names[:3], 0.1) == set()
    big = [f"x/{i}" for i in range(400)]
    assert held_out(big, 0.1) == {n for n in big if is_validation(n, 0.1)}
    assert held_out(names, 0.0) == set()

    d = tmp_path / "pen"  # the same names as above
    d.mkdir()
    for i in range(12):
        write_inkml(synth_ink(["olv", "zj o", "lvz", "oo jl"][i % 4], seed=i), d / f"{i:03d}.inkml")
    s = prepare_sources([d])
    assert len(InkSet(s.train[0])) == 9 and len(InkSet(s.val[0])) == 3
