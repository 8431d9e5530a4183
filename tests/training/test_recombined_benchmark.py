"""Logic of benchmarks/recombined_lines.py that needs no ../shared data: the CTC forced
alignment that cuts lines into words, and the new lines put together from those words."""

import itertools

import numpy as np
import pytest

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("recombined_lines")


def test_words_are_cut_midway_between_their_letters(bench):
    from hwr.decoding.align import char_spans

    # "ab cd" over 12 frames: a at 1, b at 3, the space at 5-6, c at 8, d at 10
    frames = {1: 1, 3: 2, 5: 5, 6: 5, 8: 3, 10: 4}
    logp = np.full((12, 6), np.log(0.02))
    for t in range(12):
        logp[t, frames.get(t, 0)] = np.log(0.9)
    spans, _ = char_spans(logp, [1, 2, 5, 3, 4], "abcd ")
    # at 4 px a frame, b's last frame (3) ends at pixel 16 and c's first (8) starts at 32: cut at 24
    assert bench.word_columns(spans, "ab cd", 4, 48) == [0, 24, 48]
    assert bench.word_columns(spans[:4], "ab cd", 4, 48) is None  # a character without its span
    assert bench.word_columns(spans, " bcd ", 4, 48) is None  # a space with no word before it
    one = char_spans(logp[:4], [1, 2], "abcd ")[0]
    assert bench.word_columns(one, "ab", 4, 16) == [0, 16]


def test_new_lines_are_words_of_the_real_ones(bench, tmp_path):
    from hwr.data.lineset import LineSample, LineSet, write_lineset

    # two lines, each word a block of its own grey level, so a new line can be read back by its pixels
    words = {"the": 10, "cat": 20, "sat": 30, "on": 40, "a": 50, "mat": 60}
    texts = ["the cat sat", "on a mat"]
    images, cuts = [], []
    for i, text in enumerate(texts):
        blocks = [np.full((48, 12 + 4 * j), words[w], np.uint8) for j, w in enumerate(text.split())]
        images.append(np.concatenate(blocks, axis=1))
        cuts.append({"i": i, "cut": 0, "columns": [0, *np.cumsum([b.shape[1] for b in blocks]).tolist()]})
    src = tmp_path / "real.h5"
    write_lineset(src, [LineSample(im, t, "w", "s", "hooker", f"l{i}") for i, (im, t) in enumerate(zip(images, texts))],
                  {"type": "line-image", "height": 48}, split="train")
    out = tmp_path / "new.h5"
    assert bench.recombined(src, cuts, [3, 3], 40, out) == 42
    s = LineSet(out)
    s.load_all()
    assert s.texts[:2] == texts and all(np.array_equal(s.image(i), images[i]) for i in range(2))
    level = {v: w for w, v in words.items()}
    for i in range(2, 42):
        im = s.image(i)
        run = [level[int(v)] for v, _ in itertools.groupby(im[0])]  # the words, left to right, by grey level
        # a word drawn twice in a row reads as one run: compare with the text's runs
        assert run == [w for w, _ in itertools.groupby(s.texts[i].split(" "))]
        assert (im == im[0]).all()  # every row the same: whole word columns, nothing cut across
    assert len({s.texts[i] for i in range(2, 42)}) > 20  # drawn at random
    # the same count draws the same lines
    again = tmp_path / "again.h5"
    bench.recombined(src, cuts, [3, 3], 40, again)
    t2 = LineSet(again)
    t2.load_all()
    assert t2.texts == s.texts
