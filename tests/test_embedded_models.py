"""The embedded models' side files: each decoder.json names its LM by a bare file name that
lies beside it in the package (a path relative to wherever it was tuned works only there)."""

import json
from pathlib import Path

import pytest

import hwr.models_data

MODELS = Path(hwr.models_data.__file__).parent


@pytest.mark.parametrize("name", ["ink_default", "image_default"])
def test_decoder_settings_name_a_packaged_lm(name):
    d = json.loads((MODELS / f"{name}.decoder.json").read_text())
    assert set(d) >= {"format", "default", "beam"} and d["format"] == "hwr-decoder"
    lm = d["beam"].get("lm")
    if lm:
        assert Path(lm).name == lm, f"{name}: LM path {lm!r} is not a file name beside the model"
        assert (MODELS / lm).is_file()
    assert (MODELS / f"{name}.safetensors").is_file() and (MODELS / f"{name}.md").is_file()


def test_recognizer_takes_each_models_tuned_beam_width_unless_told():
    from hwr.pipeline import Recognizer

    for name in ("ink_default", "image_default"):
        d = json.loads((MODELS / f"{name}.decoder.json").read_text())
        rec = Recognizer(str(MODELS / f"{name}.safetensors"), lm="none")
        assert rec.decoder.settings.beam_width == d["beam"]["beam_width"]
        assert Recognizer(str(MODELS / f"{name}.safetensors"), lm="none", beam_width=5).decoder.settings.beam_width == 5


@pytest.mark.parametrize("name", ["ink_default", "image_default"])
def test_model_card_states_the_models_own_alphabet_size_and_parameter_count(name):
    """The card's numbers are read off the model, not remembered: a card that says 89
    characters for an 81-character alphabet misleads whoever extends it."""
    import re

    from hwr.pipeline import Recognizer

    card = (MODELS / f"{name}.md").read_text()
    rec = Recognizer(str(MODELS / f"{name}.safetensors"), lm="none")
    n_chars = int(re.search(r"^\| output \| (\d+) characters", card, re.M).group(1))
    assert n_chars == len(rec.alphabet) - 1  # the alphabet counts the CTC blank
    params = float(re.search(r"\((\d+\.\d+) M parameters\)", card).group(1))
    assert params == round(sum(p.numel() for p in rec.net.parameters()) / 1e6, 2)
