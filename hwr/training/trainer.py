"""The trainer: fit with validation CER, checkpoints, resume, early stopping.

A run folder holds::

    last.safetensors   weights of the last finished epoch (an hwr model file)
    optim.safetensors  optimiser state of that epoch (tensors only, no pickle)
    state.json         epoch, step, best CER, history, learning rate, patience
    best.safetensors   the model with the best validation CER so far (+ .json)

Every file is written to a temporary name and renamed, so a run killed at any
moment resumes from the last complete epoch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from hwr.alphabet import Alphabet
from hwr.decoding.greedy import greedy_decode
from hwr.models.checkpoint import ModelInfo, load_model, save_model
from hwr.training.metrics import ErrorRates

log = logging.getLogger(__name__)


# The peak learning rate `hwr train` uses when it fine-tunes an image model (--base) and is
# given none: twice the from-scratch rate (TrainConfig.lr). In 30-minute fine-tunings of
# image_default on the Joseph Hooker letters and the French wills (docs/hooker-letters.md,
# *The learning rate of a fine-tuning*) 3e-3 read the validation lines a little better than 1.5e-3 on average,
# 5e-4 a point worse, 6e-3 worse than 3e-3. Ink fine-tuning keeps TrainConfig.lr, which read 20
# writers' own lines better than 5e-4 after 30 corrections each (benchmarks/personal_ink.py).
FINE_TUNE_IMAGE_LR = 3e-3


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 24
    lr: float = 1.5e-3
    weight_decay: float = 1e-5
    warmup_steps: int = 400
    clip: float = 5.0
    patience: int = 12  # epochs without improvement before stopping
    lr_patience: int = 4  # epochs without improvement before halving the learning rate
    min_lr: float = 2e-5
    seed: int = 1
    device: str = "cpu"
    amp: bool = True  # mixed precision (CUDA only)
    max_minutes: float | None = None
    workers: int = 0
    # random distortions of the training lines: False, True (the default level), or a level of
    # hwr.training.imagedata.AUGMENTATIONS (line images; ink is distorted alike at any level)
    augment: bool | str = True
    anneal: bool = False  # cosine decay of the learning rate to the end of this run's budget (time or epochs)
    # keep the batch-norm running statistics as they are (None: yes when fine-tuning a base model,
    # whose other layers were trained with them; a small new data set's batches would shift them)
    freeze_norm: bool | None = None
    # after training: an LM of the training text, and the decoder chosen on the validation
    # lines (hwr.training.lm_adapt)
    adapt_lm: bool = True
    # fine-tunings run side by side with seeds seed, seed+1, ..., their weights averaged, or
    # with ``ensemble`` read together as one ensemble (hwr.training.members; without members,
    # ``ensemble`` does nothing)
    members: int = 1
    ensemble: bool = False
    # a training set smaller than this is gone through several times an epoch (at least 10
    # batches of 24): the schedule counts epochs, and a user's first few dozen corrections
    # would otherwise be one optimiser step an epoch, stopped by the patience before the
    # warm-up is over (hwr.training.inkdata.BucketSampler; README, "Your own hand")
    min_epoch_lines: int = 240

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs < 1 or self.lr <= 0 or self.members < 1:
            raise ValueError("batch_size, epochs, lr and members must be positive")


@dataclass
class Progress:
    epoch: int
    step: int
    loss: float
    val_cer: float | None = None
    val_wer: float | None = None
    lr: float = 0.0
    seconds: float = 0.0
    lines_per_s: float = 0.0
    improved: bool = False
    member: int = 0  # which of several members side by side (hwr.training.members), from 1; 0: a single run


@dataclass
class _State:
    epoch: int = 0
    step: int = 0
    best_cer: float = math.inf
    bad_epochs: int = 0
    lr_bad_epochs: int = 0
    lr_scale: float = 1.0
    seconds: float = 0.0
    history: list = field(default_factory=list)
    config_fingerprint: str = ""
    base_cer: float | None = None  # the base model's CER on the same validation lines (fine-tuning)


def _atomic_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def _save_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(float(v))
            tensors[f"{i}.{k}"] = t.detach().cpu().contiguous()
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_file(tensors, str(tmp))
    os.replace(tmp, path)


def _load_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    sd = opt.state_dict()
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        i, k = key.split(".", 1)
        state.setdefault(int(i), {})[k] = v
    sd["state"] = state
    opt.load_state_dict(sd)


def line_posteriors(net, loader, device: str):
    """``(log_probs (T, C) float32 view, reference text)`` of every line of ``loader``, in its
    order; the network in eval mode, no gradients."""
    net.eval()
    with torch.inference_mode():
        for x, lengths, _t, _tl, texts in loader:
            lp, out_len = net(x.to(device), lengths)
            lp = lp.float().cpu().numpy()
            for b, ref in enumerate(texts):
                yield lp[: int(out_len[b]), b], ref


def evaluate_net(net, loader, alphabet: Alphabet, device: str, keep: list | None = None) -> ErrorRates:
    """Greedy-decode every batch of ``loader`` and return CER/WER."""
    er = ErrorRates()
    for lp, ref in line_posteriors(net, loader, device):
        hyp = greedy_decode(lp, alphabet).text
        er.add(ref, hyp)
        if keep is not None:
            keep.append((ref, hyp))
    return er


class Trainer:
    """Trains ``net`` on ``train`` (a Dataset of (features, labels, text)), validating on ``val``."""

    def __init__(self, net, info: ModelInfo, train, val, cfg: TrainConfig, run_dir: str | os.PathLike,
                 collate_fn: Callable, sampler_factory: Callable):
        self.net = net
        self.info = info
        self.alphabet = Alphabet(info.alphabet)
        self.train_set = train
        self.val_set = val
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.collate_fn = collate_fn
        self.sampler_factory = sampler_factory
        from hwr.training import distributed

        self.device = distributed.setup(cfg.device)
        self.rank, self.world_size = distributed.world()
        if self.rank == 0:  # temporaries of a checkpoint write that a kill interrupted
            for p in self.run_dir.glob(".*.tmp*"):
                p.unlink(missing_ok=True)
        self.net.to(self.device)
        self.model = self.net  # what the training step calls: the network, or its DDP wrapper
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.model = DistributedDataParallel(
                self.net, device_ids=[torch.device(self.device).index] if self.device.startswith("cuda") else None)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.state = _State(config_fingerprint=json.dumps(info.config, sort_keys=True))
        self.callbacks: list[Callable[[Progress], None]] = []
        self.stop_requested = False
        self.member = 0  # set by hwr.training.members

    # ------------------------------------------------------------------ checkpoints
    def resume(self) -> bool:
        """Load the last checkpoint of the run folder if there is one.  Returns whether it did."""
        st, last, opt = self.run_dir / "state.json", self.run_dir / "last.safetensors", self.run_dir / "optim.safetensors"
        if not (st.exists() and last.exists() and opt.exists()):
            return False
        saved = json.loads(st.read_text())
        if saved.get("config_fingerprint") != self.state.config_fingerprint:
            raise ValueError(f"{self.run_dir}: holds a run of a different network configuration; "
                             "choose another run folder or start afresh")
        net, _ = load_model(last, device=self.device)
        self.net.load_state_dict(net.state_dict())
        _load_optimizer(self.opt, opt)
        self.state = _State(**saved)
        log.info("resumed %s at epoch %d (best CER %.4f)", self.run_dir, self.state.epoch, self.state.best_cer)
        return True

    def _checkpoint(self, improved: bool) -> None:
        if self.rank != 0:
            return
        info = self._info_with_figures()
        if improved:
            save_model(self.net, info, self.run_dir / "best.safetensors")
        save_model(self.net, info, self.run_dir / "last.safetensors")
        _save_optimizer(self.opt, self.run_dir / "optim.safetensors")
        _atomic_json(self.run_dir / "state.json", asdict(self.state))  # last: marks the epoch complete

    def _info_with_figures(self) -> ModelInfo:
        tr = dict(self.info.training)
        if self.state.base_cer is not None:
            tr["base_val_cer"] = self.state.base_cer
        if self.world_size > 1:
            tr["processes"] = self.world_size
        tr.update({"epochs": self.state.epoch, "steps": self.state.step, "best_val_cer": self.state.best_cer,
                   "train_seconds": round(self.state.seconds, 1), "history": self.state.history[-200:],
                   "train_config": {k: v for k, v in asdict(self.cfg).items() if k not in ("device", "workers")}})
        return ModelInfo(arch=self.info.arch, kind=self.info.kind, config=self.info.config,
                         alphabet=self.info.alphabet, preprocessing=self.info.preprocessing,
                         training=tr, name=self.info.name)

    def validate(self, net=None) -> ErrorRates:
        """CER/WER of the network as it is now (or of ``net``) on the validation lines (greedy decoding)."""
        return self._evaluate(self._val_loader(), net)

    def _val_loader(self, shard: bool = True) -> DataLoader:
        """The validation lines in batches; this rank's share of them unless ``shard`` is False."""
        from hwr.training.distributed import ShardedBatches

        val_sampler = self.sampler_factory(self.val_set, 64, False, 0)
        if self.world_size > 1 and shard:
            val_sampler = ShardedBatches(val_sampler, self.rank, self.world_size, even=False)
        return DataLoader(self.val_set, batch_sampler=val_sampler, collate_fn=self.collate_fn,
                          num_workers=self.cfg.workers)

    def _evaluate(self, loader, net=None) -> ErrorRates:
        """Validation on this rank's share, error counts summed over the ranks."""
        from hwr.training import distributed

        net = self.net if net is None else net.to(self.device)
        er = evaluate_net(net, loader, self.alphabet, self.device)
        if self.world_size > 1:
            c = distributed.reduce([er.char_errors, er.chars, er.word_errors, er.words, er.lines])
            er = ErrorRates(*(int(round(v)) for v in c))
        return er

    # ------------------------------------------------------------------ training
    def _run_fraction(self) -> float:
        """How much of this run's budget is spent: time if there is a time budget, else epochs
        (distributed: the largest over the ranks, agreed at each step)."""
        if self.world_size > 1 and getattr(self, "_frac", None) is not None:
            return self._frac
        return self._local_fraction()

    def _local_fraction(self) -> float:
        run = getattr(self, "_run", None)
        if run is None:
            return 0.0
        if self.cfg.max_minutes:
            return (time.monotonic() - run["start"]) / (self.cfg.max_minutes * 60)
        todo = max(self.cfg.epochs - run["first_epoch"], 1)
        return (self.state.epoch - run["first_epoch"] + run["in_epoch"]) / todo

    def _lr(self) -> float:
        warm = min(1.0, (self.state.step + 1) / max(self.cfg.warmup_steps, 1))
        lr = self.cfg.lr * warm * self.state.lr_scale
        if self.cfg.anneal:
            lr = max(lr * 0.5 * (1.0 + math.cos(math.pi * min(self._run_fraction(), 1.0))), self.cfg.min_lr)
        return lr

    def fit(self) -> _State:
        cfg = self.cfg
        torch.manual_seed(cfg.seed + self.state.epoch)
        random.seed(cfg.seed + self.state.epoch)
        np.random.seed(cfg.seed + self.state.epoch)
        from hwr.training import distributed

        sampler = self.sampler_factory(self.train_set, cfg.batch_size, True, cfg.seed,
                                       min_lines=cfg.min_epoch_lines)
        if self.world_size > 1:
            sampler = distributed.ShardedBatches(sampler, self.rank, self.world_size)
        loader = DataLoader(self.train_set, batch_sampler=sampler, collate_fn=self.collate_fn,
                            num_workers=cfg.workers, persistent_workers=cfg.workers > 0)
        val_loader = self._val_loader()
        use_amp = cfg.amp and self.device.startswith("cuda")
        deadline = time.monotonic() + cfg.max_minutes * 60 if cfg.max_minutes else None
        self._run = {"start": time.monotonic(), "first_epoch": self.state.epoch, "in_epoch": 0.0}
        last_epoch_secs = 0.0
        from tqdm import tqdm

        def agreed(flag: bool) -> bool:  # every rank stops together, or none does
            return bool(distributed.reduce([float(flag)], "max")[0]) if self.world_size > 1 else flag

        while self.state.epoch < cfg.epochs and not self.stop_requested:
            if agreed(bool(deadline and time.monotonic() + last_epoch_secs > deadline)):
                log.info("time budget reached: not starting an epoch that would not finish in it")
                break
            epoch_start = time.monotonic()
            epoch = self.state.epoch + 1
            sampler.epoch = epoch
            if hasattr(self.train_set, "epoch"):
                self.train_set.epoch = epoch
            self.net.train()
            if cfg.freeze_norm:
                freeze_batchnorm(self.net)
            t0 = time.monotonic()
            total, n_lines, n_batches = 0.0, 0, 0
            bar = tqdm(loader, desc=f"epoch {epoch}", file=sys.stderr, leave=False, dynamic_ncols=True,
                       disable=not sys.stderr.isatty())
            for x, lengths, targets, tlen, _texts in bar:
                for g in self.opt.param_groups:
                    g["lr"] = self._lr()
                x = x.to(self.device)
                with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_amp):
                    lp, out_len = self.model(x, lengths)
                loss = F.ctc_loss(lp.float(), targets, out_len, tlen, blank=0, reduction="sum",
                                  zero_infinity=True) / x.shape[0]
                self.opt.zero_grad(set_to_none=True)
                finite = bool(torch.isfinite(loss))
                if self.world_size > 1:  # all ranks step, or none (DDP's gradient all-reduce needs everyone)
                    finite = distributed.reduce([float(not finite)], "max")[0] == 0
                if finite:
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.clip)
                    self.opt.step()
                self.state.step += 1
                self._run["in_epoch"] = (n_batches + 1) / len(sampler)
                total += float(loss.detach()) * x.shape[0]
                n_lines += x.shape[0]
                n_batches += 1
                bar.set_postfix(loss=f"{total / max(n_lines, 1):.2f}", lr=f"{self._lr():.2e}")
                if bar.disable and n_batches % 50 == 0:
                    log.info("epoch %d: %d/%d batches, loss %.3f, %.1f lines/s", epoch, n_batches, len(sampler),
                             total / max(n_lines, 1), n_lines / max(time.monotonic() - t0, 1e-9))
                stop = self.stop_requested or bool(deadline and time.monotonic() > deadline)
                if self.world_size > 1:  # one decision and one learning-rate schedule for all ranks
                    self._frac, flag = distributed.reduce([self._local_fraction(), float(stop)], "max")
                    stop = flag > 0
                if stop:
                    break
            secs = time.monotonic() - t0
            self.state.seconds += secs
            partial = n_batches < len(sampler)
            if partial:
                log.info("stopping inside epoch %d (time budget or stop request); last complete epoch kept", epoch)
                break
            self.state.epoch = epoch
            self._run["in_epoch"] = 0.0
            er = self._evaluate(val_loader)
            improved = er.cer < self.state.best_cer
            if improved:
                self.state.best_cer = er.cer
                self.state.bad_epochs = 0
                self.state.lr_bad_epochs = 0
            else:
                self.state.bad_epochs += 1
                self.state.lr_bad_epochs += 1
                if self.state.lr_bad_epochs >= cfg.lr_patience and self._lr() > cfg.min_lr:
                    self.state.lr_scale *= 0.5
                    self.state.lr_bad_epochs = 0
            prog = Progress(epoch=epoch, step=self.state.step, loss=total / max(n_lines, 1), val_cer=er.cer,
                            val_wer=er.wer, lr=self._lr(), seconds=self.state.seconds,
                            lines_per_s=n_lines / max(secs, 1e-9), improved=improved, member=self.member)
            self.state.history.append({k: (float(f"{v:.6g}") if isinstance(v, float) else v)
                                       for k, v in asdict(prog).items()})
            self._checkpoint(improved)
            for cb in self.callbacks if self.rank == 0 else ():
                cb(prog)
            last_epoch_secs = time.monotonic() - epoch_start
            if self.state.bad_epochs >= cfg.patience:
                log.info("early stop: no improvement for %d epochs", cfg.patience)
                break
            if agreed(bool(deadline and time.monotonic() > deadline)):
                break
        return self.state


