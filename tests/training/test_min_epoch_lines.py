"""A small training set is gone through several times an epoch (``min_epoch_lines``), each
copy distorted anew, so that a user's first few dozen corrections are trained for more than
one optimiser step an epoch."""

import json

import numpy as np
import pytest

from synth import synth_ink
from hwr.data.inkset import write_inkset
from hwr.training.inkdata import BucketSampler


def test_a_small_set_is_repeated_to_the_minimum():
    s = BucketSampler(np.arange(5) + 10, batch_size=4, shuffle=True, seed=3, min_lines=20)
    batches = list(s)
    assert s.rounds == 4 and len(batches) == len(s) == 5
    flat = sorted(k for b in batches for k in b)
    assert flat == list(range(20))  # each of the 4 repeats of each line once
    assert [sum(k % 5 == j for k in flat) for j in range(5)] == [4] * 5
    # no repeat of a line fills a batch: the copies are mixed at random, not bucketed by length
    assert any(len({k % 5 for k in b}) > 1 for b in batches)
    s.epoch = 1
    assert list(s) != batches  # a new order each epoch


def test_a_large_set_and_validation_are_not_repeated():
    lengths = np.arange(300)
    a = BucketSampler(lengths, 24, True, 1, min_lines=240)
    b = BucketSampler(lengths, 24, True, 1)
    assert a.rounds == 1 and list(a) == list(b)
    v = BucketSampler(np.arange(5), 4, shuffle=False, seed=0, min_lines=240)
    assert v.rounds == 1 and sorted(k for bt in v for k in bt) == list(range(5))


def test_each_repeat_of_an_ink_line_is_distorted_anew():
    from hwr.alphabet import Alphabet
    from hwr.ink.features import preprocessing_for
    from hwr.training.inkdata import InkLines

    class One:
        num_points = np.array([40])

        def __len__(self):
            return 1

        def __getitem__(self, j):
            return synth_ink("olv", seed=1)

    alphabet = Alphabet(list("jlovz "))
    ds = InkLines([One()], alphabet, preprocessing_for(), augment=True, seed=0)
    f0, lab0, t0 = ds[0]
    f1, lab1, t1 = ds[1]  # the second copy of line 0
    assert t0 == t1 == "olv" and lab0.tolist() == lab1.tolist()
    assert f0.shape != f1.shape or not np.allclose(f0.numpy(), f1.numpy())
    plain = InkLines([One()], alphabet, preprocessing_for(), augment=False)
    assert np.allclose(plain[0][0].numpy(), plain[1][0].numpy())


@pytest.mark.parametrize("minimum, steps", [(0, 1), (240, 10)])
def test_fine_tuning_on_six_lines_takes_several_steps_an_epoch(tmp_path, minimum, steps):
    """Six corrections, batches of 24: one optimiser step an epoch without the minimum, so
    that the patience stopped a fine-tuning before its warm-up was over."""
    from hwr.training.ink import train_ink
    from hwr.training.trainer import TrainConfig

    texts = ["olv", "zj o", "lvz", "oo jl", "vol", "jz"]
    write_inkset(tmp_path / "mine.h5", [(f"m{i}", synth_ink(t, seed=i)) for i, t in enumerate(texts)])
    out = tmp_path / "m.safetensors"
    cfg = TrainConfig(epochs=1, batch_size=24, warmup_steps=1, device="cpu", adapt_lm=False, min_epoch_lines=minimum)
    train_ink([tmp_path / "mine.h5"], [tmp_path / "mine.h5"], out, cfg, net_config={"hidden": 16, "layers": 1})
    state = json.loads((tmp_path / "m.safetensors.run" / "state.json").read_text())
    assert state["epoch"] == 1 and state["step"] == steps
