"""Background work: loading the model and recognising ink off the UI thread.

One :class:`RecognitionWorker` lives on its own :class:`QThread`.  The window
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
    recognized = Signal(int, object, float)  # revision, LineResult, seconds
    failed = Signal(int, str)  # revision, message

    def __init__(self, recognizer: object | None = None):
        super().__init__()
        self.recognizer = recognizer
        #: newest revision the UI asked for; set from the UI thread before each request
        self.latest = -1

    @Slot(object, str)
    def load(self, model: str | None, device: str) -> None:
        try:
            from hwr.pipeline import Recognizer

            rec = Recognizer(model=model, device=device)
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
            result = rec.recognize_ink(ink)
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, HwrError):
                log.exception("recognition failed")
            self.failed.emit(revision, _message(e))
            return
        self.recognized.emit(revision, result, time.perf_counter() - start)


#: workers whose threads run, kept alive here until stopped: a QThread (or the
#: object living on it) destroyed while the thread runs aborts the process
_running: set[tuple[QThread, RecognitionWorker]] = set()


def start_worker(worker: RecognitionWorker, owner: QObject) -> QThread:
    """Run ``worker`` on a new thread until :func:`stop_worker` or until ``owner`` is destroyed."""
    thread = QThread()
    thread.setObjectName("hwr-recognition")
    worker.moveToThread(thread)
    thread.start()
    _running.add((thread, worker))
    owner.destroyed.connect(lambda *_: stop_worker(thread, worker))
    return thread


def stop_worker(thread: QThread, worker: RecognitionWorker) -> None:
    """Skip queued requests, let a running one finish, end the thread."""
    if (thread, worker) not in _running:
        return  # stopped already
    worker.latest = 1 << 62
    if thread.isRunning():
        thread.quit()
        thread.wait()
    _running.discard((thread, worker))
