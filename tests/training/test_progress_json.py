"""`hwr train --progress-json`: one JSON object per epoch and one at the end, on stdout."""

import json

import torch
from click.testing import CliRunner

from synth import synth_ink
from hwr.cli.main import cli
from hwr.data.inkset import write_inkset
from hwr.models.checkpoint import ModelInfo, read_info, save_model
from hwr.training.trainer import TrainConfig
from hwr.models.registry import build


def _base_and_data(tmp_path):
    """A random tiny ink model (the base) and 16 synthetic ink lines (d.h5)."""
    chars = list("olvzj ")
    torch.manual_seed(0)
    net = build("ink-blstm", dict(num_features=4, num_classes=len(chars) + 1, hidden=16, layers=1, conv_channels=8))
    base = save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=chars,
                                     preprocessing={"spacing": 0.3}), tmp_path / "base.safetensors")
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    write_inkset(tmp_path / "d.h5", [(f"s{i}", synth_ink(texts[i % 4], seed=i)) for i in range(16)])
    return base


def test_progress_json_lines(tmp_path):
    base = _base_and_data(tmp_path)
    out = tmp_path / "new.safetensors"
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(tmp_path / "d.h5"), "--val",
                                 str(tmp_path / "d.h5"), "--out", str(out), "--epochs", "2", "--device", "cpu",
                                 "--batch-size", "8", "--progress-json"])
    assert r.exit_code == 0, r.output
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(0 <= e["val_cer"] and e["loss"] > 0 for e in epochs)
    done = events[-1]
    assert done["event"] == "done" and done["model"] == str(out) and done["kind"] == "ink"
    assert done["best_val_cer"] == min(e["val_cer"] for e in epochs) or abs(
        done["best_val_cer"] - min(e["val_cer"] for e in epochs)) < 1e-6
    assert done["base_val_cer"] > 0.5 and done["verdict"]
    # both read greedily (no decoder file beside the base): the greedy figures decide, none read otherwise
    assert done["base_read_val_cer"] is None and done["read_val_cer"] is None
    # an ink fine-tuning keeps the from-scratch learning rate (only image fine-tuning's was measured higher)
    assert read_info(out).training["train_config"]["lr"] == TrainConfig.lr
    # without the flag, stdout stays empty (the human progress is on stderr)
    r = CliRunner().invoke(cli, ["train", "--data", str(tmp_path / "d.h5"), "--val", str(tmp_path / "d.h5"),
                                 "--out", str(tmp_path / "plain.safetensors"), "--epochs", "1", "--device", "cpu",
                                 "--hidden", "8", "--layers", "1", "--lr", "2e-3"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == ""
    assert read_info(tmp_path / "plain.safetensors").training["train_config"]["lr"] == 2e-3


def test_the_decoder_choice_is_reported(tmp_path, monkeypatch):
    """An ink fine-tune: hwr train ends with the decoder sentence and the done event names it."""
    from hwr.decoding.decoder import DecoderSettings, save_model_defaults
    from hwr.decoding.lm import CharNgramLM
    from hwr.training import lm_adapt

    monkeypatch.setattr(lm_adapt, "MIN_CHARS", 20)
    base = _base_and_data(tmp_path)
    CharNgramLM.train(["lov jz", "zoj vl"] * 10, order=3).save(tmp_path / "g.arpa.gz")
    save_model_defaults(base, DecoderSettings(decoder="beam", lm=str(tmp_path / "g.arpa.gz"), lm_weight=0.5),
                        default="beam")
    out = tmp_path / "new.safetensors"
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(tmp_path / "d.h5"), "--val",
                                 str(tmp_path / "d.h5"), "--out", str(out), "--epochs", "1", "--device", "cpu",
                                 "--batch-size", "8", "--progress-json"])
    assert r.exit_code == 0, r.output
    done = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")][-1]
    assert done["decoder"] == lm_adapt.read_tuning(out)["chosen"]
    assert "decoder: it decodes " in r.stderr
