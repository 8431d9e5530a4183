"""Background work: loading models and recognising ink and page images off the UI thread.

One :class:`RecognitionWorker` (ink) and one :class:`PageWorker` (page images)
each live on their own :class:`QThread`, so a long page never delays the ink.  The window
talks to it only through queued signals, so requests run one at a time in the
order they were made (a model load before the recognitions that need it).  A
request that is already outdated when its turn comes (the ink changed again)
is skipped; the window drops results of outdated requests that were already
running.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from hwr.errors import HwrError

log = logging.getLogger(__name__)


def _message(e: BaseException) -> str:
    return str(e) if isinstance(e, HwrError) else f"{type(e).__name__}: {e}"


class RecognitionWorker(QObject):
    """Holds the recogniser; its slots run on the worker thread."""

    loaded = Signal(str)  # description of the model
    loadFailed = Signal(str)
    #: revision, LineResult, seconds, the strokes of each word (list of index lists, or None)
    recognized = Signal(int, object, float, object)
    failed = Signal(int, str)  # revision, message

    def __init__(self, recognizer: object | None = None):
        super().__init__()
        self.recognizer = recognizer
        #: newest revision the UI asked for; set from the UI thread before each request
        self.latest = -1

    @Slot(object, str, object)
    def load(self, model: str | None, device: str, options: dict | None = None) -> None:
        """``options``: more keyword arguments of :class:`hwr.pipeline.Recognizer` (decoder, beam_width, lm)."""
        try:
            from hwr.pipeline import Recognizer

            rec = Recognizer(model=model, device=device, kind="ink", **(options or {}))
        except Exception as e:  # noqa: BLE001 - any failure is shown in the window
            if not isinstance(e, HwrError):
                log.exception("loading the model failed")
            self.loadFailed.emit(_message(e))  # a model loaded before stays in use
            return
        self.recognizer = rec
        self.loaded.emit(str(getattr(rec, "model_path", model or "default model")))

    @Slot(int, object)
    def recognize(self, revision: int, ink: object) -> None:
        if revision < self.latest:
            return  # outdated before it started
        rec = self.recognizer
        if rec is None:
            self.failed.emit(revision, "no recognition model is loaded")
            return
        start = time.perf_counter()
        try:
            if hasattr(rec, "recognize_ink_lines"):  # several lines of writing: each read on its own
                from hwr.pipeline import join_lines

                lines = rec.recognize_ink_lines(ink)
                result = join_lines([r for _, r in lines])
            else:
                lines, result = None, rec.recognize_ink(ink)
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, HwrError):
                log.exception("recognition failed")
            self.failed.emit(revision, _message(e))
            return
        seconds = time.perf_counter() - start
        self.recognized.emit(revision, result, seconds, self._word_strokes(rec, ink, result, lines))

    @staticmethod
    def _word_strokes(rec: object, ink: object, result: object, lines=None) -> list[list[int]] | None:
        """Which strokes wrote each word (``Recognizer.word_strokes``, line by line); None where
        the recogniser cannot say."""
        if not hasattr(rec, "word_strokes"):
            return None
        try:
            if not lines or len(lines) == 1:
                return rec.word_strokes(ink, result if not lines else lines[0][1])
            from hwr.ink.lines import line_inks

            out: list[list[int]] = []
            for (group, res), sub in zip(lines, line_inks(ink, [g for g, _ in lines])):
                out += [[group[i] for i in word] for word in rec.word_strokes(sub, res)]
            return out
        except Exception:  # noqa: BLE001 - the text is shown anyway; only the highlight is lost
            log.exception("linking words to strokes failed")
            return None


class PageWorker(QObject):
    """Reads page images and recognises them with an image model; its slots run on the worker thread.

    The model is loaded when the first page needs it (or again after :meth:`configure`).
    For each request it emits ``imageLoaded`` as soon as the image is read (so the
    window can show it) and then ``recognized`` or ``failed``.
    """

    imageLoaded = Signal(int, object)  # revision, uint8 grayscale (H, W) array
    recognized = Signal(int, object, float)  # revision, hwr.types.Page, seconds
    failed = Signal(int, str)  # revision, message
    modelLoaded = Signal(str)  # description of the model

    def __init__(self, recognizer: object | None = None):
        super().__init__()
        self.recognizer = recognizer
        self._spec: tuple[str | None, str, dict] = (None, "cpu", {})
        self.latest = -1

    @Slot(object, str, object)
    def configure(self, model: str | None, device: str, options: dict | None = None) -> None:
        """Use this model from the next page on (loaded when needed)."""
        self._spec = (model, device, dict(options or {}))
        self.recognizer = None

    def _recognizer(self) -> object:
        if self.recognizer is None:
            from hwr.pipeline import Recognizer

            model, device, options = self._spec
            self.recognizer = Recognizer(model=model, device=device, kind="image", **options)
            self.modelLoaded.emit(str(getattr(self.recognizer, "model_path", model or "default image model")))
        return self.recognizer

    @Slot(int, str)
    def recognize(self, revision: int, path: str) -> None:
        if revision < self.latest:
            return
        start = time.perf_counter()
        try:
            from hwr.imaging.load import load_page

            gray = load_page(path, 0)  # a page: up to MAX_PAGE_PIXELS (as hwr recognize), not a line's 100 MP
        except Exception as e:  # noqa: BLE001 - unreadable files are shown in the window
            if not isinstance(e, HwrError):
                log.exception("reading the image failed")
            self.failed.emit(revision, _message(e))
            return
        self.imageLoaded.emit(revision, gray)
        try:
            rec = self._recognizer()
        except Exception as e:  # noqa: BLE001 - a model that fails to load is shown in the window
            if not isinstance(e, HwrError):
                log.exception("loading the image model failed")
            self.failed.emit(revision, f"could not load the image model: {_message(e)}")
            return
        try:
            from hwr.imaging.load import load_color

            page = rec.recognize_page(gray, color=load_color(path))
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, HwrError):
                log.exception("page recognition failed")
            self.failed.emit(revision, _message(e))
            return
        page.image = str(path)
        self.recognized.emit(revision, page, time.perf_counter() - start)


#: workers whose threads run, kept alive here until stopped: a QThread (or the
#: object living on it) destroyed while the thread runs aborts the process
_running: set[tuple[QThread, QObject]] = set()


def start_worker(worker: QObject, owner: QObject, name: str = "hwr-recognition") -> QThread:
    """Run ``worker`` on a new thread until :func:`stop_worker` or until ``owner`` is destroyed."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    _running.add((thread, worker))
    owner.destroyed.connect(lambda *_: stop_worker(thread, worker))
    return thread


def stop_worker(thread: QThread, worker: QObject) -> None:
    """Skip queued requests, let a running one finish, end the thread."""
    if (thread, worker) not in _running:
        return  # stopped already
    worker.latest = 1 << 62
    if thread.isRunning():
        thread.quit()
        thread.wait()
    _running.discard((thread, worker))
