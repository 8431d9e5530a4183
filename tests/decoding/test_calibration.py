"""Confidence calibration and the decoder defaults stored beside a model."""

import json

import numpy as np
import pytest

from hwr.alphabet import Alphabet
from hwr.decoding.calibration import Calibration, reliability_table
from hwr.decoding.decoder import Decoder, DecoderSettings, load_model_defaults, save_model_defaults
from hwr.errors import ModelError


def _overconfident(rng, n):
    """Raw confidences whose true accuracy is much lower than they claim (as CTC models do)."""
    raw = rng.uniform(0.5, 1.0, n)
    acc = np.clip(raw ** 4 + rng.normal(0, 0.05, n), 0, 1)
    return raw, acc


def test_isotonic_fit_is_monotone_and_removes_overconfidence():
    rng = np.random.default_rng(0)
    raw, acc = _overconfident(rng, 2000)
    cal = Calibration.fit(raw, acc)
    assert np.all(np.diff(cal.y) >= 0) and np.all(np.diff(cal.x) >= 0)
    raw2, acc2 = _overconfident(rng, 2000)  # fresh data from the same source
    before = reliability_table(raw2, acc2)[-1]["ece"]
    after = reliability_table(np.array([cal(r) for r in raw2]), acc2)[-1]["ece"]
    assert before > 0.15 and after < 0.03


def test_reliability_table_buckets_and_weights():
    conf = np.array([0.55, 0.55, 0.95, 0.95])
    acc = np.array([0.5, 0.7, 1.0, 0.9])
    rows = reliability_table(conf, acc, weights=np.array([1, 3, 1, 1]))
    assert [r["lines"] for r in rows[:-1]] == [2, 2]
    assert rows[0]["accuracy"] == pytest.approx((0.5 + 3 * 0.7) / 4)
    assert rows[-1]["ece"] == pytest.approx((4 * abs(0.55 - 0.65) + 2 * abs(0.95 - 0.95)) / 6)


def test_bad_calibrations_are_refused():
    for x, y in (([0.1], [0.5]), ([0.2, 0.1], [0.1, 0.2]), ([0.1, 0.2], [0.5, 0.4]), ([0.1, 0.2], [0.5, 1.5]),
                 ([0.1, float("nan")], [0.1, 0.2])):
        with pytest.raises(ValueError):
            Calibration(x, y)


def test_decoder_applies_the_calibration_of_its_mode():
    alpha = Alphabet("ab")
    lp = np.log(np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.2, 0.1, 0.7]]))
    raw = Decoder(alpha).decode(lp)
    flat = Calibration([0.0, 1.0], [0.25, 0.25])
    cal = Decoder(alpha, DecoderSettings(calibrations={"greedy": flat})).decode(lp)
    assert cal.text == raw.text and cal.confidence == pytest.approx(0.25)
    assert cal.raw_confidence == pytest.approx(raw.confidence)
    other = Decoder(alpha, DecoderSettings(decoder="beam", backend="python", calibrations={"greedy": flat})).decode(lp)
    assert other.confidence == pytest.approx(other.raw_confidence)  # no calibration for "beam": raw value


def test_defaults_round_trip_and_bad_files(tmp_path):
    model = tmp_path / "my.safetensors"
    lm = tmp_path / "lm.arpa.gz"
    st = DecoderSettings(decoder="beam", beam_width=8, lm=str(lm), lm_weight=0.7, insertion_bonus=1.5,
                         calibrations={"beam+lm": Calibration([0, 0.5, 1], [0.1, 0.4, 0.9])})
    p = save_model_defaults(model, st, default="beam")
    assert p.name == "my.decoder.json"
    d = json.loads(p.read_text())
    assert d["beam"]["lm"] == "lm.arpa.gz"  # relative: the folder can move
    back = load_model_defaults(model)
    assert (back.decoder, back.beam_width, back.lm_weight, back.insertion_bonus) == ("beam", 8, 0.7, 1.5)
    assert back.lm == str(lm.resolve()) and back.mode == "beam+lm"
    assert back.calibrations["beam+lm"](0.75) == pytest.approx(0.65)
    assert load_model_defaults(tmp_path / "other.safetensors").decoder == "greedy"  # no file: plain defaults
    p.write_text('{"format": "hwr-decoder", "default": "viterbi"}')
    with pytest.raises(ModelError):
        load_model_defaults(model)
    p.write_text("{not json")
    with pytest.raises(ModelError):
        load_model_defaults(model)


def test_shipped_decoder_defaults_are_complete():
    from pathlib import Path

    from hwr.pipeline import default_model_path

    st = load_model_defaults(default_model_path("ink"))
    assert st.decoder == "beam" and st.mode == "beam+lm"
    assert Path(st.lm).exists() and st.lm_weight > 0
    assert set(st.calibrations) == {"greedy", "beam", "beam+lm"}
    for cal in st.calibrations.values():
        assert cal.lines > 1000 and cal(0.0) <= cal(0.9) <= cal(1.0) <= 1.0
