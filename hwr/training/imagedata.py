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


AUGMENTATIONS = ("mild", "warp", "page")  # augment_line's levels; "warp" is the default
#: Share of the stored lines through which ``"page"`` augmentation shows another stored line
#: (:func:`show_through`; ImageLines draws it, as augment_line sees one line only).
SHOW_THROUGH = 0.3


def _check_level(level: str) -> None:
    if level not in AUGMENTATIONS:
        raise ValueError(f"augmentation {level!r}: expected one of {', '.join(AUGMENTATIONS)}")


def _warp_maps(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Remap tables (output pixel -> source pixel, ``h`` rows by the new width) of one random
    geometric distortion of an ``h`` x ``w`` line: width scale, shear, height scale and shift,
    and an elastic warp (random offsets of a coarse grid of control points, interpolated:
    after Wigington et al., ICDAR 2017), all in one resampling."""
    import cv2

    sx = rng.uniform(0.8, 1.2)
    shear = rng.uniform(-0.35, 0.35) if rng.random() < 0.6 else 0.0
    sy = rng.uniform(0.8, 1.05)
    cy = (h - 1) / 2.0
    ty = rng.uniform(-0.06, 0.06) * h
    off = abs(shear) * h / 2.0
    w_out = max(16, int(round(w * sx + 2 * off)))
    u = np.arange(w_out, dtype=np.float32)[None, :]
    v = np.arange(h, dtype=np.float32)[:, None]
    map_y = (v - cy - ty) / sy + cy + np.zeros_like(u)
    map_x = (u - off - shear * (v - cy)) / sx
    if rng.random() < 0.75:  # elastic: control points about every 2/3 line height
        step = max(8.0, h * 0.66)
        gw, gh = int(np.ceil(w_out / step)) + 2, 3
        sigma = rng.uniform(0.8, 2.0)
        dx = rng.normal(0.0, sigma, (gh, gw)).astype(np.float32)
        dy = rng.normal(0.0, sigma, (gh, gw)).astype(np.float32)
        size = (int(round(step * (gw - 1))) + 1, h)
        dx = cv2.resize(dx, size, interpolation=cv2.INTER_LINEAR)[:, :w_out]
        dy = cv2.resize(dy, size, interpolation=cv2.INTER_LINEAR)[:, :w_out]
        map_x = map_x + dx
        map_y = map_y + dy
    return map_x.astype(np.float32), map_y.astype(np.float32)


def show_through(img: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` with ``other`` showing through the paper: mirrored (writing on the back of the
    leaf, seen through it), faint, blurred, shifted up or down and across, and repeated to
    ``img``'s width.  Both are normalised lines of one height (ink bright on black)."""
    import cv2

    h, w = img.shape
    o = other[:, ::-1]
    reps = -(-(w + o.shape[1]) // o.shape[1])
    o = np.tile(o, (1, reps))
    x = int(rng.integers(0, o.shape[1] - w + 1))
    o = o[:, x:x + w]
    dy = int(rng.integers(-(h // 3), h // 3 + 1))
    o = np.roll(o, dy, axis=0)
    if dy > 0:
        o[:dy] = 0.0
    elif dy < 0:
        o[dy:] = 0.0
    o = cv2.GaussianBlur(np.ascontiguousarray(o, dtype=np.float32), (0, 0), rng.uniform(0.6, 1.6))
    return np.maximum(img, o * rng.uniform(0.2, 0.6)).astype(np.float32)


def augment_line(img: np.ndarray, rng: np.random.Generator, level: str = "warp") -> np.ndarray:
    """Random distortions of a normalised line (float, ink bright on black).

    ``"mild"``: width scale, stroke weight, contrast, blur and noise.  ``"warp"`` (the
    default) adds shear, height scale and shift, and an elastic warp of the writing in the
    same resampling as the width scale: the variation within one hand, which a few hundred
    lines of it do not show.  ``"page"`` distorts as ``"warp"`` does; :class:`ImageLines`
    first lets another line show through some of its lines (:func:`show_through`)."""
    import cv2

    _check_level(level)
    h, w = img.shape
    if level in ("warp", "page"):
        map_x, map_y = _warp_maps(h, w, rng)
        img = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    else:
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
                 augment: bool | str = False, seed: int = 0):
        self.sources = list(sources)
        self.alphabet = alphabet
        self.preprocessing = dict(preprocessing)
        self.height = int(preprocessing["height"])
        # False: none; True: the default level; or a level of AUGMENTATIONS (stored lines only:
        # rendered ink is distorted by its rendering)
        self.augment = augment
        self.level = augment if isinstance(augment, str) else "warp"
        _check_level(self.level)
        self.seed = seed
        self.epoch = 0
        # samples drawn by this process: persistent DataLoader workers keep their copy of
        # ``epoch`` from the first epoch, so the count keeps their renderings new every epoch
        self._draws = 0
        for s in self.sources:
            if isinstance(s, LineSet) and s.height != self.height:
                raise InputError(f"{s.path}: line height {s.height} differs from the model's {self.height}")
        self.index = [(i, j) for i, s in enumerate(self.sources) for j in range(len(s))]
        # the stored lines (samples of LineSets), which "page" augmentation draws from to show through
        self._stored = [k for k, (i, _) in enumerate(self.index) if isinstance(self.sources[i], LineSet)]
        self.lengths = np.concatenate([
            s.widths if isinstance(s, LineSet) else _ink_widths(s, self.height, int(preprocessing["margin"]))
            for s in self.sources]).astype(np.int64) if self.sources else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.index)

    def line(self, k: int) -> tuple[np.ndarray, str]:
        """The normalised float image (H, W) and text of sample ``k`` (``k % len``: ``k`` past the end
        is a repeat, distorted anew; see BucketSampler's ``min_lines``)."""
        i, j = self.index[k % len(self.index)]
        s = self.sources[i]
        rng = None
        if self.augment:
            self._draws += 1
            rng = np.random.default_rng((self.seed, self.epoch, k, self._draws))
        if isinstance(s, LineSet):
            img = from_uint8(s.image(j))
            if rng is not None:
                if self.level == "page" and rng.random() < SHOW_THROUGH:
                    oi, oj = self.index[self._stored[int(rng.integers(len(self._stored)))]]
                    img = show_through(img, from_uint8(self.sources[oi].image(oj)), rng)
                img = augment_line(img, rng, self.level)
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


def width_sampler(ds: ImageLines, batch_size: int, shuffle: bool, seed: int, min_lines: int = 0) -> BucketSampler:
    return BucketSampler(ds.lengths, batch_size, shuffle, seed, min_lines)


def open_source(path) -> Source:
    """A line dataset or an ink dataset (to be rendered), told apart by the file's format."""
    from hwr.data.lineset import dataset_format

    fmt = dataset_format(path)
    if fmt == "hwr-lineset":
        return LineSet(path)
    if fmt == "hwr-inkset":
        return InkSet(path)
    raise InputError(f"{path}: not an hwr ink or line dataset (format {fmt!r})")
