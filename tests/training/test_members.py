"""Several fine-tunings side by side, their weights averaged (hwr.training.members)."""

import json

import pytest
import torch
from click.testing import CliRunner

from synth import SYNTH_CHARS, TINY_CRNN
from hwr.cli.main import cli
from hwr.models.checkpoint import ModelInfo, load_model, save_model
from hwr.models.registry import build
from hwr.training.image import train_image
from hwr.training.members import average_nets, member_dir, soup
from hwr.training.trainer import TrainConfig

CHARS = SYNTH_CHARS
NET = TINY_CRNN


def _cfg(**kw):
    return TrainConfig(**{"epochs": 2, "batch_size": 8, "lr": 3e-3, "warmup_steps": 1, "device": "cpu",
                          "adapt_lm": False, **kw})


def test_average_nets_is_the_mean_of_every_float_tensor():
    torch.manual_seed(0)
    cfg = {**NET, "height": 32, "num_classes": 7}
    a, b = build("crnn", cfg), build("crnn", cfg)
    info = ModelInfo(arch="crnn", kind="image", config=a.cfg.to_dict(), alphabet=CHARS)
    want = {k: (v + b.state_dict()[k]) / 2 for k, v in a.state_dict().items() if v.is_floating_point()}
    counts = {k: v.clone() for k, v in a.state_dict().items() if not v.is_floating_point()}
    avg = average_nets([a, b], [info, info])
    for k, v in avg.state_dict().items():
        assert torch.allclose(v, want[k]) if k in want else torch.equal(v, counts[k])
    other = ModelInfo(arch="crnn", kind="image", config=a.cfg.to_dict(), alphabet=list("olvzjx"))
    with pytest.raises(ValueError, match="alphabet"):
        average_nets([a, b], [info, other])


def test_two_members_train_side_by_side_and_the_better_of_average_and_best_member_is_kept(tiny_base_and_lines,
                                                                                           tmp_path):
    base, lines = tiny_base_and_lines
    out = tmp_path / "soup.safetensors"
    seen = []
    train_image([lines], [lines], out, _cfg(members=2), base=base, callbacks=[seen.append])
    net, info = load_model(out)
    tr = info.training
    runs = [member_dir(tmp_path / "soup.safetensors.run", i) for i in (1, 2)]
    members = [load_model(r / "best.safetensors") for r in runs]
    # each member trained in its own process and folder, with its own seed, from the same base
    assert [m[1].training["train_config"]["seed"] for m in members] == [1, 2]
    assert all(json.loads((r / "state.json").read_text())["epoch"] == 2 for r in runs)
    assert not torch.equal(members[0][0].head.weight, members[1][0].head.weight)
    assert [m["seed"] for m in tr["members"]] == [1, 2] and tr["train_config"]["members"] == 2
    cers = [m["best_val_cer"] for m in tr["members"]]
    assert tr["kept"] in ("average", "member 1", "member 2")
    if tr["kept"] == "average":
        assert tr["best_val_cer"] == tr["average_val_cer"] < min(cers)
        avg = average_nets([m[0] for m in members], [m[1] for m in members])
        assert all(torch.allclose(v, avg.state_dict()[k]) for k, v in net.state_dict().items())
    else:  # never worse by accident: the best member, not a worse average
        assert tr["average_val_cer"] >= min(cers) == tr["best_val_cer"]
        assert torch.equal(net.head.weight, members[int(tr["kept"][-1]) - 1][0].head.weight)
    assert tr["base_val_cer"] is not None
    # the callbacks ran in the member processes, not here; the card says what was done
    card = out.with_suffix(".md").read_text()
    assert "2 fine-tunings side by side" in card and "seeds 1, 2" in card


def _member(path, seed, net):
    info = ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=CHARS,
                     training={"best_val_cer": 0.5, "epochs": 3, "train_seconds": 60.0 * seed,
                               "train_config": {"seed": seed, "members": 1}})
    return save_model(net, info, path)


