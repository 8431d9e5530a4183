"""``hwr train --dropout P``: a network's dropout set, for a new network or a fine-tuned base,
without touching a weight of the base (dropout has none)."""

import pytest
import torch
from click.testing import CliRunner

from synth import TINY_CRNN
from hwr.cli.main import cli
from hwr.errors import ModelError
from hwr.models.checkpoint import load_model, read_info
from hwr.models.registry import build, set_dropout


def _forward_twice(net):
    torch.manual_seed(0)
    x, widths = torch.rand(2, 1, 32, 64), torch.tensor([64, 48])
    net.train()
    return net(x, widths)[0], net(x, widths)[0]


@pytest.mark.parametrize("arch, config", [
    ("crnn", {**TINY_CRNN, "layers": 2, "height": 32, "num_classes": 7}),
    ("ink-blstm", {"num_features": 4, "num_classes": 7, "hidden": 8, "layers": 2}),
    ("mdlstm", {"height": 32, "num_classes": 7}),
])
def test_set_dropout_reaches_every_dropping_layer_and_the_config(arch, config):
    net = build(arch, {**config, "dropout": 0.0})
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    set_dropout(net, 0.6)
    assert net.cfg.dropout == 0.6
    drops = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(m.p == 0.6 for m in drops)
    for m in net.modules():
        if isinstance(m, torch.nn.RNNBase) and m.num_layers > 1:
            assert m.dropout == 0.6
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in weights.items())


def test_dropout_changes_a_training_forward_pass_and_zero_does_not():
    net = build("crnn", {**TINY_CRNN, "height": 32, "num_classes": 7})
    a, b = _forward_twice(net)
    assert torch.equal(a, b)  # TINY_CRNN has no dropout
    set_dropout(net, 0.5)
    a, b = _forward_twice(net)
    assert not torch.equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_set_dropout_refuses_a_rate_outside_0_to_1(p):
    net = build("crnn", {**TINY_CRNN, "height": 32, "num_classes": 7})
    with pytest.raises(ModelError, match="dropout"):
        set_dropout(net, p)


def test_fine_tuning_with_dropout_starts_from_every_weight_of_the_base(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    out = tmp_path / "d.safetensors"
    r = CliRunner().invoke(cli, ["train", "--kind", "image", "--base", str(base), "--data", str(lines),
                                 "--val", str(lines), "--epochs", "1", "--batch-size", "8", "--no-lm-adapt",
                                 "--device", "cpu", "--dropout", "0.5", "--out", str(out)])
    assert r.exit_code == 0, r.output
    net, info = load_model(out)
    assert info.config["dropout"] == 0.5 and net.drop.p == 0.5
    # the same network as the base, not a resized one: no layer trained afresh, batch norm kept
    assert "resized_from_base" not in info.training
    assert info.training["train_config"]["freeze_norm"] is True
    assert {k: v for k, v in info.config.items() if k != "dropout"} == \
        {k: v for k, v in read_info(base).config.items() if k != "dropout"}
    assert "dropout 0.5" in out.with_suffix(".md").read_text()


def test_without_dropout_an_image_fine_tuning_keeps_the_bases(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    out = tmp_path / "same.safetensors"
    r = CliRunner().invoke(cli, ["train", "--kind", "image", "--base", str(base), "--data", str(lines),
                                 "--val", str(lines), "--epochs", "1", "--batch-size", "8", "--no-lm-adapt",
                                 "--device", "cpu", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert read_info(out).config["dropout"] == read_info(base).config["dropout"]


def test_ink_training_takes_a_dropout_and_a_fine_tuning_keeps_the_bases_by_default(tmp_path):
    from synth import synth_ink
    from hwr.data.inkset import write_inkset
    from hwr.training.ink import train_ink
    from hwr.training.trainer import TrainConfig

    data = tmp_path / "ink.h5"
    write_inkset(data, [(f"s{i}", synth_ink(t, seed=i)) for i, t in enumerate(["ol", "vz", "jo lz"])], split="train")
    cfg = TrainConfig(epochs=1, batch_size=4, warmup_steps=1, device="cpu", adapt_lm=False)
    net_config = {"hidden": 8, "layers": 2, "conv_channels": 8}
    base = train_ink([data], [data], tmp_path / "b.safetensors", cfg, net_config=net_config, dropout=0.3)
    net, info = load_model(base)
    assert info.config["dropout"] == 0.3 and net.lstm.dropout == 0.3
    out = tmp_path / "ft.safetensors"
    r = CliRunner().invoke(cli, ["train", "--kind", "ink", "--base", str(base), "--data", str(data), "--val", str(data),
                                 "--epochs", "1", "--batch-size", "4", "--no-lm-adapt", "--device", "cpu",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert read_info(out).config["dropout"] == 0.3
    assert read_info(train_ink([data], [data], tmp_path / "f2.safetensors", cfg, base=base,
                               dropout=0.1)).config["dropout"] == 0.1


def test_the_cli_refuses_a_dropout_of_one(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(lines), "--dropout", "1",
                                 "--out", str(tmp_path / "x.safetensors")])
    assert r.exit_code == 2 and "--dropout" in r.output
