"""Shared fixtures of the training tests."""

import numpy as np
import pytest

WORDS = ["ol", "vz", "jo", "lv", "zz", "oj", "vo", "lz"]


@pytest.fixture(scope="session")
def image_data(tmp_path_factory):
    """32 synthetic ink lines (ink.h5, rendered to images on the fly in training) and 16 of
    them rendered once into a line dataset for validation (lines.h5, height 32)."""
    from synth import synth_ink
    from hwr.data.inkset import write_inkset
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import line_preprocessing, normalize_line, to_uint8
    from hwr.ink.render import render_ink

    d = tmp_path_factory.mktemp("imgdata")
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, 2)) for _ in range(32)]
    inks = [(f"s{i}", synth_ink(t, jitter=0.02, seed=i)) for i, t in enumerate(texts)]
    write_inkset(d / "ink.h5", inks, split="train")
    prep = line_preprocessing(height=32, margin=1)
    lines = [LineSample(to_uint8(normalize_line(render_ink(ink, rng=np.random.default_rng(i)), prep)), ink.text,
                        collection="synth", id=sid) for i, (sid, ink) in enumerate(inks[:16])]
    write_lineset(d / "lines.h5", lines, prep, split="val")
    return d


@pytest.fixture(scope="session")
def tiny_base_and_lines(tmp_path_factory):
    """A small untrained CRNN saved as a base model (``TINY_CRNN``, height 32) and a line
    dataset of 16 rendered synthetic lines (four texts) to fine-tune it on."""
    import torch

    from synth import SYNTH_CHARS, TINY_CRNN, synth_ink
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import line_preprocessing, normalize_line, to_uint8
    from hwr.ink.render import render_ink
    from hwr.models.checkpoint import ModelInfo, save_model
    from hwr.models.registry import build

    d = tmp_path_factory.mktemp("tinybase")
    prep = line_preprocessing(height=32, margin=1)
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    lines = [LineSample(to_uint8(normalize_line(render_ink(synth_ink(texts[i % 4], seed=i),
                                                           rng=np.random.default_rng(i)), prep)),
                        texts[i % 4], collection="synth", id=f"s{i}") for i in range(16)]
    write_lineset(d / "lines.h5", lines, prep, split="train")
    torch.manual_seed(0)
    net = build("crnn", {**TINY_CRNN, "height": 32, "num_classes": len(SYNTH_CHARS) + 1})
    base = save_model(net, ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=SYNTH_CHARS,
                                     preprocessing=prep), d / "base.safetensors")
    return base, d / "lines.h5"
