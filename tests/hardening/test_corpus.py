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
