"""The line verifier (hwr.segmentation.verify): its features, its weights file, its say
over the scrap rules, and that it keeps every line of clean pages."""

from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from hwr.segmentation import analyse_page, segment_page
from hwr.segmentation import verify as V
from segmentation.test_segmentation import make_page


def _line(x0, x1, y, npix, keep=True, band=10.0, spread=6.0, above=50, below=30, biggest=0.1):
    return SimpleNamespace(x0=x0, x1=x1, ymid=y, npix=npix, keep=keep, band=band, spread=spread,
                           above=above, below=below, biggest=biggest)


def _page():
    """Six full lines 60 px apart (x-height 15) and a small scrap well below them, right."""
    text = [_line(100, 900, 100 + 60 * k, 4000) for k in range(6)]
    scrap = _line(700, 800, 100 + 60 * 5 + 200, 900, keep=False, biggest=1.0)
    return text, scrap


def test_shipped_verifier_loads():
    assert V.WEIGHTS.is_file()
    v = V.default_verifier()
    assert v is not None and 0.0 < v.threshold < 1.0
    spec = json.loads(V.WEIGHTS.read_text())
    assert spec["features"] == list(V.FEATURES) and "trained_on" in spec
    assert v.w1.shape == (len(v.b1), len(V.FEATURES))


def test_features_describe_the_line_against_the_text():
    text, scrap = _page()
    f = V.line_features(text + [scrap], grid=60.0, xh=15.0)
    assert f.shape == (7, len(V.FEATURES))
    col = {name: f[:, k] for k, name in enumerate(V.FEATURES)}
    assert np.allclose(col["log_ink"][:6], 0.0) and col["log_ink"][6] < -1.0
    assert np.allclose(col["width"][:6], 1.0) and col["width"][6] == pytest.approx(0.125)
    assert col["full"].tolist() == [1.0] * 6 + [0.0]
    assert col["rules_keep"].tolist() == [1.0] * 6 + [0.0]
    # the scrap stands 200 px = 3.33 spacings below the last line, and right of the text's start
    assert col["below_text"][6] == pytest.approx(200 / 60)
    assert col["gap_up"][6] == pytest.approx(200 / 60) and col["gap_down"][6] == 5.0  # none below: capped
    assert col["left"][6] == pytest.approx(600 / 800)
    # the first line has no line above it (capped), the next one a spacing below
    assert col["gap_up"][0] == 5.0 and col["gap_down"][0] == pytest.approx(1.0)
    assert col["above_text"][0] == 0.0 and col["below_text"][5] == 0.0
    assert col["log_lines"][0] == pytest.approx(np.log(6))
    assert col["biggest"].tolist() == [0.1] * 6 + [1.0]
    assert V.line_features([], 60.0, 15.0).shape == (0, len(V.FEATURES))


def _spec(weight_on: str, bias: float) -> dict:
    """A one-unit network whose verdict follows one feature: keep when feature > -bias."""
    k = len(V.FEATURES)
    w1 = np.zeros((1, k))
    w1[0, V.FEATURES.index(weight_on)] = 1.0
    return {"features": list(V.FEATURES), "mean": [0.0] * k, "scale": [1.0] * k, "w1": w1.tolist(),
            "b1": [bias], "w2": [20.0], "b2": 0.0, "threshold": 0.5}


def test_verifier_overrules_the_rules_both_ways():
    text, scrap = _page()
    lines = text + [scrap]
    text[2].keep = False  # as if the rules had dropped a full line
    V.verify(lines, 60.0, 15.0, verifier=V.Verifier(_spec("log_ink", 0.5)))
    assert [ln.keep for ln in lines] == [True] * 6 + [False]  # by ink: the full line back, the scrap out
    V.verify(lines, 60.0, 15.0, verifier=V.Verifier(_spec("width", -0.5)))  # keep width > 0.5
    assert [ln.keep for ln in lines] == [True] * 6 + [False]
    V.verify(lines, 60.0, 15.0, verifier=V.Verifier(_spec("below_text", -0.5)))  # keep what is below
    assert [ln.keep for ln in lines] == [False] * 6 + [True]


def test_bad_weights_leave_the_rules_to_decide(tmp_path, monkeypatch):
    bad = tmp_path / "line_verifier.json"
    for content in ("{not json", json.dumps({**_spec("width", 0.0), "features": ["other"]}),
                    json.dumps({**_spec("width", 0.0), "w2": [1.0, 2.0]}), json.dumps({"mean": []})):
        bad.write_text(content)
        monkeypatch.setattr(V, "WEIGHTS", bad)
        V.default_verifier.cache_clear()
        try:
            assert V.default_verifier() is None
            text, scrap = _page()
            text[2].keep = False
            V.verify(text + [scrap], 60.0, 15.0)
            assert [ln.keep for ln in text + [scrap]] == [True, True, False, True, True, True, False]
        finally:
            V.default_verifier.cache_clear()
    monkeypatch.setattr(V, "WEIGHTS", tmp_path / "missing.json")
    assert V.default_verifier() is None
    V.default_verifier.cache_clear()


