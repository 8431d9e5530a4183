"""Prefix beam search: exactness against CTC, agreement with greedy, lexicon, bad input."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hwr.alphabet import Alphabet
from hwr.decoding import flashlight_backend
from hwr.decoding.align import char_spans, viterbi_path
from hwr.decoding.beam import BeamConfig, prefix_beam_search
from hwr.decoding.decoder import Decoder, DecoderSettings
from hwr.decoding.greedy import greedy_decode
from hwr.decoding.lexicon import Lexicon
from hwr.errors import InputError, ModelError


def _random_lp(rng, T, C, peaky=0.0):
    logits = rng.normal(size=(T, C))
    if peaky:
        logits[np.arange(T), rng.integers(0, C, T)] += peaky
    return torch.log_softmax(torch.tensor(logits), dim=1).numpy()


def _ctc_logp(lp: np.ndarray, labels: list[int]) -> float:
    """log p(labels | x) by torch's CTC (the exact sum over all alignments)."""
    x = torch.tensor(lp).unsqueeze(1)  # (T, 1, C)
    target = torch.tensor([labels], dtype=torch.long) if labels else torch.zeros((1, 0), dtype=torch.long)
    loss = F.ctc_loss(x, target, torch.tensor([lp.shape[0]]), torch.tensor([len(labels)]),
                      blank=0, reduction="sum", zero_infinity=False)
    return -float(loss)


ALPHA = Alphabet("ab c")


def test_beam_score_is_the_exact_sequence_probability():
    rng = np.random.default_rng(0)
    full = BeamConfig(beam_width=10_000, beam_size_token=99, token_min_logp=-1e9, nbest=50)
    for trial in range(6):
        lp = _random_lp(rng, T=5, C=len(ALPHA))
        hyps = prefix_beam_search(lp, ALPHA, full)
        for h in hyps[:10]:
            assert h.am_score == pytest.approx(_ctc_logp(lp, h.labels), abs=1e-6)
        # the best hypothesis is the most probable labelling of all (brute force over short label strings)
        best = max((list(s) for n in range(0, 6) for s in itertools.product(range(1, len(ALPHA)), repeat=n)),
                   key=lambda s: _ctc_logp(lp, s) if len(s) <= 5 else -math.inf)
        assert hyps[0].labels == best


def test_width_one_without_lm_equals_greedy_on_peaky_posteriors():
    # with each frame's best label above 0.5 (as in trained CTC models) the width-1 search and best path agree
    rng = np.random.default_rng(1)
    alpha = Alphabet("abcdef ghij")
    for _ in range(30):
        lp = _random_lp(rng, T=40, C=len(alpha), peaky=6.0)
        lp = lp[lp.max(axis=1) > math.log(0.5)]
        hyp = prefix_beam_search(lp, alpha, BeamConfig(beam_width=1, nbest=1))[0]
        assert hyp.text == greedy_decode(lp, alpha).text


def test_wider_beam_never_scores_worse():
    rng = np.random.default_rng(2)
    for _ in range(10):
        lp = _random_lp(rng, T=30, C=len(ALPHA), peaky=1.0)
        narrow = prefix_beam_search(lp, ALPHA, BeamConfig(beam_width=2))[0]
        wide = prefix_beam_search(lp, ALPHA, BeamConfig(beam_width=64))[0]
        assert wide.am_score >= narrow.am_score - 1e-9


def _spell(text: str, alpha: Alphabet, noise: dict[int, dict[str, float]] | None = None, frames: int = 2):
    """Posteriors that spell ``text`` (each char over ``frames`` frames, blanks between);
    ``noise[i]`` gives other chars probability mass at the i-th character."""
    C = len(alpha)
    rows = []
    for i, ch in enumerate(text):
        p = np.full(C, 1e-4)
        alts = (noise or {}).get(i, {})
        p[alpha.chars.index(ch) + 1] = 1.0 - sum(alts.values())
        for a, q in alts.items():
            p[alpha.chars.index(a) + 1] = q
        rows += [p / p.sum()] * frames
        b = np.full(C, 1e-4)
        b[0] = 1.0
        rows.append(b / b.sum())
    return np.log(np.array(rows))


