"""``hwr train --workers``: by default none on a CPU, and on a GPU one per CPU core but one
(shared among torchrun's local processes), at most 8."""

import os

import pytest
from click.testing import CliRunner

import hwr.training.image
from hwr import device as hwr_device
from hwr.cli.main import cli
from hwr.device import MAX_GPU_WORKERS, default_workers


@pytest.fixture
def cores(monkeypatch):
    def set_cores(n):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)
    return set_cores


def test_no_workers_on_a_cpu(cores):
    cores(16)
    assert default_workers("cpu") == 0


@pytest.mark.parametrize("n, expected", [(1, 1), (2, 1), (4, 3), (9, 8), (64, MAX_GPU_WORKERS)])
def test_on_a_gpu_one_worker_per_core_but_one_at_most_eight(cores, monkeypatch, n, expected):
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    cores(n)
    assert default_workers("cuda") == default_workers("cuda:1") == expected


def test_torchruns_local_processes_share_the_cores(cores, monkeypatch):
    cores(16)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_workers("cuda") == 3  # 15 cores for 4 processes
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "32")
    assert default_workers("cuda") == 1  # never none on a GPU
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "many")
    assert default_workers("cuda") == 8  # an unreadable count is one process


class _Stop(Exception):
    pass


@pytest.mark.parametrize("dev, given, expected", [("cpu", None, 0), ("cuda", None, "auto"), ("cuda", "2", 2),
                                                  ("cpu", "1", 1)])
def test_the_cli_passes_the_default_or_the_given_count(tiny_base_and_lines, tmp_path, monkeypatch, dev, given,
                                                        expected):
    base, lines = tiny_base_and_lines
    seen = {}

    def fake_train_image(data, val, out, cfg, **kw):
        seen["workers"] = cfg.workers
        raise _Stop

    monkeypatch.setattr(hwr.training.image, "train_image", fake_train_image)
    monkeypatch.setattr("hwr.cli.main._resolve_device", lambda d: dev)
    args = ["train", "--kind", "image", "--base", str(base), "--data", str(lines), "--val", str(lines),
            "--out", str(tmp_path / "w.safetensors"), *(["--workers", given] if given else [])]
    r = CliRunner().invoke(cli, args)
    assert isinstance(r.exception, _Stop), r.output
    assert seen["workers"] == (hwr_device.default_workers("cuda") if expected == "auto" else expected)


def test_the_cli_refuses_a_negative_count(tiny_base_and_lines, tmp_path):
    base, lines = tiny_base_and_lines
    r = CliRunner().invoke(cli, ["train", "--base", str(base), "--data", str(lines), "--workers", "-1",
                                 "--out", str(tmp_path / "x.safetensors")])
    assert r.exit_code == 2 and "--workers" in r.output
