"""The decoder chosen after training (hwr.training.lm_adapt): an LM of the training text
beats the inherited decoder when the network confuses letters the text makes clear, the
choice is written beside the model and used by the Recognizer's decoder; too little text
or a useless text leaves the inherited decoder alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwr.alphabet import Alphabet
from hwr.decoding.decoder import Decoder, DecoderSettings, defaults_path, load_model_defaults, save_model_defaults
from hwr.decoding.lm import CharNgramLM
from hwr.training import lm_adapt
from hwr.training.card import card_text
from hwr.models.checkpoint import ModelInfo

ALPHABET = Alphabet("acot ")
TEXT = ["cat act tac", "a cat at a cat", "tact at tac", "cat cat act"]  # no 'o' at all


def _posteriors(ref: str, confuse: float) -> np.ndarray:
    """Two frames per character (the character, then blank); every 'a' looks more like 'o'."""
    idx = {c: i + 1 for i, c in enumerate(ALPHABET.chars)}  # label 0 is the CTC blank
    rows = []
    for ch in ref:
        p = np.full(len(ALPHABET), 0.02)
        if ch == "a":
            p[idx["o"]], p[idx["a"]] = max(confuse, 0.02), 0.9 - confuse
        else:
            p[idx[ch]] = 0.9
        rows.append(p / p.sum())
        b = np.full(len(ALPHABET), 0.02)
        b[0] = 0.9
        rows.append(b / b.sum())
    return np.log(np.array(rows))


class _FakeNet(torch.nn.Module):
    """Returns the stored posteriors of the lines whose indices are the batch."""

    def __init__(self, lps):
        super().__init__()
        self.lps = lps

    def forward(self, x, lengths):
        idx = x.tolist()
        t = max(len(self.lps[i]) for i in idx)
        out = np.full((t, len(idx), len(ALPHABET)), -30.0)
        for b, i in enumerate(idx):
            out[: len(self.lps[i]), b] = self.lps[i]
        return torch.from_numpy(out), torch.tensor([len(self.lps[i]) for i in idx])


def _loader(refs, lps):
    batches = []
    for k in range(0, len(refs), 4):
        idx = list(range(k, min(k + 4, len(refs))))
        batches.append((torch.tensor(idx), None, None, None, [refs[i] for i in idx]))
    return _FakeNet(lps), batches


REFS = ["cat act", "tac cat", "a cat", "act tac", "tact at", "cat at a", "at cat", "tac act cat"]


def test_an_lm_of_the_training_text_fixes_what_the_network_confuses(tmp_path):
    model = tmp_path / "m.safetensors"
    net, loader = _loader(REFS, [_posteriors(r, 0.55) for r in REFS])
    report = lm_adapt.adapt_decoder(model, net, ALPHABET, loader, "cpu", TEXT * 60, base=None)
    inherited = report["candidates"][0]
    assert inherited["name"] == "inherited: greedy" and inherited["cer"] > 0.2  # every 'a' read as 'o'
    assert report["chosen"] == "in-domain LM"  # no base model: no general LM to mix with
    best = min(report["candidates"], key=lambda c: c["cer"])
    assert best["cer"] < 0.5 * inherited["cer"] and report["validation_lines"] == len(REFS)
    lm_file = lm_adapt.lm_path(model)
    assert lm_file.name == "m.lm.arpa.gz" and lm_file.exists()
    st = load_model_defaults(model)
    assert st.decoder == "beam" and st.lm == str(lm_file) and st.lm_weight == best["lm_weight"]
    dec = Decoder(ALPHABET, st)
    assert "o" not in dec.decode(_posteriors("tac cat", 0.55)).text  # greedy reads "toc cot"
    saved = json.loads(defaults_path(model).read_text())
    assert saved["tuning"]["chosen"] == "in-domain LM" and saved["format"] == "hwr-decoder"
    card = card_text(ModelInfo(arch="crnn", kind="image", config={}, alphabet=list(ALPHABET.chars[1:]),
                               name="m"), report)
    assert "## Decoder" in card and card.count("**in-domain LM**") == 1  # the chosen row alone
    assert report["candidates"][report["chosen_index"]] == best


def test_mixed_with_the_base_lm_and_never_worse_than_the_inherited_decoder(tmp_path):
    base = tmp_path / "base.safetensors"
    general = CharNgramLM.train(["a coat to a cot", "cot coat toc"] * 40, order=4)  # a text full of 'o'
    general.save(tmp_path / "general.arpa.gz")
    save_model_defaults(base, DecoderSettings(decoder="beam", lm=str(tmp_path / "general.arpa.gz"), lm_weight=0.7,
                                              insertion_bonus=1.0), default="beam")
    model = tmp_path / "ft.safetensors"
    save_model_defaults(model, load_model_defaults(base), default="beam")  # as inherit_decoder does
    net, loader = _loader(REFS, [_posteriors(r, 0.55) for r in REFS])
    report = lm_adapt.adapt_decoder(model, net, ALPHABET, loader, "cpu", TEXT * 60, base=base)
    names = [c["name"] for c in report["candidates"]]
    assert names[0].startswith("inherited: beam + general.arpa.gz")
    assert any(n.startswith("in-domain LM 0.5 + general.arpa.gz 0.5") for n in names)
    cers = [c["cer"] for c in report["candidates"]]
    assert min(cers) < cers[0]
    mixed = CharNgramLM.load(load_model_defaults(model).lm)
    assert mixed.meta["method"] in ("interpolated", "kneser-ney")


def test_clear_reading_keeps_the_inherited_decoder(tmp_path):
    """When greedy is already right, an LM cannot win (ties go to the inherited decoder)."""
    model = tmp_path / "m.safetensors"
    net, loader = _loader(REFS, [_posteriors(r, 0.0) for r in REFS])
    report = lm_adapt.adapt_decoder(model, net, ALPHABET, loader, "cpu", TEXT * 60, base=None)
    assert report["chosen"] == "inherited: greedy"
    assert not lm_adapt.lm_path(model).exists()
    assert load_model_defaults(model).decoder == "greedy"
    assert json.loads(defaults_path(model).read_text())["tuning"]["chosen"] == "inherited: greedy"


def test_too_little_text_trains_no_lm(tmp_path):
    model = tmp_path / "m.safetensors"
    net, loader = _loader(REFS, [_posteriors(r, 0.55) for r in REFS])
    assert lm_adapt.adapt_decoder(model, net, ALPHABET, loader, "cpu", TEXT, base=None) is None
    assert not defaults_path(model).exists() and not lm_adapt.lm_path(model).exists()


def test_validation_lines_are_spread_over_the_set():
    refs = [f"{'a' * (i % 7 + 1)}" for i in range(50)]
    net, loader = _loader(refs, [_posteriors(r, 0.0) for r in refs])
    lps, got = lm_adapt.validation_posteriors(net, loader, "cpu", limit=10)
    assert len(got) == 10 and got[0] == refs[0] and got[-1] == refs[-1]
    assert all(len(lp) == 2 * len(r) for lp, r in zip(lps, got))


def test_a_loader_that_knows_its_size_keeps_only_the_chosen_lines():
    refs = [f"{'a' * (i % 7 + 1)}" for i in range(50)]
    net, batches = _loader(refs, [_posteriors(r, 0.0) for r in refs])

    class Loader(list):
        dataset = refs

    _, got = lm_adapt.validation_posteriors(net, Loader(batches), "cpu", limit=10)
    _, want = lm_adapt.validation_posteriors(net, batches, "cpu", limit=10)
    assert got == want and len(got) == 10


@pytest.mark.parametrize("limit", [100])
def test_all_lines_when_there_are_few(limit):
    net, loader = _loader(REFS, [_posteriors(r, 0.0) for r in REFS])
    _, got = lm_adapt.validation_posteriors(net, loader, "cpu", limit=limit)
    assert got == REFS


@pytest.mark.parametrize("adapt", [True, False])
def test_train_image_chooses_the_decoder_and_the_card_says_so(image_data, tmp_path, monkeypatch, adapt):
    from hwr.training.image import train_image
    from hwr.training.trainer import TrainConfig

    monkeypatch.setattr(lm_adapt, "MIN_CHARS", 50)
    net = {"channels": [8, 16, 16], "hidden": 16, "layers": 1, "subsample": 4, "dropout": 0.0}
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=5, seed=0, device="cpu", adapt_lm=False)
    base = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "base.safetensors", cfg,
                       net_config=net)
    # the base decodes with a general LM that knows every letter (as the shipped models do)
    general = CharNgramLM.train(["the quick brown fox jumps over the lazy dog", "PACK MY BOX WITH FIVE DOZEN "
                                 "LIQUOR JUGS", "0123456789 .,;:!?'\"-()#&/+*[]"] * 5, order=4)
    general.save(tmp_path / "general.arpa.gz")
    save_model_defaults(base, DecoderSettings(decoder="beam", lm=str(tmp_path / "general.arpa.gz"),
                                              lm_weight=0.5, insertion_bonus=1.0), default="beam")
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=5, seed=0, device="cpu", adapt_lm=adapt)
    out = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "ft.safetensors", cfg,
                      base=base)
    card = out.with_suffix(".md").read_text()
    saved = json.loads(defaults_path(out).read_text())
    assert saved["inherited_from"] == "base.safetensors"
    if not adapt:
        assert "tuning" not in saved and "## Decoder" not in card and not lm_adapt.lm_path(out).exists()
        return
    tuning = saved["tuning"]
    assert tuning["validation_lines"] == 16
    assert tuning["candidates"][0]["name"].startswith("inherited: beam + general.arpa.gz")
    # the in-domain LM knows too few letters to stand alone; mixed with the base's LM it is tried
    names = {c["name"] for c in tuning["candidates"]}
    assert names == {tuning["candidates"][0]["name"], "in-domain LM 0.5 + general.arpa.gz 0.5"}
    assert "## Decoder" in card and tuning["chosen"] in card
    assert lm_adapt.lm_path(out).exists() == (not tuning["chosen"].startswith("inherited"))
    Decoder(Alphabet(json.loads(out.with_suffix(".json").read_text())["alphabet"]), load_model_defaults(out))
    # the verdict reads both models with their own decoders, on the same lines (the base: its general LM)
    tr = json.loads(out.with_suffix(".json").read_text())["training"]
    assert tr["read_val_lines"] == 16 and tr["base_read_by"].startswith("beam + general.arpa.gz (weight 0.5")
    assert 0 <= tr["read_val_cer"] and 0 <= tr["base_read_val_cer"]
    assert "each read with its own decoder" in card and f"{100 * tr['base_read_val_cer']:.2f} %" in card


def test_summary_says_what_was_chosen_and_why():
    inh = {"name": "inherited: greedy", "lm_weight": 0.0, "insertion_bonus": 0.0, "cer": 0.3, "wer": 0.9}
    lm = {"name": "in-domain LM", "lm_weight": 1.0, "insertion_bonus": 2.5, "cer": 0.1, "wer": 0.3}
    s = lm_adapt.summary({"candidates": [inh, lm], "chosen": "in-domain LM", "chosen_index": 1})
    assert "in-domain LM, weight 1, bonus 2.5" in s and "10.00 %" in s and "30.00 %" in s
    s = lm_adapt.summary({"candidates": [inh, {**lm, "cer": 0.4}], "chosen": inh["name"], "chosen_index": 0})
    assert s.startswith("it decodes as its base did (greedy") and "did better" in s
    s = lm_adapt.summary({"candidates": [inh], "chosen": inh["name"], "chosen_index": 0})
    assert "was tried" in s
    s = lm_adapt.summary({"candidates": [inh, lm], "chosen": "in-domain LM"})  # no index: the lowest CER
    assert "in-domain LM, weight 1" in s


def test_a_failing_decoder_choice_keeps_the_trained_model(image_data, tmp_path, monkeypatch, caplog):
    from hwr.training.image import train_image
    from hwr.training.trainer import TrainConfig

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(lm_adapt, "adapt_decoder", boom)
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=5, seed=0, device="cpu")
    net = {"channels": [8, 16, 16], "hidden": 16, "layers": 1, "subsample": 4, "dropout": 0.0}
    with caplog.at_level("WARNING"):
        out = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "m.safetensors", cfg,
                          net_config=net)
    assert out.exists() and out.with_suffix(".md").exists()
    assert "decoder choice failed (OSError: disk full)" in caplog.text


def test_as_read_reads_each_model_with_its_own_decoder(tmp_path):
    """The comparison a user sees: the base read greedily confuses every 'a' with 'o'; the new
    model (the same posteriors here) reads with beam search and an LM of the text, which mends it."""
    lps = [_posteriors(r, 0.6) for r in REFS]
    net, loader = _loader(REFS, lps)
    base, new = tmp_path / "base.safetensors", tmp_path / "new.safetensors"
    assert lm_adapt.as_read(new, net, ALPHABET, base, net, ALPHABET, loader, "cpu") == {}  # both greedy
    CharNgramLM.train(TEXT * 3, order=3).save(tmp_path / "text.arpa.gz")
    save_model_defaults(new, DecoderSettings(decoder="beam", beam_width=8, lm=str(tmp_path / "text.arpa.gz"),
                                             lm_weight=1.0, insertion_bonus=0.0), default="beam")
    read = lm_adapt.as_read(new, net, ALPHABET, base, net, ALPHABET, loader, "cpu")
    assert read["read_val_lines"] == len(REFS)
    assert read["base_read_by"] == "greedy" and read["read_by"].startswith("beam + text.arpa.gz (weight 1")
    greedy = lm_adapt._score(lps, REFS, ALPHABET, None, 0.0, 0.0, 0).cer
    assert read["base_read_val_cer"] == pytest.approx(greedy, abs=1e-6) and greedy > 0.2
    assert read["read_val_cer"] < read["base_read_val_cer"] / 2


def test_the_verdict_goes_by_the_decoders_when_they_were_measured():
    from hwr.training.card import comparison, verdict

    greedy_only = ModelInfo(arch="crnn", kind="image", config={}, alphabet=list("ab"),
                            training={"base": "b.safetensors", "base_val_cer": 0.2904, "best_val_cer": 0.2873})
    assert comparison(greedy_only) == (0.2904, 0.2873, "greedy")
    assert verdict(greedy_only).startswith("better than its base on the same validation lines: CER 29.04 % → 28.73 %")
    read = ModelInfo(arch="crnn", kind="image", config={}, alphabet=list("ab"),
                     training={**greedy_only.training, "read_val_cer": 0.2393, "base_read_val_cer": 0.2225,
                               "read_val_lines": 173, "read_by": "beam + lm_en.arpa.gz (weight 0.8, bonus 2)",
                               "base_read_by": "beam + lm_en.arpa.gz (weight 0.8, bonus 2)"})
    assert comparison(read) == (0.2225, 0.2393, "read")
    v = verdict(read)
    assert v == ("NOT better than its base: CER 22.25 % → 23.93 % on the same 173 validation lines, each read with "
                 "its own decoder (both: beam + lm_en.arpa.gz (weight 0.8, bonus 2); greedy: 29.04 % → 28.73 %). "
                 "Keep using the base model")
    other = ModelInfo(arch="crnn", kind="image", config={}, alphabet=list("ab"),
                      training={**read.training, "read_val_cer": 0.21, "read_by": "beam + hand.lm.arpa.gz (weight 1, "
                                "bonus 2.5)"})
    assert verdict(other) == ("better than its base: CER 22.25 % → 21.00 % (6 % fewer errors) on the same 173 "
                              "validation lines, each read with its own decoder (the base: beam + lm_en.arpa.gz "
                              "(weight 0.8, bonus 2); the new model: beam + hand.lm.arpa.gz (weight 1, bonus 2.5); "
                              "greedy: 29.04 % → 28.73 %)")
    assert "NOT better" in card_text(read)


def test_a_resized_network_is_read_against_its_base_too(image_data, tmp_path):
    """--hidden with --base grows a new network from the base's lower layers: the yardstick is
    the base network itself, read with its own decoder."""
    from hwr.models.checkpoint import read_info
    from hwr.training.image import train_image
    from hwr.training.trainer import TrainConfig

    net = {"channels": [8, 16, 16], "hidden": 16, "layers": 1, "subsample": 4, "dropout": 0.0}
    cfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_steps=5, seed=0, device="cpu", adapt_lm=False)
    base = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "base.safetensors", cfg,
                       net_config=net)
    save_model_defaults(base, DecoderSettings(decoder="beam", beam_width=4), default="beam")
    out = train_image([image_data / "ink.h5"], [image_data / "lines.h5"], tmp_path / "big.safetensors", cfg,
                      base=base, net_config={"hidden": 24})
    tr = read_info(out).training
    assert tr["resized_from_base"]["fresh"] and tr["read_val_lines"] == 16
    assert tr["base_read_by"] == tr["read_by"] == "beam, no LM"  # inherited
    assert 0 <= tr["read_val_cer"] and 0 <= tr["base_read_val_cer"]
