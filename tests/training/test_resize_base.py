"""A resized network grown from a base model (``hwr train --base M --hidden/--layers/--channels``):
its lower layers start as the base's, the rest afresh; its yardstick is the base itself."""

import pytest
import torch
from click.testing import CliRunner

from hwr.cli.main import cli
from hwr.models.checkpoint import ModelInfo, load_model, read_info, save_model
from hwr.models.registry import build
from hwr.training.image import grow_from_base, train_image
from hwr.training.trainer import FINE_TUNE_IMAGE_LR, TrainConfig, evaluate_net

BASE = {"height": 32, "num_classes": 7, "channels": [8, 16, 16], "hidden": 16, "layers": 1, "subsample": 4,
        "dropout": 0.0}


def _net(**over):
    torch.manual_seed(len(over))
    return build("crnn", {**BASE, **over})


def test_wider_lstm_keeps_the_conv_blocks_only():
    base, net = _net(), _net(hidden=24, layers=2)
    net, kept, fresh = grow_from_base(base, net)
    assert kept == ["cnn.0", "cnn.1", "cnn.4", "cnn.5", "cnn.8", "cnn.9"]
    assert fresh == ["lstm layer 0", "lstm layer 1", "head"]
    b, n = base.state_dict(), net.state_dict()
    for k in b:
        if k.startswith("cnn."):
            assert torch.equal(b[k], n[k]), k
    assert n["lstm.weight_hh_l0"].shape == (4 * 24, 24)


def test_deeper_lstm_keeps_the_lower_layers_and_nothing_above_the_new_one():
    base, net = _net(), _net(layers=2)
    before_head = net.state_dict()["head.weight"].clone()
    net, kept, fresh = grow_from_base(base, net)
    assert "lstm layer 0" in kept and fresh == ["lstm layer 1", "head"]
    assert torch.equal(net.state_dict()["lstm.weight_ih_l0_reverse"], base.state_dict()["lstm.weight_ih_l0_reverse"])
    # the head has the base's shape, but sits above a fresh layer: it is not copied
    assert torch.equal(net.state_dict()["head.weight"], before_head)


def test_a_changed_conv_block_leaves_everything_above_it_fresh():
    base, net = _net(), _net(channels=[8, 24, 16])
    _, kept, fresh = grow_from_base(base, net)
    assert kept == ["cnn.0", "cnn.1"] and fresh[0] == "cnn.4" and fresh[-1] == "head"


@pytest.fixture(scope="module")
def base_model(image_data, tmp_path_factory):
    """A tiny trained base model, written with its alphabet."""
    d = tmp_path_factory.mktemp("resize")
    cfg = TrainConfig(epochs=2, batch_size=8, lr=3e-3, warmup_steps=2, seed=0, device="cpu", patience=20,
                      adapt_lm=False)
    return train_image([image_data / "ink.h5"], [image_data / "lines.h5"], d / "base.safetensors", cfg,
                       net_config={k: v for k, v in BASE.items() if k not in ("height", "num_classes")})


def test_train_image_grows_the_base_and_compares_with_the_base_itself(image_data, base_model, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=2, seed=0, device="cpu", patience=20,
                      adapt_lm=False)
    out = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "big.safetensors", cfg,
                      net_config={"hidden": 24, "layers": 2}, base=base_model)
    info = read_info(out)
    assert info.config["hidden"] == 24 and info.config["layers"] == 2 and info.config["channels"] == [8, 16, 16]
    grown = info.training["resized_from_base"]
    assert grown["fresh"] == ["lstm layer 0", "lstm layer 1", "head"] and grown["base_config"]["hidden"] == 16
    # the yardstick is the base model's own CER on the validation lines, not that of the half-fresh network
    base_net, base_info = load_model(base_model)
    from hwr.alphabet import Alphabet
    from hwr.training.imagedata import ImageLines, collate_images, open_source, width_sampler
    from torch.utils.data import DataLoader

    ds = ImageLines([open_source(image_data / "lines.h5")], Alphabet(base_info.alphabet), base_info.preprocessing,
                    augment=False, seed=0)
    loader = DataLoader(ds, batch_sampler=width_sampler(ds, 64, False, 0), collate_fn=collate_images)
    assert info.training["base_val_cer"] == pytest.approx(evaluate_net(base_net, loader, Alphabet(base_info.alphabet),
                                                                       "cpu").cer)
    card = (tmp_path / "big.md").read_text()
    assert "resized from the base" in card and "trained afresh lstm layer 0" in card


def test_the_same_size_is_a_plain_fine_tune(image_data, base_model, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-3, warmup_steps=2, seed=0, device="cpu", patience=20,
                      adapt_lm=False)
    out = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "ft.safetensors", cfg,
                      net_config={"hidden": 16}, base=base_model)
    assert "resized_from_base" not in read_info(out).training


def test_resizing_an_mdlstm_or_an_ink_model_is_refused(image_data, tmp_path):
    net = build("mdlstm", {"height": 32, "num_classes": 7})
    info = ModelInfo(arch="mdlstm", kind="image", config=net.cfg.to_dict(), alphabet=list("jlovz "),
                     preprocessing=read_info_prep(image_data))
    base = save_model(net, info, tmp_path / "md.safetensors")
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu", adapt_lm=False)
    with pytest.raises(ValueError, match="resize a CRNN"):
        train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "o.safetensors", cfg,
                    net_config={"hidden": 24}, base=base)
    r = CliRunner().invoke(cli, ["train", "--kind", "ink", "--base", "ink_default", "--hidden", "64",
                                 "--data", str(image_data / "ink.h5"), "--out", str(tmp_path / "i.safetensors")])
    assert r.exit_code == 2 and "--hidden" in r.output


def read_info_prep(d):
    from hwr.data.lineset import LineSet

    return LineSet(d / "lines.h5").preprocessing


def test_cli_resizes_an_image_base(image_data, base_model, tmp_path):
    out = tmp_path / "cli.safetensors"
    r = CliRunner().invoke(cli, ["train", "--kind", "image", "--base", str(base_model), "--hidden", "20",
                                 "--data", str(image_data / "ink.h5"), "--val", str(image_data / "lines.h5"),
                                 "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--no-lm-adapt",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    info = read_info(out)
    assert info.config["hidden"] == 20 and info.training["resized_from_base"]["kept"][0] == "cnn.0"
    # fine-tuning an image model, hwr train's default peak learning rate is the fine-tuning one
    assert info.training["train_config"]["lr"] == FINE_TUNE_IMAGE_LR != TrainConfig.lr
    assert "resized from the base" in out.with_suffix(".md").read_text()
