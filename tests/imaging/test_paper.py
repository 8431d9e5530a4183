"""A page photographed on a table: the sheet is found, flattened, segmented and read flat, and
its lines are given back on the photograph (hwr.imaging.paper)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwr.imaging.paper import Paper, find_paper, order_corners
from hwr.segmentation import segment_page
from tests.segmentation.test_segmentation import make_page

# where the sheet's corners land in the photograph, as shares of its width and height
CORNERS = np.array([[0.10, 0.08], [0.88, 0.12], [0.93, 0.93], [0.06, 0.88]])


def photograph(page: np.ndarray, corners=CORNERS, size=(1700, 2100), table: int = 70, seed: int = 0):
    """``page`` (grey) seen at an angle on a darker, grainy table, lit more from the right;
    returns the photograph and the sheet's corners in it."""
    rng = np.random.default_rng(seed)
    W, H = size
    h, w = page.shape
    dst = np.float32(corners * [W, H])
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), dst)
    sheet = cv2.warpPerspective(page, M, (W, H))
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), M, (W, H)) > 127
    out = np.where(inside, sheet, table + rng.integers(0, 25, (H, W))).astype(np.float64)
    out *= 0.7 + 0.3 * np.linspace(0, 1, W)[None, :]
    return np.clip(out, 0, 255).astype(np.uint8), dst.astype(np.float64)


def shaded(photo: np.ndarray, depth: float = 0.5) -> np.ndarray:
    """``photo`` with a shadow across it, as a phone or a hand casts one: everything above a
    line running down from the top left darkened by ``depth``, the edge soft over ~15 px."""
    H, W = photo.shape
    yy, xx = np.mgrid[0:H, 0:W]
    d = (0.35 * H + 0.6 * xx * H / W - yy) / 15.0  # > 0 above the line
    return np.clip(photo * (1.0 - depth / (1.0 + np.exp(-d))), 0, 255).astype(np.uint8)


def inside(quad: np.ndarray, points, margin: float = 3.0) -> bool:
    q = np.float32(quad).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(q, (float(x), float(y)), True) >= -margin for x, y in points)


def test_the_sheets_corners_are_found_in_a_photograph():
    page, _ = make_page(5)
    photo, truth = photograph(page)
    paper = find_paper(photo)
    assert paper is not None
    diagonal = np.hypot(*photo.shape)
    assert np.abs(paper.quad - truth).max() < 0.01 * diagonal
    assert paper.source == (photo.shape[1], photo.shape[0])
    # the flattened sheet has about the sheet's size in the photograph (not the page's)
    w = max(np.linalg.norm(truth[1] - truth[0]), np.linalg.norm(truth[2] - truth[3]))
    assert abs(paper.size[0] - w) < 0.02 * w
    assert paper.warp(photo).shape == (paper.size[1], paper.size[0])


