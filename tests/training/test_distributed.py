"""`hwr train` under torchrun: two CPU processes (gloo) train one model with DDP."""

import json
import os
import socket
import subprocess
import sys

import pytest

from synth import synth_ink
from hwr.data.inkset import write_inkset
from hwr.models.checkpoint import load_model
from hwr.training.distributed import ShardedBatches
from hwr.training.inkdata import BucketSampler


def test_sharded_batches_split_an_epoch_evenly():
    inner = BucketSampler(list(range(1, 24)), 4, shuffle=True, seed=3)  # 6 batches
    inner.epoch = 2
    every = list(inner)
    shards = [ShardedBatches(inner, r, 4) for r in range(4)]
    got = [list(s) for s in shards]
    assert [len(g) for g in got] == [1, 1, 1, 1] and all(len(s) == 1 for s in shards)  # 6 // 4 steps each
    assert sum(got, []) == every[:4]  # rank r takes batch r of the epoch; the 2 left over are dropped
    val = [ShardedBatches(inner, r, 4, even=False) for r in range(4)]
    assert sorted(map(tuple, sum((list(v) for v in val), []))) == sorted(map(tuple, every))  # nothing left out
    shards[0].epoch = 5
    assert inner.epoch == 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="gloo over localhost")
def test_torchrun_two_cpu_processes(tmp_path):
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    write_inkset(tmp_path / "d.h5", [(f"s{i}", synth_ink(texts[i % 4], seed=i)) for i in range(40)])
    out = tmp_path / "ddp.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()), "-m", "hwr.cli.main", "train", "--data", str(tmp_path / "d.h5"),
           "--val", str(tmp_path / "d.h5"), "--out", str(out), "--epochs", "2", "--batch-size", "4",
           "--min-epoch-lines", "0",
           "--device", "cpu", "--hidden", "16", "--layers", "1", "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    _, info = load_model(out)
    tr = info.training
    assert tr["processes"] == 2 and tr["stopped_at_epoch"] == 2
    assert tr["steps"] == tr["epochs"] * (10 // 2)  # 10 batches of 4 per epoch, half on each rank
    assert r.stderr.count("epoch   2") == 1  # rank 0 alone reports
    assert out.with_suffix(".md").exists()
    state = json.loads((tmp_path / "ddp.safetensors.run" / "state.json").read_text())
    assert state["epoch"] == 2
