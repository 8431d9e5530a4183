"""Several fine-tunings side by side, their weights averaged (a "model soup").

Fine-tuned from the same base with different seeds (another order of the lines, other
random distortions, other dropout), models stay in one basin of the loss, and the average
of their weights often reads better than either (Wortsman et al., "Model soups", ICML 2022)
while it costs nothing more to run: it is one model of the base's size.  On a CPU the
members train at once, one process each, so N members take the time of one; whether that
beats one process with all the threads depends on how well the network uses them (on the
project's 2-core machine a second thread trained the image model 1.6 times as fast, and the
two did about as well: see the README).

``hwr train --members N`` does this: member ``i`` trains in ``RUN/member-i`` with seed
``SEED + i - 1`` (each resumes on its own after a kill), all in parallel on a CPU (one
process each, the torch threads shared out) and one after another on a GPU.  The members
and their average are then read on the validation lines with the decoder the new model
inherits (greedy reading can prefer an average that reads worse with the LM), and the
average is kept only when it reads them better than the best member; otherwise the best
member is.  Averaging needs a shared start: models trained afresh from different random
weights do not average into anything useful, so members need a base model.

With ``--ensemble`` the members are not averaged but read together, their outputs averaged
frame by frame (:mod:`hwr.models.ensemble`): one network pass per member when reading, and on
Hooker's letters about four times the gain of averaging the weights.  The same rule keeps
the ensemble or the best member.  (The figures of the combination, whichever it is, are
``average_val_cer`` and ``average_decoder_val_cer`` in the model's JSON, names older than
ensembles; ``members_combined`` says which it was.)
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import torch

from hwr.errors import TrainingError
from hwr.models.checkpoint import ModelInfo, load_model

log = logging.getLogger(__name__)


def member_dir(run_dir: str | os.PathLike, i: int) -> Path:
    """The run folder of member ``i`` (from 1) of a run."""
    return Path(run_dir) / f"member-{i}"


def average_nets(nets: Sequence[torch.nn.Module], infos: Sequence[ModelInfo]) -> torch.nn.Module:
    """The first network of ``nets`` with every floating-point tensor (weights and batch-norm
    statistics) replaced by the mean over ``nets``; counters are the first network's.  The
    networks must be alike (architecture, size, alphabet, preprocessing)."""
    first = infos[0]
    for info in infos[1:]:
        for what in ("kind", "arch", "config", "alphabet", "preprocessing"):
            if getattr(info, what) != getattr(first, what):
                raise ValueError(f"models with different {what} cannot be averaged")
    states = [n.state_dict() for n in nets]
    avg = {}
    for key, value in states[0].items():
        if value.is_floating_point():
            avg[key] = torch.stack([s[key].float() for s in states]).mean(0).to(value.dtype)
        else:
            avg[key] = value
    nets[0].load_state_dict(avg)
    return nets[0]


def _exit_with_parent(parent: int) -> None:
    """A member process stops when the process that started it is gone (killed with
    SIGKILL, say), instead of training on for nobody: the checkpoints are there to resume."""
    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="hwr-member-watchdog").start()


def run_member(i: int, net, info: ModelInfo, train, val, cfg, run_dir, collate, sampler, restart: bool,
               callbacks: Sequence[Callable], base_cer: float | None) -> None:
    """Train member ``i`` (from 1): seed ``cfg.seed + i - 1``, run folder ``RUN/member-i``."""
    from hwr.training.trainer import Trainer

    cfg = replace(cfg, seed=cfg.seed + i - 1, members=1)
    if hasattr(train, "seed"):  # the random distortions of the lines follow the member's seed
        train.seed = cfg.seed
    trainer = Trainer(net, info, train, val, cfg, member_dir(run_dir, i), collate, sampler)
    trainer.member = i
    trainer.callbacks.extend(callbacks)
    if restart or not trainer.resume():
        trainer.state.base_cer = base_cer
    else:
        log.info("member %d: resuming from %s", i, trainer.run_dir)
    trainer.fit()


def _die_with_parent(parent: int) -> None:
    """On Linux, have the kernel kill this process the moment its parent dies (prctl
    PR_SET_PDEATHSIG): a member must not finish an epoch and write a checkpoint after the
    run was stopped, or a resumed run started at once could find its folder changing under
    it.  Elsewhere the watchdog of :func:`_exit_with_parent` stops it within 2 seconds."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    _exit_with_parent(parent)


