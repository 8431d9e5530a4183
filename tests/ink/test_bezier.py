"""Bézier-curve fitting and per-curve features (hwr.ink.bezier)."""

from __future__ import annotations

import numpy as np
import pytest

from hwr.ink.normalize import normalize_raw
from hwr.ink.bezier import (
    BEZIER_SPACING,
    FEATURE_NAMES,
    NUM_FEATURES,
    bezier_features,
    bezier_points,
    fit_ink,
    fit_stroke,
    ink_bezier_features,
    sample_curves,
)
from hwr.ink.features import ink_features
from hwr.ink.normalize import normalize_ink
from hwr.types import Ink, Stroke


def handwriting(seed: int = 0, scale: float = 60.0) -> Ink:
    """A line of synthetic cursive in device units (y down), ~100 Hz with uneven pen speed:
    words of loops and arches (a prolate cycloid with varying loop height), each followed by
    a dot and a short crossing stroke."""
    rng = np.random.default_rng(seed)
    strokes = []
    x0 = 0.0
    for w in range(4):
        n_loops = 3 + w
        u = np.linspace(0.0, 2 * np.pi * n_loops, 120 * n_loops)
        u = u + 0.3 * np.sin(u / 3.0)  # uneven speed, still monotone
        height = 1.0 + 0.8 * (np.sin(u / 2.0 + w) > 0.6)  # some letters with ascenders
        px = x0 + 0.1 * u - 0.35 * np.sin(u)
        py = 0.5 * height * (1.0 - np.cos(u))  # y up in writing units, baseline 0
        strokes.append(np.stack([px, py], axis=1))
        strokes.append(np.array([[px[60], 1.5], [px[60] + 0.02, 1.52]]))  # an i-dot
        strokes.append(np.array([[px[-100] - 0.2, 1.0], [px[-100] + 0.25, 1.02], [px[-100] + 0.3, 1.05]]))
        x0 = px[-1] + 0.8
    out = []
    for s in strokes:
        s = s + rng.normal(0.0, 0.004, s.shape)
        out.append(Stroke(1000.0 + scale * s[:, 0], 800.0 - scale * s[:, 1], 0.01 * np.arange(len(s))))
    return Ink(strokes=out, text="synthetic")


def transform(ink: Ink, fx) -> Ink:
    return Ink(strokes=[fx(s) for s in ink.strokes], text=ink.text)


def _dist_to_curves(points: np.ndarray, curves: list[np.ndarray], n: int = 200) -> np.ndarray:
    """Distance of each point to the chain of ``curves`` (a polyline through ``n`` samples per curve)."""
    return _dist_to_polyline(points, sample_curves(curves, n).reshape(-1, 2))


def _dist_to_polyline(q: np.ndarray, poly: np.ndarray) -> np.ndarray:
    a, ab = poly[:-1], poly[1:] - poly[:-1]
    ll = np.maximum((ab ** 2).sum(axis=1), 1e-300)
    u = np.clip(((q[:, None] - a) * ab).sum(axis=2) / ll, 0.0, 1.0)
    return np.sqrt(((q[:, None] - a - u[..., None] * ab) ** 2).sum(axis=2)).min(axis=1)


def _assert_chain(curves: list[np.ndarray], p: np.ndarray) -> None:
    assert all(c.shape == (4, 2) and np.all(np.isfinite(c)) for c in curves)
    np.testing.assert_allclose(curves[0][0], p[0])
    np.testing.assert_allclose(curves[-1][3], p[-1])
    for a, b in zip(curves[:-1], curves[1:]):
        np.testing.assert_allclose(a[3], b[0])


# --------------------------------------------------------------------------- fitting


CUBIC = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0], [4.0, 1.0]])


@pytest.mark.parametrize("spacing", ["random", "uniform"])
def test_points_of_a_cubic_are_fitted_exactly(spacing):
    rng = np.random.default_rng(1)
    t = np.sort(rng.random(60)) if spacing == "random" else np.linspace(0, 1, 60)
    t[0], t[-1] = 0.0, 1.0
    p = bezier_points(CUBIC, t)
    curves = fit_stroke(p, max_error=1e-6)
    assert len(curves) == 1
    np.testing.assert_allclose(curves[0], CUBIC, atol=1e-5)
    assert _dist_to_curves(p, curves, 2000).max() < 1e-5