def test_a_copy_at_another_scale_is_flattened_alike_and_points_go_back_where_they_came_from():
    page, _ = make_page(3)
    photo, _ = photograph(page)
    paper = find_paper(photo)
    small = cv2.resize(photo, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    flat, flat_small = paper.warp(photo), paper.warp(small)
    assert abs(flat_small.shape[1] - flat.shape[1] / 4) <= 1 and abs(flat_small.shape[0] - flat.shape[0] / 4) <= 1
    w, h = paper.size
    corners = paper.to_photo([(0, 0), (w, 0), (w, h), (0, h)])
    assert np.allclose(corners, paper.quad, atol=0.01)
    assert paper.to_photo([]).shape == (0, 2)


@pytest.mark.parametrize("what", ["a scan", "dark", "noise", "white on white", "a sliver", "tiny", "cut by the frame",
                                  "a scan in shadow"])
def test_no_sheet_where_there_is_none(what):
    rng = np.random.default_rng(1)
    page, _ = make_page(4)
    image = {
        "a scan": page,  # the page fills the frame
        "dark": np.full((900, 700), 40, np.uint8),
        "noise": rng.integers(0, 256, (900, 700)).astype(np.uint8),
        "white on white": photograph(page, table=205)[0],  # no contrast with the table
        "a sliver": photograph(page, corners=np.array([[0.4, 0.1], [0.5, 0.1], [0.5, 0.9], [0.4, 0.9]]))[0],
        "tiny": np.full((20, 20), 200, np.uint8),
        # a scan's thin dark border on two sides, or a photograph that cuts the sheet off
        "cut by the frame": photograph(page, corners=np.array([[0.0, 0.0], [0.9, 0.03], [0.95, 0.95], [0.0, 1.0]]))[0],
        # its lit part is no sheet (the frame cuts it), nor is the whole frame
        "a scan in shadow": shaded(page),
    }[what]
    assert find_paper(image) is None


def test_a_sheet_upright_on_a_dark_scanner_bed_is_left_as_it_is():
    page, _ = make_page(4)
    upright = np.array([[0.05, 0.04], [0.95, 0.04], [0.95, 0.96], [0.05, 0.96]])
    photo, truth = photograph(page, corners=upright)
    assert find_paper(photo) is None
    found = find_paper(photo, upright=True)
    assert found is not None and found.upright()
    assert np.abs(found.quad - truth).max() < 0.01 * np.hypot(*photo.shape)


def test_corners_are_ordered_clockwise_from_the_top_left():
    q = np.array([[90, 95], [10, 5], [5, 90], [100, 10]], float)
    assert order_corners(q).tolist() == [[10, 5], [100, 10], [90, 95], [5, 90]]
    p = Paper.from_quad(q, (120, 120))
    assert p.size == (round(np.hypot(90, 5)), round(np.hypot(10, 85)))  # the longer of each pair of sides


def test_segmenting_a_photograph_finds_the_pages_lines_on_the_sheet():
    page, boxes = make_page(6)
    photo, truth = photograph(page)
    flat = segment_page(page)
    seen = segment_page(photo)
    assert len(flat.lines) == len(boxes) == 6
    assert len(seen.lines) == 6
    assert (seen.width, seen.height) == (photo.shape[1], photo.shape[0])
    for ln in seen.lines:  # given on the photograph, on the sheet
        assert inside(truth, ln.polygon) and inside(truth, ln.baseline)
    # each line's baseline lies on one of the page's lines, carried onto the photograph
    h, w = page.shape
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(truth))
    on_photo = [cv2.perspectiveTransform(np.float32(b).reshape(-1, 1, 2), M).reshape(-1, 2) for b in boxes]
    assert sorted(next(i for i, b in enumerate(on_photo) if inside(b, ln.baseline, margin=25))
                  for ln in seen.lines) == list(range(6))
    for reg in seen.regions:
        assert inside(truth, reg.polygon)
    # top to bottom on the sheet: the baselines' middles go down the photograph
    mids = [np.mean(np.asarray(ln.baseline)[:, 1]) for ln in seen.lines]
    assert mids == sorted(mids)


def test_a_shadow_across_the_sheet_is_part_of_it():
    """The lit part of a shaded sheet is a bright quadrilateral of its own; the whole sheet,
    shadow and all, is what is flattened, and its shaded lines are segmented with the rest."""
    page, boxes = make_page(6)
    photo, truth = photograph(page)  # the shaded paper is no brighter than the lit table
    photo = shaded(photo)
    paper = find_paper(photo)
    assert paper is not None
    assert np.abs(paper.quad - truth).max() < 0.01 * np.hypot(*photo.shape)
    seen = segment_page(photo)
    assert len(seen.lines) == len(boxes) == 6
    h, w = page.shape
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(truth))
    on_photo = [cv2.perspectiveTransform(np.float32(b).reshape(-1, 1, 2), M).reshape(-1, 2) for b in boxes]
    assert sorted(next(i for i, b in enumerate(on_photo) if inside(b, ln.baseline, margin=25))
                  for ln in seen.lines) == list(range(6))


def test_a_sheet_mostly_in_deep_shadow_is_found_by_its_ratio_to_the_table(monkeypatch):
    """All but a strip at its right in a deep shadow that covers the table too: the sheet is
    then less than 35 grey levels brighter than its surroundings, but several times as bright."""
    import hwr.imaging.paper as paper_mod

    page, _ = make_page(6)
    photo, truth = photograph(page, table=40)
    H, W = photo.shape
    yy, xx = np.mgrid[0:H, 0:W]
    d = (0.8 * W + 0.3 * yy * W / H - xx) / 15.0  # > 0 left of a line near the right edge
    photo = np.clip(photo * (1.0 - 0.8 / (1.0 + np.exp(-d))), 0, 255).astype(np.uint8)
    paper = find_paper(photo)
    assert paper is not None and np.abs(paper.quad - truth).max() < 0.01 * np.hypot(H, W)
    monkeypatch.setattr(paper_mod, "MIN_RATIO", 100.0)  # grey levels alone: no sheet
    assert find_paper(photo) is None


