"""The 2-D LSTM: wave-front scan against a pixel-by-pixel reference, gradients, padding, the line network."""

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hwr.errors import ModelError
from hwr.models.checkpoint import ModelInfo, load_model, save_model
from hwr.models.mdlstm import LineMDLSTM, LineMDLSTMConfig, MDLSTM2d, mdlstm2d_reference
from hwr.models.registry import build


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _layer(c=3, n=2, seed=0):
    torch.manual_seed(seed)
    layer = MDLSTM2d(c, n).double()
    with torch.no_grad():  # non-trivial biases and recurrent weights so every term matters
        layer.bias.normal_(0, 0.5)
        layer.w_rec.normal_(0, 0.7)
    return layer


@pytest.mark.parametrize("h,w", [(1, 1), (1, 6), (6, 1), (2, 5), (5, 2), (4, 4), (3, 7)])
def test_wavefront_equals_reference(h, w):
    layer = _layer()
    x = torch.randn(2, 3, h, w, dtype=torch.float64)
    out = layer(x)
    assert out.shape == (2, 8, h, w)
    ref = mdlstm2d_reference(layer, x)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


def test_directions_differ_and_see_the_whole_image():
    # each direction's output at its own start corner depends on that pixel only; at the opposite corner on all
    layer = _layer()
    x = torch.randn(1, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    n = layer.hidden
    corners = [(0, 0), (0, 3), (2, 0), (2, 3)]  # start corner of directions 0..3
    for k, (r, c) in enumerate(corners):
        g, = torch.autograd.grad(out[0, k * n, 2 - r, 3 - c], x, retain_graph=True)
        assert (g.abs().sum(1) > 0).all(), f"direction {k}: far corner does not see every pixel"
        g, = torch.autograd.grad(out[0, k * n, r, c], x, retain_graph=True)
        seen = g.abs().sum(1)[0] > 0
        assert seen.sum() == 1 and seen[r, c]


def test_gradcheck_wavefront():
    layer = _layer(c=2, n=2)
    x = torch.randn(1, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in layer.named_parameters()}
    names = list(params)

    def f(x, *p):
        return torch.func.functional_call(layer, dict(zip(names, p)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params.values()), eps=1e-6, atol=1e-6)


def test_gradients_equal_reference():
    layer = _layer(c=3, n=3)
    x = torch.randn(2, 3, 3, 5, dtype=torch.float64, requires_grad=True)
    widths = torch.tensor([5, 3])
    weight = torch.randn(2, 12, 3, 5, dtype=torch.float64)
    grads = []
    for fn in (lambda: layer(x, widths), lambda: mdlstm2d_reference(layer, x, widths)):
        layer.zero_grad()
        x.grad = None
        (fn() * weight).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_padding_does_not_leak():
    layer = _layer()
    a = torch.randn(1, 3, 4, 5, dtype=torch.float64)
    batch = torch.randn(3, 3, 4, 9, dtype=torch.float64) * 10  # padding: large random values
    batch[0, :, :, :5] = a[0]
    batch[2, :, :, :7] = torch.randn(3, 4, 7, dtype=torch.float64)
    out = layer(batch, torch.tensor([5, 9, 7]))
    torch.testing.assert_close(out[0, :, :, :5], layer(a)[0], rtol=0, atol=1e-12)
    assert (out[0, :, :, 5:] == 0).all() and (out[2, :, :, 7:] == 0).all()
    full = layer(batch[1:2])
    torch.testing.assert_close(out[1], full[0], rtol=0, atol=1e-12)
    # without the per-sample handling the right-to-left scans would read the padding: make sure it matters
    assert not torch.allclose(layer(batch[0:1])[0, :, :, :5], out[0, :, :, :5])


def _small_cfg(**kw):
    base = dict(num_classes=6, height=16, input_block=(4, 2), hidden=(4, 8), ff_channels=(12,),
                ff_blocks=((2, 1),), dropout=0.0)
    base.update(kw)
    return LineMDLSTMConfig(**base)


@pytest.mark.parametrize("height", [48, 64])
def test_line_network_shapes_and_lengths(height):
    net = build("mdlstm", dict(num_classes=10, height=height, hidden=[2, 3, 4], ff_channels=[5, 6]))
    net.eval()
    x = torch.rand(3, 1, height, 37)
    lp, out_len = net(x, torch.tensor([37, 20, 1]))
    assert net.cfg.width_factor == 4
    assert lp.shape == (10, 3, 10)  # ceil(37 / 4)
    assert out_len.tolist() == [10, 5, 1]
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(10, 3))
    # padding with any value leaves the valid outputs alone
    x2 = x.clone()
    x2[1, :, :, 20:] = 7.0
    x2[2, :, :, 1:] = -3.0
    lp2, _ = net(x2, torch.tensor([37, 20, 1]))
    torch.testing.assert_close(lp2[:5, 1], lp[:5, 1])
    torch.testing.assert_close(lp2[:1, 2], lp[:1, 2])
    alone, _ = net(x[1:2, :, :, :20], torch.tensor([20]))
    torch.testing.assert_close(alone[:, 0], lp[:5, 1], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="height"):
        net(torch.rand(1, 1, height + 16, 20), torch.tensor([20]))


