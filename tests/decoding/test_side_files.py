"""Side files of a model are named after its whole name, less ``.safetensors``: a model called
``hand.v2`` must not read (or overwrite) the decoder or LM of a model called ``hand``."""

from pathlib import Path

from hwr.decoding.decoder import DecoderSettings, defaults_path, load_model_defaults, save_model_defaults
from hwr.training import lm_adapt


def test_dotted_model_names_keep_their_own_decoder_and_lm(tmp_path):
    plain, dotted, half = (tmp_path / n for n in ("hand.safetensors", "hand.v2.safetensors", "lr1.5e-3.safetensors"))
    assert defaults_path(plain).name == "hand.decoder.json"
    assert defaults_path(dotted).name == "hand.v2.decoder.json"
    assert defaults_path(half).name == "lr1.5e-3.decoder.json"
    assert lm_adapt.lm_path(dotted).name == "hand.v2.lm.arpa.gz" and lm_adapt.lm_path(plain).name == "hand.lm.arpa.gz"
    # the side files sit where the model's .json and .md do
    assert defaults_path(dotted).parent == dotted.parent and Path(dotted).with_suffix(".md").name == "hand.v2.md"

    save_model_defaults(plain, DecoderSettings(decoder="beam", lm_weight=0.7, insertion_bonus=1.0), default="beam")
    save_model_defaults(dotted, DecoderSettings(decoder="greedy"), default="greedy")
    assert load_model_defaults(plain).decoder == "beam" and load_model_defaults(plain).lm_weight == 0.7
    assert load_model_defaults(dotted).decoder == "greedy"
    assert load_model_defaults(half).decoder == "greedy" and not defaults_path(half).exists()  # none: greedy


def test_a_path_without_suffix_gets_the_side_file_name_appended(tmp_path):
    assert defaults_path(tmp_path / "model").name == "model.decoder.json"
