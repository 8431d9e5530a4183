"""Character n-gram LM: normalisation, Kneser-Ney by hand, ARPA round trip, bad files, CLI."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hwr.cli.lm import lm as lm_group
from hwr.decoding.lm import CharNgramLM
from hwr.errors import ModelError

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog <met> at #3",
    "back\\slash and 50% of it",
    "The Cat",
]


def _total(lm: CharNgramLM, context: str) -> float:
    """Sum of p(c | context) over vocab + </s> + <unk>."""
    probs = [math.exp(lm.log_prob(context, c)) for c in lm.vocab]
    probs.append(math.exp(lm.log_prob_eos(context)))
    probs.append(math.exp(lm.log_prob_unk(context)))
    return sum(probs)


@pytest.fixture(scope="module", params=["kneser-ney", "witten-bell"])
def model(request) -> CharNgramLM:
    return CharNgramLM.train(CORPUS * 3 + ["one more line", "the end"], order=4, method=request.param)


@pytest.mark.parametrize("context", ["", "t", "the c", "zzzzq", "the \u00e9\u00e9", "\u00e9", "#3 <", "cat sat on the m"])
def test_probabilities_sum_to_one(model, context):
    assert _total(model, context) == pytest.approx(1.0, abs=1e-4)


def test_unk_has_small_probability(model):
    p_unk = math.exp(model.log_prob_unk(""))
    assert 0 < p_unk < 0.05
    # a character outside the vocabulary gets exactly the <unk> probability
    assert model.log_prob("the ", "\u00e9") == model.log_prob_unk("the ")


def test_distribution_matches_log_prob_and_is_cached(model):
    alphabet = ["a", "b", "c", " ", "\u00e9", "t"]
    d = model.distribution("the c", alphabet)
    assert d.shape == (6,)
    for c, v in zip(alphabet, d):
        assert v == pytest.approx(model.log_prob("the c", c))
    assert model.distribution("xxthe c", alphabet) is d        # same last order-1 characters
    with pytest.raises(ValueError):
        d[0] = 0.0                                           # read-only: the cache cannot be corrupted


def test_context_is_padded_with_sentence_start():
    lm = CharNgramLM.train(["ab", "ab", "ba"], order=3, method="witten-bell")
    # at the start of a sentence "a" is likelier than after "b" ... "b" (seen only once in that place)
    assert lm.log_prob("", "a") > lm.log_prob("bb", "a")
    assert lm.score_text("ab") == pytest.approx(lm.log_prob("", "a") + lm.log_prob("a", "b") + lm.log_prob_eos("ab"))


def test_kneser_ney_by_hand():
    """Bigram interpolated modified KN on "ab", "ab", "b" (tokens <s> a b </s>).

    Bigram counts: <s>a 2, ab 2, b</s> 3, <s>b 1.  Counts of counts at order 2: n1=1, n2=2,
    n3=1, n4=0 -> Y = 1/(1+4) = 0.2, D1 = 1 - 2*0.2*2/1 = 0.2, D2 = 2 - 3*0.2*1/2 = 1.7,
    D3+ = 3 - 0 -> out of range, so the fallback 1.5.
    Unigram continuation counts: a: {<s>} = 1, b: {a, <s>} = 2, </s>: {b} = 1 -> total 4.
    Unigram n1 = 2, n2 = 1, n3 = n4 = 0 -> Y = 0.5, D1 = 1 - 2*0.5*1/2 = 0.5, D2 = 2 - 0 = 2
    (out of range) -> fallback 1.0; D3 fallback 1.5.
    p_uni(b) = (2 - 1.0)/4 + gamma0/|V|, gamma0 = (0.5 + 1.0 + 0.5)/4 = 0.5, |V| = 4 (a, b, </s>, <unk>)
             = 0.25 + 0.125 = 0.375.
    p(b | a): c(ab) = 2, total after a = 2, D2 = 1.7: (2 - 1.7)/2 + gamma(a) * p_uni(b),
    gamma(a) = 1.7/2 = 0.85 -> 0.15 + 0.85 * 0.375 = 0.46875.
    """
    lm = CharNgramLM.train(["ab", "ab", "b"], order=2, method="kneser-ney")
    assert lm.meta["training"]["discounts"][1] == pytest.approx([0.2, 1.7, 1.5])
    assert lm.meta["training"]["discounts"][0] == pytest.approx([0.5, 1.0, 1.5])
    assert math.exp(lm.log_prob("", "b") - 0) == pytest.approx(  # after <s>: (1 - 0.2)/3 + gamma(<s>) p_uni(b)
        (1 - 0.2) / 3 + (0.2 + 1.7) / 3 * 0.375, rel=1e-5)
    assert math.exp(lm.log_prob("a", "b")) == pytest.approx(0.46875, rel=1e-5)
    # unseen bigram a -> a backs off: gamma(a) * p_uni(a), p_uni(a) = (1 - 0.5)/4 + 0.125 = 0.25
    assert math.exp(lm.log_prob("a", "a")) == pytest.approx(0.85 * 0.25, rel=1e-5)


def _generated_corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["the", "handwriting", "recognition", "of", "lines", "is", "hard", "and", "slow", "when", "ink", "flows"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def test_higher_order_gives_lower_perplexity():
    train, held_out = _generated_corpus(400, 1), _generated_corpus(60, 2)
    for method in ("kneser-ney", "witten-bell"):
        p1 = CharNgramLM.train(train, order=1, method=method).perplexity(held_out)
        p5 = CharNgramLM.train(train, order=5, method=method).perplexity(held_out)
        assert p5 < p1 * 0.6, (method, p1, p5)


def test_pruning_keeps_the_model_normalised():
    train = _generated_corpus(300, 3)
    full = CharNgramLM.train(train, order=6)
    pruned = CharNgramLM.train(train, order=6, prune=3)
    assert sum(pruned.counts) < sum(full.counts)
    for ctx in ("", "the hand", "ink fl", "qqq"):
        assert _total(pruned, ctx) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("name", ["m.arpa", "m.arpa.gz"])
def test_arpa_round_trip(model, tmp_path, name):
    path = tmp_path / name
    model.save(path)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    back = CharNgramLM.load(path)
    assert back.vocab == model.vocab and back.order == model.order and back.counts == model.counts
    assert back.method == model.method
    for ctx in ("", "the c", "<met> a", "back\\", "50% ", "#"):
        for c in list(model.vocab) + ["</s>", "\u00e9"]:
            assert back.log_prob(ctx, c) == model.log_prob(ctx, c)


def test_arpa_text_is_standard(model, tmp_path):
    path = tmp_path / "m.arpa"
    model.save(path)
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\\data\\\n")
    assert "hwr-charlm: {" in head
    assert body.rstrip().endswith("\\end\\")
    unigrams = body.split("\\1-grams:\n")[1].split("\n\n")[0].splitlines()
    words = {ln.split("\t")[1] for ln in unigrams}
    assert {"<s>", "</s>", "<unk>", "<sp>", "<", "\\", "#", "%"} <= words
    assert " " not in words


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.mark.parametrize("damage, message", [
    (lambda ls: ls[: len(ls) // 2], "truncated"),
    (lambda ls: ls[:-1], "truncated"),
    (lambda ls: [ln.replace("ngram 2=", "ngram 2=1") for ln in ls], "announced"),
    (lambda ls: [ln.replace("ngram 1=", "ngram 1=9") if ln.startswith("ngram 1=") else ln for ln in ls], "announced"),
    (lambda ls: [("nan" + ln[ln.index("\t"):]) if ln.endswith("\tb\n") or "\tb\t" in ln else ln for ln in ls], "finite"),
    (lambda ls: [("-x.5" + ln[ln.index("\t"):]) if ln.endswith("\tb\n") or "\tb\t" in ln else ln for ln in ls], "non-numeric"),
    (lambda ls: [ln.replace("ngram 1=", "ngram 1=99999999999") for ln in ls], "absurd"),
    (lambda ls: [ln for ln in ls if not ln.startswith("\\data\\")], "data"),
    (lambda ls: [ln.replace("\\2-grams:", "\\3-grams:") for ln in ls], "2-grams"),
])
def test_damaged_files_raise_model_error(model, tmp_path, damage, message):
    good = tmp_path / "good.arpa"
    model.save(good)
    bad = tmp_path / "bad.arpa"
    bad.write_text("".join(damage(_lines(good))), encoding="utf-8")
    with pytest.raises(ModelError, match=message) as e:
        CharNgramLM.load(bad)
    assert str(bad) in str(e.value)


def test_garbage_and_truncated_gzip_raise_model_error(model, tmp_path):
    junk = tmp_path / "junk.arpa"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(ModelError):
        CharNgramLM.load(junk)
    good = tmp_path / "m.arpa.gz"
    model.save(good)
    cut = tmp_path / "cut.arpa.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError, match="truncated"):
        CharNgramLM.load(cut)
    with pytest.raises(ModelError):
        CharNgramLM.load(tmp_path / "missing.arpa")
    words = tmp_path / "words.arpa"   # a word LM is not a character LM
    words.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-99\t<s>\n-0.5\thello\n-0.5\t</s>\n\n\\end\\\n")
    with pytest.raises(ModelError, match="single character"):
        CharNgramLM.load(words)


def test_foreign_arpa_with_other_space_token(tmp_path):
    path = tmp_path / "kenlm.arpa"
    path.write_text(
        "\\data\\\nngram 1=5\nngram 2=2\n\n\\1-grams:\n-99\t<s>\t-0.3\n-0.6\ta\t-0.2\n-0.6\t|\t-0.2\n"
        "-0.4\t</s>\n-1.5\t<unk>\n\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta |\n\n\\end\\\n")
    lm = CharNgramLM.load(path, space_token="|")
    assert lm.vocab == (" ", "a") and lm.order == 2
    assert lm.log_prob("a", " ") == pytest.approx(-0.2 * math.log(10))
    assert lm.log_prob("a", "a") == pytest.approx((-0.2 - 0.6) * math.log(10))   # bow(a) * p(a)


def test_wrong_alphabet(model, caplog):
    with pytest.raises(ModelError, match="wrong alphabet"):
        model.check_alphabet(list("\u0430\u0431\u0432\u0433\u0434\u0435\u0436\u0437"))  # Cyrillic
    model.check_alphabet(list("the cat"))
    with caplog.at_level("INFO"):
        model.check_alphabet(list("the catz"))
    assert "z" in caplog.text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=6), st.text(max_size=8), st.integers(1, 6),
       st.sampled_from(["kneser-ney", "witten-bell"]))
def test_random_strings_are_normalised_and_sum_to_one(lines, context, order, method):
    if not any(" ".join(t.split()) for t in lines):
        with pytest.raises(ValueError):
            CharNgramLM.train(lines, order=order, method=method)
        return
    lm = CharNgramLM.train(lines, order=order, method=method)
    assert all(len(c) == 1 for c in lm.vocab)
    assert not any(c.isspace() and c != " " for c in lm.vocab)   # white space is one space after normalize_text
    assert _total(lm, context) == pytest.approx(1.0, abs=1e-4)
    text = lines[0]
    assert lm.score_text(text) == lm.score_text("  " + text + "\t ")
    assert np.isfinite(lm.score_text(text))


def test_cli_train_info_perplexity(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(_generated_corpus(200, 5)) + "\n", encoding="utf-8")
    held = tmp_path / "held.txt"
    held.write_text("\n".join(_generated_corpus(20, 6)) + "\n", encoding="utf-8")
    out = tmp_path / "m.arpa.gz"
    runner = CliRunner()
    r = runner.invoke(lm_group, ["train", str(corpus), "-o", str(out), "--order", "4", "--method", "witten-bell",
                                 "--prune", "2", "--description", "generated words"])
    assert r.exit_code == 0, r.output
    assert out.exists()
    r = runner.invoke(lm_group, ["info", str(out)])
    assert r.exit_code == 0, r.output
    assert "order:       4" in r.output and "witten-bell" in r.output and "generated words" in r.output
    r = runner.invoke(lm_group, ["perplexity", str(out), str(held)])
    assert r.exit_code == 0, r.output
    assert 1.0 < float(r.output.strip().splitlines()[-1]) < 10.0
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=3\n")
    r = runner.invoke(lm_group, ["info", str(bad)])
    assert r.exit_code != 0 and "bad.arpa" in r.output and "Traceback" not in r.output


def test_cli_train_from_inkset(tmp_path):
    from hwr.data.inkset import write_inkset
    from hwr.types import Ink, Stroke

    inks = []
    for i, text in enumerate(_generated_corpus(30, 7)):
        s = Stroke(np.arange(3, dtype=float), np.zeros(3), None)
        inks.append((f"s{i}", Ink([s], text=text)))
    h5 = tmp_path / "train.h5"
    write_inkset(h5, inks, split="train")
    out = tmp_path / "m.arpa"
    r = CliRunner().invoke(lm_group, ["train", str(h5), "-o", str(out), "--order", "3"])
    assert r.exit_code == 0, r.output
    lm = CharNgramLM.load(out)
    assert set("handwriting") <= set(lm.vocab)


def test_kenlm_reads_our_arpa_and_agrees(tmp_path):
    """flashlight-text's KenLM (an optional dependency) loads the file and gives the same scores."""
    kenlm = pytest.importorskip("flashlight.lib.text.decoder.kenlm")
    dictionary = pytest.importorskip("flashlight.lib.text.dictionary")
    lm = CharNgramLM.train(CORPUS * 2, order=4)
    path = tmp_path / "m.arpa"
    lm.save(path)
    d = dictionary.Dictionary()
    for t in ["<sp>" if c == " " else c for c in lm.vocab] + ["</s>", "<unk>"]:
        d.add_entry(t)
    klm = kenlm.KenLM(str(path), d)
    for text in ("the cat <met> #3", "back\\slash 50%"):
        state, ctx = klm.start(False), ""
        for c in text:
            state, score = klm.score(state, d.get_index("<sp>" if c == " " else c))
            assert score == pytest.approx(lm.log_prob(ctx, c) / math.log(10), abs=1e-5)
            ctx += c
        state, score = klm.finish(state)
        assert score == pytest.approx(lm.log_prob_eos(ctx) / math.log(10), abs=1e-5)


