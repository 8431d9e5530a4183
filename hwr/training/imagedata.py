"""Line-image datasets for training: stored line images (``hwr-lineset``) and ink
datasets rendered to images on the fly (a new rendering each epoch when
augmenting, a fixed seeded one for validation), width-bucketed batches."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from hwr.alphabet import Alphabet, normalize_text
from hwr.data.inkset import InkSet
from hwr.data.lineset import LineSet
from hwr.errors import InputError
from hwr.imaging.line import from_uint8, normalize_line
from hwr.ink.render import render_ink
from hwr.training.inkdata import BucketSampler

Source = LineSet | InkSet


def _ink_widths(s: InkSet, height: int, margin: int) -> np.ndarray:
    """Approximate normalised width of each ink line (aspect ratio x inner height), for bucketing."""
    s.load_all()
    pts = s._points_cache
    out = np.empty(len(s), np.int64)
    for j in range(len(s)):
        a = s.stroke_offsets[s.sample_offsets[j]]
        b = s.stroke_offsets[s.sample_offsets[j + 1]]
        p = pts[a:b, :2]
        if len(p) == 0:
            out[j] = 16
            continue
        span = np.ptp(p, axis=0)
        out[j] = int(min(4800, max(16, span[0] / max(span[1], span[0] / 30.0, 1e-6) * (height - 2 * margin))))
    return out


def augment_line(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mild distortions of a normalised line (float, ink bright): width scale, stroke weight, contrast, blur, noise."""
    import cv2

    h, w = img.shape
    sx = rng.uniform(0.8, 1.2)
    img = cv2.resize(img, (max(16, int(round(w * sx))), h), interpolation=cv2.INTER_LINEAR)
    r = rng.random()
    if r < 0.2:
        img = cv2.dilate(img, np.ones((2, 2), np.uint8))
    elif r < 0.4:
        img = cv2.erode(img, np.ones((2, 1), np.uint8))
    img = img * rng.uniform(0.7, 1.05)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.9))
    img = img + rng.normal(0, rng.uniform(0, 0.05), img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


class ImageLines(Dataset):
    """Lines of line datasets and/or rendered ink datasets as (image (1, H, W), labels, text)."""

    def __init__(self, sources: Sequence[Source], alphabet: Alphabet, preprocessing: dict,
                 augment: bool = False, seed: int = 0):
        self.sources = list(sources)
        self.alphabet = alphabet
        self.preprocessing = dict(preprocessing)
        self.height = int(preprocessing["height"])
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        # samples drawn by this process: persistent DataLoader workers keep their copy of
        # ``epoch`` from the first epoch, so the count keeps their renderings new every epoch
        self._draws = 0
        for s in self.sources:
            if isinstance(s, LineSet) and s.height != self.height:
                raise InputError(f"{s.path}: line height {s.height} differs from the model's {self.height}")
        self.index = [(i, j) for i, s in enumerate(self.sources) for j in range(len(s))]
        self.lengths = np.concatenate([
            s.widths if isinstance(s, LineSet) else _ink_widths(s, self.height, int(preprocessing["margin"]))
            for s in self.sources]).astype(np.int64) if self.sources else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.index)

    def line(self, k: int) -> tuple[np.ndarray, str]:
        """The normalised float image (H, W) and text of sample ``k``."""
        i, j = self.index[k]
        s = self.sources[i]
        rng = None
        if self.augment:
            self._draws += 1
            rng = np.random.default_rng((self.seed, self.epoch, k, self._draws))
        if isinstance(s, LineSet):
            img = from_uint8(s.image(j))
            if rng is not None:
                img = augment_line(img, rng)
            return img, s.texts[j]
        ink = s[j]
        # validation: a fixed, seeded rendering per line (realistic, reproducible)
        r = rng if rng is not None else np.random.default_rng((self.seed, k))
        try:
            img = normalize_line(render_ink(ink, rng=r), self.preprocessing)
        except InputError:
            try:
                img = normalize_line(render_ink(ink), self.preprocessing)
            except InputError:
                img = np.zeros((self.height, 16), np.float32)
        return img, ink.text or ""

    def __getitem__(self, k: int):
        img, text = self.line(k)
        text = normalize_text(text)
        return torch.from_numpy(np.ascontiguousarray(img))[None], torch.tensor(self.alphabet.encode(text),
                                                                               dtype=torch.long), text


def collate_images(batch):
    imgs, labels, texts = zip(*batch)
    widths = torch.tensor([im.shape[-1] for im in imgs], dtype=torch.long)
    x = torch.zeros(len(imgs), 1, imgs[0].shape[1], int(widths.max()))
    for b, im in enumerate(imgs):
        x[b, :, :, : im.shape[-1]] = im
    target_lengths = torch.tensor([len(lab) for lab in labels], dtype=torch.long)
    targets = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long)
    return x, widths, targets, target_lengths, list(texts)


def width_sampler(ds: ImageLines, batch_size: int, shuffle: bool, seed: int) -> BucketSampler:
    return BucketSampler(ds.lengths, batch_size, shuffle, seed)


def open_source(path) -> Source:
    """A line dataset or an ink dataset (to be rendered), told apart by the file's format."""
    from hwr.data.lineset import dataset_format

    fmt = dataset_format(path)
    if fmt == "hwr-lineset":
        return LineSet(path)
    if fmt == "hwr-inkset":
        return InkSet(path)
    raise InputError(f"{path}: not an hwr ink or line dataset (format {fmt!r})")
