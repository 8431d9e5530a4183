"""The sample inputs in data/: they load, agree with each other, and are what
tools/make_samples.py makes."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hwr.cli.main import cli
from hwr.data.pagexml import read_page_xml
from hwr.imaging.load import load_image
from hwr.ink.io import load_ink

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
INKS = sorted(DATA.glob("line*.inkml"))


def _gt_lines() -> list[str]:
    return (DATA / "page.gt.txt").read_text(encoding="utf-8").splitlines()


def _inside(points, poly) -> bool:
    import cv2

    contour = np.asarray(poly, np.float32).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -1.0 for x, y in points)


def test_page_image_and_ground_truth_agree():
    gray = load_image(DATA / "page.jpg")
    doc = read_page_xml(DATA / "page.page.xml")
    assert doc.image == "page.jpg"
    assert gray.shape == (doc.height, doc.width) == (1754, 1240)
    assert np.median(gray) > 200  # light paper
    texts = _gt_lines()
    assert len(texts) == 9 and [ln.text for ln in doc.lines] == texts
    h, w = gray.shape
    tops = []
    for ln in doc.lines:
        poly = np.asarray(ln.polygon, float)
        assert len(poly) >= 4 and len(ln.baseline) >= 2
        assert poly.min() >= 0 and poly[:, 0].max() < w and poly[:, 1].max() < h
        assert _inside(ln.baseline, ln.polygon)
        x0, y0 = poly.min(0).astype(int)
        x1, y1 = poly.max(0).astype(int)
        assert gray[y0:y1, x0:x1].min() < 100  # there is writing in the line's box
        tops.append(y0)
    assert tops == sorted(tops)  # reading order: top to bottom


@pytest.mark.parametrize("path", INKS, ids=[p.name for p in INKS])
def test_ink_lines_load_with_their_transcription(path):
    ink = load_ink(path)
    texts = _gt_lines()
    assert ink.text in texts
    assert all(s.t is not None for s in ink.strokes) and ink.num_points > 500
    # the ink is the page's line, in page pixels: it lies inside that line's polygon
    line = read_page_xml(DATA / "page.page.xml").lines[texts.index(ink.text)]
    assert _inside(np.concatenate([s.points for s in ink.strokes]), line.polygon)


def test_there_are_ink_samples():
    assert len(INKS) == 3


def test_segment_finds_the_lines_of_the_sample_page():
    # all but the signature below the text (short lines under the text are left out, as the
    # real pages' ground truth leaves them out), the salutation included, top to bottom
    result = CliRunner().invoke(cli, ["segment", str(DATA / "page.jpg")])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout.splitlines()[0])["lines"]
    assert len(_gt_lines()) - 1 <= len(found) <= len(_gt_lines())
    tops = [min(y for _, y in ln["polygon"]) for ln in found]
    assert tops == sorted(tops)


def _generator():
    pytest.importorskip("HersheyFonts", reason="tools/make_samples.py needs Hershey-Fonts (pip install hwr[samples])")
    name = "hwr_tools_make_samples"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "make_samples.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look their module up there
        spec.loader.exec_module(mod)
    return sys.modules[name]


def test_generator_remakes_the_committed_samples(tmp_path):
    ms = _generator()
    written = ms.make_samples(tmp_path)  # the defaults made data/
    assert sorted(p.name for p in written) == sorted(p.name for p in [*INKS, DATA / "page.jpg",
                                                                       DATA / "page.page.xml", DATA / "page.gt.txt"])
    for p in written:
        if p.suffix == ".jpg":  # JPEG bytes may differ between libjpeg builds: compare pixels
            diff = np.abs(load_image(p).astype(int) - load_image(DATA / p.name))
            assert diff.mean() < 0.5
        else:
            assert p.read_bytes() == (DATA / p.name).read_bytes(), p.name


def test_generator_seed_changes_the_writing(tmp_path):
    ms = _generator()
    a = ms.make_samples(tmp_path / "a", seed=1, width=620, height=877)
    b = ms.make_samples(tmp_path / "b", seed=2, width=620, height=877)
    ink_a, ink_b = load_ink(a[3]), load_ink(b[3])
    assert ink_a.text == ink_b.text
    assert ink_a.num_points != ink_b.num_points or not np.allclose(ink_a.strokes[0].x, ink_b.strokes[0].x)
    assert read_page_xml(a[1]).width == 620