def fit_and_write(net, info: ModelInfo, train, val, cfg: TrainConfig, out: str | os.PathLike,
                  collate: Callable, sampler: Callable, run_dir: str | os.PathLike | None = None,
                  restart: bool = False, callbacks: Sequence[Callable[[Progress], None]] = (),
                  texts: Sequence[str] = (), base_net=None) -> Path:
    """Train (resuming from ``run_dir`` unless ``restart``) and write the best model to ``out``;
    then, with ``cfg.adapt_lm``, choose its decoder with an LM of ``texts`` (the training
    transcriptions) on the validation lines (:mod:`hwr.training.lm_adapt`).  ``base_net`` is the
    base model itself where ``net`` is a resized network grown from it: the yardstick."""
    run_dir = Path(run_dir) if run_dir else Path(str(out) + ".run")
    if cfg.freeze_norm is None:
        # a resized network has fresh layers, whose statistics must be learnt
        cfg = replace(cfg, freeze_norm=bool(info.training.get("base")) and base_net is None)
    from hwr.training import distributed

    trainer = Trainer(net, info, train, val, cfg, run_dir, collate, sampler)
    if cfg.members > 1:
        final, final_info = _fit_members(trainer, base_net, restart, callbacks)
    else:
        trainer.callbacks.extend(callbacks)
        resumed = not restart and trainer.resume()
        if resumed:
            log.info("resuming from %s", run_dir)
        elif info.training.get("base"):
            # the yardstick of a fine-tuning: the base model on the same validation lines
            trainer.state.base_cer = trainer.validate(base_net).cer
            log.info("base model: validation CER %.2f %%", 100 * trainer.state.base_cer)
        state = trainer.fit()
        if trainer.rank != 0:  # rank 0 writes the model
            distributed.barrier()
            return Path(out)
        best = run_dir / "best.safetensors"
        if not best.exists():
            from hwr.errors import TrainingError

            raise TrainingError("training stopped before the first epoch finished; nothing to write")
        final, final_info = load_model(best)
        final_info.training["stopped_at_epoch"] = state.epoch
    path = save_model(final, final_info, out)
    from hwr.training.card import write_card

    if info.training.get("base"):
        inherit_decoder(info.training["base"], path, bool(final_info.training.get("added_characters")))
    decoding = None
    if cfg.adapt_lm and texts:
        from hwr.training.lm_adapt import adapt_decoder

        final.to(trainer.device)
        try:
            decoding = adapt_decoder(path, final, Alphabet(final_info.alphabet), trainer._val_loader(shard=False),
                                     trainer.device, texts, info.training.get("base"))
        except Exception as e:  # an optional last step: the trained model is kept whatever happens here
            log.warning("the decoder choice failed (%s: %s); the model keeps the decoder it inherited",
                        type(e).__name__, e)
    if info.training.get("base"):
        read = _judge_as_read(trainer, path, final, final_info, base_net)
        if read:  # the figures go into the model's own metadata, where the verdict reads them
            final_info.training.update(read)
            path = save_model(final, final_info, out)
    write_card(final_info, path.with_suffix(".md"), decoding)
    distributed.barrier()
    return path