@pytest.mark.parametrize("average_cer, kept", [(0.2, "average"), (0.3, "member 2"), (0.25, "member 2")])
def test_the_average_is_kept_only_when_its_decoder_reads_better_than_the_best_members(tmp_path, average_cer, kept):
    torch.manual_seed(0)
    cfg = {**NET, "height": 32, "num_classes": len(CHARS) + 1}
    paths = [_member(tmp_path / f"m{s}.safetensors", s, build("crnn", cfg)) for s in (1, 2)]
    nets = [load_model(p)[0] for p in paths]
    avg = average_nets([load_model(p)[0] for p in paths], [load_model(p)[1] for p in paths])
    # (greedy CER, CER with the model's decoder): member 2 is the better with its decoder, not greedy
    figures = [(nets[0], (0.30, 0.40)), (nets[1], (0.35, 0.25)), (avg, (0.28, average_cer))]

    def validate(net):
        return next(f for n, f in figures if torch.equal(n.head.weight, net.head.weight))

    net, info = soup(paths, validate, "beam + lm.arpa (weight 1, bonus 2)")
    tr = info.training
    assert tr["kept"] == kept and tr["average_decoder_val_cer"] == average_cer and tr["average_val_cer"] == 0.28
    assert [m["seed"] for m in tr["members"]] == [1, 2]
    assert [(m["best_val_cer"], m["decoder_val_cer"]) for m in tr["members"]] == [(0.30, 0.40), (0.35, 0.25)]
    assert tr["best_val_cer"] == (0.28 if kept == "average" else 0.35)  # the greedy figure of the model kept
    assert tr["train_seconds"] == 120.0 and tr["members_judged_by"].startswith("beam")
    want = avg if kept == "average" else nets[1]
    assert all(torch.allclose(v, want.state_dict()[k]) for k, v in net.state_dict().items())
    from hwr.training.card import card_text

    text = card_text(info)
    assert "seeds 1, 2" in text and "With beam + lm.arpa (weight 1, bonus 2), the 2 members validate at " \
                                   "40.00 %, 25.00 %" in text
    assert ("so the average is this model" in text) == (kept == "average")


@pytest.mark.parametrize("ensemble_cer, kept", [(0.2, "ensemble"), (0.25, "member 2")])
def test_members_kept_as_an_ensemble_only_when_it_reads_better_than_the_best_member(tmp_path, ensemble_cer, kept):
    from hwr.models.ensemble import Ensemble

    torch.manual_seed(0)
    cfg = {**NET, "height": 32, "num_classes": len(CHARS) + 1}
    paths = [_member(tmp_path / f"m{s}.safetensors", s, build("crnn", cfg)) for s in (1, 2)]
    nets = [load_model(p)[0] for p in paths]

    def validate(net):
        if isinstance(net, Ensemble):  # what soup judges is the two members read together
            assert [torch.equal(m.head.weight, n.head.weight) for m, n in zip(net.members, nets)] == [True, True]
            return 0.27, ensemble_cer
        return {0: (0.30, 0.40), 1: (0.35, 0.25)}[next(i for i, n in enumerate(nets)
                                                      if torch.equal(n.head.weight, net.head.weight))]

    net, info = soup(paths, validate, "beam + lm.arpa (weight 1, bonus 2)", combine="ensemble")
    tr = info.training
    assert tr["kept"] == kept and tr["members_combined"] == "ensemble"
    assert tr["average_decoder_val_cer"] == ensemble_cer and tr["best_val_cer"] == (0.27 if kept == "ensemble" else 0.35)
    from hwr.training.card import card_text

    text = card_text(info)
    if kept == "ensemble":
        assert isinstance(net, Ensemble) and info.arch == "ensemble" and len(info.config["members"]) == 2
        assert [m["seed"] for m in tr["ensemble"]["members"]] == [1, 2]
        # written and read back, it is the ensemble of the two members
        path = save_model(net, info, tmp_path / "kept.safetensors")
        back, back_info = load_model(path)
        x, w = torch.rand(2, 1, 32, 40), torch.tensor([40, 30])
        with torch.inference_mode():
            want = torch.logsumexp(torch.stack([n(x, w)[0] for n in nets]), 0) - torch.log(torch.tensor(2.0))
            assert torch.allclose(back(x, w)[0], want, atol=1e-5)
        assert "`ensemble` of 2 networks: `crnn`" in text and "so the ensemble is this model" in text
    else:
        assert info.arch == "crnn" and torch.equal(net.head.weight, nets[1].head.weight)
        assert "read together as one ensemble" in text and "so this model is member 2" in text
    with pytest.raises(ValueError, match="combine"):
        soup(paths, validate, combine="both")


def test_cli_ensemble_needs_members(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(lines), "--out",
                                 str(tmp_path / "y.safetensors"), "--ensemble"])
    assert r.exit_code == 2 and "--members N" in r.output


