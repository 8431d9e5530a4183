"""Fine-tuning on data with new characters extends the base model's alphabet."""

import torch

from synth import synth_ink
from hwr.alphabet import Alphabet
from hwr.data.inkset import write_inkset
from hwr.models.checkpoint import ModelInfo, load_model, save_model
from hwr.models.registry import build
from hwr.training.ink import train_ink
from hwr.training.trainer import TrainConfig, extend_base_alphabet


def _net(chars):
    torch.manual_seed(0)
    return build("ink-blstm", dict(num_features=4, num_classes=len(chars) + 1, hidden=16, layers=1, conv_channels=8))


def test_extension_keeps_old_outputs_and_adds_rows():
    chars = list("olv ")
    net = _net(chars).eval()
    x = torch.randn(1, 60, 4)
    with torch.no_grad():
        before, _ = net(x, torch.tensor([60]))
    alph, added = extend_base_alphabet(net, Alphabet(chars), ["olv zj", "jo"])
    assert added == ["j", "z"] and alph.chars == chars + ["j", "z"] and net.head.out_features == 7
    assert alph.encode("olv") == Alphabet(chars).encode("olv")  # old labels unchanged
    with torch.no_grad():
        after, _ = net(x, torch.tensor([60]))
    assert after.shape[-1] == 7
    assert torch.equal(before.argmax(-1), after[..., :5].argmax(-1))  # the same best paths as before
    assert float(after[..., 5:].exp().max()) < 0.5  # new characters start unlikely
    same, none = extend_base_alphabet(net, alph, ["zoj"])
    assert none == [] and same is alph


def test_fine_tune_with_new_characters(tmp_path):
    chars = list("olv ")
    net = _net(chars)
    base = save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=chars,
                                     preprocessing={"spacing": 0.3}), tmp_path / "base.safetensors")
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    write_inkset(tmp_path / "d.h5", [(f"s{i}", synth_ink(texts[i % 4], seed=i)) for i in range(16)])
    out = train_ink([tmp_path / "d.h5"], [tmp_path / "d.h5"], tmp_path / "new.safetensors",
                    TrainConfig(epochs=2, batch_size=8, device="cpu"), base=base)
    net2, info = load_model(out)
    assert info.alphabet == chars + ["j", "z"] and info.config["num_classes"] == 7
    assert info.training["added_characters"] == "jz"
    assert net2.head.out_features == 7


def test_fine_tune_card_compares_with_the_base(tmp_path):
    from click.testing import CliRunner

    from hwr.cli.main import cli

    chars = list("olvzj ")
    net = _net(chars)
    base = save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=chars,
                                     preprocessing={"spacing": 0.3}), tmp_path / "base.safetensors")
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    write_inkset(tmp_path / "d.h5", [(f"s{i}", synth_ink(texts[i % 4], seed=i)) for i in range(24)])
    out = tmp_path / "new.safetensors"
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(tmp_path / "d.h5"), "--val",
                                 str(tmp_path / "d.h5"), "--out", str(out), "--epochs", "3", "--device", "cpu",
                                 "--batch-size", "8", "--lr", "0.01"])
    assert r.exit_code == 0, r.output
    _, info = load_model(out)
    base_cer, new_cer = info.training["base_val_cer"], info.training["best_val_cer"]
    assert 0 <= new_cer and base_cer > 0.5  # a random network reads nothing
    card = out.with_suffix(".md").read_text()
    assert "fine-tuned from | `base.safetensors`" in card and f"{100 * base_cer:.2f} %" in card
    assert ("better than its base" in r.output) or ("NOT better" in r.output)
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(tmp_path / "d.h5"), "--out", str(base)])
    assert r.exit_code == 2 and "next to its base" in r.output


def test_fine_tuned_model_inherits_the_base_decoder(tmp_path):
    import json

    from hwr.decoding.decoder import DecoderSettings, load_model_defaults, save_model_defaults
    from hwr.pipeline import Recognizer

    chars = list("olvzj ")
    net = _net(chars)
    base = save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=chars,
                                     preprocessing={"spacing": 0.3}), tmp_path / "base" / "base.safetensors")
    save_model_defaults(base, DecoderSettings(decoder="beam", beam_width=7, insertion_bonus=0.5), default="beam")
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    write_inkset(tmp_path / "d.h5", [(f"s{i}", synth_ink(texts[i % 4], seed=i)) for i in range(16)])
    out = train_ink([tmp_path / "d.h5"], [tmp_path / "d.h5"], tmp_path / "new.safetensors",
                    TrainConfig(epochs=1, batch_size=8, device="cpu"), base=base)
    st = load_model_defaults(out)
    assert st.decoder == "beam" and st.beam_width == 7 and st.insertion_bonus == 0.5 and not st.calibrations
    assert json.loads(out.with_name("new.decoder.json").read_text())["inherited_from"] == "base.safetensors"
    assert Recognizer(out).decoder.settings.beam_width == 7
