"""One line read from several images of it (Decoder.decode_views; hwr recognize --bands)."""

import itertools

import numpy as np
import pytest
from click.testing import CliRunner

from hwr.alphabet import Alphabet
from hwr.decoding.decoder import Decoder, DecoderSettings, ctc_log_likelihoods
from hwr.errors import ModelError

ALPHA = Alphabet("ab c")


def _brute(lp: np.ndarray, labels: list[int]) -> float:
    """log p(labels | lp) by summing every frame-wise path that collapses to ``labels``."""
    total = -np.inf
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        out, prev = [], 0
        for k in path:
            if k and k != prev:
                out.append(k)
            prev = k
        if out == labels:
            total = np.logaddexp(total, sum(lp[t, k] for t, k in enumerate(path)))
    return float(total)


def test_ctc_log_likelihoods_sum_every_alignment():
    rng = np.random.default_rng(0)
    lp = np.log(rng.dirichlet(np.ones(4), size=5))
    seqs = [[1, 2], [2, 2], [], [1, 2, 3], [3, 3, 3], [1, 1, 1, 1]]
    got = ctc_log_likelihoods(lp, seqs)
    for g, seq in zip(got, seqs):
        want = _brute(lp, seq)
        assert (np.isinf(g) and np.isinf(want)) or g == pytest.approx(want, abs=1e-5)
    assert np.isneginf(got[-1])  # four repeated labels need seven frames
    assert ctc_log_likelihoods(lp, []).shape == (0,)


def _peaked(path: str, sure: float = 0.9) -> np.ndarray:
    """Log-probabilities of frames that each favour one class (``-`` blank, else a character)."""
    n = len(ALPHA)
    lp = np.full((len(path), n), np.log((1 - sure) / (n - 1)))
    for t, c in enumerate(path):
        lp[t, 0 if c == "-" else ALPHA.encode(c)[0]] = np.log(sure)
    return lp


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_one_view_is_read_as_decode_reads_it(decoder):
    dec = Decoder(ALPHA, DecoderSettings(decoder=decoder))
    lp = _peaked("-a-b-c-", 0.7)
    one, plain = dec.decode_views([lp]), dec.decode(lp)
    assert (one.text, one.confidence, one.chars) == (plain.text, plain.confidence, plain.chars)
    assert dec.decode_views([]).text == ""


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_the_text_that_fits_the_views_best_wins(decoder):
    """The first view alone reads "ab" (its "b" barely); the other two read "aa" clearly: read
    together, the mean likelihood picks "aa", with its characters placed in the first view."""
    dec = Decoder(ALPHA, DecoderSettings(decoder=decoder))
    first = _peaked("-a--b-")
    first[4, ALPHA.encode("a")[0]] = np.log(0.45)
    first[4, ALPHA.encode("b")[0]] = np.log(0.5)
    first[4] -= np.logaddexp.reduce(first[4])
    others = [_peaked("a--a--"), _peaked("-a-a--")]
    assert dec.decode(first).text == "ab"
    res = dec.decode_views([first, *others])
    assert res.text == "aa"
    assert [(c.char, c.start, c.end) for c in res.chars] == [("a", 1, 1), ("a", 4, 4)]
    # the rule itself: the mean over the views of log p(text | view)
    ll = np.mean([ctc_log_likelihoods(v, [ALPHA.encode("ab"), ALPHA.encode("aa")]) for v in [first, *others]], axis=0)
    assert ll[1] > ll[0]
    if decoder == "beam":
        assert res.alternatives[0].text == "aa" and {a.text for a in res.alternatives} >= {"aa", "ab"}
        assert sum(a.score for a in res.alternatives) == pytest.approx(1.0)


def test_a_view_without_frames_is_left_out():
    dec = Decoder(ALPHA, DecoderSettings(decoder="greedy"))
    lp = _peaked("-a-b-")
    assert dec.decode_views([lp, np.zeros((0, len(ALPHA)))]).text == "ab"


def test_recognize_page_reads_each_line_by_three_bands(monkeypatch):
    """bands=3 cuts each found line by the three bands of crops.BANDS, reading band first, and
    decodes the three views as one; bands=1 cuts it once, as before."""
    import hwr.segmentation.crops as crops
    from hwr.pipeline import Recognizer
    from tests.synth import synth_page

    calls = []
    real = crops.cut_line

    def spy(gray, line, spacing, name="line", up=crops.READ_UP, down=crops.READ_DOWN):
        calls.append((name, up, down))
        return real(gray, line, spacing, name, up, down)

    monkeypatch.setattr(crops, "cut_line", spy)
    seen = []
    monkeypatch.setattr(Decoder, "decode_views", lambda self, views: (seen.append(len(views)), self.decode(views[0]))[1])
    page = synth_page(0)
    one = Recognizer(kind="image", bands=1).recognize_page(page)
    assert {(u, d) for _, u, d in calls} == {crops.BANDS[0]} and seen == [1] * len(calls)
    n = len(calls)
    calls.clear(), seen.clear()
    three = Recognizer(kind="image", bands=3)
    page_, index, views = three.page_views(page)
    assert [len(v) for v in views] == [3] * len(index) and len(calls) == 3 * n
    assert [(u, d) for _, u, d in calls[:3]] == list(crops.BANDS)
    assert three.page_log_probs(page)[2][0].shape == views[0][0].shape  # the reading band's
    calls.clear()
    read = three.recognize_page(page)
    assert seen == [3] * n and len(read.lines) == len(one.lines)
    with pytest.raises(ModelError, match="bands must be 1 to 3"):
        Recognizer(kind="image", bands=4)


