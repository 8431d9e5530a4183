"""The recogniser: input -> normalise -> model -> decode -> results.

>>> from hwr.pipeline import Recognizer
>>> rec = Recognizer()                      # the embedded default ink model, CPU
>>> rec.recognize_file("note.inkml").text   # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from hwr.alphabet import Alphabet
from hwr.errors import InputError, ModelError
from hwr.ink.io import detect_kind, load_ink
from hwr.types import Ink, LineResult, Page

MODELS_DIR = Path(__file__).parent / "models_data"
#: A page whose greedy reading has a per-character perplexity above this under the
#: decoder's language model is not in the LM's language, and its lines are decoded without
#: the LM (beam search alone).  Greedy readings of the image model under the English LM:
#: French wills (training pages) 27-62, Hooker's English letters (training pages) 10-21,
#: IAM-OnDB testset_t in pages of 12 lines 7-26.
FOREIGN_PERPLEXITY = 30.0
DEFAULT_INK_MODEL = "ink_default"
DEFAULT_IMAGE_MODEL = "image_default"
# LM weight and character bonus for an LM given without tuned values (tuned values of
# the default ink model with the default LM, rounded; see benchmarks/tune_decoder.py)
GENERIC_LM_WEIGHT = 0.5
GENERIC_INSERTION_BONUS = 1.0
# weight of a rescoring LSTM LM given to a model that was not tuned with one (the embedded image
# model's tuned value with the LSTM LM of docs/decoding.md, *Re-ranking*; the ink model's was 0.6)
GENERIC_RESCORE_WEIGHT = 0.3


def default_model_path(kind: str = "ink") -> Path:
    """Path of the embedded default model of ``kind`` ("ink" or "image")."""
    names = {"ink": DEFAULT_INK_MODEL, "image": DEFAULT_IMAGE_MODEL}
    if kind not in names:
        raise ModelError(f"no embedded default model for {kind!r} input")
    p = MODELS_DIR / f"{names[kind]}.safetensors"
    if not p.exists():
        raise ModelError(f"the embedded {kind} model is missing ({p}); reinstall hwr")
    return p


def resolve_model(model: str | os.PathLike | None, kind: str = "ink") -> Path:
    """A model given by path, by the name of an embedded model, or ``None`` for the default."""
    if model is None:
        return default_model_path(kind)
    p = Path(model)
    if p.exists():
        return p
    emb = MODELS_DIR / f"{model}.safetensors"
    if emb.exists():
        return emb
    from hwr.paths import user_models_dir

    mine = user_models_dir() / f"{model}.safetensors"
    if os.sep not in str(model) and mine.exists():
        return mine
    raise ModelError(f"model {model!r} not found (neither a file, an embedded model nor one in {user_models_dir()}; "
                     "`hwr models` lists them)")


#: what separates the pages of a multi-page input in ``Result.text``: a line holding a form feed
PAGE_BREAK = "\n\f\n"


@dataclass
class Result:
    """Recognition of one input (an ink file or object, or an image of one or more pages).

    For a multi-page image (``pages`` > 1) each line has its 1-based ``page`` and
    ``text`` holds the pages' texts separated by a form-feed line (:data:`PAGE_BREAK`)."""

    input: str
    lines: list[LineResult] = field(default_factory=list)
    error: str | None = None
    pages: int = 1

    @property
    def text(self) -> str:
        if self.pages <= 1:
            return "\n".join(line.text for line in self.lines)
        per_page: list[list[str]] = [[] for _ in range(self.pages)]
        for line in self.lines:
            per_page[min(max(int(line.page or 1), 1), self.pages) - 1].append(line.text)
        return PAGE_BREAK.join("\n".join(t) for t in per_page)

    def to_dict(self) -> dict:
        d: dict = {"input": self.input, "text": self.text, "lines": [ln.to_dict() for ln in self.lines]}
        if self.pages > 1:
            d["pages"] = self.pages
        if self.error is not None:
            d["error"] = self.error
        return d


