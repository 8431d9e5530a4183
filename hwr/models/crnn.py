"""CNN + bidirectional LSTM + CTC recogniser for line images (Shi et al. 2016 style,
sized for a laptop CPU).

A stack of conv blocks (3x3 conv, batch norm, ReLU, max-pool) reduces the
height to a few rows and the width by ``subsample``; the columns become a
sequence read by a BLSTM, and a linear layer gives per-frame class scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass
class LineCRNNConfig:
    height: int = 48  # input height (the model's preprocessing height)
    num_classes: int = 100
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    subsample: int = 4  # width reduction: 2, 4 or 8 (pooled in the first blocks)
    hidden: int = 128
    layers: int = 2
    dropout: float = 0.25

    def __post_init__(self) -> None:
        self.channels = [int(c) for c in self.channels]
        if not 2 <= len(self.channels) <= 6 or min(self.channels) < 1:
            raise ValueError("channels must list 2 to 6 positive sizes")
        if self.subsample not in (2, 4, 8) or 2 ** len(self.channels) < self.subsample:
            raise ValueError("subsample must be 2, 4 or 8 (and at most 2 ** blocks)")
        if self.height < 2 ** len(self.channels) or self.height % 2 ** len(self.channels):
            raise ValueError(f"height {self.height} must be a multiple of {2 ** len(self.channels)} "
                             f"(one halving per conv block)")
        for name in ("num_classes", "hidden", "layers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)


class LineCRNN(nn.Module):
    """images (B, 1, H, W) + widths (B,) -> log-probabilities (T, B, C), frames (B,)."""

    kind = "image"
    arch = "crnn"

    def __init__(self, cfg: LineCRNNConfig):
        super().__init__()
        self.cfg = cfg
        blocks: list[nn.Module] = []
        c_in = 1
        wpools = {2: 1, 4: 2, 8: 3}[cfg.subsample]
        for i, c in enumerate(cfg.channels):
            pw = 2 if i < wpools else 1
            blocks += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d((2, pw), (2, pw))]
            c_in = c
        self.cnn = nn.Sequential(*blocks)
        self.rows = cfg.height // 2 ** len(cfg.channels)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(c_in * self.rows, cfg.hidden, num_layers=cfg.layers, bidirectional=True,
                            dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.head = nn.Linear(2 * cfg.hidden, cfg.num_classes)

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        return torch.div(widths, self.cfg.subsample, rounding_mode="floor").clamp(min=1)

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (B, 1, H, W), ink bright on 0; widths: (B,) on CPU
        if x.shape[2] != self.cfg.height:
            raise ValueError(f"input height {x.shape[2]} != model height {self.cfg.height}")
        h = self.cnn(x)  # (B, C, rows, W')
        b, c, r, w = h.shape
        h = h.permute(3, 0, 1, 2).reshape(w, b, c * r)  # (W', B, C*rows)
        out_len = self.output_lengths(widths).clamp(max=max(w, 1))
        h, _ = self.lstm(self.drop(h[: int(out_len.max())]))
        return self.head(self.drop(h)).log_softmax(-1), out_len  # (T, B, C), (B,)
