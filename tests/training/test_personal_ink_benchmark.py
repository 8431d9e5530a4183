"""Logic of benchmarks/personal_ink.py that needs no ../shared data: telling IAM-OnDB's
writers apart by their sessions at the whiteboard."""

import pytest

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("personal_ink")


def _session(start: float, forms: list[str], length: float = 150.0, pause: float = 30.0) -> dict:
    spans = {}
    for f in forms:
        spans[f] = (start, start + length)
        start += length + pause
    return spans


def test_sessions_split_at_long_pauses_and_in_eights(bench):
    a = [f"a{i}" for i in range(8)]
    bc = [f"b{i}" for i in range(16)]  # two writers back to back
    odd = [f"c{i}" for i in range(5)]  # not a whole number of writers: dropped
    spans = {**_session(1e7, a), **_session(2e7, bc), **_session(3e7, odd)}
    spans.update({f"r{i}": (10.0 * i, 10.0 * i + 150) for i in range(8)})  # timestamps from zero: dropped
    writers = bench.writers_of(spans)
    assert writers == [a, bc[:8], bc[8:]]


def test_a_pause_just_over_ten_minutes_ends_a_session(bench):
    first = _session(1e7, [f"a{i}" for i in range(8)])
    end = max(b for _, b in first.values())
    second = _session(end + bench.SESSION_GAP_S + 1, [f"b{i}" for i in range(8)])
    assert len(bench.writers_of({**first, **second})) == 2
    joined = _session(end + bench.SESSION_GAP_S - 1, [f"b{i}" for i in range(8)])
    assert len(bench.writers_of({**first, **joined})) == 2  # 16 forms in one session: still two writers
    assert bench.writers_of({**first, **dict(list(joined.items())[:4])}) == []  # 12 forms: not whole


def test_a_forms_span_runs_from_its_first_pen_down_to_its_last_pen_up(bench, tmp_path):
    d = tmp_path / "lineStrokes" / "a01" / "a01-000"
    d.mkdir(parents=True)
    for k, (t0, t1) in enumerate([(1000.5, 1003.25), (1010.0, 1012.75)], start=1):
        (d / f"a01-000u-{k:02d}.xml").write_text(
            f'<WhiteboardCaptureSession><StrokeSet><Stroke start_time="{t0}" end_time="{t0 + 1}"/>'
            f'<Stroke start_time="{t0 + 2}" end_time="{t1}"/></StrokeSet></WhiteboardCaptureSession>',
            encoding="latin-1")
    assert bench.form_span(tmp_path, "a01-000u") == (1000.5, 1012.75)
    assert bench.form_span(tmp_path, "a01-000x") is None