def join_lines(results: Sequence[LineResult], nbest: int = 5) -> LineResult:
    """Several lines' results as one: texts joined by newlines (a ``"\n"`` CharSpan between
    the lines' characters), the confidence weighted by the lines' lengths, and as
    alternatives the best reading with one line replaced by one of its own alternatives,
    best first."""
    from hwr.types import Alternative, CharSpan

    if len(results) == 1:
        return results[0]
    if not results:
        return LineResult(text="", confidence=0.0)
    text = "\n".join(r.text for r in results)
    chars: list[CharSpan] = []
    for k, r in enumerate(results):
        if k:
            chars.append(CharSpan("\n", -1, -1, 1.0))
        chars.extend(r.chars)
    weights = [max(len(r.text), 1) for r in results]
    conf = sum(w * r.confidence for w, r in zip(weights, results)) / sum(weights)
    best_score = 1.0
    for r in results:
        best_score *= r.alternatives[0].score if r.alternatives else 1.0
    alts = [Alternative(text, best_score)]
    for k, r in enumerate(results):
        for a in r.alternatives[1:]:
            texts = [x.text for x in results]
            texts[k] = a.text
            first = r.alternatives[0].score if r.alternatives and r.alternatives[0].score > 0 else 1.0
            alts.append(Alternative("\n".join(texts), best_score * a.score / first))
    alts = [alts[0]] + sorted(alts[1:], key=lambda a: -a.score)[: max(nbest - 1, 0)]
    return LineResult(text=text, confidence=conf, chars=chars, alternatives=alts)