def test_gz_files_are_reproducible(model, tmp_path):
    model.save(tmp_path / "a.arpa.gz")
    model.save(tmp_path / "b.arpa.gz")
    assert (tmp_path / "a.arpa.gz").read_bytes() == (tmp_path / "b.arpa.gz").read_bytes()


def test_reserved_private_use_characters_are_not_markers(model):
    lm = CharNgramLM.train(["ab\ue001cd\ue000", "abcd"], order=3)
    assert "\ue000" not in lm.vocab and "\ue001" not in lm.vocab
    assert lm.score_text("abcd") == CharNgramLM.train(["abcd", "abcd"], order=3).score_text("abcd")
    # a context that starts with U+E000 is an unknown character, not a sentence start
    m = model.order - 1
    assert model.log_prob("\ue000" + "t" * (m - 1), "a") == model.log_prob("\u00e9" + "t" * (m - 1), "a")
    assert _total(model, "\ue000" + "t" * (m - 1)) == pytest.approx(1.0, abs=1e-4)


def test_parsed_lm_is_cached_and_a_damaged_or_stale_cache_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    p = tmp_path / "lm.arpa"
    CharNgramLM.train(["the cat sat on the mat"] * 3, order=3).save(p)
    first = CharNgramLM.load(p)
    caches = list((tmp_path / "cache" / "hwr" / "lm").glob("*.npz"))
    assert len(caches) == 1
    again = CharNgramLM.load(p)  # from the cache
    assert again.counts == first.counts and again.log_prob("th", "e") == first.log_prob("th", "e")
    caches[0].write_bytes(b"garbage")  # damaged: parsed from the ARPA file again
    assert CharNgramLM.load(p).log_prob("th", "e") == first.log_prob("th", "e")
    CharNgramLM.train(["a dog ran"] * 3, order=2).save(p)  # the file changed: its cache is another one
    changed = CharNgramLM.load(p)
    assert changed.order == 2