def test_lexicon_forbids_and_penalises_words_but_lets_numbers_and_punctuation_pass():
    alpha = Alphabet("acot ,.42")
    lp = _spell("cat, 42.", alpha, noise={1: {"o": 0.4}})  # 'a' 0.6, 'o' 0.4 at the second letter
    free = prefix_beam_search(lp, alpha, BeamConfig())
    assert free[0].text == "cat, 42."
    lex = Lexicon(["cot", "too"])
    held = prefix_beam_search(lp, alpha, BeamConfig(), lexicon=lex)
    assert held[0].text == "cot, 42."
    assert all(h.text.startswith("cot") and "cat" not in h.text for h in held)  # "cat" is forbidden outright
    # a mild penalty lets the acoustically better word win; a strong one does not
    mild = prefix_beam_search(lp, alpha, BeamConfig(lexicon_penalty=-0.1), lexicon=lex)
    strong = prefix_beam_search(lp, alpha, BeamConfig(lexicon_penalty=-5.0), lexicon=lex)
    assert mild[0].text == "cat, 42." and strong[0].text == "cot, 42."


def test_lexicon_is_case_insensitive_and_reads_files(tmp_path):
    p = tmp_path / "words.txt"
    p.write_text("# comment\nHello 12\nworld\n\n", encoding="utf-8")
    lex = Lexicon.load(p)
    assert len(lex) == 2 and "HELLO" in lex and lex.is_prefix("Wor") and not lex.is_prefix("wx")
    (tmp_path / "empty.txt").write_text("1234\n,,,\n")
    with pytest.raises(InputError):
        Lexicon.load(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(InputError):
        Lexicon.load(tmp_path / "bin.txt")
    with pytest.raises(InputError):
        Lexicon.load(tmp_path / "missing.txt")


def test_insertion_bonus_trades_deletions_for_insertions():
    alpha = Alphabet("ab")
    # a weak 'b' between two 'a's: without a bonus it is dropped, a bonus keeps it
    lp = _spell("aba", alpha, noise=None)
    lp[3:5] = np.log(np.array([[0.8, 0.0001, 0.1999]] * 2))
    assert prefix_beam_search(lp, alpha, BeamConfig(insertion_bonus=0.0))[0].text == "aa"
    assert prefix_beam_search(lp, alpha, BeamConfig(insertion_bonus=2.0))[0].text == "aba"


@pytest.mark.parametrize("bad", [np.full((5, 3), np.nan), np.zeros((5, 2)), np.full((5, 3), 0.5), np.zeros(5)])
def test_bad_posteriors_are_refused(bad):
    with pytest.raises(ValueError):
        prefix_beam_search(bad, ALPHA)
    with pytest.raises(ValueError):
        Decoder(ALPHA, DecoderSettings(decoder="beam", backend="python")).decode(bad)


def test_empty_sequence_gives_an_empty_line():
    for s in (DecoderSettings(), DecoderSettings(decoder="beam", backend="python")):
        res = Decoder(ALPHA, s).decode(np.zeros((0, len(ALPHA))))
        assert res.text == "" and res.confidence == 0.0


def test_bad_settings_are_refused():
    for kw in ({"decoder": "viterbi"}, {"backend": "gpu"}, {"beam_width": 0}, {"lm_weight": -1.0},
               {"lexicon_penalty": 1.0}, {"insertion_bonus": float("nan")}):
        with pytest.raises(ValueError):
            DecoderSettings(**kw)


def test_viterbi_alignment_and_spans():
    alpha = Alphabet("ab")
    lp = _spell("abba", alpha)
    labels = [1, 2, 2, 1]
    path = viterbi_path(lp, labels)
    collapsed = [int(k) for i, k in enumerate(path) if k != 0 and (i == 0 or k != path[i - 1])]
    assert collapsed == labels
    spans, raw = char_spans(lp, labels, alpha.chars)
    assert [s.char for s in spans] == list("abba")
    assert [(s.start, s.end) for s in spans] == [(0, 1), (3, 4), (6, 7), (9, 10)]
    assert all(s.confidence > 0.99 for s in spans) and 0.99 < raw <= 1.0
    assert viterbi_path(lp[:3], labels) is None  # four labels (two repeated) cannot fit three frames
    assert viterbi_path(lp, []).tolist() == [0] * len(lp)  # the empty text (a beam can end on it)
    assert char_spans(lp, [], alpha.chars)[0] == []


def test_decoder_gives_alternatives_spans_and_confidence():
    alpha = Alphabet("acot")
    lp = _spell("cat", alpha, noise={1: {"o": 0.3}})
    res = Decoder(alpha, DecoderSettings(decoder="beam", backend="python", nbest=5)).decode(lp)
    assert res.text == "cat"
    texts = [a.text for a in res.alternatives]
    assert texts[0] == "cat" and "cot" in texts and len(texts) == 5
    assert res.alternatives[0].score > res.alternatives[1].score >= res.alternatives[2].score
    assert sum(a.score for a in res.alternatives) == pytest.approx(1.0)
    assert [c.char for c in res.chars] == list("cat")
    assert res.chars[1].confidence == pytest.approx(0.7, abs=0.01)
    assert 0 < res.confidence < 1


@pytest.mark.skipif(not flashlight_backend.available(), reason="flashlight-text is not installed")
def test_flashlight_backend_agrees_with_own_implementation():
    rng = np.random.default_rng(3)
    alpha = Alphabet("abcdef ghij")
    py = Decoder(alpha, DecoderSettings(decoder="beam", backend="python"))
    fl = Decoder(alpha, DecoderSettings(decoder="beam", backend="flashlight"))
    assert fl.backend == "flashlight"
    same = 0
    for _ in range(20):
        lp = _random_lp(rng, T=60, C=len(alpha), peaky=4.0)
        a, b = py.search(lp)[0], fl.search(lp)[0]
        same += a.text == b.text
        # both prune, differently; where they differ it is between near-equally probable texts
        assert abs(_ctc_logp(lp, a.labels) - _ctc_logp(lp, b.labels)) < 0.5
    assert same >= 15


@pytest.mark.skipif(not flashlight_backend.available(), reason="flashlight-text is not installed")
def test_flashlight_with_lm_and_bonus_agrees_with_own_implementation(tmp_path):
    from hwr.decoding.lm import CharNgramLM

    alpha = Alphabet("abcdef ghij")
    lm = tmp_path / "lm.arpa.gz"
    CharNgramLM.train(["abc def", "bad cab", "ghij fed", "dead beef", "a jig"] * 4, order=4).save(lm)
    rng = np.random.default_rng(5)
    for bonus in (0.0, -0.5):
        st = dict(decoder="beam", lm=str(lm), lm_weight=0.8, insertion_bonus=bonus)
        py = Decoder(alpha, DecoderSettings(backend="python", **st))
        fl = Decoder(alpha, DecoderSettings(backend="flashlight", **st))
        assert fl.backend == "flashlight"
        same = 0
        for _ in range(15):
            # posteriors that spell a sentence of the LM's kind, with doubtful characters
            text = " ".join(rng.choice(["abc", "def", "bad", "cab", "ghij", "fed", "dead", "beef", "jig"], 4))
            noise = {i: {str(rng.choice(list("abcdefghij"))): float(rng.uniform(0.2, 0.45))}
                     for i in range(len(text)) if text[i] != " " and rng.random() < 0.3}
            noise = {i: d for i, d in noise.items() if text[i] not in d}
            lp = _spell(text, alpha, noise)
            a, b = py.search(lp)[0], fl.search(lp)[0]
            same += a.text == b.text
            if a.text == b.text:  # KenLM's score of the text (the bonus's shift taken out) is ours
                assert b.lm_score == pytest.approx(a.lm_score, abs=1e-3)
        assert same >= 13
    # a positive bonus with an LM is beyond KenLM: auto falls back, an explicit request is refused
    st = dict(decoder="beam", lm=str(lm), lm_weight=0.8, insertion_bonus=1.0)
    assert Decoder(alpha, DecoderSettings(**st)).backend == "python"
    with pytest.raises(ModelError):
        Decoder(alpha, DecoderSettings(backend="flashlight", **st))


def test_lm_of_the_wrong_alphabet_is_refused(tmp_path):
    from hwr.decoding.lm import CharNgramLM

    lm = tmp_path / "digits.arpa"
    CharNgramLM.train(["123 456", "7890"] * 3, order=3).save(lm)
    with pytest.raises(ModelError, match="wrong alphabet"):
        Decoder(Alphabet("abcdefgh "), DecoderSettings(decoder="beam", lm=str(lm), lm_weight=0.5))


def test_without_flashlight_the_own_search_is_used(monkeypatch):
    # where flashlight-text has no wheels (Python 3.13+) auto falls back; asking for it is a clear error
    monkeypatch.setattr(flashlight_backend, "available", lambda: False)
    alpha = Alphabet("acot")
    dec = Decoder(alpha, DecoderSettings(decoder="beam"))
    assert dec.backend == "python"
    assert dec.decode(_spell("cat", alpha)).text == "cat"
    with pytest.raises(ModelError, match="flashlight-text is not installed"):
        Decoder(alpha, DecoderSettings(decoder="beam", backend="flashlight"))
