"""Fine-tuning keeps the base model's batch-norm running statistics (a small new data set's
batches would shift them, and the other layers were trained with the old ones)."""

import torch

from synth import TINY_CRNN
from hwr.models.checkpoint import load_model
from hwr.models.registry import build
from hwr.training.image import train_image
from hwr.training.trainer import TrainConfig, freeze_batchnorm

NET = TINY_CRNN


def _stats(net):
    return {k: v.clone() for k, v in net.state_dict().items() if k.endswith(("running_mean", "running_var"))}


def _fine_tune(base, lines, out, **kw):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-3, warmup_steps=1, device="cpu", **kw)
    return load_model(train_image([lines], [lines], out, cfg, base=base))


def test_fine_tuning_keeps_batchnorm_statistics_by_default(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    old, _ = load_model(base)
    new, info = _fine_tune(base, lines, tmp_path / "kept.safetensors")
    assert _stats(old) and all(torch.equal(v, _stats(new)[k]) for k, v in _stats(old).items())
    assert not torch.equal(old.head.weight, new.head.weight)  # the weights did train
    assert info.training["train_config"]["freeze_norm"] is True


def test_update_norm_lets_the_statistics_move(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
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
