"""Every case of the bad-input corpus (tests/hardening/corpus.py): a clear hwr error naming the
input (or the documented result), in bounded time and memory, with no file read outside what
was asked, no network connection and no code run."""

from __future__ import annotations

import pytest

from hardening.corpus import Case, all_cases, run_case

CASES: dict[str, Case] = {c.id: c for c in all_cases()}


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_input(case_id, tmp_path):
    outcome = run_case(CASES[case_id], tmp_path)
    assert outcome.ok, f"{case_id}: {outcome.status}: {outcome.detail}"


def test_every_reader_is_covered():
    readers = {c.reader for c in CASES.values()}
    assert readers >= {"image", "inkml", "iam-ondb", "ink-json", "ink", "page-xml", "alto", "model", "lm", "hdf5",
                       "lexicon", "line-folder"}
    for r in readers:
        assert sum(c.reader == r for c in CASES.values()) >= 2, r


# ----------------------------------------------------------------------------- the guards themselves


def _guard_cases():
    import pickle
    import socket
    import time

    import numpy as np

    from hardening.corpus import SECRET, _Payload, _secret_file, writer
    from hwr.errors import InputError

    def unpickle(p):
        return pickle.loads(p.read_bytes())

    def read_secret(p):
        return (p.parent / "secret.txt").read_text()

    def connect(p):
        with socket.socket() as s:
            s.connect(("127.0.0.1", 9))

    def vague(p):
        raise InputError("something is wrong")

    def big(p):
        return np.ones(30 * 2**20, np.uint8)

    def sleepy(p):
        time.sleep(5)

    def keyerror(p):
        return {}["x"]

    def leak(p):
        return SECRET

    pk = lambda f: writer("evil.pkl", pickle.dumps(_Payload(str(f / "PWNED"))))(f)
    return [
        (Case("guard", "unpickling", pk, unpickle, expect="either"), "unsafe"),
        (Case("guard", "reading-a-forbidden-file", lambda f: _secret_file(f), read_secret, expect="either",
              forbidden=("secret.txt",)), "unsafe"),
        (Case("guard", "connecting", writer("x", b"x"), connect, expect="either"), "unsafe"),
        (Case("guard", "message-without-the-input", writer("x", b"x"), vague), "wrong"),
        (Case("guard", "memory", writer("x", b"x"), big, expect="ok", max_mb=10), "wrong"),
        (Case("guard", "hang", writer("x", b"x"), sleepy, expect="either", seconds=0.5), "hang"),
        (Case("guard", "keyerror", writer("x", b"x"), keyerror, expect="either"), "crash"),
        (Case("guard", "secret-in-result", writer("x", b"x"), leak, expect="ok", secret=True), "unsafe"),
    ]


@pytest.mark.parametrize("case, status", _guard_cases(), ids=lambda v: v.name if isinstance(v, Case) else v)
def test_the_guards_catch_what_they_should(case, status, tmp_path):
    outcome = run_case(case, tmp_path)
    assert outcome.status == status, outcome