def test_members_resume_each_from_its_own_folder(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    out = tmp_path / "m.safetensors"
    train_image([lines], [lines], out, _cfg(members=2, epochs=1), base=base)
    first = [json.loads((member_dir(tmp_path / "m.safetensors.run", i) / "state.json").read_text()) for i in (1, 2)]
    train_image([lines], [lines], out, _cfg(members=2, epochs=2), base=base)
    again = [json.loads((member_dir(tmp_path / "m.safetensors.run", i) / "state.json").read_text()) for i in (1, 2)]
    assert [s["epoch"] for s in first] == [1, 1] and [s["epoch"] for s in again] == [2, 2]
    # the second run went on from the first epoch's weights: its history holds both epochs
    assert [h["epoch"] for h in again[0]["history"]] == [1, 2]
    assert again[0]["base_cer"] == first[0]["base_cer"]


def test_members_need_a_base_model(tmp_path, tiny_base_and_lines):
    _, lines = tiny_base_and_lines
    with pytest.raises(ValueError, match="base model"):
        train_image([lines], [lines], tmp_path / "x.safetensors", _cfg(members=2), net_config=NET)
    r = CliRunner().invoke(cli, ["train", "--data", str(lines), "--out", str(tmp_path / "y.safetensors"),
                                 "--members", "2"])
    assert r.exit_code != 0 and "(--base)" in r.output


def test_cli_members_prints_each_members_epochs(tiny_base_and_lines, tmp_path):
    import subprocess
    import sys

    base, lines = tiny_base_and_lines
    out = tmp_path / "cli.safetensors"
    r = subprocess.run([sys.executable, "-m", "hwr", "train", "--base", str(base), "--data", str(lines),
                        "--val", str(lines), "--out", str(out), "--members", "2", "--epochs", "1",
                        "--batch-size", "8", "--no-lm-adapt", "--threads", "2", "--ensemble"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "member 1  epoch   1" in r.stderr and "member 2  epoch   1" in r.stderr
    tr = load_model(out)[1].training
    assert tr["train_config"]["members"] == 2 and tr["members_combined"] == "ensemble"
    assert f"wrote {out}" in r.stderr and "2 members validate at" in r.stderr
    assert "read together as one ensemble" in r.stderr


def _alive(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (the parent and its forked members)."""
    import os

    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        with open(f"/proc/{d}/stat") as st:
                            if st.read().rsplit(")", 1)[1].split()[0] != "Z":
                                pids.append(int(d))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not __import__("os").path.isdir("/proc"), reason="needs /proc")
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_no_member_trains_on_when_the_run_is_stopped_and_the_same_command_resumes(tiny_base_and_lines, tmp_path, how):
    import signal
    import subprocess
    import sys
    import time

    base, lines = tiny_base_and_lines
    out = tmp_path / f"stopped-{how}.safetensors"
    cmd = [sys.executable, "-m", "hwr", "train", "--base", str(base), "--data", str(lines), "--val", str(lines),
           "--out", str(out), "--members", "2", "--epochs", "1000", "--patience", "1000", "--batch-size", "8",
           "--no-lm-adapt", "--threads", "2"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    states = [member_dir(str(out) + ".run", i) / "state.json" for i in (1, 2)]
    t0 = time.monotonic()
    while not all(s.exists() for s in states):
        assert p.poll() is None and time.monotonic() - t0 < 120, p.stderr.read().decode() if p.poll() else "slow"
        time.sleep(0.2)
    assert len(_alive(str(out))) == 3  # the parent and two members
    p.send_signal(getattr(signal, how))
    p.wait(30)
    # the members are gone with the parent (SIGTERM: it ended them; SIGKILL: the kernel did), not
    # up to 2 s later, when one could still write a checkpoint under a run resumed at once
    t0 = time.monotonic()
    while _alive(str(out)) and time.monotonic() - t0 < 1.0:
        time.sleep(0.05)
    assert not _alive(str(out))
    done = [json.loads(s.read_text())["epoch"] for s in states]
    r = subprocess.run(cmd[:cmd.index("1000")] + [str(max(done) + 1)] + cmd[cmd.index("1000") + 1:],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # each member went on from its last finished epoch: none started again from the first
    assert f"epoch {max(done) + 1:3d}" in r.stderr and "epoch   1 " not in r.stderr
    assert [json.loads(s.read_text())["epoch"] for s in states] == [max(done) + 1] * 2
    assert load_model(out)[1].training["train_config"]["members"] == 2


def test_members_are_judged_by_the_decoder_the_model_inherits(tmp_path):
    import numpy as np

    from hwr.alphabet import Alphabet
    from hwr.models.checkpoint import read_info
    from hwr.pipeline import resolve_model
    from hwr.training.lm_adapt import inherited_judge

    base = resolve_model("image_default")  # beam search with lm_en
    alphabet = Alphabet(read_info(base).alphabet)
    name, score = inherited_judge(base, alphabet)
    assert name.startswith("beam + lm_en")
    assert inherited_judge(base, alphabet, new_characters=True)[0] == "beam, no LM"
    assert inherited_judge(tmp_path / "none.safetensors", alphabet)[0] == "greedy"
    # a posterior spelling "the" with certainty reads as "the", and not as "he"
    lp = np.full((6, len(alphabet)), -30.0, np.float32)  # the blank is one of its classes
    for t, c in enumerate("t-h-e-"):
        lp[t, 0 if c == "-" else alphabet.encode(c)[0]] = 0.0
    assert score([lp], ["the"]) == 0.0 and score([lp], ["he"]) > 0
