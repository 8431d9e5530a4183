"""Fine-tuning keeps the base model's batch-norm running statistics (a small new data set's
batches would shift them, and the other layers were trained with the old ones)."""

import numpy as np
import pytest
import torch

from synth import synth_ink
from hwr.data.lineset import LineSample, write_lineset
from hwr.imaging.line import line_preprocessing, normalize_line, to_uint8
from hwr.ink.render import render_ink
from hwr.models.checkpoint import ModelInfo, load_model, save_model
from hwr.models.registry import build
from hwr.training.image import train_image
from hwr.training.trainer import TrainConfig, freeze_batchnorm

CHARS = list("olvzj ")
NET = {"channels": [8, 16, 16], "hidden": 16, "layers": 1, "subsample": 4, "dropout": 0.0}


@pytest.fixture(scope="module")
def base_and_lines(tmp_path_factory):
    d = tmp_path_factory.mktemp("freeze")
    prep = line_preprocessing(height=32, margin=1)
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    lines = [LineSample(to_uint8(normalize_line(render_ink(synth_ink(texts[i % 4], seed=i),
                                                           rng=np.random.default_rng(i)), prep)),
                        texts[i % 4], collection="synth", id=f"s{i}") for i in range(16)]
    write_lineset(d / "lines.h5", lines, prep, split="train")
    torch.manual_seed(0)
    net = build("crnn", {**NET, "height": 32, "num_classes": len(CHARS) + 1})
    base = save_model(net, ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=CHARS,
                                     preprocessing=prep), d / "base.safetensors")
    return base, d / "lines.h5"


def _stats(net):
    return {k: v.clone() for k, v in net.state_dict().items() if k.endswith(("running_mean", "running_var"))}


def _fine_tune(base, lines, out, **kw):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-3, warmup_steps=1, device="cpu", **kw)
    return load_model(train_image([lines], [lines], out, cfg, base=base))


def test_fine_tuning_keeps_batchnorm_statistics_by_default(base_and_lines, tmp_path):
    base, lines = base_and_lines
    old, _ = load_model(base)
    new, info = _fine_tune(base, lines, tmp_path / "kept.safetensors")
    assert _stats(old) and all(torch.equal(v, _stats(new)[k]) for k, v in _stats(old).items())
    assert not torch.equal(old.head.weight, new.head.weight)  # the weights did train
    assert info.training["train_config"]["freeze_norm"] is True


def test_update_norm_lets_the_statistics_move(base_and_lines, tmp_path):
    base, lines = base_and_lines
    old, _ = load_model(base)
    new, info = _fine_tune(base, lines, tmp_path / "moved.safetensors", freeze_norm=False)
    assert any(not torch.equal(v, _stats(new)[k]) for k, v in _stats(old).items())
    assert info.training["train_config"]["freeze_norm"] is False


def test_freeze_batchnorm_leaves_other_layers_training():
    torch.manual_seed(0)
    net = build("crnn", {**NET, "height": 32, "num_classes": 7}).train()
    assert freeze_batchnorm(net) == len(NET["channels"])
    modes = {type(m).__name__: m.training for m in net.modules()}
    assert modes["BatchNorm2d"] is False and modes["Conv2d"] is True
