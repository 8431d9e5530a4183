"""Property tests: random bytes and random mutations of valid documents fed to every text
parser (InkML, ink JSON, IAM-OnDB XML, PAGE, ALTO, ARPA).  Only hwr's own errors may come
out: never a KeyError, IndexError, RecursionError, ... and never a hang."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hardening.fuzz import OPS, TARGETS, TOKENS, VALUES, check, mutate

FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ops = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 16), st.integers(0, 64),
                         st.binary(min_size=1, max_size=12) | st.sampled_from(TOKENS)), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@pytest.mark.parametrize("target", TARGETS)
def test_seeds_are_valid(target, folder):
    """The mutations start from documents each reader accepts."""
    assert check(target, TARGETS[target].seed, folder) == "ok"


@pytest.mark.parametrize("target", TARGETS)
@FAST
@given(data=st.binary(max_size=600))
def test_random_bytes(target, folder, data):
    check(target, data, folder)


@pytest.mark.parametrize("target", TARGETS)
@FAST
@given(ops=ops)
# findings of earlier runs, kept as regressions ("value", k, v): field k of the seed becomes VALUES[v]
@example(ops=[("value", 3, VALUES.index(b"null"), b"")])      # ink JSON "version": null
@example(ops=[("value", 4, VALUES.index(b"inf"), b"")])       # PAGE imageWidth="inf"
@example(ops=[("value", 11, VALUES.index(b"\xc2\xb2"), b"")])  # PAGE TextEquiv index="²"
@example(ops=[("value", 3, VALUES.index(b"nan"), b"")])       # ALTO Page WIDTH="nan"
@example(ops=[("replace", 0, 0, b'# hwr-charlm: {"version": 1, "vocab": 5}\n')])  # ARPA metadata
def test_mutated_documents(target, folder, ops):
    check(target, mutate(TARGETS[target].seed, ops), folder)


@pytest.mark.parametrize("target", TARGETS)
@FAST
@given(prefix=st.integers(0, 4000))
def test_every_truncation(target, folder, prefix):
    check(target, TARGETS[target].seed[:prefix], folder)