class Recognizer:
    """Recognises ink with one model.  Thread-safe; load once, call many times."""

    def __init__(self, model: str | os.PathLike | None = None, device: str = "cpu", decoder: str | None = None,
                 *, kind: str | None = None, beam_width: int | None = None, lm: str | os.PathLike | None = None,
                 lm_weight: float | None = None, insertion_bonus: float | None = None,
                 lexicon: str | os.PathLike | None = None, lexicon_penalty: float | None = None,
                 backend: str = "auto", nbest: int = 5, bands: int = 1,
                 rescore_lm: str | os.PathLike | None = None, rescore_weight: float | None = None,
                 paper: bool = True):
        """Load ``model`` and its decoder defaults.

        ``kind`` ("ink" or "image") picks the default model and is checked against the
        model; ``None`` means the default ink model, or whatever kind the given model is.
        ``decoder`` is ``"greedy"`` or ``"beam"`` (default: what the model's
        ``.decoder.json`` says, else greedy).  ``lm`` is an ARPA character LM
        path, or ``"none"`` for no LM (default: the model's tuned LM).
        ``lm_weight``/``insertion_bonus`` override the tuned values.  ``rescore_lm``: a
        character LSTM LM that re-ranks the beam's readings (:mod:`hwr.decoding.neural_lm`),
        or ``"none"``; ``rescore_weight`` overrides its tuned weight (0: off).  ``bands``: each line
        found on a page is read cut by this many bands about its baseline (1 to 3: the reading
        band, then a narrower and a wider one, :data:`hwr.segmentation.crops.BANDS`), the
        texts combined by :meth:`hwr.decoding.decoder.Decoder.decode_views`; 3 reads about a
        point better on difficult hands, in three times the network time.  ``paper``: a page
        photographed on a table is flattened before it is segmented and read
        (:mod:`hwr.imaging.paper`); its lines' outlines are given on the photograph.
        """
        from hwr.decoding.decoder import Decoder, load_model_defaults
        from hwr.device import resolve_device
        from hwr.models.checkpoint import load_model
        from hwr.segmentation.crops import BANDS

        self.device = resolve_device(device)
        if not 1 <= int(bands) <= len(BANDS):
            raise ModelError(f"bands must be 1 to {len(BANDS)}, not {bands}")
        self.bands = int(bands)
        self.paper = bool(paper)
        self.model_path = resolve_model(model, kind or "ink")
        self.net, self.info = load_model(self.model_path, device=self.device)
        if self.info.kind not in ("ink", "image") or (kind is not None and self.info.kind != kind):
            raise ModelError(f"{self.model_path}: is a {self.info.kind} model, not an {kind or 'ink'} model")
        self.alphabet = Alphabet(self.info.alphabet)
        st = load_model_defaults(self.model_path)
        if decoder is not None:
            st.decoder = decoder
        if lm is not None:
            if str(lm).lower() == "none":  # no language model at all: the rescoring one neither
                st.lm, st.rescore_weight = None, 0.0
            else:
                if not st.lm_weight:  # an LM the model was never tuned with: middle-of-the-road values
                    st.lm_weight, st.insertion_bonus = GENERIC_LM_WEIGHT, GENERIC_INSERTION_BONUS
                st.lm = str(lm)
        if rescore_lm is not None:
            if str(rescore_lm).lower() == "none":
                st.rescore_lm, st.rescore_weight = None, 0.0
            else:
                if not st.rescore_weight:  # one the model was never tuned with
                    st.rescore_weight = GENERIC_RESCORE_WEIGHT
                st.rescore_lm = str(rescore_lm)
        for name, value in (("beam_width", beam_width), ("lm_weight", lm_weight),
                            ("insertion_bonus", insertion_bonus), ("lexicon_penalty", lexicon_penalty),
                            ("rescore_weight", rescore_weight)):
            if value is not None:
                setattr(st, name, value)
        st.lexicon = str(lexicon) if lexicon is not None else None
        st.backend, st.nbest = backend, nbest
        try:
            st.__post_init__()
        except ValueError as e:
            raise ModelError(str(e)) from e
        self.decoder = Decoder(self.alphabet, st)
        self._no_lm_decoder: Decoder | None = None  # made by page_decoder when a page needs it
        self.preprocessing = dict(self.info.preprocessing)
        self._lock = threading.Lock()

    def features(self, ink: Ink) -> np.ndarray:
        """The model input for one line of ink."""
        from hwr.ink.features import line_features

        return line_features(ink, self.preprocessing)

    def log_probs(self, inks: Sequence[Ink]) -> list[np.ndarray]:
        """``(T, C)`` CTC log-probabilities per ink, computed as one padded batch."""
        import torch

        feats = [self.features(ink) for ink in inks]
        if not feats:
            return []
        lengths = torch.tensor([len(f) for f in feats])
        x = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1])
        for i, f in enumerate(feats):
            x[i, : len(f)] = torch.from_numpy(f)
        with self._lock, torch.inference_mode():
            lp, out_len = self.net(x.to(self.device), lengths)
        lp = lp.float().cpu().numpy()
        return [lp[: int(out_len[i]), i] for i in range(len(feats))]

    def word_strokes(self, ink: Ink, result: LineResult) -> list[list[int]]:
        """The strokes (indices into ``ink.strokes``) that wrote each word of ``result.text``,
        ``result`` being this model's reading of ``ink`` (see :mod:`hwr.ink.alignment`)."""
        import torch

        from hwr.ink.alignment import input_strokes, word_strokes

        if self.info.kind != "ink":
            raise ModelError(f"{self.model_path}: word strokes need an ink model")
        rows = input_strokes(ink, self.preprocessing)
        frames = int(self.net.output_lengths(torch.tensor([len(rows)]))[0]) if len(rows) else 0
        boxes = [(s.x.min(), s.y.min(), s.x.max(), s.y.max()) if len(s) else (np.nan,) * 4 for s in ink.strokes]
        return word_strokes(rows, max(frames, 1), result.text, result.chars, len(ink.strokes), boxes)

    def recognize_ink(self, ink: Ink) -> LineResult:
        """Recognise one line of ink."""
        return self.recognize_inks([ink])[0]

    def recognize_ink_lines(self, ink: Ink) -> list[tuple[list[int], LineResult]]:
        """Recognise ink that may hold several lines of writing: the strokes are grouped into
        lines (:func:`hwr.ink.lines.split_lines`), each line is read on its own.  Returns
        ``(stroke indices, result)`` per line, top to bottom."""
        from hwr.ink.io import validate_ink
        from hwr.ink.lines import line_inks, split_lines

        validate_ink(ink)
        groups = split_lines(ink)
        if len(groups) <= 1:
            return [(groups[0] if groups else [], self.recognize_ink(ink))]
        return list(zip(groups, self.recognize_inks(line_inks(ink, groups))))

    def recognize_inks(self, inks: Sequence[Ink], batch_size: int = 32) -> list[LineResult]:
        from hwr.ink.io import validate_ink

        for ink in inks:
            validate_ink(ink)
        # batches of similar length: little padding
        order = sorted(range(len(inks)), key=lambda i: inks[i].num_points)
        results: dict[int, LineResult] = {}
        for k in range(0, len(order), batch_size):
            idx = order[k:k + batch_size]
            for i, lp in zip(idx, self.log_probs([inks[i] for i in idx])):
                results[i] = self.decoder.decode(lp)
        return [results[i] for i in range(len(inks))]

    def recognize_file(self, path: str | os.PathLike) -> Result:
        """Recognise an ink file (InkML, IAM-OnDB XML, hwr JSON) with an ink model, or a page
        image (segmented into lines; every page of a multi-page TIFF) with an image model;
        errors are returned, not raised."""
        name = str(path)
        try:
            kind = detect_kind(path)
            if self.info.kind == "image":
                if kind != "image":
                    raise InputError(f"{name}: not an image (the model reads images); ink files need an ink model")
                return self._recognize_pages(path)
            if kind == "image":
                raise InputError(f"{name}: an image; it needs an image model (hwr recognize picks the embedded "
                                 "one when no --model is given)")
            ink = load_ink(path)
            return Result(input=name, lines=[res for _, res in self.recognize_ink_lines(ink)])
        except (InputError, ModelError) as e:
            return Result(input=name, error=str(e))
        except MemoryError:
            return Result(input=name, error=f"{name}: out of memory")

    # ------------------------------------------------------------------ line images

    def line_input(self, gray: np.ndarray, name: str = "line image") -> np.ndarray:
        """The model input for one grayscale line image: normalised (H, W) float32, ink bright."""
        from hwr.imaging.line import normalize_line

        return normalize_line(gray, self.preprocessing, name)

    def line_log_probs(self, lines: Sequence[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
        """``(T, C)`` CTC log-probabilities of normalised line images, computed in batches of similar width."""
        import torch

        if self.info.kind != "image":
            raise ModelError(f"{self.model_path}: is an {self.info.kind} model; line images need an image model")
        order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
        out: dict[int, np.ndarray] = {}
        for k in range(0, len(order), batch_size):
            idx = order[k:k + batch_size]
            widths = torch.tensor([lines[i].shape[1] for i in idx])
            x = torch.zeros(len(idx), 1, lines[idx[0]].shape[0], int(widths.max()))
            for b, i in enumerate(idx):
                x[b, 0, :, : lines[i].shape[1]] = torch.from_numpy(lines[i])
            with self._lock, torch.inference_mode():
                lp, out_len = self.net(x.to(self.device), widths)
            lp = lp.float().cpu().numpy()
            for b, i in enumerate(idx):
                out[i] = lp[: int(out_len[b]), b]
        return [out[i] for i in range(len(lines))]

    def recognize_line_arrays(self, lines: Sequence[np.ndarray], batch_size: int = 16) -> list[LineResult]:
        """Recognise already normalised line images (as from :meth:`line_input`), batched by width."""
        return [self.decoder.decode(lp) for lp in self.line_log_probs(lines, batch_size)]

    def greedy_texts(self, log_probs: Sequence[np.ndarray]) -> list[str]:
        """The greedy readings of a page's lines that hold any text (what :meth:`page_decoder`
        judges the page's language by)."""
        from hwr.decoding.greedy import greedy_decode

        return [t for t in (greedy_decode(lp, self.alphabet).text for lp in log_probs) if t.strip()]

    def page_decoder(self, log_probs: Sequence[np.ndarray]):
        """The decoder for the lines of one page: the model's own, or, when the page's greedy
        reading is not in the language of the decoder's LM (per-character perplexity above
        :data:`FOREIGN_PERPLEXITY`: French under the English LM), the same beam search
        without the LM, which would otherwise pull the text towards its language."""
        from dataclasses import replace

        from hwr.decoding.decoder import Decoder

        d = self.decoder
        if d.lm is None or not log_probs:
            return d
        texts = self.greedy_texts(log_probs)
        if sum(len(t) for t in texts) < 20 or d.lm.perplexity(texts) <= FOREIGN_PERPLEXITY:
            return d
        with self._lock:
            if self._no_lm_decoder is None:
                self._no_lm_decoder = Decoder(self.alphabet, replace(d.settings, lm=None, lm_weight=0.0,
                                                                     insertion_bonus=0.0, rescore_weight=0.0))
        return self._no_lm_decoder

    def _recognize_pages(self, path: str | os.PathLike) -> Result:
        """Every page of an image file, one page in memory at a time; a bad page is reported
        in ``error`` (naming the page) and the other pages are still read."""
        from hwr.imaging.load import count_pages, load_color, load_page

        n = count_pages(path)
        if n == 1:
            return Result(input=str(path), lines=self.recognize_page(path).lines)
        lines: list[LineResult] = []
        errors: list[str] = []
        for i in range(n):
            try:
                page = self.recognize_page(load_page(path, i), name=str(path), color=load_color(path, i))
            except InputError as e:
                errors.append(str(e))
                continue
            for ln in page.lines:
                ln.page = i + 1
            lines.extend(page.lines)
        return Result(input=str(path), lines=lines, pages=n, error="; ".join(errors) or None)

    def recognize_pages(self, path: str | os.PathLike) -> Result:
        """Recognise every page of an image file (a multi-page TIFF: each page, one at a time);
        errors are returned, not raised.  See :class:`Result` for the pages' lines and text."""
        try:
            return self._recognize_pages(path)
        except (InputError, ModelError) as e:
            return Result(input=str(path), error=str(e))
        except MemoryError:
            return Result(input=str(path), error=f"{path}: out of memory")

    def recognize_page(self, image, name: str | None = None, color: np.ndarray | None = None) -> Page:
        """Segment a page image (path or grayscale array) into lines and recognise each line.
        A path is read with :func:`hwr.imaging.load.load_page` (a TIFF: its first page).

        Returns a :class:`~hwr.types.Page` whose lines (reading order) keep their polygon
        and baseline in the coordinates of the original image.  A line whose crop holds
        no ink (a false detection) gets an empty text and confidence 0.  ``color``: a
        small colour copy of the page (:func:`hwr.imaging.load.load_color`; read from the
        file when ``image`` is a path) lets the segmenter drop stamps by their colour.  Lines are cut from
        the original 8-bit page one at a time (only each crop becomes float), each by its
        reading band (:func:`hwr.segmentation.crops.cut_line`: the polygon held near the baseline),
        or by as many bands as the recogniser's ``bands``, read as one (:meth:`page_views`).
        """
        page, index, views = self.page_views(image, name, color)
        dec = self.page_decoder([v[0] for v in views])
        for i, res in zip(index, (dec.decode_views(v) for v in views)):
            res.polygon, res.baseline = page.lines[i].polygon, page.lines[i].baseline
            page.lines[i] = res
        return page

    def page_log_probs(self, image, name: str | None = None, color: np.ndarray | None = None
                       ) -> tuple[Page, list[int], list[np.ndarray]]:
        """The first half of :meth:`recognize_page`: the segmented page, the indices of its lines
        that hold ink, and those lines' CTC log-probabilities (not yet decoded), each line cut
        by its reading band alone."""
        page, index, views = self.page_views(image, name, color, bands=1)
        return page, index, [v[0] for v in views]

    def page_views(self, image, name: str | None = None, color: np.ndarray | None = None,
                   bands: int | None = None) -> tuple[Page, list[int], list[list[np.ndarray]]]:
        """As :meth:`page_log_probs`, but each line cut by ``bands`` (default: the recogniser's)
        bands of :data:`hwr.segmentation.crops.BANDS`, the reading band first: per line, the
        log-probabilities of each cut that holds ink."""
        from hwr.imaging.paper import flatten
        from hwr.segmentation import segment_page
        from hwr.segmentation.crops import BANDS, cut_line, line_spacings
        from hwr.segmentation.preprocess import load_gray

        if self.info.kind != "image":
            raise ModelError(f"{self.model_path}: is an {self.info.kind} model; page images need an image model")
        label = name or (str(image) if not isinstance(image, np.ndarray) else "image")
        gray = load_gray(image, label)
        if color is None and not isinstance(image, np.ndarray):
            from hwr.imaging.load import load_color

            color = load_color(image)
        sheet = None
        if self.paper:  # a photograph: read the sheet flattened, give the lines on the photograph
            sheet, gray, color = flatten(gray, color)
        page = segment_page(gray, name=label, color=color, paper=False, sheet=sheet is not None)
        inputs: list[np.ndarray] = []
        index: list[int] = []
        more: list[tuple[int, np.ndarray]] = []  # (line's place in index, a crop by another band)
        spacings = line_spacings(page.lines)
        for i, ln in enumerate(page.lines):
            try:
                crop = cut_line(gray, ln, spacings[i], f"l{i}")
                inputs.append(self.line_input(crop, f"line {i + 1}"))
                index.append(i)
            except InputError:
                continue  # nothing to read in this crop: the line stays empty
            for up, down in BANDS[1:self.bands if bands is None else bands]:
                try:
                    more.append((len(index) - 1, self.line_input(cut_line(gray, ln, spacings[i], f"l{i}", up, down),
                                                                 f"line {i + 1}")))
                except InputError:
                    pass  # the line is read by the bands that hold ink
        lps = self.line_log_probs(inputs + [x for _, x in more])
        views = [[lp] for lp in lps[:len(inputs)]]
        for (k, _), lp in zip(more, lps[len(inputs):]):
            views[k].append(lp)
        if sheet is not None:
            sheet.page_to_photo(page)
        return page, index, views

    def recognize_line_images(self, images: Sequence[np.ndarray], batch_size: int = 16) -> list[LineResult]:
        """Recognise grayscale line images (uint8, dark ink on light paper); raises InputError for a blank one."""
        return self.recognize_line_arrays([self.line_input(im) for im in images], batch_size)

    def recognize_line_image(self, image: np.ndarray) -> LineResult:
        return self.recognize_line_images([image])[0]

    def recognize_line_file(self, path: str | os.PathLike) -> Result:
        """Recognise an image file holding one line of handwriting; errors are returned, not raised."""
        from hwr.imaging.load import load_image

        name = str(path)
        try:
            if self.info.kind != "image":
                raise ModelError(f"{self.model_path}: is an {self.info.kind} model; line images need an image model")
            gray = load_image(path)
            line = self.line_input(gray, name)
            return Result(input=name, lines=[self.recognize_line_arrays([line])[0]])
        except (InputError, ModelError) as e:
            return Result(input=name, error=str(e))
        except MemoryError:
            return Result(input=name, error=f"{name}: out of memory")