def _judge_as_read(trainer: Trainer, path: Path, final, final_info, base_net) -> dict:
    """:func:`hwr.training.lm_adapt.as_read` for the model written at ``path`` and its base
    (``base_net`` where the network was resized from it, else the base model's file); empty
    when it cannot be measured (the model is kept all the same)."""
    from hwr.training.lm_adapt import as_read

    base = final_info.training["base"]
    try:
        if base_net is None:
            base_net, base_info = load_model(base, trainer.device)
            base_alphabet = Alphabet(base_info.alphabet)
        else:  # grown from it: its output layer took the training alphabet before the resize
            base_alphabet = trainer.alphabet
        final.to(trainer.device)
        read = as_read(path, final, Alphabet(final_info.alphabet), base, base_net.to(trainer.device),
                       base_alphabet, trainer._val_loader(shard=False), trainer.device)
    except Exception as e:  # an optional last step, as the decoder choice
        log.warning("the comparison with the base read by their decoders failed (%s: %s)", type(e).__name__, e)
        return {}
    return read


def _fit_members(trainer: Trainer, base_net, restart: bool, callbacks) -> tuple:
    """``cfg.members`` fine-tunings of ``trainer``'s network side by side, averaged
    (:mod:`hwr.training.members`); returns the model to write and its info."""
    from hwr.training.members import fit_members, member_dir, soup

    if not trainer.info.training.get("base"):
        raise ValueError("members are averaged, and networks trained afresh from different random weights do "
                         "not average into anything useful: several members need a base model (--base)")
    if trainer.world_size > 1:
        raise ValueError("members run as processes of their own; under torchrun train one model")
    base_cer = None
    saved = member_dir(trainer.run_dir, 1) / "state.json"
    if not restart and saved.exists():  # resuming: the yardstick was measured when the run began
        base_cer = json.loads(saved.read_text()).get("base_cer")
    if base_cer is None:
        base_cer = trainer.validate(base_net).cer
    log.info("base model: validation CER %.2f %%", 100 * base_cer)
    paths = fit_members(trainer.net, trainer.info, trainer.train_set, trainer.val_set, trainer.cfg, trainer.run_dir,
                        trainer.collate_fn, trainer.sampler_factory, restart, callbacks, base_cer, trainer.device)
    from hwr.training.lm_adapt import inherited_judge, validation_posteriors

    # the members and their average are judged by the decoder the model will start out with
    judged_by, score = inherited_judge(trainer.info.training["base"], trainer.alphabet,
                                       bool(trainer.info.training.get("added_characters")))

    def validate(net) -> tuple[float, float]:
        greedy = trainer.validate(net).cer
        if judged_by == "greedy":
            return greedy, greedy
        return greedy, score(*validation_posteriors(net, trainer._val_loader(shard=False), trainer.device))

    return soup(paths, validate, judged_by, "ensemble" if trainer.cfg.ensemble else "average")


