"""Several networks read as one: their per-frame character probabilities averaged.

Fine-tunings of one base model with other seeds (another order of the lines, other
distortions, other dropout) make different mistakes.  Averaging their *weights* (``hwr train
--members``) gives one network of the same size; averaging their *outputs* frame by frame
costs one network pass per member when reading, and on Hooker's letters it gained about four
times as much (README, *Reading with several fine-tunings at once*).

An ensemble is an ordinary hwr model file (``arch`` ``"ensemble"``): its config lists each
member's architecture and config, its weights are the members' under ``members.0.``,
``members.1.``, ...  So everything that reads a model (``hwr recognize``, ``hwr evaluate``,
the app, page transcription) reads an ensemble unchanged.  The members must give the same
number of frames for every input (the output lengths are compared on a range of input
lengths when the ensemble is built), share one alphabet, and are not ensembles themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

#: At most this many members (a hostile model file may not ask for thousands of networks).
MAX_MEMBERS = 16


@dataclass
class EnsembleConfig:
    members: list[dict[str, Any]] = field(default_factory=list)  # [{"arch": ..., "config": {...}}, ...]
    num_classes: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.members, list) or not 2 <= len(self.members) <= MAX_MEMBERS:
            raise ValueError(f"an ensemble has 2 to {MAX_MEMBERS} members")
        out = []
        for k, m in enumerate(self.members):
            if not isinstance(m, dict) or not isinstance(m.get("arch"), str) or not isinstance(m.get("config"), dict):
                raise ValueError(f"member {k}: needs an 'arch' name and a 'config' object")
            if m["arch"] == "ensemble":
                raise ValueError(f"member {k}: an ensemble cannot hold another ensemble")
            if m["config"].get("num_classes") != self.num_classes:
                raise ValueError(f"member {k} has {m['config'].get('num_classes')} classes, "
                                 f"the ensemble {self.num_classes}")
            out.append({"arch": m["arch"], "config": dict(m["config"])})
        self.members = out

    def to_dict(self) -> dict:
        return {"members": [{"arch": m["arch"], "config": dict(m["config"])} for m in self.members],
                "num_classes": self.num_classes}


class Ensemble(nn.Module):
    """Runs every member on the same input and returns the log of their mean probabilities
    (``log(mean_k p_k)``, per frame and class) with the members' common output lengths."""

    def __init__(self, cfg: EnsembleConfig):
        super().__init__()
        from hwr.models.registry import build

        self.cfg = cfg
        self.members = nn.ModuleList([build(m["arch"], m["config"]) for m in cfg.members])
        probe = torch.arange(1, 257, device="cpu")
        first = self.members[0].output_lengths(probe)
        for k, m in enumerate(self.members[1:], 1):
            if not torch.equal(m.output_lengths(probe), first):
                raise ValueError(f"member {k} gives another number of frames than member 0 for the same "
                                 "input; only networks that subsample alike can be averaged frame by frame")

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.members[0].output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [m(x, lengths) for m in self.members]
        t = min(lp.shape[0] for lp, _ in outs)  # equal by construction; guards a padded batch's last frames
        stack = torch.stack([lp[:t].float() for lp, _ in outs])
        return torch.logsumexp(stack, 0) - math.log(len(outs)), outs[0][1]


def member_labels(paths) -> list[str]:
    """Short distinct names for model files: the file name, or with its folder where two share
    a name (``member-1/best.safetensors``), numbered where a file is given twice."""
    from pathlib import Path

    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    labels = [p.name if names.count(p.name) == 1 else f"{p.parent.name}/{p.name}" for p in paths]
    return [lab if labels.count(lab) == 1 else f"{lab} ({labels[:k].count(lab) + 1})" for k, lab in enumerate(labels)]