@pytest.mark.parametrize("bad", [
    dict(height=50), dict(hidden=[]), dict(hidden=[4, 4], ff_channels=[]), dict(dropout=1.0),
    dict(collapse="mean"), dict(input_block=(0, 2)), dict(num_classes=1), dict(ff_blocks=[(2, 1, 1)]),
])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        _small_cfg(**bad)
    with pytest.raises(ModelError):
        build("mdlstm", {**_small_cfg().to_dict(), **bad})


def _digit_line(text: str, height: int = 16) -> np.ndarray:
    img = np.zeros((height, 11 * len(text) + 4), np.uint8)
    cv2.putText(img, text, (2, height - 3), cv2.FONT_HERSHEY_PLAIN, 0.9, 255, 1)
    return img.astype(np.float32) / 255.0


def test_tiny_ctc_training_lowers_the_loss():
    torch.manual_seed(0)
    texts = ["1234", "4321", "21"]
    imgs = [_digit_line(t) for t in texts]
    w = max(i.shape[1] for i in imgs)
    x = torch.zeros(len(imgs), 1, 16, w)
    for b, im in enumerate(imgs):
        x[b, 0, :, : im.shape[1]] = torch.from_numpy(im)
    widths = torch.tensor([im.shape[1] for im in imgs])
    targets = torch.tensor([int(c) for t in texts for c in t])
    tlen = torch.tensor([len(t) for t in texts])
    net = LineMDLSTM(_small_cfg())
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        lp, out_len = net(x, widths)
        loss = F.ctc_loss(lp, targets, out_len, tlen, blank=0, reduction="mean")
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses


def test_checkpoint_round_trip(tmp_path):
    net = build("mdlstm", _small_cfg(num_classes=11).to_dict())
    info = ModelInfo(arch="mdlstm", kind="image", config=net.cfg.to_dict(), alphabet=list("0123456789"),
                     preprocessing={"height": 16})
    p = save_model(net, info, tmp_path / "m.safetensors")
    net2, info2 = load_model(p)
    assert isinstance(net2, LineMDLSTM) and info2.config == net.cfg.to_dict()
    assert net2.cfg == net.cfg
    net.eval()
    x = torch.rand(2, 1, 16, 30)
    lens = torch.tensor([30, 17])
    torch.testing.assert_close(net2(x, lens)[0], net(x, lens)[0], rtol=0, atol=0)


def test_training_after_inference_with_the_same_size():
    # the index tables are cached per size: ones made under inference_mode must still serve a training step
    layer = _layer()
    x = torch.randn(1, 3, 3, 4, dtype=torch.float64)
    with torch.inference_mode():
        ref = layer(x)
    out = layer(x)
    out.sum().backward()
    torch.testing.assert_close(out.detach(), ref)
    assert layer.w_rec.grad is not None and layer.w_rec.grad.abs().sum() > 0


class _Lines(torch.utils.data.Dataset):
    def __init__(self, texts):
        self.texts = texts
        self.imgs = [torch.from_numpy(_digit_line(t))[None] for t in texts]  # (1, H, w)
        self.lengths = np.array([im.shape[2] for im in self.imgs])

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, k):
        return self.imgs[k], torch.tensor([int(c) + 1 for c in self.texts[k]]), self.texts[k]


def _collate(batch):
    imgs, labels, texts = zip(*batch)
    widths = torch.tensor([im.shape[2] for im in imgs])
    x = torch.full((len(imgs), 1, imgs[0].shape[1], int(widths.max())), 0.5)  # padding value: must not matter
    for b, im in enumerate(imgs):
        x[b, :, :, : im.shape[2]] = im
    return x, widths, torch.cat(labels), torch.tensor([len(lb) for lb in labels]), list(texts)


def test_trains_with_the_project_trainer(tmp_path):
    from hwr.training.inkdata import BucketSampler
    from hwr.training.trainer import TrainConfig, Trainer

    def sampler(ds, batch_size, shuffle, seed, min_lines=0):
        return BucketSampler(ds.lengths, batch_size, shuffle, seed, min_lines)

    alphabet = list("0123456789")
    net = build("mdlstm", _small_cfg(num_classes=len(alphabet) + 1).to_dict())
    info = ModelInfo(arch="mdlstm", kind="image", config=net.cfg.to_dict(), alphabet=alphabet)
    data = _Lines(["1234", "4321", "21"])
    cfg = TrainConfig(epochs=2, batch_size=2, lr=5e-3, warmup_steps=1, augment=False, amp=False, min_epoch_lines=0)
    state = Trainer(net, info, data, data, cfg, tmp_path, _collate, sampler).fit()
    assert state.epoch == 2 and len(state.history) == 2
    assert all(np.isfinite(h["loss"]) for h in state.history)
    best, best_info = load_model(tmp_path / "best.safetensors")
    assert isinstance(best, LineMDLSTM) and best_info.training["epochs"] >= 1