def test_a_flattened_sheet_is_paper_from_edge_to_edge():
    """On a scan, paper far darker than the rest beyond a sharp edge is a border and its ink
    is dropped; on a sheet flattened out of a photograph it is paper in a (sharp-edged)
    shadow, and its writing is kept."""
    from hwr.segmentation.preprocess import prepare

    page, _ = make_page(6, ruling=False, noise=False)
    dim = page.astype(np.float64)
    dim[:, : page.shape[1] // 2] *= 0.4  # the left half in deep shadow
    dim = dim.astype(np.uint8)

    def ink_on_the_left(sheet: bool) -> int:
        prep = prepare(dim, deskew=False, orientation=False, sheet=sheet)[0]
        return int(prep.ink[:, : int((page.shape[1] // 2 - 50) * prep.to_work[0, 0])].sum())

    assert ink_on_the_left(sheet=False) < 0.1 * ink_on_the_left(sheet=True)
    assert len(segment_page(dim, paper=False, sheet=True).lines) == 6


def test_a_scan_in_shadow_keeps_its_shaded_writing(monkeypatch):
    """A page filling the frame (no sheet to find) with a soft shadow over its right part: the
    shaded paper is reached from the lit paper across the shadow's soft edge and read as
    paper, so the lines run on into the shadow."""
    import hwr.segmentation.preprocess as pp

    page, boxes = make_page(6)
    x = np.arange(page.shape[1])
    dim = (page * (1.0 - 0.6 / (1.0 + np.exp(-(x - 0.6 * page.shape[1]) / 15.0)))[None, :]).astype(np.uint8)
    assert find_paper(dim) is None

    def spans() -> list[float]:
        lines = segment_page(dim).lines
        assert len(lines) == len(boxes) == 6
        return [float(np.ptp(np.asarray(ln.polygon)[:, 0])) for ln in lines]

    truth = [float(np.ptp(np.asarray(b)[:, 0])) for b in boxes]
    assert all(s > 0.95 * t for s, t in zip(spans(), truth))
    # without that, the shaded paper is taken for a dark border and the lines end at the shadow
    monkeypatch.setattr(pp, "shaded_paper", lambda gray, paper: np.zeros_like(paper))
    assert sum(spans()) < 0.85 * sum(truth)


def test_paper_false_segments_the_photograph_as_it_is(monkeypatch):
    import hwr.imaging.paper as paper_mod

    page, _ = make_page(3)
    photo, _ = photograph(page)
    calls = []
    monkeypatch.setattr(paper_mod, "find_paper", lambda gray, upright=False: calls.append(1))
    segment_page(photo, paper=False)
    assert calls == []
    segment_page(photo)
    assert calls == [1]


def test_a_photograph_is_read_flat_and_its_lines_given_on_the_photograph():
    from hwr.pipeline import Recognizer
    from tests.synth import synth_page

    page = cv2.resize(synth_page(2, n_lines=4), None, fx=1.4, fy=1.4)
    page = cv2.copyMakeBorder(page, 150, 150, 100, 100, cv2.BORDER_CONSTANT, value=225)
    photo, truth = photograph(page, size=(1500, 1300))
    rec = Recognizer(kind="image", decoder="greedy")
    flat = rec.recognize_page(page)
    seen = rec.recognize_page(photo)
    assert len(seen.lines) == len(flat.lines) == 4
    assert all(inside(truth, ln.polygon) for ln in seen.lines)
    as_is = Recognizer(kind="image", decoder="greedy", paper=False).recognize_page(photo)
    assert [ln.polygon for ln in as_is.lines] != [ln.polygon for ln in seen.lines]


def test_the_command_line_flattens_a_photograph_unless_told_not_to(tmp_path):
    import json

    from click.testing import CliRunner

    from hwr.cli.main import cli

    page, _ = make_page(4)
    photo, truth = photograph(page)
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), photo)
    runs = {}
    for flags in ([], ["--no-paper"]):
        res = CliRunner().invoke(cli, ["segment", *flags, str(path)])
        assert res.exit_code == 0, res.output
        runs[bool(flags)] = json.loads(res.stdout.strip().splitlines()[-1])["lines"]
    assert len(runs[False]) == 4 and all(inside(truth, ln["polygon"]) for ln in runs[False])
    assert [ln["polygon"] for ln in runs[False]] != [ln["polygon"] for ln in runs[True]]
