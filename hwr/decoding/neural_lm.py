"""A character LSTM language model, for rescoring the beam search's n best readings.

The character n-gram LM (:mod:`hwr.decoding.lm`) guides the beam search frame by frame; it
sees at most the five characters before the next one.  This model sees the whole line so far,
which is too slow to ask at every step of the search but cheap for its few finished readings:
:class:`hwr.decoding.decoder.Decoder` adds ``rescore_weight * log P_lstm(text)`` to each of
the n best readings' scores and takes the best again (README, *Decoding*).

Tokens: the 95 printable ASCII characters, ``</s>`` (id 0: the end of a line, and the input
before its first character) and ``<unk>`` for any other character.  Scores are natural logs of
the whole line, ``</s>`` included.

Files are ``.safetensors`` (weights) with the architecture and the training figures as JSON in
the header's metadata: nothing is unpickled."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from hwr.errors import InputError

FORMAT = "hwr-char-lstm-lm"
VERSION = 1
CHARS = "".join(chr(c) for c in range(32, 127))  # printable ASCII, space included
EOS = 0
UNK = len(CHARS) + 1
VOCAB = len(CHARS) + 2
_ID = {c: i + 1 for i, c in enumerate(CHARS)}


def encode(text: str) -> list[int]:
    """Token ids of ``text`` (characters outside printable ASCII are ``<unk>``)."""
    return [_ID.get(c, UNK) for c in text]


class CharLSTM(nn.Module):
    def __init__(self, embed: int = 64, hidden: int = 512, layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.config = {"embed": int(embed), "hidden": int(hidden), "layers": int(layers)}
        self.embed = nn.Embedding(VOCAB, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` input ids -> ``(B, T, VOCAB)`` log-probabilities of the next token."""
        h, _ = self.lstm(self.embed(inputs))
        return torch.log_softmax(self.out(self.drop(h)), dim=-1)


def batch_tensors(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs (``</s>`` then the text), targets (the text then ``</s>``) and a mask of the
    real positions, each ``(B, T)``, for lines of any lengths (padded at the end)."""
    ids = [encode(t) for t in texts]
    width = max(len(x) for x in ids) + 1
    inp = torch.zeros(len(ids), width, dtype=torch.long)
    tgt = torch.zeros(len(ids), width, dtype=torch.long)
    mask = torch.zeros(len(ids), width, dtype=torch.bool)
    for k, x in enumerate(ids):
        n = len(x)
        if n:
            inp[k, 1:n + 1] = torch.tensor(x)
            tgt[k, :n] = torch.tensor(x)
        mask[k, :n + 1] = True
    return inp, tgt, mask


def line_log_probs(model: CharLSTM, texts: Sequence[str]) -> torch.Tensor:
    """Natural-log probability of each whole line (``</s>`` included), ``(B,)``."""
    inp, tgt, mask = batch_tensors(texts)
    lp = model(inp).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    return (lp * mask).sum(dim=1)


class NeuralLM:
    """A trained :class:`CharLSTM` loaded for scoring lines (CPU, no gradients)."""

    def __init__(self, model: CharLSTM, meta: dict | None = None):
        self.model = model.eval()
        self.meta = dict(meta or {})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "NeuralLM":
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = Path(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                header = f.metadata() or {}
            weights = load_file(str(path))
        except FileNotFoundError:
            raise InputError(f"{path}: no such language model file") from None
        except Exception as e:  # a truncated file, another format
            raise InputError(f"{path}: not a readable character LSTM LM ({e})") from e
        try:
            meta = json.loads(header.get("hwr", "{}"))
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: unreadable metadata ({e})") from e
        if meta.get("format") != FORMAT:
            raise InputError(f"{path}: not a character LSTM LM (format {meta.get('format')!r}, expected {FORMAT!r})")
        if meta.get("version") != VERSION or meta.get("chars") != CHARS:
            raise InputError(f"{path}: a character LSTM LM of another version or alphabet than this hwr reads")
        cfg = meta.get("config", {})
        try:
            model = CharLSTM(**{k: int(cfg[k]) for k in ("embed", "hidden", "layers")})
            model.load_state_dict({k: v.float() for k, v in weights.items()})
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise InputError(f"{path}: weights do not fit the stated architecture ({e})") from e
        return cls(model, meta)

    def save(self, path: str | os.PathLike, half: bool = True, **info) -> None:
        """Write the model atomically; ``half``: weights as float16 (half the size; loaded
        back into float32), as the shipped model is stored."""
        from safetensors.torch import save_file

        path = Path(path)
        meta = {**self.meta, **info, "format": FORMAT, "version": VERSION, "chars": CHARS,
                "config": self.model.config}
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        if half:
            state = {k: v.half() for k, v in state.items()}
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            save_file(state, str(tmp), metadata={"hwr": json.dumps(meta)})
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.meta = meta

    @torch.inference_mode()
    def score(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Natural-log probability of each line, ``</s>`` included."""
        out = np.zeros(len(texts))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for k in range(0, len(order), batch_size):
            idx = order[k:k + batch_size]
            out[idx] = line_log_probs(self.model, [texts[i] for i in idx]).double().numpy()
        return out

    def perplexity(self, lines: Sequence[str]) -> float:
        """Per-token perplexity (``</s>`` counted) of ``lines``."""
        lines = list(lines)
        total = float(self.score(lines).sum())
        return float(np.exp(-total / (sum(len(x) for x in lines) + len(lines))))
