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


def test_a_dotted_model_of_before_still_reads_its_decoder_while_no_model_owns_that_file(tmp_path):
    old = tmp_path / "hand.v2.safetensors"
    old.write_bytes(b"")
    legacy = tmp_path / "hand.decoder.json"  # where hwr wrote hand.v2's decoder before 2026-11-27
    save_model_defaults(tmp_path / "hand", DecoderSettings(decoder="beam", lm_weight=0.6), default="beam")
    assert legacy.exists() and defaults_path(old).name == "hand.v2.decoder.json"  # written: never the old name
    assert load_model_defaults(old).decoder == "beam" and load_model_defaults(old).lm_weight == 0.6
    (tmp_path / "hand.safetensors").write_bytes(b"")  # a model of that name owns hand.decoder.json
    assert load_model_defaults(old).decoder == "greedy"
    (tmp_path / "hand.safetensors").unlink()
    save_model_defaults(old, DecoderSettings(decoder="greedy"), default="greedy")  # its own file, once written, wins
    assert (tmp_path / "hand.v2.decoder.json").exists() and legacy.exists()
    assert load_model_defaults(old).decoder == "greedy"
