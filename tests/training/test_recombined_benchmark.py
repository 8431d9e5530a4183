"""Logic of benchmarks/recombined_lines.py that needs no ../shared data: the CTC forced
alignment that cuts lines into words, and the new lines put together from those words."""

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(BENCH))  # for its `from finetune_hooker import ...`
    spec = importlib.util.spec_from_file_location("bench_recombined_lines", BENCH / "recombined_lines.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    yield mod
    mp.undo()


def _collapse(frames):
    """The label positions a frame-wise path visits, in order (CTC's many-to-one map)."""
    out, prev = [], -1
    for k in frames:
        if k >= 0 and k != prev:
            out.append(k)
        prev = k
    return out


def _best_by_enumeration(logp, labels):
    """The best valid alignment, found by trying every frame-wise sequence of positions."""
    best, best_score = None, -np.inf
    for frames in itertools.product(range(-1, len(labels)), repeat=logp.shape[0]):
        if _collapse(frames) != list(range(len(labels))):
            continue
        # a repeated label needs a blank between its two occurrences
        if any(a >= 0 and b == a + 1 and labels[a] == labels[b] for a, b in zip(frames, frames[1:])):
            continue
        score = sum(logp[t, 0 if k < 0 else labels[k]] for t, k in enumerate(frames))
        if score > best_score:
            best, best_score = list(frames), score
    return best


@pytest.mark.parametrize("labels", [[1, 2], [2, 2], [1, 3, 1], [3, 3, 2]])
def test_forced_alignment_is_the_best_valid_path(bench, labels):
    rng = np.random.default_rng(len(labels) * 10 + labels[0])
    for _ in range(5):
        logp = np.log(rng.dirichlet(np.ones(4), size=6))
        path = bench.forced_alignment(logp, labels)
        assert path == _best_by_enumeration(logp, labels)
        assert _collapse(path) == list(range(len(labels)))


def test_forced_alignment_refuses_text_longer_than_its_frames(bench):
    logp = np.log(np.full((3, 4), 0.25))
    assert bench.forced_alignment(logp, [1, 2, 3, 1]) is None
    assert bench.forced_alignment(logp, [1, 1, 1]) is None  # repeats need blanks between them: 5 frames
    assert bench.forced_alignment(logp, [1, 2, 3]) == [0, 1, 2]


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