@pytest.mark.parametrize("tol", [0.1, 0.02, 0.005])
def test_circle_within_tolerance(tol):
    a = np.linspace(0, 2 * np.pi, 500)
    p = np.stack([np.cos(a), np.sin(a)], axis=1)
    curves = fit_stroke(p, tol)
    _assert_chain(curves, p)
    # a cubic matches a quarter circle to 3e-4 of the radius: a few curves suffice
    assert len(curves) <= 8
    assert _dist_to_curves(p, curves).max() <= tol + 1e-3
    # and the curves stay near the circle between the points
    dense = sample_curves(curves, 200).reshape(-1, 2)
    assert np.abs(np.hypot(dense[:, 0], dense[:, 1]) - 1.0).max() <= 2 * tol


@pytest.mark.parametrize("method", ["split", "greedy"])
@pytest.mark.parametrize("tol", [0.05, 0.01])
def test_zigzag_within_tolerance(tol, method):
    corners = np.array([[0, 0], [1, 2], [2, 0], [3, 2], [4, 0], [4.5, 1.5]], float)
    seg = np.sqrt((np.diff(corners, axis=0) ** 2).sum(axis=1))
    s = np.concatenate([[0], np.cumsum(seg)])
    q = np.linspace(0, s[-1], 400)
    rng = np.random.default_rng(0)
    p = np.stack([np.interp(q, s, corners[:, 0]), np.interp(q, s, corners[:, 1])], axis=1)
    p = p + rng.normal(0, 0.002, p.shape)
    curves = fit_stroke(p, tol, method=method)
    _assert_chain(curves, p)
    assert len(p) / len(curves) > 8
    assert _dist_to_curves(p, curves).max() <= tol + 2e-3
    dense = sample_curves(curves, 100).reshape(-1, 2)
    assert _dist_to_polyline(dense, p).max() <= 1.5 * tol


def test_greedy_needs_no_more_curves_than_split():
    a = np.linspace(0, 4 * np.pi, 300)
    p = np.stack([a / 3 + 0.4 * np.cos(a), 0.6 * np.sin(a) + 0.1 * np.sin(3.3 * a)], axis=1)
    split, greedy = fit_stroke(p, 0.02, method="split"), fit_stroke(p, 0.02, method="greedy")
    assert len(greedy) <= len(split)
    for curves in (split, greedy):
        _assert_chain(curves, p)
        assert _dist_to_curves(p, curves).max() <= 0.02 + 1e-3


def test_straight_line_is_one_curve():
    p = np.stack([np.linspace(0, 5, 300), np.linspace(1, -2, 300)], axis=1)
    curves = fit_stroke(p, 0.01)
    assert len(curves) == 1
    np.testing.assert_allclose(curves[0][1], p[0] + (p[-1] - p[0]) / 3, atol=1e-6)
    np.testing.assert_allclose(curves[0][2], p[0] + 2 * (p[-1] - p[0]) / 3, atol=1e-6)


def test_one_two_and_repeated_points():
    one = fit_stroke(np.array([[2.0, 3.0]]), 0.05)
    assert len(one) == 1 and np.all(one[0] == [2.0, 3.0])
    same = fit_stroke(np.array([[2.0, 3.0]] * 5), 0.05)
    assert len(same) == 1 and np.all(same[0] == [2.0, 3.0])
    two = fit_stroke(np.array([[0.0, 0.0], [3.0, 3.0]]), 0.05)
    assert len(two) == 1
    np.testing.assert_allclose(two[0], [[0, 0], [1, 1], [2, 2], [3, 3]])
    three = fit_stroke(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), 1e-4)  # under-determined
    assert all(np.all(np.isfinite(c)) for c in three)
    assert _dist_to_curves(np.array([[1.0, 1.0]]), three).max() < 1e-3
    assert fit_stroke(np.zeros((0, 2)), 0.05) == []


def test_bad_arguments():
    with pytest.raises(ValueError):
        fit_stroke(np.array([[0.0, 0.0], [np.nan, 1.0]]), 0.05)
    with pytest.raises(ValueError):
        fit_stroke(np.array([[0.0, 0.0], [1.0, 1.0]]), 0.0)
    with pytest.raises(ValueError):
        fit_stroke(np.array([[0.0, 0.0], [1.0, 1.0]]), 0.05, method="magic")


# --------------------------------------------------------------------------- features


@pytest.fixture(scope="module")
def ink() -> Ink:
    return handwriting()


@pytest.fixture(scope="module")
def feats(ink) -> np.ndarray:
    return ink_bezier_features(ink)


