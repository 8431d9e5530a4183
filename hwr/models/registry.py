"""One registry of model builders: architecture name -> (config class, module class)."""

from __future__ import annotations

from typing import Any

from hwr.errors import ModelError


def _builders() -> dict[str, tuple[type, type]]:
    from hwr.models.blstm import InkBLSTM, InkBLSTMConfig
    from hwr.models.crnn import LineCRNN, LineCRNNConfig
    from hwr.models.ensemble import Ensemble, EnsembleConfig
    from hwr.models.mdlstm import LineMDLSTM, LineMDLSTMConfig

    return {"ink-blstm": (InkBLSTMConfig, InkBLSTM), "crnn": (LineCRNNConfig, LineCRNN),
            "mdlstm": (LineMDLSTMConfig, LineMDLSTM), "ensemble": (EnsembleConfig, Ensemble)}



def build(arch: str, config: dict[str, Any]):
    """Build an untrained network of architecture ``arch`` from a config dict."""
    builders = _builders()
    if arch not in builders:
        raise ModelError(f"unknown architecture {arch!r} (known: {', '.join(sorted(builders))})")
    cfg_cls, net_cls = builders[arch]
    try:
        cfg = cfg_cls(**config)
    except (TypeError, ValueError) as e:
        raise ModelError(f"bad configuration for {arch}: {e}") from e
    return net_cls(cfg)


def set_dropout(net, p: float) -> None:
    """Give ``net`` (a single network, as ``build`` makes) dropout ``p`` everywhere it drops:
    its ``nn.Dropout`` layers and between the layers of its multi-layer LSTMs, and in its
    config, so that a saved model records it.  Dropout has no weights: a trained network keeps
    every one of them (``hwr train --base B --dropout P`` fine-tunes B as it is, dropping more)."""
    from torch import nn

    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ModelError(f"dropout must be in [0, 1), not {p:g}")
    if not hasattr(getattr(net, "cfg", None), "dropout"):
        raise ModelError(f"{type(net).__name__} has no dropout to set")
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.p = p
        elif isinstance(m, nn.RNNBase) and m.num_layers > 1:
            m.dropout = p
    net.cfg.dropout = p
