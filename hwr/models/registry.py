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
