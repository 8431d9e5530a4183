"""Image training end to end on tiny synthetic data: rendered ink on the fly + a line dataset,
the loss falls; the model is written and recognises with the CLI (text, jsonl, per-input errors)."""

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from synth import synth_ink
from hwr.cli.main import cli
from hwr.data.lineset import LineSet
from hwr.ink.render import render_ink
from hwr.models.checkpoint import read_info
from hwr.pipeline import Recognizer
from hwr.training.image import train_image
from hwr.training.imagedata import ImageLines, collate_images, open_source
from hwr.training.trainer import TrainConfig

NET = {"channels": [8, 16, 16], "hidden": 32, "layers": 1, "subsample": 4, "dropout": 0.0}


@pytest.fixture(scope="module")
def data(image_data):
    return image_data


def test_dataset_items_and_collate(data):
    prep = LineSet(data / "lines.h5").preprocessing
    from hwr.alphabet import Alphabet

    alph = Alphabet("jlovz ")
    ink_ds = ImageLines([open_source(data / "ink.h5")], alph, prep, augment=True, seed=3)
    a = ink_ds[0][0]
    ink_ds.epoch = 1
    b = ink_ds[0][0]
    assert a.shape[1] == 32 and (a.shape != b.shape or not torch.equal(a, b))  # a new rendering each epoch
    c = ink_ds[0][0]  # ... and each draw (persistent workers keep their first epoch number)
    assert c.shape != b.shape or not torch.equal(c, b)
    val_ds = ImageLines([open_source(data / "ink.h5")], alph, prep, augment=False)
    assert torch.equal(val_ds[0][0], val_ds[0][0])  # validation renders are fixed
    x, widths, targets, tlen, texts = collate_images([val_ds[0], val_ds[1]])
    assert x.shape[:3] == (2, 1, 32) and x.shape[3] == int(widths.max())
    assert targets.numel() == int(tlen.sum()) and texts[0] == val_ds[0][2]
    assert 0.5 < ink_ds.lengths[0] / a.shape[2] < 2.0  # width estimate used for bucketing


def test_training_lowers_loss_and_cli_recognizes(data, tmp_path):
    torch.manual_seed(0)
    losses = []
    cfg = TrainConfig(epochs=6, batch_size=8, lr=3e-3, warmup_steps=5, seed=0, device="cpu", patience=20)
    out = train_image([data / "ink.h5"], [data / "lines.h5"], tmp_path / "m.safetensors", cfg, net_config=NET,
                      callbacks=[lambda p: losses.append(p.loss)])
    assert len(losses) == 6 and losses[-1] < 0.6 * losses[0]
    info = read_info(out)
    assert info.kind == "image" and info.arch == "crnn" and info.preprocessing["height"] == 32
    assert set("jlovz ") <= set(info.alphabet) and info.training["data"][0]["kind"] == "ink rendered on the fly"

    good = tmp_path / "line.png"
    cv2.imwrite(str(good), render_ink(synth_ink("ol vz")))
    good16 = tmp_path / "line16.png"
    cv2.imwrite(str(good16), render_ink(synth_ink("jo")).astype(np.uint16) * 257)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((40, 200), 255, np.uint8))
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(good.read_bytes()[:60])
    inputs = [good, corrupt, good16, blank, tmp_path / "missing.png"]
    r = CliRunner().invoke(cli, ["recognize", "--line", "--model", str(out), "--device", "cpu", "--format", "jsonl",
                                 *map(str, inputs)])
    assert r.exit_code == 1
    objs = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [o["input"] for o in objs] == [str(p) for p in inputs]
    assert ["error" in o for o in objs] == [False, True, False, True, True]
    assert "corrupt" in objs[1]["error"] and "blank" in objs[3]["error"]
    assert set(objs[0]) == {"input", "text", "lines"} and objs[0]["lines"][0]["text"] == objs[0]["text"]
    r = CliRunner().invoke(cli, ["recognize", "--line", "--model", str(out), "--device", "cpu", str(good)])
    assert r.exit_code == 0 and r.stdout == objs[0]["text"] + "\n"
    # an image model refuses ink files clearly, and an ink model refuses --line
    ink_file = tmp_path / "a.json"
    from hwr.ink.io import write_json

    write_json(synth_ink("ol"), ink_file)
    assert "error" in Recognizer(out).recognize_file(ink_file).to_dict()
    r = CliRunner().invoke(cli, ["evaluate", "--model", str(out), "--device", "cpu", "--json", str(data / "lines.h5")])
    assert r.exit_code == 0, r.output
    ev = json.loads(r.stdout)
    assert ev["lines"] == 16 and 0 <= ev["cer"] and set(ev["collections"]) == {"synth"}


def test_train_cli_detects_image_kind(data, tmp_path):
    out = tmp_path / "cli.safetensors"
    r = CliRunner().invoke(cli, ["train", "--data", str(data / "lines.h5"), "--val", str(data / "lines.h5"),
                                 "--out", str(out), "--epochs", "1", "--batch-size", "8", "--device", "cpu",
                                 "--channels", "4,8,8", "--hidden", "8", "--layers", "1"])
    assert r.exit_code == 0, r.output
    info = read_info(out)
    assert info.kind == "image" and info.config["channels"] == [4, 8, 8] and info.config["height"] == 32
    r = CliRunner().invoke(cli, ["train", "--kind", "image", "--data", str(data / "lines.h5"), "--val",
                                 str(data / "lines.h5"), "--out", str(tmp_path / "x.safetensors"), "--height", "64"])
    assert r.exit_code != 0 and "height" in r.output


def test_train_cli_mdlstm(data, tmp_path):
    out = tmp_path / "md.safetensors"
    r = CliRunner().invoke(cli, ["train", "--arch", "mdlstm", "--data", str(data / "lines.h5"), "--val",
                                 str(data / "lines.h5"), "--out", str(out), "--epochs", "1", "--batch-size", "8",
                                 "--device", "cpu"])
    assert r.exit_code == 0, r.output
    info = read_info(out)
    assert info.kind == "image" and info.arch == "mdlstm" and info.config["height"] == 32
    r = CliRunner().invoke(cli, ["train", "--arch", "mdlstm", "--channels", "4,8", "--data", str(data / "lines.h5"),
                                 "--val", str(data / "lines.h5"), "--out", str(tmp_path / "y.safetensors")])
    assert r.exit_code != 0 and "MDLSTM" in r.output
