"""benchmarks/page_errors.py: CER per page of a line dataset, greedy and with one beam search +
LM for every model, on a small dataset made here (no ../shared data)."""

import re
import sys

from conftest import load_benchmark
from tests.synth import synth_line_image


def test_page_errors_prints_each_page_and_the_character_weighted_total(tmp_path, monkeypatch, capsys):
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import normalize_line, to_uint8
    from hwr.pipeline import Recognizer

    prep = Recognizer("image_default", kind="image").preprocessing
    texts = {"page_a.xml": ["love", "vole zoo"], "page_b.xml": ["jolly"]}
    samples = [LineSample(to_uint8(normalize_line(synth_line_image(t), prep)), t, source=src)
               for src, ts in texts.items() for t in ts]
    data = tmp_path / "lines.h5"
    write_lineset(data, samples, prep)
    mod = load_benchmark("page_errors")
    monkeypatch.setattr(sys, "argv", ["page_errors.py", "--data", str(data), "image_default"])
    mod.main()
    out = capsys.readouterr().out
    assert "3 lines of 2 pages" in out and "lm_en.arpa.gz weight" in out
    rows = {m.group(1): (int(m.group(2)), float(m.group(3)), float(m.group(4))) for m in re.finditer(
        r"^  (\S+)\s+(\d+) chars\s+([\d.]+) /\s+([\d.]+)$", out, re.M)}
    assert set(rows) == {"page_a", "page_b", "all"}
    assert rows["page_a"][0] == len("love") + len("vole zoo") and rows["page_b"][0] == len("jolly")
    assert rows["all"][0] == 17
    for col in (1, 2):  # the total is the pages' CER weighted by their characters
        want = (rows["page_a"][0] * rows["page_a"][col] + rows["page_b"][0] * rows["page_b"][col]) / rows["all"][0]
        assert abs(rows["all"][col] - want) < 0.02
