"""Model files: safetensors + JSON, refused cleanly when wrong, never unpickled."""

import json
import pickle
import string

import pytest
import torch

from hwr.errors import ModelError
from hwr.models.checkpoint import ModelInfo, load_model, read_info, save_model
from hwr.models.registry import build

ALPH = list(string.ascii_lowercase + " ")


def _net():
    return build("ink-blstm", dict(num_features=4, num_classes=len(ALPH) + 1, hidden=8, layers=1, conv_channels=8))


def _info(net, name="m"):
    return ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=ALPH,
                     preprocessing={"spacing": 0.3}, name=name)


def test_round_trip_weights_and_metadata(tmp_path):
    net = _net()
    p = save_model(net, _info(net), tmp_path / "m.safetensors")
    net2, info = load_model(p)
    assert info.alphabet == ALPH and info.config == net.cfg.to_dict()
    for k, v in net.state_dict().items():
        assert torch.equal(v, net2.state_dict()[k])
    assert json.loads((tmp_path / "m.json").read_text())["arch"] == "ink-blstm"


def test_a_dotted_name_without_the_suffix_does_not_overwrite_another_model(tmp_path):
    net = _net()
    first = save_model(net, _info(net, "hand"), tmp_path / "hand.safetensors")
    second = save_model(net, _info(net, "hand.v2"), tmp_path / "hand.v2")  # as `hwr train --out hand.v2`
    assert first.name == "hand.safetensors" and second.name == "hand.v2.safetensors"
    assert read_info(first).name == "hand" and read_info(second).name == "hand.v2"
    assert json.loads((tmp_path / "hand.v2.json").read_text())["name"] == "hand.v2"
    assert json.loads((tmp_path / "hand.json").read_text())["name"] == "hand"
    assert save_model(net, _info(net), tmp_path / "plain").name == "plain.safetensors"


def test_half_precision_file_loads_into_a_float32_network(tmp_path):
    net = build("crnn", {"height": 16, "num_classes": 5, "channels": [4, 8], "hidden": 8, "layers": 1})
    info = ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=list("abcd"))
    full = save_model(net, info, tmp_path / "full.safetensors")
    half = save_model(net, info, tmp_path / "half.safetensors", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    from safetensors import safe_open

    with safe_open(str(half), framework="pt") as f:
        assert f.get_tensor("lstm.weight_ih_l0").dtype == torch.float16
        assert f.get_tensor("cnn.1.num_batches_tracked").dtype == torch.int64  # integers stay as they are
    net2, _ = load_model(half)
    assert all(v.dtype == torch.float32 for v in net2.parameters())
    x, w = torch.rand(2, 1, 16, 40), torch.tensor([40, 32])
    with torch.no_grad():
        a, _ = net.eval()(x, w)
        b, _ = net2(x, w)
    assert torch.allclose(a, b, atol=1e-2) and not torch.equal(a, b)


def test_any_header_length_loads(tmp_path):
    # the first byte of a safetensors file is the low byte of its header length: 0x80 must not read as a pickle
    net = _net()
    for k in range(0, 300, 7):
        p = save_model(net, _info(net, name="x" * k), tmp_path / f"m{k}.safetensors")
        assert read_info(p).name == "x" * k


@pytest.mark.parametrize("content,match", [
    (pickle.dumps({"weights": 1}), "pickle"),
    (b"PK\x03\x04" + b"\x00" * 100, "pickle"),
    (b"", "not a safetensors"),
    (b"garbage" * 10, "not a safetensors"),
])
def test_bad_files_are_refused(tmp_path, content, match):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(content)
    with pytest.raises(ModelError, match=match):
        load_model(p)


def test_truncated_model(tmp_path):
    net = _net()
    p = save_model(net, _info(net), tmp_path / "m.safetensors")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        load_model(p)


def test_wrong_shapes_and_alphabet(tmp_path):
    net = _net()
    info = _info(net)
    info.config = {**info.config, "hidden": 12}  # metadata says 12 units, weights have 8
    p = save_model(net, info, tmp_path / "m.safetensors")
    with pytest.raises(ModelError, match="shape"):
        load_model(p)
    info = _info(net)
    info.alphabet = ALPH[:-3]  # alphabet does not fit the output layer
    p = save_model(net, info, tmp_path / "a.safetensors")
    with pytest.raises(ModelError, match="alphabet"):
        load_model(p)


def test_nan_weights_refused(tmp_path):
    net = _net()
    with torch.no_grad():
        net.head.bias[0] = float("nan")
    p = save_model(net, _info(net), tmp_path / "m.safetensors")
    with pytest.raises(ModelError, match="NaN"):
        load_model(p)
