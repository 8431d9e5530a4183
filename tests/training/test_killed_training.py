"""`hwr train` killed (SIGKILL) at random moments and started again: it resumes from its
last finished epoch, every checkpoint it left can be read, and the run ends with a model."""

import json
import random
import signal
import subprocess
import sys
import time

from synth import synth_ink
from hwr.data.inkset import write_inkset
from hwr.models.checkpoint import load_model


def test_training_survives_kills(tmp_path):
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    write_inkset(tmp_path / "d.h5", [(f"s{i}", synth_ink(texts[i % 4], seed=i)) for i in range(48)])
    out = tmp_path / "m.safetensors"
    run = tmp_path / "m.safetensors.run"
    cmd = [sys.executable, "-c", "from hwr.cli.main import main; main()", "train", "--data", str(tmp_path / "d.h5"),
           "--val", str(tmp_path / "d.h5"), "--out", str(out), "--epochs", "12", "--batch-size", "4",
           "--device", "cpu", "--hidden", "16", "--layers", "1", "--threads", "1", "--patience", "100"]
    rng = random.Random(3)
    epochs_seen = []
    for _ in range(3):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 6.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert not out.exists() or out.stat().st_size > 0
        if (run / "state.json").exists():  # a checkpoint, when there is one, is whole
            state = json.loads((run / "state.json").read_text())
            epochs_seen.append(state["epoch"])
            load_model(run / "last.safetensors")
            assert len(state["history"]) == state["epoch"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 12 and len(state["history"]) == 12  # every epoch once, none twice
    assert [h["epoch"] for h in state["history"]] == list(range(1, 13))
    assert epochs_seen == sorted(epochs_seen)  # progress was kept across the kills
    _, info = load_model(out)
    assert info.training["stopped_at_epoch"] == 12
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]  # no debris of the kills left
