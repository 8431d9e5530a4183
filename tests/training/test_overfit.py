"""A tiny model learns a few synthetic lines: the model, the loss, the decoder and the
trainer (checkpoints, resume) work together."""

import json

import pytest
import torch
import torch.nn.functional as F

from synth import synth_ink
from hwr.alphabet import Alphabet
from hwr.data.inkset import write_inkset
from hwr.decoding.greedy import greedy_decode
from hwr.evaluation import evaluate_ink_model
from hwr.ink.features import ink_features
from hwr.models.checkpoint import read_info
from hwr.models.registry import build
from hwr.training.inkdata import collate
from hwr.training.ink import train_ink
from hwr.training.trainer import TrainConfig

TEXTS = ["olv", "zjo", "lol vz", "jz ol", "vvo", "ozl j", "lzv", "oj zl"]
NET = {"hidden": 32, "layers": 1, "conv_channels": 32, "dropout": 0.0}


def _decode_all(net, x, lengths, alphabet):
    net.eval()
    with torch.no_grad():
        lp, out_len = net(x, lengths)
    return [greedy_decode(lp[: out_len[b], b].numpy(), alphabet).text for b in range(x.shape[0])]


def test_tiny_model_overfits_synthetic_lines():
    torch.manual_seed(0)
    alphabet = Alphabet("olvzj ")
    items = [(torch.from_numpy(ink_features(synth_ink(t, jitter=0.01, seed=i))), torch.tensor(alphabet.encode(t)), t)
             for i, t in enumerate(TEXTS)]
    x, lengths, targets, target_lengths, _ = collate(items)
    net = build("ink-blstm", {"num_features": 4, "num_classes": len(alphabet), **NET})
    assert _decode_all(net, x, lengths, alphabet) != TEXTS  # untrained: wrong
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(200):
        net.train()
        lp, out_len = net(x, lengths)
        loss = F.ctc_loss(lp, targets, out_len, target_lengths, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.1
    assert _decode_all(net, x, lengths, alphabet) == TEXTS


@pytest.fixture
def tiny_set(tmp_path):
    path = tmp_path / "train.h5"
    write_inkset(path, [(f"s{i}", synth_ink(t, jitter=0.01, seed=i)) for i, t in enumerate(TEXTS)], split="train")
    return path


def test_trainer_learns_checkpoints_and_resumes(tiny_set, tmp_path):
    torch.manual_seed(0)
    out = tmp_path / "m.safetensors"
    cfg = TrainConfig(epochs=200, batch_size=8, lr=1e-2, warmup_steps=1, patience=1000, lr_patience=1000, seed=0,
                      augment=False, min_epoch_lines=0)
    train_ink([tiny_set], [tiny_set], out, cfg, net_config=NET)
    ev = evaluate_ink_model(out, [tiny_set])
    assert ev.rates.cer < 0.15, ev.pairs
    info = read_info(out)
    assert info.kind == "ink" and info.training["best_val_cer"] == pytest.approx(min(
        h["val_cer"] for h in info.training["history"]), abs=1e-4)
    run = tmp_path / "m.safetensors.run"
    assert json.loads((run / "state.json").read_text())["epoch"] == 200
    # asking for more epochs resumes from the checkpoint instead of starting again
    cfg.epochs = 202
    train_ink([tiny_set], [tiny_set], out, cfg, net_config=NET)
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 202 and [h["epoch"] for h in state["history"]] == list(range(1, 203))


def test_resume_refuses_another_configuration(tiny_set, tmp_path):
    out = tmp_path / "m.safetensors"
    cfg = TrainConfig(epochs=1, batch_size=8, warmup_steps=1)
    train_ink([tiny_set], [tiny_set], out, cfg, net_config={"hidden": 8, "layers": 1, "conv_channels": 8})
    with pytest.raises(ValueError, match="different network configuration"):
        train_ink([tiny_set], [tiny_set], out, cfg, net_config={"hidden": 12, "layers": 1, "conv_channels": 8})


def test_anneal_decays_the_learning_rate_to_the_end_of_the_run(tiny_set, tmp_path):
    cfg = TrainConfig(epochs=4, batch_size=4, lr=1e-3, warmup_steps=1, anneal=True, min_lr=1e-6)
    train_ink([tiny_set], [tiny_set], tmp_path / "m.safetensors", cfg,
              net_config={"hidden": 8, "layers": 1, "conv_channels": 8})
    state = json.loads((tmp_path / "m.safetensors.run" / "state.json").read_text())
    lrs = [h["lr"] for h in state["history"]]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] < 1e-3
    assert lrs[1] == pytest.approx(0.5e-3, rel=0.05)  # half-way: cos(pi/2)
    assert lrs[-1] == pytest.approx(1e-6)


def test_time_budget_stops_between_epochs(tiny_set, tmp_path):
    cfg = TrainConfig(epochs=1000, batch_size=8, warmup_steps=1, max_minutes=0.05)
    train_ink([tiny_set], [tiny_set], tmp_path / "m.safetensors", cfg,
              net_config={"hidden": 8, "layers": 1, "conv_channels": 8})
    state = json.loads((tmp_path / "m.safetensors.run" / "state.json").read_text())
    assert 1 <= state["epoch"] < 1000 and state["seconds"] < 10
