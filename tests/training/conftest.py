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
