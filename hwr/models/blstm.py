"""Bidirectional LSTM + CTC recogniser for ink (Graves et al. 2009), with a small
convolutional front end that sees local pen movement and halves the sequence."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class InkBLSTMConfig:
    num_features: int = 4
    num_classes: int = 80
    conv_channels: int = 96
    conv_kernel: int = 5
    subsample: int = 2
    hidden: int = 160
    layers: int = 3
    dropout: float = 0.25

    def __post_init__(self) -> None:
        for name in ("num_features", "num_classes", "conv_channels", "conv_kernel", "hidden", "layers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive")
        if self.subsample not in (1, 2, 3, 4):
            raise ValueError("subsample must be 1..4")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)


class InkBLSTM(nn.Module):
    """features (B, T, F) -> log-probabilities (T', B, C) for CTC."""

    kind = "ink"
    arch = "ink-blstm"

    def __init__(self, cfg: InkBLSTMConfig):
        super().__init__()
        self.cfg = cfg
        c, k = cfg.conv_channels, cfg.conv_kernel
        self.conv = nn.Sequential(
            nn.Conv1d(cfg.num_features, c, k, padding=k // 2),
            nn.GELU(),
            nn.Conv1d(c, c, k, stride=cfg.subsample, padding=k // 2),
            nn.GELU(),
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(c, cfg.hidden, num_layers=cfg.layers, bidirectional=True,
                            dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.head = nn.Linear(2 * cfg.hidden, cfg.num_classes)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        k, s = self.cfg.conv_kernel, self.cfg.subsample
        return torch.div(lengths + 2 * (k // 2) - k, s, rounding_mode="floor") + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (B, T, F); lengths: (B,) on CPU
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)  # (B, T', C)
        out_len = self.output_lengths(lengths).clamp(min=1, max=h.shape[1])
        h = self.drop(h).transpose(0, 1)  # (T', B, C)
        # Padded (not packed) sequences: the fused CPU kernel is several times
        # faster than the packed path, and batches are bucketed by length so
        # the padding the backward direction reads first is short.
        h, _ = self.lstm(h[: int(out_len.max())])
        h = self.drop(h)
        return self.head(h).log_softmax(-1), out_len  # (T', B, C), (B,)
