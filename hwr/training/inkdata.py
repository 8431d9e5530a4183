"""Ink datasets for training: features on the fly, length-bucketed batches."""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from hwr.alphabet import Alphabet, normalize_text
from hwr.data.inkset import InkSet
from hwr.ink.features import line_features


class InkLines(Dataset):
    """Lines of one or more :class:`InkSet` files as (features, labels, text)."""

    def __init__(self, sets: Sequence[InkSet], alphabet: Alphabet, preprocessing: dict,
                 augment: bool = False, seed: int = 0):
        self.sets = list(sets)
        self.index = [(i, j) for i, s in enumerate(self.sets) for j in range(len(s))]
        self.alphabet = alphabet
        self.preprocessing = preprocessing
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        # approximate length of each sample after resampling, for bucketing
        self.lengths = np.concatenate([s.num_points for s in self.sets]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int):
        i, j = self.index[k % len(self.index)]  # k >= len: a repeat (BucketSampler's min_lines)
        ink = self.sets[i][j]
        rng = np.random.default_rng((self.seed, self.epoch, k)) if self.augment else None
        feats = line_features(ink, self.preprocessing, rng)
        text = normalize_text(ink.text or "")
        return torch.from_numpy(feats), torch.tensor(self.alphabet.encode(text), dtype=torch.long), text


def collate(batch):
    feats, labels, texts = zip(*batch)
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
    x = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1])
    for b, f in enumerate(feats):
        x[b, : f.shape[0]] = f
    target_lengths = torch.tensor([len(l) for l in labels], dtype=torch.long)
    targets = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long)
    return x, lengths, targets, target_lengths, list(texts)


class BucketSampler(Sampler[list[int]]):
    """Batches of similar length (less padding), in random order each epoch.

    ``min_lines``: a training set smaller than this is gone through several times an epoch
    (``ceil(min_lines / n)`` rounds), so that an epoch of a few dozen lines is still a few
    optimiser steps and the schedule (warm-up, patience, halving the learning rate), which
    counts epochs, means what it means on a large set. The repeats are indices ``k + r * n``
    (the datasets read line ``k % n``, distorted anew for each ``k``), mixed at random into
    the batches rather than bucketed, so that the copies of one line do not fill a batch.
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, shuffle: bool = True, seed: int = 0,
                 min_lines: int = 0):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        n = len(self.lengths)
        self.rounds = math.ceil(min_lines / n) if shuffle and 0 < n < min_lines else 1

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) * self.rounds / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch))
        if self.rounds > 1:
            order = rng.permutation(len(self.lengths) * self.rounds)
        elif self.shuffle:
            noisy = self.lengths * np.exp(rng.normal(0, 0.1, size=len(self.lengths)))
            order = np.argsort(noisy, kind="stable")
        else:
            order = np.argsort(self.lengths, kind="stable")
        batches = [order[i:i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        return iter(batches)