def freeze_batchnorm(net: torch.nn.Module) -> int:
    """Put the batch-norm layers of ``net`` in eval mode, so that training leaves their
    running statistics alone (their scale and shift still learn).  Returns how many."""
    n = 0
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
            n += 1
    return n


def inherited_settings(base: str | os.PathLike | None, new_characters: bool = False):
    """The decoder settings a model fine-tuned from ``base`` starts out with: the base's
    (decoder, beam width, LM and its tuned weight and bonus) without its confidence
    calibrations (they were fitted to the base), and without the LM (which may not know
    them) when characters were added; None when the base has no decoder defaults."""
    from dataclasses import replace as _replace

    from hwr.decoding.decoder import defaults_path, load_model_defaults

    if not base or not defaults_path(base).exists():
        return None
    st = _replace(load_model_defaults(base), calibrations={})
    if new_characters:
        st = _replace(st, lm=None, lm_weight=0.0, rescore_lm=None, rescore_weight=0.0)
    return st


def inherit_decoder(base: str | os.PathLike, model: str | os.PathLike, new_characters: bool = False) -> Path | None:
    """A fine-tuned model decodes as its base did: :func:`inherited_settings` are written to
    the new model's ``.decoder.json``.  Nothing is written when the base has no decoder defaults."""
    from hwr.decoding.decoder import save_model_defaults

    st = inherited_settings(base, new_characters)
    if st is None:
        return None
    return save_model_defaults(model, st, default=st.decoder, extra={"inherited_from": os.path.basename(str(base))})


