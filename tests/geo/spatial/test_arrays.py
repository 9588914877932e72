"""The wrappers take any array-like of shape (n, 2) and give exactly what its C-contiguous
float64 copy gives -- Fortran order, strided slices, pandas ``to_numpy()``, lists of pairs,
float32 and integers -- checked against scipy's cKDTree and brute force as in test_kernels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from geo.spatial import GridIndex, counts_within, grid_aggregate, idw, leaf_load, nearest_distances
from tests.support import shared_data

RADII = (4.0, 10.0, 25.0)


def _clustered(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.random((30, 2)) * 2000.0
    which = rng.integers(0, 30, n)
    return np.ascontiguousarray(centres[which] + rng.normal(size=(n, 2)) * 60.0)


def _distances(query: np.ndarray, target: np.ndarray) -> np.ndarray:
    dx = query[:, 0][:, None] - target[:, 0][None, :]
    dy = query[:, 1][:, None] - target[:, 1][None, :]
    return np.asarray(np.sqrt(dx * dx + dy * dy), dtype=np.float64)


def _fortran(xy: np.ndarray) -> np.ndarray:
    out = np.asfortranarray(xy)
    assert not out.flags.c_contiguous
    return out


def _strided(xy: np.ndarray) -> np.ndarray:
    """The same values as a view with a row stride of three columns (not contiguous)."""
    wide = np.zeros((len(xy), 3))
    wide[:, :2] = xy
    out = wide[:, :2]
    assert not out.flags.c_contiguous and not out.flags.f_contiguous
    return out


def _every_other_row(xy: np.ndarray) -> np.ndarray:
    """The same values as a view that skips a row between each two."""
    doubled = np.repeat(xy, 2, axis=0)
    out = doubled[::2]
    assert not out.flags.c_contiguous
    return out


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "fortran": _fortran,
    "strided columns": _strided,
    "every other row": _every_other_row,
}

QUERY = _clustered(1, 3000)
TARGET = _clustered(2, 6000)


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_nearest_on_any_layout_is_the_same_as_on_the_contiguous_copy(layout: str) -> None:
    as_layout = LAYOUTS[layout]
    query, target = as_layout(QUERY), as_layout(TARGET)
    dist, idx = nearest_distances(query, target)
    want_dist, want_idx = nearest_distances(QUERY, TARGET)
    np.testing.assert_array_equal(dist, want_dist)
    np.testing.assert_array_equal(idx, want_idx)
    expected, _ = cKDTree(TARGET).query(QUERY, k=1)
    np.testing.assert_allclose(dist, expected, rtol=0, atol=1e-6)
    # cKDTree takes the same layout as it is: the oracle agrees on it too
    on_layout, _ = cKDTree(target).query(query, k=1)
    np.testing.assert_allclose(dist, on_layout, rtol=0, atol=1e-6)


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_counts_and_leaf_load_on_any_layout_are_the_same(layout: str) -> None:
    as_layout = LAYOUTS[layout]
    query, target = as_layout(QUERY), as_layout(TARGET)
    weights = np.random.default_rng(3).choice([1.0, 0.5, 0.3], len(TARGET))
    strided_weights = np.repeat(weights, 2)[::2]
    counts = counts_within(query, target, RADII)
    np.testing.assert_array_equal(counts, counts_within(QUERY, TARGET, RADII))
    tree = cKDTree(TARGET)
    for j, r in enumerate(RADII):
        expected = np.array([len(n) for n in tree.query_ball_point(QUERY, r)])
        np.testing.assert_array_equal(counts[:, j], expected)
    load = leaf_load(query, target, strided_weights, 10.0)
    np.testing.assert_array_equal(load, leaf_load(QUERY, TARGET, weights, 10.0))
    d = _distances(QUERY, TARGET)
    oracle = ((d <= 10.0) * (1.0 - d / 10.0) * weights[None, :]).sum(axis=1)
    np.testing.assert_allclose(load, oracle, rtol=1e-12, atol=1e-12)


def test_pandas_to_numpy_is_taken_as_it_is() -> None:
    frame = pd.read_csv(shared_data("velsen-bomen") / "velsen_bomen_points.csv")
    xy = frame[["x_rd", "y_rd"]].to_numpy()
    copy = np.ascontiguousarray(xy, dtype=np.float64)
    query = copy[::50] + 3.0
    dist, idx = nearest_distances(query, xy)
    want_dist, want_idx = nearest_distances(query, copy)
    np.testing.assert_array_equal(dist, want_dist)
    np.testing.assert_array_equal(idx, want_idx)
    expected, _ = cKDTree(xy).query(query, k=1)
    np.testing.assert_allclose(dist, expected, rtol=0, atol=1e-6)
    index = GridIndex(xy)
    assert index.size == len(frame)
    np.testing.assert_array_equal(index.nearest(query)[0], want_dist)


def test_lists_float32_and_integers_are_converted() -> None:
    target = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    query = np.array([[1.0, 1.0], [50.0, 50.0]])
    want = nearest_distances(query, target)
    for q, t in (
        (query.tolist(), target.tolist()),
        ([(1, 1), (50, 50)], [(0, 0), (3, 4), (10, 0)]),
        (query.astype(np.float32), target.astype(np.float32)),
        (query.astype(np.int64), target.astype(np.int32)),
    ):
        got = nearest_distances(q, t)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(
        counts_within(query.tolist(), target.tolist(), (5.0,)), counts_within(query, target, (5.0,))
    )
    np.testing.assert_array_equal(
        leaf_load(query.tolist(), target.tolist(), [1.0, 0.5, 1.0], 10.0),
        leaf_load(query, target, np.array([1.0, 0.5, 1.0]), 10.0),
    )
    summary = GridIndex(target.tolist()).nearby(
        query.tolist(), (5.0,), weights=[1.0, 1.0, 1.0], load_radius=10.0, flags=[True, False, True]
    )
    same = GridIndex(target).nearby(
        query, (5.0,), weights=np.ones(3), load_radius=10.0, flags=np.array([True, False, True])
    )
    np.testing.assert_array_equal(summary.counts, same.counts)
    np.testing.assert_array_equal(summary.load, same.load)
    np.testing.assert_array_equal(summary.flagged, same.flagged)


def test_cells_and_idw_on_any_layout_are_the_same() -> None:
    values = np.random.default_rng(4).random(len(TARGET))
    for as_layout in LAYOUTS.values():
        xy = as_layout(TARGET)
        got = grid_aggregate(xy, np.repeat(values, 2)[::2], 100.0)
        want = grid_aggregate(TARGET, values, 100.0)
        for field in ("ix", "iy", "count", "sum", "mean", "max"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
        centres = as_layout(QUERY[:200])
        for radius in (None, 300.0):
            mean, cover = idw(xy, values, centres, max_radius=radius)
            want_mean, want_cover = idw(TARGET, values, QUERY[:200], max_radius=radius)
            np.testing.assert_array_equal(mean, want_mean)
            np.testing.assert_array_equal(cover, want_cover)
    listed = grid_aggregate(TARGET[:10].tolist(), values[:10].tolist(), 100.0)
    np.testing.assert_array_equal(listed.sum, grid_aggregate(TARGET[:10], values[:10], 100.0).sum)


def test_an_already_contiguous_float64_array_is_not_copied() -> None:
    from geo.spatial.arrays import as_xy

    xy = np.zeros((4, 2))
    assert as_xy("xy", xy) is xy
    assert as_xy("xy", np.asfortranarray(xy)) is not xy