def _member_process(i: int, threads: int, parent: int, args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    torch.set_num_threads(threads)
    _die_with_parent(parent)
    run_member(i, *args)


def fit_members(net, info: ModelInfo, train, val, cfg, run_dir, collate, sampler, restart: bool,
                callbacks: Sequence[Callable], base_cer: float | None, device: str) -> list[Path]:
    """Train ``cfg.members`` members from ``net``; returns their best models' paths.

    On a CPU the members run at once, one forked process each, with the torch threads
    shared out among them; on a GPU (which one process keeps busy) one after another."""
    n = cfg.members

    def args() -> tuple:  # what run_member takes after the member's number: a network of its own
        return copy.deepcopy(net), info, train, val, cfg, run_dir, collate, sampler, restart, callbacks, base_cer

    if not device.startswith("cpu"):
        for i in range(1, n + 1):
            run_member(i, *args())
    else:
        import multiprocessing as mp

        threads = max(1, torch.get_num_threads() // n)
        ctx = mp.get_context("fork")  # the members share the loaded data copy-on-write
        procs = [ctx.Process(target=_member_process, args=(i, threads, os.getpid(), args()),
                             name=f"hwr-member-{i}") for i in range(1, n + 1)]
        for stream in (sys.stdout, sys.stderr):  # or a member would print what is buffered again
            stream.flush()
        main = threading.current_thread() is threading.main_thread()  # signal handlers live there only
        previous = signal.signal(signal.SIGTERM, _terminate) if main else None
        try:
            for p in procs:
                p.start()
            for p in procs:
                p.join()
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
            for p in procs:  # interrupted: no member trains on without us
                if p.is_alive():
                    p.terminate()
                    p.join(3)
                if p.is_alive():  # busy in a long operation: no checkpoint is worth the wait
                    p.kill()
                    p.join()
        failed = [f"member {i} (exit code {p.exitcode})" for i, p in enumerate(procs, 1) if p.exitcode != 0]
        if failed:
            raise TrainingError(f"{', '.join(failed)} failed; the same command resumes every member from its "
                               f"last finished epoch (run folder {run_dir})")
    paths = []
    for i in range(1, n + 1):
        best = member_dir(run_dir, i) / "best.safetensors"
        if not best.exists():
            raise TrainingError(f"member {i} stopped before its first epoch finished; nothing to average")
        paths.append(best)
    return paths


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def soup(paths: Sequence[Path], validate: Callable[[torch.nn.Module], tuple[float, float]],
         judged_by: str = "greedy", combine: str = "average") -> tuple[torch.nn.Module, ModelInfo]:
    """Combine the members' models at ``paths``: ``combine="average"`` averages their weights,
    ``"ensemble"`` reads with all of them, their outputs averaged (:mod:`hwr.models.ensemble`).
    ``validate(net)`` gives the greedy CER on the validation lines and the CER with the decoder
    the model will use (``judged_by``); by the latter, the combination is kept if it is better
    than the best member, else the best member is.  The returned info records every member's
    figures and which was kept."""
    if combine not in ("average", "ensemble"):
        raise ValueError(f"combine must be 'average' or 'ensemble', not {combine!r}")
    loaded = [load_model(p) for p in paths]
    scores = [validate(net) for net, _ in loaded]
    best = min(range(len(loaded)), key=lambda i: scores[i][1])
    members = [{"seed": (info.training.get("train_config") or {}).get("seed"), "epochs": info.training.get("epochs"),
                "steps": info.training.get("steps"), "train_seconds": info.training.get("train_seconds"),
                "best_val_cer": scores[i][0], "decoder_val_cer": scores[i][1]} for i, (_, info) in enumerate(loaded)]
    info = copy.deepcopy(loaded[best][1])
    kept_net = loaded[best][0]
    if combine == "ensemble":
        from hwr.models.ensemble import ensemble_of

        both, described = ensemble_of([(net, i, f"member {k}") for k, (net, i) in enumerate(loaded, 1)])
    else:
        # averaged into a copy of the first network: the members stay as they are, for keeping one
        both = average_nets([copy.deepcopy(loaded[0][0])] + [n for n, _ in loaded[1:]], [i for _, i in loaded])
    both_greedy, both_cer = validate(both)
    log.info("members: validation CER (%s) %s; their %s %.2f %%", judged_by,
             ", ".join(f"{100 * c:.2f} %" for _, c in scores), combine, 100 * both_cer)
    combined = both_cer < scores[best][1]
    if combined:
        kept_net = both
        if combine == "ensemble":
            info.arch, info.config = "ensemble", both.cfg.to_dict()
            info.training["ensemble"] = {"members": described}
    tr = info.training
    tr["members"] = members
    tr["members_judged_by"] = judged_by
    tr["members_combined"] = combine
    tr["average_val_cer"] = both_greedy
    tr["average_decoder_val_cer"] = both_cer
    tr["kept"] = combine if combined else f"member {best + 1}"
    tr["best_val_cer"] = both_greedy if combined else scores[best][0]
    tr["train_seconds"] = max(float(m["train_seconds"] or 0) for m in members)
    tr["train_config"] = {**(tr.get("train_config") or {}), "seed": members[0]["seed"], "members": len(members)}
    return kept_net, info