def ensemble_of(loaded) -> tuple[Ensemble, list[dict]]:
    """One :class:`Ensemble` (in eval mode) of loaded models ``(net, info, name)`` and a short
    description of each member (file name, base, seed, validation CER).  An ensemble among
    them gives its members.  Raises :class:`hwr.errors.ModelError` when they cannot be read as
    one: another kind, alphabet or preprocessing, frames that do not line up, too many."""
    import os

    from hwr.errors import ModelError

    nets, members, described = [], [], []
    first = loaded[0]
    for net, info, name in loaded:
        for what in ("kind", "alphabet", "preprocessing"):
            if getattr(info, what) != getattr(first[1], what):
                raise ModelError(f"{name}: another {what} than {first[2]}; only models that read the same "
                                 "input with the same characters (e.g. fine-tunings of one base) can be combined")
        if info.arch == "ensemble":
            nets += list(net.members)
            members += net.cfg.to_dict()["members"]
            described += info.training.get("ensemble", {}).get("members") or [{"model": name} for _ in net.members]
        else:
            nets.append(net)
            members.append({"arch": info.arch, "config": info.config})
            tr = info.training
            described.append({"model": name, "name": info.name,
                              "base": os.path.basename(str(tr["base"])) if tr.get("base") else None,
                              "seed": (tr.get("train_config") or {}).get("seed"),
                              "best_val_cer": tr.get("best_val_cer")})
    try:
        ens = Ensemble(EnsembleConfig(members=members, num_classes=len(first[1].alphabet) + 1))
    except ValueError as e:
        raise ModelError(f"cannot combine these models: {e}") from e
    for slot, net in zip(ens.members, nets):
        slot.load_state_dict(net.state_dict())
    ens.to(next(nets[0].parameters()).device).eval()
    return ens, described


def refuse_as_base(base, info) -> None:
    """Raise ValueError when the model ``info`` (at ``base``) is an ensemble: fine-tuning one
    would train its members jointly through their averaged output, which is not what a
    fine-tuning of one of them gives."""
    if info.arch == "ensemble":
        raise ValueError(f"{base}: is an ensemble of {len(info.config['members'])} models (`hwr ensemble`) and cannot "
                         "be fine-tuned as one; fine-tune its members and combine them again")


def make_ensemble(paths, out, name: str | None = None, decoder_of=None, half: bool = False):
    """Combine the models at ``paths`` into one ensemble model written to ``out``
    (``.safetensors`` + ``.json``), with the decoder defaults of the first (its beam search and
    LM; its confidence calibration is left out, fitted to one network's outputs, not to the
    average), or of the model at ``decoder_of``; ``half`` stores the weights as float16.  An
    ensemble among ``paths`` gives its members.  Raises
    :class:`hwr.errors.ModelError` when the models cannot be read as one: another kind,
    alphabet or preprocessing, frames that do not line up, too many members.
    Returns ``(path, info)``."""
    from pathlib import Path

    from hwr.decoding.decoder import defaults_path, load_model_defaults, save_model_defaults
    from hwr.errors import ModelError
    from hwr.models.checkpoint import ModelInfo, load_model, model_path, save_model

    out = model_path(out)
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ModelError("an ensemble needs two models or more")
    for p in paths:
        if p.resolve() == out.resolve():
            raise ModelError(f"{out}: is one of the members; write the ensemble to another file")
    source = Path(decoder_of) if decoder_of is not None else paths[0]
    if decoder_of is not None and not defaults_path(source).exists():
        raise ModelError(f"{source}: has no decoder defaults ({defaults_path(source).name}) to take")
    loaded = []
    for p, label in zip(paths, member_labels(paths)):
        net, info = load_model(p)
        loaded.append((net, info, label))
    ens, described = ensemble_of(loaded)
    first = (paths[0], loaded[0][1])
    info = ModelInfo(arch="ensemble", kind=first[1].kind, config=ens.cfg.to_dict(), alphabet=list(first[1].alphabet),
                     preprocessing=dict(first[1].preprocessing), name=name or out.stem,
                     training={"ensemble": {"members": described}})
    written = save_model(ens, info, out, half=half)
    if defaults_path(source).exists():
        st = load_model_defaults(source)
        st.calibrations = {}
        save_model_defaults(written, st, st.decoder, {"inherited_from": source.name})
    elif defaults_path(written).exists():  # a stale sidecar of an earlier model of that name
        defaults_path(written).unlink()
    return written, info
