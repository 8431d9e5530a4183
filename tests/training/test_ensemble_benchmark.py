"""benchmarks/ensemble.py: image models' outputs averaged frame by frame, on a small dataset
made here (no ../shared data)."""

import re
import sys

import pytest

from conftest import load_benchmark
from tests.synth import synth_line_image


def _bench():
    return load_benchmark("ensemble")


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import normalize_line, to_uint8
    from hwr.pipeline import Recognizer

    prep = Recognizer("image_default", kind="image").preprocessing
    path = tmp_path_factory.mktemp("ens") / "lines.h5"
    write_lineset(path, [LineSample(to_uint8(normalize_line(synth_line_image(t), prep)), t, source="p.xml")
                         for t in ["love", "vole zoo", "jolly"]], prep)
    return path


def test_an_ensemble_of_one_model_twice_reads_as_the_model(lines, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ensemble.py", "--data", str(lines), "image_default", "image_default"])
    _bench().main()
    out = capsys.readouterr().out
    assert "3 lines, 17 characters" in out and "lm_en.arpa.gz weight" in out
    rows = re.findall(r"^  (.+?)\s+([\d.]+) /\s+([\d.]+)$", out, re.M)
    assert [r[0] for r in rows] == ["image_default", "image_default", "ensemble, mean of log-probabilities",
                                    "ensemble, mean of probabilities"]
    figures = {(r[1], r[2]) for r in rows}
    assert len(figures) == 1  # averaging a model with itself changes nothing, greedy or with the LM
    assert all(0 <= float(x) <= 100 for x in next(iter(figures)))


def test_models_that_cannot_be_averaged_are_refused(lines, monkeypatch, tmp_path):
    from hwr.errors import ModelError
    from hwr.models.checkpoint import ModelInfo, read_info, save_model
    from hwr.models.registry import build
    from hwr.pipeline import resolve_model

    monkeypatch.setattr(sys, "argv", ["ensemble.py", "--data", str(lines), "image_default"])
    with pytest.raises(SystemExit):
        _bench().main()
    # another alphabet: its frames mean other characters
    info = read_info(resolve_model("image_default", "image"))
    net = build("crnn", {"height": info.config["height"], "num_classes": 4})
    other = save_model(net, ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=list("abc"),
                                      preprocessing=info.preprocessing), tmp_path / "abc.safetensors")
    monkeypatch.setattr(sys, "argv", ["ensemble.py", "--data", str(lines), "image_default", str(other)])
    with pytest.raises(SystemExit, match="another alphabet"):
        _bench().main()
    monkeypatch.setattr(sys, "argv", ["ensemble.py", "--data", str(lines), "image_default", "ink_default"])
    with pytest.raises(ModelError, match="not an image model"):
        _bench().main()
