"""Ensembles (`hwr ensemble`, hwr.models.ensemble): several networks read as one model file,
their per-frame probabilities averaged."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hwr.errors import ModelError
from hwr.models.checkpoint import ModelInfo, load_model, read_info, save_model
from hwr.models.registry import build
from tests.synth import synth_ink, synth_line_image

ALPHABET = list(" jlovz")
PREP = {"binarize": False, "floor": 0.12, "height": 32, "margin": 2, "max_slant": 1.0, "max_width": 4800,
        "min_width": 16, "slant": True, "slant_steps": 9, "type": "line-image", "version": 1}


def _crnn(path: Path, seed: int, alphabet=ALPHABET, subsample: int = 4, kind: str = "image", prep=PREP) -> Path:
    torch.manual_seed(seed)
    net = build("crnn", {"height": 32, "num_classes": len(alphabet) + 1, "channels": [8, 8, 8, 8],
                         "hidden": 16, "layers": 1, "subsample": subsample})
    with torch.no_grad():  # a visible bias per network, so that two members read differently
        net.head.bias.normal_(0, 3)
    info = ModelInfo(arch="crnn", kind=kind, config=net.cfg.to_dict(), alphabet=list(alphabet),
                     preprocessing=dict(prep), training={"base": "image_default.safetensors",
                                                        "train_config": {"seed": seed}, "best_val_cer": 0.5},
                     name=path.stem)
    return save_model(net, info, path)


def _batch(n: int = 3, width: int = 80):
    torch.manual_seed(0)
    return torch.rand(n, 1, 32, width), torch.tensor([width, width - 20, width - 41])


def test_the_ensemble_reads_the_mean_of_its_members_probabilities(tmp_path):
    from hwr.models.ensemble import make_ensemble

    a, b = _crnn(tmp_path / "a.safetensors", 1), _crnn(tmp_path / "b.safetensors", 2)
    out, info = make_ensemble([a, b], tmp_path / "ab.safetensors")
    assert info.arch == "ensemble" and info.kind == "image" and info.alphabet == ALPHABET
    assert [m["seed"] for m in info.training["ensemble"]["members"]] == [1, 2]
    ens, read = load_model(out)
    assert read.arch == "ensemble" and len(ens.members) == 2
    x, widths = _batch()
    with torch.inference_mode():
        lp, n = ens(x, widths)
        (la, na), (lb, nb) = load_model(a)[0](x, widths), load_model(b)[0](x, widths)
    assert torch.equal(n, na) and torch.equal(n, nb)
    assert not torch.allclose(la, lb, atol=1e-3)  # the members differ, so the test means something
    want = torch.log((la.exp() + lb.exp()) / 2)
    assert torch.allclose(lp, want, atol=1e-5)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(lp.shape[:2]), atol=1e-5)  # still a distribution


def test_a_model_combined_with_itself_reads_as_itself(tmp_path):
    from hwr.models.ensemble import make_ensemble
    from hwr.pipeline import Recognizer

    a = _crnn(tmp_path / "a.safetensors", 3)
    out, _ = make_ensemble([a, a], tmp_path / "aa.safetensors")
    one, two = Recognizer(a, kind="image"), Recognizer(out, kind="image")
    img = synth_line_image("love zoo")
    lp1, lp2 = one.line_log_probs([one.line_input(img)], 1)[0], two.line_log_probs([two.line_input(img)], 1)[0]
    assert np.allclose(lp1, lp2, atol=1e-5)
    assert one.recognize_line_image(img).text == two.recognize_line_image(img).text


def test_an_ensemble_given_as_a_member_gives_its_members(tmp_path):
    from hwr.models.ensemble import make_ensemble

    a, b, c = (_crnn(tmp_path / f"{n}.safetensors", s) for n, s in (("a", 1), ("b", 2), ("c", 3)))
    ab, _ = make_ensemble([a, b], tmp_path / "ab.safetensors")
    abc, info = make_ensemble([ab, c], tmp_path / "abc.safetensors")
    assert len(info.config["members"]) == 3
    assert [m["model"] for m in info.training["ensemble"]["members"]] == ["a.safetensors", "b.safetensors",
                                                                          "c.safetensors"]
    flat, _ = make_ensemble([a, b, c], tmp_path / "flat.safetensors")
    x, widths = _batch()
    with torch.inference_mode():
        assert torch.allclose(load_model(abc)[0](x, widths)[0], load_model(flat)[0](x, widths)[0], atol=1e-6)


def test_the_decoder_defaults_of_the_first_member_go_with_it(tmp_path):
    from hwr.decoding.decoder import DecoderSettings, load_model_defaults, save_model_defaults
    from hwr.decoding.calibration import Calibration
    from hwr.models.ensemble import make_ensemble

    lm = tmp_path / "lms" / "my.arpa"
    lm.parent.mkdir()
    lm.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-0.5\t<s>\n-0.5\t</s>\n-0.5\to\n\n\\end\\\n")
    a, b = _crnn(tmp_path / "a.safetensors", 1), _crnn(tmp_path / "b.safetensors", 2)
    save_model_defaults(a, DecoderSettings(decoder="beam", beam_width=8, lm=str(lm), lm_weight=0.6,
                                           insertion_bonus=1.5,
                                           calibrations={"beam+lm": Calibration(x=[0.0, 1.0], y=[0.1, 0.9])}),
                        "beam")
    (tmp_path / "elsewhere").mkdir()
    out, _ = make_ensemble([a, b], tmp_path / "elsewhere" / "ab.safetensors")
    st = load_model_defaults(out)
    assert (st.decoder, st.beam_width, st.lm_weight, st.insertion_bonus) == ("beam", 8, 0.6, 1.5)
    assert Path(st.lm) == lm.resolve()  # the LM is still found from the ensemble's own folder
    assert st.calibrations == {}  # fitted to one network's outputs, not to their average
    # a model without decoder defaults: none are written, and a stale file of that name goes
    out2, _ = make_ensemble([b, a], tmp_path / "elsewhere" / "ab.safetensors")
    assert load_model_defaults(out2).decoder == "greedy"


@pytest.mark.parametrize("what", ["alphabet", "kind", "preprocessing", "frames", "itself", "one"])
def test_models_that_cannot_be_read_as_one_are_refused(tmp_path, what):
    from hwr.models.ensemble import make_ensemble

    a = _crnn(tmp_path / "a.safetensors", 1)
    if what == "alphabet":
        b = _crnn(tmp_path / "b.safetensors", 2, alphabet=list(" jlovx"))
    elif what == "kind":
        b = _crnn(tmp_path / "b.safetensors", 2, kind="ink")
    elif what == "preprocessing":
        b = _crnn(tmp_path / "b.safetensors", 2, prep={**PREP, "slant": False})
    elif what == "frames":
        b = _crnn(tmp_path / "b.safetensors", 2, subsample=2)
    models = {"itself": [a, tmp_path / "b.safetensors"], "one": [a]}.get(what) or [a, b]
    if what == "itself":
        _crnn(models[1], 2)
    out = models[1] if what == "itself" else tmp_path / "out.safetensors"
    message = {"alphabet": "another alphabet", "kind": "another kind", "preprocessing": "another preprocessing",
               "frames": "another number of frames", "itself": "one of the members",
               "one": "two models or more"}[what]
    with pytest.raises(ModelError, match=message):
        make_ensemble(models, out)
    assert not (tmp_path / "out.safetensors").exists()


def _forge(path: Path, config: dict, tensors: dict) -> Path:
    from safetensors.torch import save_file

    info = ModelInfo(arch="ensemble", kind="image", config=config, alphabet=ALPHABET, preprocessing=PREP)
    save_file(tensors, str(path), metadata={"hwr": json.dumps(info.to_json())})
    return path


@pytest.mark.parametrize("case", ["nested", "too many", "classes", "not a list", "unknown arch"])
def test_a_hostile_ensemble_file_is_refused_before_anything_is_built(tmp_path, case):
    member = {"arch": "crnn", "config": {"height": 32, "num_classes": 7, "channels": [8, 8, 8, 8], "hidden": 16,
                                         "layers": 1}}
    members = {"nested": [member, {"arch": "ensemble", "config": {"members": [member, member], "num_classes": 7}}],
               "too many": [member] * 17,
               "classes": [member, {**member, "config": {**member["config"], "num_classes": 9}}],
               "not a list": "crnn,crnn",
               "unknown arch": [member, {"arch": "pickle", "config": {"num_classes": 7}}]}[case]
    path = _forge(tmp_path / "bad.safetensors", {"members": members, "num_classes": 7}, {"x": torch.zeros(1)})
    message = {"nested": "cannot hold another ensemble", "too many": "2 to 16 members", "classes": "has 9 classes",
               "not a list": "2 to 16 members", "unknown arch": "unknown architecture 'pickle'"}[case]
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_an_ensemble_cannot_be_fine_tuned_as_one(tmp_path):
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import normalize_line, to_uint8
    from hwr.models.ensemble import make_ensemble
    from hwr.training.image import train_image
    from hwr.training.trainer import TrainConfig

    a, b = _crnn(tmp_path / "a.safetensors", 1), _crnn(tmp_path / "b.safetensors", 2)
    ab, _ = make_ensemble([a, b], tmp_path / "ab.safetensors")
    data = tmp_path / "lines.h5"
    write_lineset(data, [LineSample(to_uint8(normalize_line(synth_line_image(t), PREP)), t, source="p.xml")
                         for t in ["love", "zoo"]], PREP)
    with pytest.raises(ValueError, match="ensemble of 2 models .* cannot be fine-tuned"):
        train_image([data], [data], tmp_path / "new.safetensors", TrainConfig(epochs=1), base=ab)


def test_an_ensemble_of_ink_models_reads_ink(tmp_path):
    from hwr.models.ensemble import make_ensemble
    from hwr.pipeline import Recognizer

    paths = []
    for s in (1, 2):
        torch.manual_seed(s)
        net = build("ink-blstm", {"num_classes": len(ALPHABET) + 1, "conv_channels": 8, "hidden": 8, "layers": 1})
        paths.append(save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(),
                                               alphabet=ALPHABET), tmp_path / f"ink{s}.safetensors"))
    out, info = make_ensemble(paths, tmp_path / "inks.safetensors")
    ink = synth_ink("lov zoo")
    rec = Recognizer(out)
    lp = rec.log_probs([ink])[0]
    parts = [Recognizer(p).log_probs([ink])[0] for p in paths]
    assert np.allclose(lp, np.logaddexp(*parts) - math.log(2), atol=1e-5)
    assert isinstance(rec.recognize_ink(ink).text, str)


def test_the_command_measures_the_members_and_the_ensemble(tmp_path):
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import normalize_line, to_uint8

    for d in ("member-1", "member-2"):  # as a --members run leaves them: one file name in two folders
        (tmp_path / d).mkdir()
    a, b = _crnn(tmp_path / "member-1" / "best.safetensors", 1), _crnn(tmp_path / "member-2" / "best.safetensors", 2)
    data = tmp_path / "lines.h5"
    write_lineset(data, [LineSample(to_uint8(normalize_line(synth_line_image(t), PREP)), t, source="p.xml")
                         for t in ["love", "vole zoo", "jolly"]], PREP)
    out = tmp_path / "ab.safetensors"
    r = subprocess.run([sys.executable, "-m", "hwr.cli.main", "ensemble", str(a), str(b), "-o", str(out),
                        "--val", str(data), "--half"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "member-1/best.safetensors: CER" in r.stderr and "the ensemble: CER" in r.stderr
    info = read_info(out)
    figures = info.training["ensemble"]["validation"]["models"]
    assert set(figures) == {"member-1/best.safetensors", "member-2/best.safetensors", "the ensemble"}
    assert all(0 <= f["cer"] for f in figures.values())
    card = out.with_suffix(".md").read_text()
    assert "| the ensemble |" in card and ("is better than its best member" in card or "is NOT better" in card)
    assert out.stat().st_size < 0.75 * (a.stat().st_size + b.stat().st_size)  # --half
    assert "| `member-2/best.safetensors` |" in card
    # the file is a model like any other
    r = subprocess.run([sys.executable, "-m", "hwr.cli.main", "evaluate", "--model", str(out), str(data), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cer"] == pytest.approx(figures["the ensemble"]["cer"], abs=1e-9)
    # and a single model is refused with a message, not a traceback
    r = subprocess.run([sys.executable, "-m", "hwr.cli.main", "ensemble", str(a), "-o", str(tmp_path / "x")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "two models or more" in r.stderr


def test_the_decoder_can_be_taken_from_another_model(tmp_path):
    from hwr.decoding.decoder import DecoderSettings, load_model_defaults, save_model_defaults
    from hwr.models.ensemble import make_ensemble

    a, b = _crnn(tmp_path / "a.safetensors", 1), _crnn(tmp_path / "b.safetensors", 2)
    other = _crnn(tmp_path / "trained.safetensors", 3)
    save_model_defaults(other, DecoderSettings(decoder="beam", beam_width=4), "beam")
    with pytest.raises(ModelError, match="no decoder defaults"):
        make_ensemble([a, b], tmp_path / "ab.safetensors", decoder_of=a)
    out = tmp_path / "ab.safetensors"
    r = subprocess.run([sys.executable, "-m", "hwr.cli.main", "ensemble", str(a), str(b), "-o", str(out),
                        "--decoder-of", str(other)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    st = load_model_defaults(out)
    assert (st.decoder, st.beam_width) == ("beam", 4)
    assert "those of `trained.safetensors`: beam" in out.with_suffix(".md").read_text()
    r = subprocess.run([sys.executable, "-m", "hwr.cli.main", "ensemble", str(a), str(b), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert load_model_defaults(out).decoder == "greedy"
    assert "It reads greedily" in out.with_suffix(".md").read_text()


def test_members_of_the_same_name_are_told_apart():
    from hwr.models.ensemble import member_labels

    assert member_labels(["run/member-1/best.safetensors", "run/member-2/best.safetensors", "x/a.safetensors"]) == [
        "member-1/best.safetensors", "member-2/best.safetensors", "a.safetensors"]
    assert member_labels(["m/a.safetensors", "m/a.safetensors"]) == ["m/a.safetensors (1)", "m/a.safetensors (2)"]