def extend_base_alphabet(net, alphabet: Alphabet, texts) -> tuple[Alphabet, list[str]]:
    """Fine-tuning on data with characters the base model lacks: append them to the
    alphabet (the known characters keep their labels) and grow the output layer ``net.head``
    with one row each, its weights small and its bias at the mean of the known characters',
    so the model starts out as before and learns the new characters from the data.
    Returns the alphabet to train with and the added characters."""
    import torch
    from torch import nn

    missing = [c for c in Alphabet.from_texts(texts).chars if c not in alphabet]
    if not missing:
        return alphabet, []
    head = getattr(net, "head", None)
    if not isinstance(head, nn.Linear) or head.out_features != len(alphabet):
        raise ValueError("the new data has characters the base model lacks (" + "".join(missing)
                         + ") and its output layer cannot be extended")
    new = Alphabet(alphabet.chars + missing)
    grown = nn.Linear(head.in_features, len(new)).to(head.weight.device, head.weight.dtype)
    with torch.no_grad():
        grown.weight[: head.out_features] = head.weight
        grown.bias[: head.out_features] = head.bias
        gen = torch.Generator().manual_seed(len(new))
        std = float(head.weight[1:].std()) * 0.1
        grown.weight[head.out_features:] = torch.randn(len(missing), head.in_features, generator=gen) * std
        grown.bias[head.out_features:] = head.bias[1:].mean()
    net.head = grown
    net.cfg.num_classes = len(new)
    return new, missing