"""The character LSTM LM (hwr.decoding.neural_lm) and the decoder's rescoring of its n best."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hwr.alphabet import Alphabet
from hwr.decoding.decoder import Decoder, DecoderSettings, load_model_defaults, save_model_defaults
from hwr.decoding.neural_lm import CharLSTM, NeuralLM, encode, line_log_probs
from hwr.errors import InputError

TEXT = ["ab ab", "ab ab ab", "ab", "ab ab ab ab"]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """An LSTM LM that has learnt that 'a' is followed by 'b' (a few hundred steps, seeded)."""
    torch.manual_seed(0)
    net = CharLSTM(embed=8, hidden=24)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(150):
        loss = -line_log_probs(net, TEXT).sum() / sum(len(t) + 1 for t in TEXT)
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path_factory.mktemp("nlm") / "tiny.safetensors"
    NeuralLM(net).save(path, description="test")
    return path


def test_scores_are_whole_line_log_probabilities():
    torch.manual_seed(1)
    lm = NeuralLM(CharLSTM(embed=4, hidden=8))
    texts = ["", "a", "hello, world", "caf\u00e9"]  # the last has a character outside ASCII: <unk>
    got = lm.score(texts)
    assert got.shape == (4,) and np.all(got < 0)
    # the same as each line alone: padding in a batch changes nothing
    for t, g in zip(texts, got):
        assert lm.score([t])[0] == pytest.approx(g, abs=1e-4)
    # the sum over every next token of one-step probabilities is the line's probability
    with torch.no_grad():
        ids = [0] + encode("ab")
        lp = lm.model(torch.tensor([ids]))[0]
        want = float(lp[0, ids[1]] + lp[1, ids[2]] + lp[2, 0])
    assert lm.score(["ab"])[0] == pytest.approx(want, abs=1e-4)


def test_training_learns_and_a_saved_model_reads_back_the_same(tiny_lm):
    lm = NeuralLM.load(tiny_lm)
    good, bad = lm.score(["ab ab", "ba ba"])
    assert good > bad + 3  # nats
    assert lm.perplexity(["ab ab"]) < lm.perplexity(["ba ba"])
    assert lm.meta["description"] == "test" and lm.meta["config"]["hidden"] == 24
    again = NeuralLM.load(tiny_lm)
    np.testing.assert_allclose(again.score(TEXT), lm.score(TEXT))


def test_bad_files_are_clear_errors(tmp_path, tiny_lm):
    with pytest.raises(InputError, match="no such"):
        NeuralLM.load(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="not a readable"):
        NeuralLM.load(junk)
    from safetensors.torch import load_file, save_file

    other = tmp_path / "other.safetensors"
    save_file(load_file(str(tiny_lm)), str(other), metadata={"hwr": json.dumps({"format": "hwr-model"})})
    with pytest.raises(InputError, match="not a character LSTM LM"):
        NeuralLM.load(other)
    wrong = tmp_path / "wrong.safetensors"
    meta = json.loads(json.dumps(NeuralLM.load(tiny_lm).meta))
    meta["config"]["hidden"] = 32
    save_file(load_file(str(tiny_lm)), str(wrong), metadata={"hwr": json.dumps(meta)})
    with pytest.raises(InputError, match="do not fit"):
        NeuralLM.load(wrong)


ALPHA = Alphabet("ab ")


def _frames(*probs):
    """Log-probabilities of frames, each given as {class: p} (blank is class 0)."""
    lp = np.full((len(probs), len(ALPHA)), np.log(1e-4))
    for t, d in enumerate(probs):
        for k, p in d.items():
            lp[t, k] = np.log(p)
    return lp


def test_rescoring_picks_the_reading_the_lstm_prefers(tiny_lm):
    a, b = ALPHA.encode("a")[0], ALPHA.encode("b")[0]
    # "ba" a little likelier to the network than "ab"
    lp = _frames({b: 0.55, a: 0.45}, {0: 0.9}, {a: 0.55, b: 0.45})
    plain = Decoder(ALPHA, DecoderSettings(decoder="beam", beam_width=8))
    assert plain.decode(lp).text == "ba"
    off = Decoder(ALPHA, DecoderSettings(decoder="beam", beam_width=8, rescore_lm=str(tiny_lm), rescore_weight=0.0))
    assert off.rescorer is None and off.decode(lp).text == "ba"
    on = Decoder(ALPHA, DecoderSettings(decoder="beam", beam_width=8, rescore_lm=str(tiny_lm), rescore_weight=1.0))
    res = on.decode(lp)
    assert res.text == "ab"
    assert res.alternatives[0].text == "ab" and len(res.alternatives) <= 5
    assert "rescored by tiny.safetensors" in on.describe()
    assert on.decode_views([lp, lp]).text == "ab"
    assert plain.decode_views([lp, lp]).text == "ba"


def test_the_rescoring_lm_is_kept_beside_the_model(tmp_path, tiny_lm):
    model = tmp_path / "m.safetensors"
    s = DecoderSettings(decoder="beam", lm=None, rescore_lm=str(tiny_lm), rescore_weight=0.7)
    save_model_defaults(model, s, "beam")
    stored = json.loads((tmp_path / "m.decoder.json").read_text())["beam"]
    assert stored["rescore_weight"] == 0.7 and not stored["rescore_lm"].startswith("/")
    back = load_model_defaults(model)
    assert back.rescore_lm == str(tiny_lm.resolve()) and back.rescore_weight == 0.7
    # a decoder file without it (all written before) reads as no rescoring
    save_model_defaults(model, DecoderSettings(decoder="beam"), "beam")
    assert "rescore_lm" not in json.loads((tmp_path / "m.decoder.json").read_text())["beam"]
    assert not load_model_defaults(model).rescoring
    with pytest.raises(ValueError, match="rescore_weight"):
        DecoderSettings(decoder="beam", rescore_lm=str(tiny_lm), rescore_weight=-1)


def test_recognizer_options_turn_rescoring_on_and_off(tiny_lm):
    from hwr.pipeline import GENERIC_RESCORE_WEIGHT, Recognizer

    on = Recognizer(kind="ink", decoder="beam", rescore_lm=str(tiny_lm))
    assert on.decoder.rescorer is not None
    if not load_model_defaults(on.model_path).rescore_weight:  # a model never tuned with one
        assert on.decoder.settings.rescore_weight == GENERIC_RESCORE_WEIGHT
    assert Recognizer(kind="ink", decoder="beam", rescore_lm=str(tiny_lm), rescore_weight=0).decoder.rescorer is None
    assert Recognizer(kind="ink", decoder="beam", rescore_lm="none").decoder.rescorer is None
    # --lm none turns the model's own rescoring off too; one given with it still rescores
    assert Recognizer(kind="ink", decoder="beam", lm="none").decoder.rescorer is None
    assert Recognizer(kind="ink", decoder="beam", rescore_lm=str(tiny_lm), lm="none").decoder.lm is None
    assert Recognizer(kind="ink", decoder="greedy", rescore_lm=str(tiny_lm)).decoder.rescorer is None


def test_a_fine_tuning_with_new_characters_drops_the_rescoring_lm(tmp_path, tiny_lm):
    from hwr.training.trainer import inherited_settings

    base = tmp_path / "base.safetensors"
    save_model_defaults(base, DecoderSettings(decoder="beam", rescore_lm=str(tiny_lm), rescore_weight=0.4), "beam")
    assert inherited_settings(base).rescore_weight == 0.4
    assert not inherited_settings(base, new_characters=True).rescoring


def test_hwr_recognize_takes_a_rescoring_lm(tiny_lm, tmp_path):
    from click.testing import CliRunner

    from hwr.cli.main import cli

    sample = Path(__file__).resolve().parents[2] / "data" / "line1.inkml"
    res = CliRunner().invoke(cli, ["recognize", "--rescore-lm", str(tiny_lm), "--rescore-weight", "0.5",
                                   "--format", "jsonl", "--nbest", "3", str(sample)])
    assert res.exit_code == 0, res.output
    row = json.loads(res.output.splitlines()[0])
    assert row["lines"][0]["text"].strip() and len(row["lines"][0]["alternatives"]) <= 3
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    res = CliRunner().invoke(cli, ["recognize", "--rescore-lm", str(bad), str(sample)])
    assert res.exit_code != 0 and "bad.safetensors" in res.output and "Traceback" not in res.output


def test_the_cuts_of_a_line_score_each_reading_once(tiny_lm):
    a, b = ALPHA.encode("a")[0], ALPHA.encode("b")[0]
    lp = _frames({b: 0.55, a: 0.45}, {0: 0.9}, {a: 0.55, b: 0.45})
    dec = Decoder(ALPHA, DecoderSettings(decoder="beam", beam_width=8, rescore_lm=str(tiny_lm), rescore_weight=1.0))
    scored = []
    score = dec.rescorer.score
    dec.rescorer.score = lambda texts: scored.extend(texts) or score(texts)
    assert dec.decode_views([lp, lp, lp]).text == "ab"
    assert scored and len(scored) == len(set(scored))
