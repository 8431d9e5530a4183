"""The Retrain dialog: `hwr train` in a separate process, live curves, cancel/resume, result."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")

from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from synth import synth_ink  # noqa: E402
from hwr.models.checkpoint import ModelInfo, save_model  # noqa: E402
from hwr.models.registry import build  # noqa: E402
from hwr_gui import training_dialog  # noqa: E402
from hwr_gui.corrections import CorrectionStore  # noqa: E402
from hwr_gui.settings import Settings  # noqa: E402
from hwr_gui.training_dialog import CurvePlot, TrainingDialog, data_kind, new_model_path  # noqa: E402

TEXTS = ["olv zj", "zz ol", "jo lv", "vz oj"]
SHOTS = os.environ.get("HWR_SCREENSHOTS")  # a folder: screenshots of the dialog during and after training


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # folders are imported into this cache


@pytest.fixture
def corrections(tmp_path):
    """An ink corrections folder as the app records it: 30 synthetic lines."""
    store = CorrectionStore(tmp_path / "corrections")
    for i in range(30):
        store.record_ink(synth_ink(TEXTS[i % 4], seed=i), TEXTS[i % 4])
    return store.root


@pytest.fixture
def base_model(tmp_path):
    chars = list("olvzj ")
    torch.manual_seed(0)
    net = build("ink-blstm", dict(num_features=4, num_classes=len(chars) + 1, hidden=16, layers=1, conv_channels=8))
    return save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=chars,
                                     preprocessing={"spacing": 0.3}), tmp_path / "base.safetensors")


def make_dialog(qtbot, tmp_path, corrections_root, extra):
    store = QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)
    d = TrainingDialog(store, corrections_root=corrections_root, models_dir=tmp_path / "models", has_cuda=False,
                       extra_args=extra)
    qtbot.addWidget(d)
    d.show()
    return d


def _responsiveness():
    """A 10 ms ticker on the UI thread; [0] is the longest gap between its ticks (ms)."""
    longest, clock = [0], QElapsedTimer()
    clock.start()
    ticker = QTimer(interval=10, timeout=lambda: longest.__setitem__(0, max(longest[0], clock.restart())))
    ticker.start()
    return ticker, longest


def test_fine_tune_on_ink_corrections(qtbot, tmp_path, corrections, base_model, monkeypatch):
    d = make_dialog(qtbot, tmp_path, corrections,
                    "--epochs 2 --batch-size 8 --threads 1 --lr 0.01 --val-fraction 0.2")
    d.set_source("ink-corrections")
    assert d.chosen_kind() == "ink" and "ink" in d.kind_note.text()
    d.base.setCurrentIndex(d.base.findData("file"))
    d.base_file.setText(str(base_model))
    out = Path(d.out.text())
    assert out.parent == tmp_path / "models" and out.name.startswith("ink-personal-") and not out.exists()
    args = d.command(restart=True)
    assert args[:3] == ["-m", "hwr.cli.main", "train"] and "--progress-json" in args and "--anneal" in args
    assert args[args.index("--base") + 1] == str(base_model)
    assert args[args.index("--data") + 1] == str(corrections / "ink")

    epochs = []
    d.progressed.connect(epochs.append)
    ticker, longest = _responsiveness()
    with qtbot.waitSignal(d.trainingFinished, timeout=90_000) as sig:
        assert d.start()
        assert d.state == "running" and d.cancel_button.isEnabled() and not d.start_button.isEnabled()
        if SHOTS:
            qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=60_000)
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            d.grab().save(str(Path(SHOTS) / "training_running.png"))
    ticker.stop()
    assert sig.args == [True], d.status.text()
    assert longest[0] < 500  # the UI never waits for the training
    assert d.state == "done" and out.exists() and out.with_suffix(".md").exists()
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert [e for e, _ in d.plot.cer] == [1, 2] and len(d.plot.loss) == 2
    base, new = d.result["base_val_cer"], d.result["best_val_cer"]
    assert base > 0.5 and 0 <= new <= 1  # a random base reads nothing
    assert d.plot.base_cer == pytest.approx(100 * base)
    text = d.comparison.text()
    assert "same validation lines" in text and f"{100 * base:.2f} % → {100 * new:.2f} %" in text
    assert ("better than its base" in text) or ("NOT better" in text)
    if SHOTS:
        qtbot.wait(100)  # a layout pass
        d.grab().save(str(Path(SHOTS) / "training_done.png"))

    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a) or QMessageBox.StandardButton.Yes)
    chosen = []
    d.modelChosen.connect(lambda kind, path: chosen.append((kind, path)))
    assert d.use_button.isEnabled() and d.use_new_model()
    assert Settings.load(d.store).ink_model == str(out) and chosen == [("ink", str(out))]
    assert len(warned) == (0 if new < base else 1)  # a warning exactly when it is not better


def test_use_warns_when_worse(qtbot, tmp_path, monkeypatch):
    d = make_dialog(qtbot, tmp_path, tmp_path / "none", "")
    d.state, d.result = "done", {"kind": "image", "model": str(tmp_path / "m.safetensors"),
                                 "base_val_cer": 0.10, "best_val_cer": 0.20, "judged": (0.10, 0.20, "greedy")}
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []

    def warning(parent, title, text, *rest):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(training_dialog.QMessageBox, "warning", warning)
    assert not d.use_new_model()  # "No": the base stays
    assert Settings.load(d.store).image_model == ""
    assert d.use_new_model()  # "Yes": in use despite the warning
    assert Settings.load(d.store).image_model == str(tmp_path / "m.safetensors")
    assert len(asked) == 2 and "10.00 % → 20.00 %" in asked[0] and "advised" in asked[0]


def test_cancel_then_resume(qtbot, tmp_path, corrections):
    opts = "--batch-size 8 --threads 1 --hidden 8 --layers 1 --val-fraction 0.2 --patience 100"
    d = make_dialog(qtbot, tmp_path, corrections, "--epochs 40 " + opts)
    d.set_source("ink-corrections")
    d.base.setCurrentIndex(d.base.findData("scratch"))
    assert "--base" not in d.command(restart=True)
    seen = []

    def cancel_after_first(ev):
        d.cancel()

    d.progressed.connect(lambda ev: seen.append(ev["epoch"]))
    d.progressed.connect(cancel_after_first)
    with qtbot.waitSignal(d.trainingFinished, timeout=90_000) as sig:
        assert d.start()
    d.progressed.disconnect(cancel_after_first)
    assert sig.args == [False] and d.state == "cancelled"
    kept = d._kept_epoch()
    assert 1 <= kept < 40 and f"keeps epoch {kept}" in d.status.text()
    assert d.resume_button.isEnabled() and d.start_button.isEnabled() and not d.use_button.isEnabled()
    assert not Path(d.out.text()).exists()

    d.advanced.setText(f"--epochs {kept + 2} " + opts)
    seen.clear()
    with qtbot.waitSignal(d.trainingFinished, timeout=90_000) as sig:
        assert d.resume()
        assert "--restart" not in d.process.arguments()
    assert sig.args == [True], d.status.text()
    assert seen == [kept + 1, kept + 2]  # it went on from the kept epoch
    assert [e for e, _ in d.plot.cer] == list(range(1, kept + 3))  # the kept epochs' points, from the run folder
    assert "trained from scratch" in d.comparison.text() and d.is_better() is None


def test_fine_tunings_side_by_side_cancel_then_resume(qtbot, tmp_path, corrections, base_model):
    """``--members 2`` in the Advanced field: the curve is the first member's, Cancel stops both
    and Resume goes on from their run folders."""
    opts = "--batch-size 8 --threads 2 --val-fraction 0.2 --patience 100 --lr 0.01 --members 2"
    d = make_dialog(qtbot, tmp_path, corrections, "--epochs 40 " + opts)
    d.set_source("ink-corrections")
    d.base.setCurrentIndex(d.base.findData("file"))
    d.base_file.setText(str(base_model))
    seen = []
    d.progressed.connect(seen.append)
    d.progressed.connect(lambda ev: d.cancel())
    with qtbot.waitSignal(d.trainingFinished, timeout=90_000) as sig:
        assert d.start()
    assert sig.args == [False] and d.state == "cancelled"
    assert seen[0]["member"] in (1, 2) and f"member {seen[0]['member']}  epoch   1" in d.log.toPlainText()
    kept = d._kept_epoch()  # of the member furthest on
    assert kept >= 1 and f"keeps epoch {kept}" in d.status.text() and d.resume_button.isEnabled()
    assert not (d.run_dir() / "state.json").exists() and (d.run_dir() / "member-2").is_dir()

    d.progressed.disconnect()
    d.advanced.setText(f"--epochs {kept + 1} " + opts)
    seen.clear()
    d.progressed.connect(seen.append)
    with qtbot.waitSignal(d.trainingFinished, timeout=120_000) as sig:
        assert d.resume()
    assert sig.args == [True], d.status.text()
    assert {(e["member"], e["epoch"]) for e in seen} >= {(1, kept + 1)}
    assert [e for e, _ in d.plot.cer] == list(range(1, kept + 2))  # the first member's curve only
    from hwr.models.checkpoint import read_info

    tr = read_info(d.out.text()).training
    assert [m["seed"] for m in tr["members"]] == [1, 2] and tr["kept"] in ("average", "member 1", "member 2")
    assert "members validate at" in d.log.toPlainText()


def test_bad_folder_is_shown(qtbot, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    d = make_dialog(qtbot, tmp_path, tmp_path / "corr", "--epochs 1 --threads 1")
    d.set_source("folder", bad)  # empty: refused before any process starts
    assert d.chosen_kind() is None and "no usable" in d.kind_note.text()
    assert not d.start() and d.state == "idle" and "holds no line images" in d.status.text()

    (bad / "broken.inkml").write_text("<ink><trace>1 2, 3 4 <oops")  # looks like ink, is not
    d.set_source("folder", bad)
    assert d.chosen_kind() == "ink"
    d.out.setText(str(tmp_path / "out.safetensors"))
    with qtbot.waitSignal(d.trainingFinished, timeout=60_000) as sig:
        assert d.start()
    assert sig.args == [False] and d.state == "failed"
    status = d.status.text()
    assert "exit status 1" in status and "nothing usable" in status  # the process's own message
    if SHOTS:
        qtbot.wait(100)  # a layout pass
        d.grab().save(str(Path(SHOTS) / "training_failed.png"))
    assert not d.use_button.isEnabled() and d.start_button.isEnabled()

    d.set_source("ink-corrections")  # no corrections recorded yet
    assert not d.start() and "no corrections recorded yet" in d.status.text()
    d.set_source("folder")  # back to a folder: the corrections path is not kept
    assert d.path.text() == ""


def test_output_never_over_the_base(qtbot, tmp_path, corrections, base_model):
    d = make_dialog(qtbot, tmp_path, corrections, "")
    d.set_source("ink-corrections")
    d.base.setCurrentIndex(d.base.findData("file"))
    with pytest.raises(ValueError, match="choose the base model's file"):
        d.command(restart=True)
    d.base_file.setText(str(base_model))
    d.out.setText(str(base_model))
    with pytest.raises(ValueError, match="overwrite its base"):
        d.command(restart=True)
    d.out.setText(str(tmp_path / "new.safetensors"))
    d.kind.setCurrentIndex(d.kind.findData("image"))  # an ink base cannot start an image model
    with pytest.raises(ValueError, match="is an ink model and this data trains an image model"):
        d.command(restart=True)
    assert not d.start() and "image model" in d.status.text()
    d.kind.setCurrentIndex(d.kind.findData(""))
    assert "--restart" in d.command(restart=True) and "--restart" not in d.command(restart=False)
    # the model in use (Settings) is the default base; the embedded one when none is set
    d.base.setCurrentIndex(d.base.findData("in-use"))
    assert d.base_model("ink") == "ink_default"
    s = Settings.load(d.store)
    s.ink_model = str(base_model)
    s.save(d.store)
    assert d.base_model("ink") == str(base_model) and d.base_model("image") == "image_default"


def test_data_kind_and_names(tmp_path):
    from hwr.data.inkset import write_inkset

    assert data_kind(tmp_path / "missing") is None
    write_inkset(tmp_path / "d.h5", [("s0", synth_ink("ol", seed=0))])
    assert data_kind(tmp_path / "d.h5") == "ink"
    lines = tmp_path / "lines"
    lines.mkdir()
    from PySide6.QtGui import QImage

    img = QImage(60, 20, QImage.Format.Format_Grayscale8)
    img.fill(255)
    img.save(str(lines / "a.png"))
    (lines / "a.gt.txt").write_text("hello\n")
    assert data_kind(lines) == "image"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ink-personal-x.safetensors").write_bytes(b"")
    p1 = new_model_path(tmp_path / "m", "ink")
    p1.write_bytes(b"")
    p2 = new_model_path(tmp_path / "m", "ink")
    assert p1 != p2 and not p2.exists() and p2.name.startswith("ink-personal-")


def test_curve_plot_paints(qtbot):
    plot = CurvePlot()
    qtbot.addWidget(plot)
    plot.resize(500, 260)
    empty = plot.grab().toImage()
    plot.add(1, 40.0, 95.0)
    plot.add(2, 20.0, 60.0)
    plot.add(2, 18.0, 55.0)  # an epoch again (resume): replaced
    plot.set_base(70.0)
    assert plot.loss == [(1, 40.0), (2, 18.0)] and plot.cer == [(1, 95.0), (2, 55.0)]
    drawn = plot.grab().toImage()
    assert drawn != empty
    red = sum(1 for x in range(0, 500, 2) for y in range(0, 260, 2)
              if drawn.pixelColor(x, y).red() > 180 and drawn.pixelColor(x, y).green() < 80)
    assert red > 20  # the CER curve is there


def test_tools_menu_opens_the_dialog(qtbot, tmp_path):
    from hwr.types import LineResult
    from hwr_gui.main_window import MainWindow

    class FakeRecognizer:
        def recognize(self, ink, **kw):
            return LineResult("x", 1.0)

    store = QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)
    w = MainWindow(recognizer=FakeRecognizer(), page_recognizer=object(), settings=store,
                   corrections=CorrectionStore(tmp_path / "corr"))
    qtbot.addWidget(w)
    tools = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Tools")
    (action,) = [a for a in tools.actions() if a.text() == "&Retrain model…"]
    action.trigger()
    d = w.training_dialog
    assert d.isVisible() and d.store is store and d.corrections_root == tmp_path / "corr"
    loaded = []
    w.apply_settings = lambda new: loaded.append(new)
    d.state, d.result = "done", {"kind": "ink", "model": str(tmp_path / "new.safetensors"),
                                 "base_val_cer": 0.5, "best_val_cer": 0.2}
    assert d.use_new_model()  # better than its base: no warning
    assert [s.ink_model for s in loaded] == [str(tmp_path / "new.safetensors")]
    w.shutdown()


def test_line_corrections_train_the_image_model(qtbot, tmp_path):
    """Page-line corrections (PNG + .gt.txt) train an image model; using it sets the image model."""
    import numpy as np

    from hwr.ink.render import render_ink

    store = CorrectionStore(tmp_path / "corrections")
    rng = np.random.default_rng(0)
    for i in range(24):
        store.record_line(render_ink(synth_ink(TEXTS[i % 4], seed=i), height=40, rng=rng), TEXTS[i % 4])
    d = make_dialog(qtbot, tmp_path, store.root, "--epochs 1 --batch-size 8 --threads 1 --hidden 16 --layers 1 "
                                                 "--channels 4,8,8,8 --val-fraction 0.25")
    d.set_source("line-corrections")
    d.base.setCurrentIndex(d.base.findData("scratch"))
    assert d.chosen_kind() == "image" and Path(d.out.text()).name.startswith("image-personal-")
    with qtbot.waitSignal(d.trainingFinished, timeout=90_000) as sig:
        assert d.start()
    assert sig.args == [True], d.status.text() + "\n" + "\n".join(d.stderr_tail)
    assert d.result["kind"] == "image" and [e for e, _ in d.plot.cer] == [1]
    assert d.use_new_model()
    s = Settings.load(d.store)
    assert s.image_model == d.out.text() and s.ink_model == ""


def test_result_says_how_the_new_model_decodes(qtbot, tmp_path, base_model):
    """The decoder choice of hwr train (its .decoder.json) is shown under the comparison."""
    from hwr.decoding.decoder import DecoderSettings, save_model_defaults

    d = make_dialog(qtbot, tmp_path, tmp_path / "none", "")
    tuning = {"validation_lines": 88, "training_characters": 14282, "chosen": "in-domain LM", "chosen_index": 1,
              "seconds": 30.0,
              "candidates": [{"name": "inherited: beam + lm_en.arpa.gz (weight 0.7, bonus 2)", "lm_weight": 0.7,
                              "insertion_bonus": 2.0, "cer": 0.1867, "wer": 0.55},
                             {"name": "in-domain LM", "lm_weight": 1.0, "insertion_bonus": 2.5, "cer": 0.1278,
                              "wer": 0.36}]}
    save_model_defaults(base_model, DecoderSettings(decoder="beam"), default="beam", extra={"tuning": tuning})
    d.state, d.result = "done", {"model": str(base_model), "card": str(base_model.with_suffix(".md"))}
    d._show_result()
    text = d.comparison.text()
    assert "Decoding: it decodes with beam search and an LM of its training text (in-domain LM" in text
    assert "12.78 %" in text and "18.67 %" in text


def test_result_says_when_the_new_model_is_an_ensemble(qtbot, tmp_path, base_model):
    """`--members 2 --ensemble` in Advanced may keep an ensemble: the result says it reads slower."""
    from hwr.models.ensemble import make_ensemble

    other = tmp_path / "other.safetensors"
    torch.manual_seed(1)
    net = build("ink-blstm", dict(num_features=4, num_classes=7, hidden=16, layers=1, conv_channels=8))
    save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(), alphabet=list("olvzj "),
                              preprocessing={"spacing": 0.3}), other)
    ens, _ = make_ensemble([base_model, other], tmp_path / "both.safetensors")
    d = make_dialog(qtbot, tmp_path, tmp_path / "none", "")
    d.state, d.result = "done", {"model": str(ens), "card": str(ens.with_suffix(".md"))}
    d._show_result()
    assert "ensemble of 2 fine-tunings" in d.comparison.text() and "2 times as slowly" in d.comparison.text()
    d.result = {"model": str(base_model), "card": str(base_model.with_suffix(".md"))}
    d._show_result()
    assert "ensemble" not in d.comparison.text()


def test_several_fine_tunings_read_together(qtbot, tmp_path, corrections, base_model):
    """The "Fine-tunings" choice: N members kept as one ensemble (hwr train --members N --ensemble)."""
    from hwr.models.ensemble import make_ensemble

    d = make_dialog(qtbot, tmp_path, corrections, "")
    d.set_source("ink-corrections")
    d.base.setCurrentIndex(d.base.findData("file"))
    d.base_file.setText(str(base_model))
    assert "--members" not in d.command(restart=True)  # one model by default
    d.members.setCurrentIndex(d.members.findData(2))
    args = d.command(restart=True)
    assert args[args.index("--members") + 1] == "2" and "--ensemble" in args
    d.base.setCurrentIndex(d.base.findData("scratch"))  # members need a start
    assert not d.members.isEnabled()
    with pytest.raises(ValueError, match="need a model to start from"):
        d.command(restart=True)
    d.members.setCurrentIndex(d.members.findData(1))
    assert "--members" not in d.command(restart=True)
    # an ensemble in use cannot be the start of another fine-tuning: said before anything runs
    torch.manual_seed(1)
    net = build("ink-blstm", dict(num_features=4, num_classes=7, hidden=16, layers=1, conv_channels=8))
    other = save_model(net, ModelInfo(arch="ink-blstm", kind="ink", config=net.cfg.to_dict(),
                                      alphabet=list("olvzj "), preprocessing={"spacing": 0.3}),
                       tmp_path / "other.safetensors")
    ens, _ = make_ensemble([base_model, other], tmp_path / "both.safetensors")
    s = Settings.load(d.store)
    s.ink_model = str(ens)
    s.save(d.store)
    d.base.setCurrentIndex(d.base.findData("in-use"))
    assert d.members.isEnabled()
    with pytest.raises(ValueError, match="ensemble of 2 models, which cannot be fine-tuned"):
        d.command(restart=True)
    assert not d.start() and "ensemble" in d.status.text()


def test_use_warns_when_worse_as_read_though_better_greedily(qtbot, tmp_path, monkeypatch):
    """A fine-tuning on a few pages of a hard hand read them better greedily and worse with
    beam search + LM, the way the app reads: the dialog judges by the latter and warns."""
    d = make_dialog(qtbot, tmp_path, tmp_path / "none", "")
    d.state, d.result = "done", {"kind": "image", "model": str(tmp_path / "m.safetensors"),
                                 "base_val_cer": 0.2904, "best_val_cer": 0.2873, "judged": (0.2225, 0.2393, "read")}
    asked = []
    monkeypatch.setattr(training_dialog.QMessageBox, "warning",
                        lambda parent, title, text, *rest: asked.append(text) or QMessageBox.StandardButton.No)
    assert d.is_better() is False
    assert not d.use_new_model() and Settings.load(d.store).image_model == ""
    assert len(asked) == 1 and "read as each reads by default" in asked[0] and "22.25 % → 23.93 %" in asked[0]
