"""Line-image augmentation (``hwr.training.imagedata.augment_line``): the levels, what each
does to a line, and how a training run chooses one."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hwr.alphabet import Alphabet
from hwr.data.lineset import LineSet
from hwr.training.imagedata import AUGMENTATIONS, ImageLines, augment_line


def _line(h: int = 48, w: int = 300) -> np.ndarray:
    """A normalised line (ink bright on black): vertical strokes of letter height between a
    baseline and an x-height, with a margin of 2 px above and below the writing."""
    img = np.zeros((h, w), np.float32)
    for x in range(10, w - 10, 14):
        img[14:40, x:x + 3] = 1.0
    img[38:40, 10:w - 10] = 1.0  # a baseline stroke
    return img


def _column_profile(img: np.ndarray) -> np.ndarray:
    return (img > 0.5).sum(axis=0)


def test_levels_keep_height_and_range_and_are_seeded():
    img = _line()
    for level in AUGMENTATIONS:
        a = augment_line(img, np.random.default_rng(5), level)
        b = augment_line(img, np.random.default_rng(5), level)
        assert a.shape[0] == 48 and a.dtype == np.float32
        assert 0.0 <= a.min() and a.max() <= 1.0
        assert np.array_equal(a, b)  # the same generator state, the same distortion
        c = augment_line(img, np.random.default_rng(6), level)
        assert a.shape != c.shape or not np.array_equal(a, c)
    with pytest.raises(ValueError, match="augmentation 'wobble'"):
        augment_line(img, np.random.default_rng(0), "wobble")


def test_warp_distorts_the_writing_but_keeps_it():
    img = _line()
    ink = float((img > 0.5).sum())
    moved_rows = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        out = augment_line(img, rng, "warp")
        # the width follows the width scale (0.8-1.2) plus the shear's slack, at most
        assert 0.75 * img.shape[1] <= out.shape[1] <= 1.2 * img.shape[1] + 0.35 * 48 + 2
        # the writing stays in the frame: most of the ink survives (stroke weight and
        # contrast change it by design; nothing is cut off at the edges)
        kept = float((out > 0.35).sum())
        assert kept > 0.6 * ink, seed
        rows = np.nonzero((out > 0.5).sum(axis=1))[0]
        assert rows.min() >= 3 and rows.max() <= 46  # not pushed out at the top or bottom
        if abs(int(rows.min()) - 14) > 1 or abs(int(rows.max()) - 39) > 1:
            moved_rows += 1
    # geometric distortions are the point of the level: the writing's vertical extent
    # changes in most draws (height scale and shift), which "mild" never does
    assert moved_rows > 20
    for seed in range(20):
        out = augment_line(img, np.random.default_rng(seed), "mild")
        rows = np.nonzero((out > 0.5).sum(axis=1))[0]
        assert abs(int(rows.min()) - 14) <= 1 and abs(int(rows.max()) - 39) <= 1


def _lean(img: np.ndarray) -> float:
    """The mean horizontal shift, in pixels, between the top and the bottom of the strokes."""
    import cv2

    n, lab = cv2.connectedComponents((img > 0.5).astype(np.uint8))
    shifts = []
    for k in range(1, n):
        ys, xs = np.nonzero(lab == k)
        if ys.max() - ys.min() < 10:
            continue
        top, bottom = xs[ys <= ys.min() + 4], xs[ys >= ys.max() - 4]
        shifts.append(abs(top.mean() - bottom.mean()))
    return float(np.mean(shifts))


def test_warp_shears_and_bends_vertical_strokes():
    """Vertical strokes stay vertical under "mild"; under "warp" they lean or bend in most
    draws (shear, elastic warp)."""
    stroke = _line()
    stroke[38:40] = 0.0  # the strokes alone
    assert _lean(stroke) < 0.01
    assert max(_lean(augment_line(stroke, np.random.default_rng(s), "mild")) for s in range(20)) < 0.6
    leans = [_lean(augment_line(stroke, np.random.default_rng(s), "warp")) for s in range(30)]
    assert sum(v > 1.0 for v in leans) > 15 and max(leans) > 4.0


def _lineset(path, texts, h: int = 48):
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import line_preprocessing, to_uint8

    write_lineset(path, [LineSample(to_uint8(_line(h, 100 + 20 * i)), t) for i, t in enumerate(texts)],
                  line_preprocessing(height=h))
    return path


def test_image_lines_use_the_chosen_level(tmp_path):
    h = 48
    path = _lineset(tmp_path / "lines.h5", ["ab", "ba", "aab"], h)
    prep = LineSet(path).preprocessing
    alph = Alphabet("ab")
    for aug, expect in ((True, "warp"), ("mild", "mild"), ("warp", "warp")):
        ds = ImageLines([LineSet(path)], alph, prep, augment=aug, seed=1)
        assert ds.level == expect
        x = ds[0][0]
        assert x.shape[1] == h and isinstance(x, torch.Tensor)
    with pytest.raises(ValueError, match="augmentation 'strong'"):  # refused at once, not at the first line
        ImageLines([LineSet(path)], alph, prep, augment="strong")
    fixed = ImageLines([LineSet(path)], alph, prep, augment=False)
    assert torch.equal(fixed[1][0], fixed[1][0])


@pytest.mark.parametrize("choice, expect", [("off", False), ("mild", "mild"), (None, "warp")])
def test_cli_passes_the_level_to_training(monkeypatch, tmp_path, choice, expect):
    import hwr.cli.main as main

    seen = {}

    def fake_train(*args, **kwargs):  # record the configuration and stop there
        cfg = next(a for a in list(args) + list(kwargs.values()) if hasattr(a, "augment"))
        seen["augment"] = cfg.augment
        raise SystemExit(0)

    monkeypatch.setattr("hwr.training.image.train_image", fake_train)
    path = _lineset(tmp_path / "lines.h5", ["ab", "ba", "ab", "b"])
    argv = ["train", "--kind", "image", "--data", str(path), "--out", str(tmp_path / "m.safetensors"),
            "--epochs", "1", "--device", "cpu"]
    if choice:
        argv += ["--augment", choice]
    CliRunner().invoke(main.cli, argv)
    assert seen["augment"] == expect


def test_the_model_card_names_the_augmentation():
    from hwr.models.checkpoint import ModelInfo
    from hwr.training.card import card_text

    def card(kind, augment):
        return card_text(ModelInfo(arch="crnn", kind=kind, config={}, alphabet=list("ab"), name="m",
                                   training={"train_config": {"batch_size": 24, "lr": 0.0015, "anneal": True,
                                                              "augment": augment, "seed": 2}}))

    assert "| settings | batch 24, learning rate 0.0015 with cosine decay, augmentation mild, seed 2 |" in card(
        "image", "mild")
    assert "augmentation warp," in card("image", True)  # True (the library default) is the warp level
    assert "augmentation off," in card("image", False) and "augmentation on," in card("ink", True)
    assert "| settings |" not in card_text(ModelInfo(arch="crnn", kind="image", config={}, alphabet=["a"], name="m"))


def test_show_through_adds_the_mirrored_other_line_faintly():
    from hwr.training.imagedata import show_through

    img = _line()
    other = np.zeros((48, 120), np.float32)
    other[14:40, 5:25] = 1.0  # one block near the other line's left edge
    for seed in range(20):
        out = show_through(img, other, np.random.default_rng(seed))
        assert out.shape == img.shape and out.dtype == np.float32
        assert np.all(out >= img)  # the line's own ink is never weakened
        extra = out - img
        assert 0.0 < extra.max() <= 0.6 + 1e-6  # faint: at most 0.6 of full ink
    # mirrored, as writing seen through the back of the leaf: a line that darkens from left to
    # right shows through lightening from left to right (within each repeat)
    ramp = np.zeros((48, 120), np.float32)
    ramp[10:38] = np.linspace(0.05, 1.0, 120, dtype=np.float32)
    for seed in range(5):
        out = show_through(np.zeros((48, 300), np.float32), ramp, np.random.default_rng(seed))
        row = out[out.sum(1).argmax()]
        d = np.diff(row)
        small = np.abs(d) < 0.05  # not the jumps where one repeat meets the next
        assert (d[small] < 0).sum() > 3 * (d[small] > 0).sum(), seed
    a = show_through(img, other, np.random.default_rng(3))
    b = show_through(img, other, np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_page_level_shows_another_stored_line_through_some_draws(tmp_path, monkeypatch):
    import hwr.training.imagedata as imagedata

    path = _lineset(tmp_path / "lines.h5", ["ab", "ba", "aab"])
    prep = LineSet(path).preprocessing
    widths = {100, 120, 140}  # _lineset's line widths: the images a draw may show through
    calls = []
    real = imagedata.show_through

    def spy(img, other, rng):
        calls.append(other.shape[1])
        return real(img, other, rng)

    monkeypatch.setattr(imagedata, "show_through", spy)
    for level, lo, hi in (("page", 0.15, 0.45), ("warp", 0.0, 0.0), ("mild", 0.0, 0.0)):
        calls.clear()
        ds = ImageLines([LineSet(path)], Alphabet("ab"), prep, augment=level, seed=4)
        for _ in range(40):
            for k in range(3):
                ds[k]
        assert lo * 120 <= len(calls) <= hi * 120, level
        assert set(calls) <= widths
    fixed = ImageLines([LineSet(path)], Alphabet("ab"), prep, augment=False)
    calls.clear()
    fixed[0]
    assert not calls
