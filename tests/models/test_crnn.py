"""CRNN: shapes, output lengths, padding independence, config validation, save/load."""

import pytest
import torch

from hwr.errors import ModelError
from hwr.models.checkpoint import ModelInfo, load_model, save_model
from hwr.models.crnn import LineCRNNConfig
from hwr.models.registry import build


def _net(**kw):
    torch.manual_seed(0)
    return build("crnn", dict(height=32, num_classes=7, channels=[4, 8, 8], hidden=8, layers=1, **kw)).eval()


@pytest.mark.parametrize("sub", [2, 4, 8])
def test_shapes_and_lengths(sub):
    net = _net(subsample=sub)
    x = torch.rand(3, 1, 32, 100)
    widths = torch.tensor([100, 61, 16])
    lp, out_len = net(x, widths)
    assert out_len.tolist() == [100 // sub, 61 // sub, 16 // sub]
    assert lp.shape == (100 // sub, 3, 7)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(lp.shape[:2]), atol=1e-5)


def test_padding_does_not_change_a_line():
    net = _net()
    x = torch.rand(1, 1, 32, 40)
    lp1, n1 = net(x, torch.tensor([40]))
    padded = torch.zeros(2, 1, 32, 90)
    padded[0, :, :, :40] = x[0]
    padded[1] = torch.rand(1, 32, 90)
    lp2, n2 = net(padded, torch.tensor([40, 90]))
    assert n1[0] == n2[0] == 10
    # the BLSTM reads padding in the backward direction: frames far from the end agree closely
    assert torch.allclose(lp1[:, 0], lp2[:10, 0], atol=0.1)


def test_bad_config_and_height():
    for bad in (dict(channels=[4]), dict(subsample=3), dict(height=30), dict(dropout=1.0)):
        with pytest.raises(ModelError):
            build("crnn", {**dict(height=32, num_classes=7, channels=[4, 8, 8]), **bad})
    with pytest.raises(ValueError, match="height"):
        _net()(torch.rand(1, 1, 48, 40), torch.tensor([40]))
    assert LineCRNNConfig().height == 48


def test_save_load_roundtrip(tmp_path):
    net = _net()
    info = ModelInfo(arch="crnn", kind="image", config=net.cfg.to_dict(), alphabet=list("abcdef"),
                     preprocessing={"type": "line-image", "height": 32})
    p = save_model(net, info, tmp_path / "m.safetensors")
    net2, info2 = load_model(p)
    assert info2.kind == "image" and info2.config["channels"] == [4, 8, 8]
    x = torch.rand(1, 1, 32, 50)
    assert torch.equal(net(x, torch.tensor([50]))[0], net2(x, torch.tensor([50]))[0])