def test_features_shape_finite_and_short(ink, feats):
    assert len(FEATURE_NAMES) == NUM_FEATURES == feats.shape[1] == 10
    assert feats.dtype == np.float32
    assert np.all(np.isfinite(feats))
    assert int(feats[:, FEATURE_NAMES.index("pen_up")].sum()) == len(ink.strokes)
    assert feats[0, FEATURE_NAMES.index("pen_up")] == 1.0
    points = ink_features(ink)
    assert len(feats) < len(points) / 3, (len(feats), len(points))
    assert len(feats) >= len(ink.strokes)


def test_features_describe_the_curves(ink, feats):
    norm = normalize_ink(ink, BEZIER_SPACING)
    bez = fit_ink(norm)
    assert len(bez) == len(feats)
    c = bez.curves
    np.testing.assert_allclose(feats[:, 0:2], np.clip(c[:, 3] - c[:, 0], -8, 8), atol=1e-5)
    np.testing.assert_allclose(feats[:, 9], np.clip(c[:, 0, 1], -4, 4), atol=1e-5)
    first = np.flatnonzero(feats[:, 6] == 1)[1:]
    np.testing.assert_allclose(feats[first, 7:9], c[first, 0] - c[first - 1, 3], atol=1e-5)
    assert np.all(feats[feats[:, 6] == 0][:, 7:9] == 0)
    assert np.all(feats[0, 7:9] == 0)
    # every curve starts where the previous one ended, unless the pen was lifted
    inner = np.flatnonzero(feats[:, 6] == 0)
    np.testing.assert_allclose(c[inner, 0], c[inner - 1, 3], atol=1e-9)
    # the fit respects the tolerance on the resampled points
    cuts = np.flatnonzero(norm.stroke[1:] != norm.stroke[:-1]) + 1
    for k, pts in enumerate(np.split(norm.xy, cuts)):
        curves = list(c[bez.stroke == k])
        assert _dist_to_curves(pts, curves).max() <= 0.05 + 2e-3


def test_features_invariant_to_translation_and_scale(ink, feats):
    for k, dx, dy in ((1.0, 500.0, -300.0), (3.7, 0.0, 0.0), (0.05, 12.0, 7.0)):
        moved = transform(ink, lambda s: Stroke(s.x * k + dx, s.y * k + dy, s.t, s.pressure))
        f2 = ink_bezier_features(moved)
        assert f2.shape == feats.shape
        np.testing.assert_allclose(f2, feats, atol=1e-4)


def test_dots_and_short_strokes():
    ink = Ink(strokes=[
        Stroke([0.0, 10.0, 20.0, 30.0], [0.0, 8.0, 0.0, 8.0]),
        Stroke([15.0], [-10.0]),  # a dot
        Stroke([40.0, 40.0, 40.0], [5.0, 5.0, 5.0]),  # a dot written as repeated points
        Stroke([50.0, 60.0], [0.0, 10.0]),  # two points
        Stroke([70.0, 71.0, 90.0], [0.0, 10.0, 10.0]),
    ])
    f = ink_bezier_features(ink)
    assert np.all(np.isfinite(f))
    pen = f[:, FEATURE_NAMES.index("pen_up")]
    assert int(pen.sum()) == 5
    dots = np.flatnonzero(pen == 1)[[1, 2]]
    for i in dots:  # degenerate curves: no movement, no shape
        assert np.all(f[i, 0:6] == 0)
    line = np.flatnonzero(pen == 1)[3]
    np.testing.assert_allclose(f[line, 2:4], 1 / 3, atol=1e-6)
    np.testing.assert_allclose(f[line, 4:6], 0, atol=1e-6)
    # a single stroke of a single point
    f1 = ink_bezier_features(Ink(strokes=[Stroke([3.0], [4.0])]))
    assert f1.shape == (1, NUM_FEATURES) and np.all(np.isfinite(f1))


def test_empty_normalized_ink_gives_no_rows(ink):
    norm = normalize_ink(ink, BEZIER_SPACING)
    norm.xy, norm.stroke = norm.xy[:0], norm.stroke[:0]
    assert bezier_features(norm).shape == (0, NUM_FEATURES)


def test_normalize_raw_uses_the_same_transform(ink):
    raw = normalize_raw(ink)
    res = normalize_ink(ink, BEZIER_SPACING)
    np.testing.assert_allclose(raw.matrix, res.matrix)
    assert raw.stroke.max() == res.stroke.max()
    # resampling keeps the end points of every stroke
    for k in range(len(ink.strokes)):
        np.testing.assert_allclose(raw.xy[raw.stroke == k][[0, -1]], res.xy[res.stroke == k][[0, -1]], atol=1e-9)