def test_cli_recognize_bands(tmp_path):
    import cv2

    from hwr.cli.main import cli
    from tests.synth import synth_page

    page = tmp_path / "page.png"
    cv2.imwrite(str(page), synth_page(0))
    r1 = CliRunner().invoke(cli, ["recognize", "--decoder", "greedy", str(page)])
    r3 = CliRunner().invoke(cli, ["recognize", "--decoder", "greedy", "--bands", "3", str(page)])
    assert r1.exit_code == 0 and r3.exit_code == 0, r1.output + r3.output
    assert len(r3.output.splitlines()) == len(r1.output.splitlines()) > 0
    bad = CliRunner().invoke(cli, ["recognize", "--bands", "4", str(page)])
    assert bad.exit_code == 2 and "--bands" in bad.output
    cut = CliRunner().invoke(cli, ["recognize", "--line", "--bands", "3", str(page)])
    assert cut.exit_code == 2 and "already cut" in cut.output


def test_views_keep_to_the_lexicon(tmp_path):
    """With a lexicon the views' searches keep to it."""
    words = tmp_path / "words.txt"
    words.write_text("ba\n", encoding="utf-8")
    dec = Decoder(ALPHA, DecoderSettings(decoder="beam", lexicon=str(words)))
    fits = [_peaked("-b-a-", 0.6), _peaked("-b-a-", 0.6)]
    assert dec.decode_views(fits).text == "ba"
    # frames so sure that only "ab" or nothing is tried (every other label below the search's
    # token_min_logp): the views agree with decode on the first view
    off = [_peaked("-a-b-", 0.9999), _peaked("a--b-", 0.9999)]
    assert dec.decode_views(off).text == dec.decode(off[0]).text != "ab"


def test_evaluate_reads_the_cuts_of_a_line_as_one(tmp_path, monkeypatch):
    """hwr evaluate --views: consecutive lines sharing an id are one line, read by decode_views."""
    from hwr.cli.main import cli
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.evaluation import evaluate_image_model
    from hwr.imaging.line import normalize_line, to_uint8
    from hwr.pipeline import Recognizer
    from tests.synth import synth_line_image

    prep = Recognizer("image_default", kind="image").preprocessing
    samples = []
    for k, text in enumerate(["love", "vole zoo"]):
        im = synth_line_image(text)
        for pad in (0, 6, 12):  # three cuts of one line: more or less paper above and below
            cut = np.pad(im, ((pad, pad), (0, 0)), constant_values=255)
            samples.append(LineSample(to_uint8(normalize_line(cut, prep)), text, source="p.xml", collection="c",
                                      id=f"c/p/l{k}"))
    data = tmp_path / "cuts.h5"
    write_lineset(data, samples, prep)
    seen = []
    real = Decoder.decode_views
    monkeypatch.setattr(Decoder, "decode_views", lambda self, views: (seen.append(len(views)), real(self, views))[1])
    ev = evaluate_image_model("image_default", [data], decoder="greedy", views=True)
    assert seen == [3, 3] and [ref for ref, _ in ev.pairs] == ["love", "vole zoo"] and ev.rates.lines == 2
    assert evaluate_image_model("image_default", [data], decoder="greedy").rates.lines == 6
    r = CliRunner().invoke(cli, ["evaluate", "--views", "--decoder", "greedy", str(data)])
    assert r.exit_code == 0 and "lines    2" in r.output, r.output
    nameless = tmp_path / "nameless.h5"  # lines without ids are never read together
    write_lineset(nameless, [LineSample(x.image, x.text, source="p.xml", collection="c") for x in samples], prep)
    seen.clear()
    assert evaluate_image_model("image_default", [nameless], decoder="greedy", views=True).rates.lines == 6
    assert seen == [1] * 6


def test_evaluate_views_needs_line_images(tmp_path):
    from hwr.cli.main import cli
    from hwr.data.inkset import write_inkset
    from hwr.evaluation import evaluate_image_model
    from tests.synth import synth_ink

    ink = tmp_path / "ink.h5"
    write_inkset(ink, [("a", synth_ink("olv"))])
    r = CliRunner().invoke(cli, ["evaluate", "--views", str(ink)])
    assert r.exit_code == 2 and "--views" in r.output
    with pytest.raises(ValueError, match="needs a line dataset"):
        evaluate_image_model("image_default", [ink], decoder="greedy", views=True)