@pytest.mark.parametrize("n,skew,seed", [(1, 0.0, 0), (2, 0.0, 1), (3, 3.0, 2), (6, 0.0, 3), (10, -2.0, 4)])
def test_verifier_keeps_every_line_of_clean_pages(n, skew, seed):
    page, boxes = make_page(n_lines=n, skew=skew, seed=seed)
    assert len(segment_page(page).lines) == n
    assert len(segment_page(page, verifier=False).lines) == n


def test_analyse_page_gives_candidates_and_kept_lines():
    page, _ = make_page(n_lines=5, seed=0, noise=False)
    cv2.putText(page, "x. Dupont 12", (700, 1600), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.4, 40, 2, cv2.LINE_AA)
    found = analyse_page(page)
    assert len(found.lines) == 5 and len(found.candidates) >= 5
    assert all(any(ln is c for c in found.candidates) and ln.keep for ln in found.lines)
    assert found.grid > 0 and found.prep.xheight > 0
    blank = analyse_page(np.full((800, 600), 230, np.uint8))
    assert blank.lines == [] and blank.candidates == []


def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "train_line_verifier.py"
    spec = importlib.util.spec_from_file_location("bench_train_line_verifier", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("hidden", [0, 4])
def test_training_script_fits_a_verifier_that_round_trips(hidden):
    """benchmarks/train_line_verifier.py's fit: on candidates whose label is one feature's
    sign (plus a wide margin) it learns the rule, for the logistic model written as a
    one-unit network as for a hidden layer; the weights survive JSON unchanged."""
    bench = _bench()
    rng = np.random.default_rng(0)
    pages = []
    for _ in range(6):
        x = rng.normal(size=(40, len(V.FEATURES)))
        x[:, 2] += np.where(x[:, 2] > 0, 1.0, -1.0)
        pages.append({"x": x, "y": (x[:, 2] > 0).astype(int), "ngt": int((x[:, 2] > 0).sum())})
    v = bench.fit(pages, hidden, 1e-3, epochs=300)
    keep = [v.probability(p["x"]) >= v.threshold for p in pages]
    assert bench.f1(pages, keep)[2] > 0.97
    again = V.Verifier(json.loads(json.dumps(v.to_dict())))
    for p in pages:
        assert np.allclose(again.probability(p["x"]), v.probability(p["x"]))
    # F1 counts every ground-truth line, also those no candidate found
    assert bench.f1(pages[:1], [pages[0]["y"] > 0]) == (1.0, 1.0, 1.0)
    missed = [{**pages[0], "ngt": 2 * pages[0]["ngt"]}]
    assert bench.f1(missed, [pages[0]["y"] > 0])[1] == pytest.approx(0.5)


def test_cli_segment_no_verifier(tmp_path, monkeypatch):
    """`hwr segment --no-verifier` leaves the rules alone to decide: with a verifier that
    drops every line of the text, the page has no lines unless the flag is given."""
    from click.testing import CliRunner

    from hwr.cli.segment import segment

    page, _ = make_page(n_lines=4, seed=5, noise=False)
    p = tmp_path / "page.png"
    cv2.imwrite(str(p), page)
    drop_all = V.Verifier(_spec("below_text", -0.5))
    monkeypatch.setattr(V, "default_verifier", lambda: drop_all)
    counts = {}
    for args in ([], ["--no-verifier"]):
        res = CliRunner().invoke(segment, [str(p), *args])
        assert res.exit_code == 0, res.output
        counts[bool(args)] = len(json.loads(res.stdout.strip().splitlines()[-1])["lines"])
    assert counts == {False: 0, True: 4}


def test_a_line_of_one_piece_is_told_from_writing():
    """``biggest``: a long flourish is one connected piece of ink, a line of words many.  The
    scrap rules keep such a flourish under the text as a line; the shipped verifier drops it."""
    page, _ = make_page(n_lines=3, seed=6, ruling=False, noise=False)
    xs = np.arange(150, 1150, 10)
    cv2.polylines(page, [np.int32(np.c_[xs, 1200 + 30 * np.sin(xs / 60.0)]).reshape(-1, 1, 2)], False, 60, 10)
    found = analyse_page(page, verifier=False)
    scale = found.prep.to_work[1, 1]
    text = [c for c in found.candidates if c.ymid < 700 * scale]
    stroke = [c for c in found.candidates if abs(c.ymid - 1200 * scale) < 30 * scale]
    assert len(text) == 3 and all(c.biggest < 0.5 for c in text)
    assert len(stroke) == 1 and stroke[0].biggest > 0.9 and stroke[0].keep
    assert len(segment_page(page, verifier=False).lines) == 4
    assert len(segment_page(page).lines) == 3
