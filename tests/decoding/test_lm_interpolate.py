"""Static interpolation of character LMs: normalised, exact where the models store an
n-gram, the identity for one model, the union of vocabularies, an ARPA file like any other."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwr.decoding.lm import CharNgramLM, interpolate

EN = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog met", "the end"] * 3
FR = ["ceci est mon testament", "je lègue à ma femme", "fait à paris le", "le notaire"] * 3


def _total(lm: CharNgramLM, context: str) -> float:
    return (sum(math.exp(lm.log_prob(context, c)) for c in lm.vocab)
            + math.exp(lm.log_prob_eos(context)) + math.exp(lm.log_prob_unk(context)))


@pytest.fixture(scope="module")
def pair():
    return CharNgramLM.train(EN, order=4), CharNgramLM.train(FR, order=3)


@pytest.mark.parametrize("context", ["", "t", "the c", "je l", "à ma f", "zzq", "ceci est m"])
def test_mixture_sums_to_one(pair, context):
    a, b = pair
    m = interpolate([a, b], [0.7, 0.3])
    assert _total(m, context) == pytest.approx(1.0, abs=1e-4)


def test_union_vocabulary_and_order(pair):
    a, b = pair
    m = interpolate([a, b], [1, 1])
    assert set(m.vocab) == set(a.vocab) | set(b.vocab) and m.order == 4
    assert "è" in m.vocab and "g" in m.vocab
    assert m.meta["method"] == "interpolated" and [d["weight"] for d in m.meta["interpolated"]] == [0.5, 0.5]


def test_exact_where_a_model_stores_the_ngram(pair):
    a, b = pair
    m = interpolate([a, b], [0.6, 0.4])
    # n-grams that one of the models stores (a sentence's first letter, a word seen in
    # training): the mixture itself; elsewhere the result backs off, an approximation
    for ctx, c in [("", "t"), ("le n", "o"), ("the c", "a"), ("est ", "m")]:
        want = 0.6 * math.exp(a.log_prob(ctx, c)) + 0.4 * math.exp(b.log_prob(ctx, c))
        assert math.exp(m.log_prob(ctx, c)) == pytest.approx(want, rel=1e-4)


def test_a_character_one_model_lacks_keeps_the_others_probability(pair):
    a, b = pair
    m = interpolate([a, b], [0.5, 0.5])
    # 'è' is French only: the mixture gives it about half of what the French model does
    pf = math.exp(b.log_prob("je l", "è"))
    pm = math.exp(m.log_prob("je l", "è"))
    assert 0.3 * pf < pm < 0.7 * pf
    # and an English word stays likely, unlike under the French model alone
    assert m.score_text("the cat") > b.score_text("the cat") + 5


def test_one_model_is_the_identity(pair):
    a, _ = pair
    m = interpolate([a], [3.0])
    chars = list(a.vocab) + ["</s>"]
    for ctx in ["", "th", "the c", "xyz", "a dog m"]:
        np.testing.assert_allclose(np.exp(m.distribution(ctx, chars)), np.exp(a.distribution(ctx, chars)), atol=1e-5)


def test_saved_and_loaded_like_any_lm(pair, tmp_path):
    a, b = pair
    m = interpolate([a, b], [0.5, 0.5], description="mix")
    m.save(tmp_path / "mix.arpa.gz")
    r = CharNgramLM.load(tmp_path / "mix.arpa.gz")
    assert r.counts == m.counts and r.meta["description"] == "mix"
    for ctx in ["", "le n", "the d"]:
        np.testing.assert_allclose(r.distribution(ctx, list(m.vocab)), m.distribution(ctx, list(m.vocab)),
                                   atol=1e-5)
    assert r.perplexity(["le notaire"]) < CharNgramLM.train(EN, order=4).perplexity(["le notaire"])


@pytest.mark.parametrize("weights", [[1.0], [0.5, -0.5], [0.0, 0.0], [float("nan"), 1.0]])
def test_bad_weights(pair, weights):
    with pytest.raises(ValueError):
        interpolate(list(pair), weights)


def test_cli_interpolate(pair, tmp_path):
    from click.testing import CliRunner

    from hwr.cli.lm import lm as lm_group

    a, b = pair
    a.save(tmp_path / "en.arpa.gz")
    b.save(tmp_path / "fr.arpa.gz")
    out = tmp_path / "mix.arpa.gz"
    runner = CliRunner()
    r = runner.invoke(lm_group, ["interpolate", str(tmp_path / "en.arpa.gz"), str(tmp_path / "fr.arpa.gz"),
                                 "-w", "3", "-w", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    m = CharNgramLM.load(out)
    assert [d["weight"] for d in m.meta["interpolated"]] == [0.75, 0.25] and "è" in m.vocab
    r = runner.invoke(lm_group, ["interpolate", str(tmp_path / "en.arpa.gz"), str(tmp_path / "fr.arpa.gz"),
                                 "-w", "1", "-o", str(out)])
    assert r.exit_code != 0 and "one per model" in r.output
