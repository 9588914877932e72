"""The spatial kernels against independent oracles, on real registers and random data.

Oracles: scipy's cKDTree for the nearest neighbour (distances within 1e-6 m; of tied targets
any one may be returned, so the index is checked by the distance it points at), brute-force
numpy distance matrices for counts within radii and leaf load, pandas groupby for cell
aggregation, and the IDW formula written out in numpy.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from geo.spatial import (
    GridIndex,
    counts_within,
    grid_aggregate,
    idw,
    leaf_load,
    nearest_distances,
    threading_layer,
    threads,
    warm_up,
)
from tests.support import shared_data

RADII = (0.5, 4.0, 10.0, 25.0)


# --------------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def castricum_drains() -> np.ndarray:
    frame = pd.read_csv(shared_data("nl-castricum-kolken") / "kolken_castricum_limmen_akersloot_points.csv")
    assert len(frame) == 25_153
    return np.ascontiguousarray(frame[["x_rd", "y_rd"]].to_numpy(np.float64))


@pytest.fixture(scope="module")
def velsen_trees() -> np.ndarray:
    frame = pd.read_csv(shared_data("velsen-bomen") / "velsen_bomen_points.csv")
    assert len(frame) == 20_672
    return np.ascontiguousarray(frame[["x_rd", "y_rd"]].to_numpy(np.float64))


def _clustered(rng: np.random.Generator, n: int, extent: float = 3000.0, clusters: int = 40) -> np.ndarray:
    centres = rng.random((clusters, 2)) * extent
    which = rng.integers(0, clusters, n)
    spread = rng.uniform(20.0, 300.0, clusters)[which]
    return np.ascontiguousarray(centres[which] + rng.normal(size=(n, 2)) * spread[:, None])


def _random_sets() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20260611)
    yield "uniform", rng.random((3000, 2)) * 1000.0, rng.random((5000, 2)) * 1000.0
    yield "clustered", _clustered(rng, 3000), _clustered(rng, 8000)
    # integer coordinates: many exact ties and duplicates, points on cell borders
    yield (
        "integer grid",
        rng.integers(0, 60, (2000, 2)).astype(np.float64),
        rng.integers(0, 60, (3000, 2)).astype(np.float64),
    )
    # RD-like magnitudes with millimetre precision
    base = np.array([104_000.0, 502_000.0])
    yield (
        "rd magnitudes",
        np.round(base + rng.random((2000, 2)) * 2000.0, 3),
        np.round(base + rng.random((4000, 2)) * 2000.0, 3),
    )


RANDOM = list(_random_sets())


def _distances(query: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Brute-force distance matrix, written the way the kernels compute a distance."""
    dx = query[:, 0][:, None] - target[:, 0][None, :]
    dy = query[:, 1][:, None] - target[:, 1][None, :]
    return np.asarray(np.sqrt(dx * dx + dy * dy), dtype=np.float64)


def _brute_counts(query: np.ndarray, target: np.ndarray, radii: tuple[float, ...]) -> np.ndarray:
    out = np.zeros((len(query), len(radii)), np.int64)
    for a in range(0, len(query), 250):
        d = _distances(query[a : a + 250], target)
        for j, r in enumerate(radii):
            out[a : a + 250, j] = (d <= r).sum(axis=1)
    return out


def _sample(xy: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.ascontiguousarray(xy[rng.choice(len(xy), size=min(n, len(xy)), replace=False)])


# --------------------------------------------------------------------------------- oracles


def assert_nearest_matches_kdtree(query: np.ndarray, target: np.ndarray) -> None:
    dist, idx = nearest_distances(query, target)
    assert dist.shape == (len(query),) and idx.shape == (len(query),)
    assert dist.dtype == np.float64 and idx.dtype == np.int64
    expected, _ = cKDTree(target).query(query, k=1)
    np.testing.assert_allclose(dist, expected, rtol=0, atol=1e-6)
    assert ((idx >= 0) & (idx < len(target))).all()
    pointed = np.hypot(query[:, 0] - target[idx, 0], query[:, 1] - target[idx, 1])
    np.testing.assert_allclose(pointed, dist, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("name", "query", "target"), RANDOM, ids=[r[0] for r in RANDOM])
def test_nearest_matches_kdtree_on_random_data(name: str, query: np.ndarray, target: np.ndarray) -> None:
    assert_nearest_matches_kdtree(query, target)


def test_nearest_matches_kdtree_on_real_registers(
    castricum_drains: np.ndarray, velsen_trees: np.ndarray
) -> None:
    # Castricum drains to Velsen trees: neighbouring towns, so most queries lie outside the
    # trees' extent (up to ~15 km); and drains to drains, and trees to trees (self matches).
    assert_nearest_matches_kdtree(castricum_drains, velsen_trees)
    assert_nearest_matches_kdtree(velsen_trees, castricum_drains)
    assert_nearest_matches_kdtree(castricum_drains, castricum_drains)
    dist, _ = nearest_distances(velsen_trees, velsen_trees)
    assert (dist == 0).all()


@pytest.mark.parametrize(("name", "query", "target"), RANDOM, ids=[r[0] for r in RANDOM])
def test_counts_within_match_brute_force(name: str, query: np.ndarray, target: np.ndarray) -> None:
    counts = counts_within(query, target, RADII)
    assert counts.shape == (len(query), len(RADII)) and counts.dtype == np.int64
    np.testing.assert_array_equal(counts, _brute_counts(query, target, RADII))


def test_counts_within_on_real_registers(castricum_drains: np.ndarray, velsen_trees: np.ndarray) -> None:
    # drains near other drains (Castricum itself) and trees near trees (Velsen): dense, real
    for query, target in (
        (_sample(castricum_drains, 2000), castricum_drains),
        (_sample(velsen_trees, 2000), velsen_trees),
    ):
        counts = counts_within(query, target, RADII)
        np.testing.assert_array_equal(counts, _brute_counts(query, target, RADII))
        assert counts[:, 0].min() >= 1  # each sampled point finds itself


def test_counts_on_the_radius_are_inside() -> None:
    target = np.array([[0.0, 0.0], [3.0, 4.0], [4.0, 0.0], [0.0, -4.0], [4.0, 0.0001]])
    counts = counts_within(np.zeros((1, 2)), target, (4.0, 5.0))
    assert counts.tolist() == [[3, 5]]  # 4.0001 m is outside 4 m, 5 m is inside 5 m


def _oracle_load(query: np.ndarray, target: np.ndarray, weights: np.ndarray, radius: float) -> np.ndarray:
    d = _distances(query, target)
    return np.asarray(np.where(d <= radius, weights[None, :] * (1.0 - d / radius), 0.0).sum(axis=1))


@pytest.mark.parametrize(("name", "query", "target"), RANDOM, ids=[r[0] for r in RANDOM])
def test_leaf_load_matches_brute_force(name: str, query: np.ndarray, target: np.ndarray) -> None:
    weights = np.random.default_rng(3).choice([1.0, 0.5, 0.3], len(target))
    for radius in (4.0, 10.0):
        got = leaf_load(query, target, weights, radius)
        np.testing.assert_allclose(got, _oracle_load(query, target, weights, radius), rtol=1e-12, atol=1e-12)


def test_leaf_load_on_real_registers(velsen_trees: np.ndarray) -> None:
    query = _sample(velsen_trees, 2000, seed=11) + 1.5
    weights = np.random.default_rng(5).choice([1.0, 0.5, 0.3, 0.5], len(velsen_trees))
    got = leaf_load(query, velsen_trees, weights, 10.0)
    np.testing.assert_allclose(got, _oracle_load(query, velsen_trees, weights, 10.0), rtol=1e-12, atol=1e-12)
    assert (got > 0).mean() > 0.5


def test_leaf_load_decays_linearly() -> None:
    target = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    got = leaf_load(np.zeros((1, 2)), target, np.array([1.0, 1.0, 1.0, 1.0]), 10.0)
    assert got[0] == pytest.approx(1.0 + 0.8 + 0.0)


def test_fused_pass_matches_the_separate_kernels() -> None:
    rng = np.random.default_rng(9)
    query, target = _clustered(rng, 4000), _clustered(rng, 9000)
    weights = rng.choice([1.0, 0.5, 0.3], len(target))
    flags = rng.random(len(target)) < 0.3
    got = GridIndex(target).nearby(
        query, (4.0, 10.0), weights=weights, load_radius=10.0, flags=flags, flag_radius=10.0
    )
    d = _distances(query, target)
    np.testing.assert_array_equal(got.counts[:, 0], (d <= 4.0).sum(axis=1))
    np.testing.assert_array_equal(got.counts[:, 1], (d <= 10.0).sum(axis=1))
    np.testing.assert_array_equal(got.flagged, ((d <= 10.0) & flags[None, :]).sum(axis=1))
    np.testing.assert_allclose(got.load, _oracle_load(query, target, weights, 10.0), rtol=1e-12, atol=1e-12)
    expected, _ = cKDTree(target).query(query)
    np.testing.assert_allclose(got.distance, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(d[np.arange(len(query)), got.index], got.distance, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------------- cells


def _oracle_cells(xy: np.ndarray, values: np.ndarray, cs: float, origin: tuple[float, float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "ix": np.floor((xy[:, 0] - origin[0]) / cs).astype(np.int64),
            "iy": np.floor((xy[:, 1] - origin[1]) / cs).astype(np.int64),
            "v": values,
        }
    )
    out = frame.groupby(["iy", "ix"]).agg(
        count=("v", "size"), sum=("v", "sum"), mean=("v", "mean"), max=("v", "max")
    )
    return out.reset_index()


def _assert_cells(xy: np.ndarray, values: np.ndarray, cs: float, origin: tuple[float, float] | None) -> None:
    got = grid_aggregate(xy, values, cs, origin)
    want = _oracle_cells(xy, values, cs, origin or (0.0, 0.0))
    np.testing.assert_array_equal(got.ix, want["ix"].to_numpy())
    np.testing.assert_array_equal(got.iy, want["iy"].to_numpy())
    np.testing.assert_array_equal(got.count, want["count"].to_numpy())
    np.testing.assert_allclose(got.sum, want["sum"].to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.mean, want["mean"].to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(got.max, want["max"].to_numpy())


@pytest.mark.parametrize(("name", "query", "target"), RANDOM, ids=[r[0] for r in RANDOM])
def test_grid_aggregate_matches_pandas_groupby(name: str, query: np.ndarray, target: np.ndarray) -> None:
    values = np.random.default_rng(1).normal(30.0, 10.0, len(target))
    for cs, origin in ((100.0, None), (7.5, (3.0, -2.0)), (1.0, None)):
        _assert_cells(target, values, cs, origin)


def test_grid_aggregate_on_real_registers(castricum_drains: np.ndarray) -> None:
    values = np.random.default_rng(2).gamma(2.0, 1.5, len(castricum_drains))
    for cs in (100.0, 250.0, 1000.0):
        _assert_cells(castricum_drains, values, cs, None)


def test_grid_aggregate_sparse_extent_and_nan_values() -> None:
    # cells so far apart that the dense path is not used; NaN values are skipped like pandas
    xy = np.array([[0.0, 0.0], [0.5, 0.5], [1e9, 1e9], [-1e9, 5.0], [1e9, 1e9]])
    values = np.array([1.0, np.nan, 3.0, np.nan, 5.0])
    got = grid_aggregate(xy, values, 1.0)
    want = _oracle_cells(xy, values, 1.0, (0.0, 0.0))
    np.testing.assert_array_equal(got.count, want["count"].to_numpy())
    np.testing.assert_array_equal(got.ix, want["ix"].to_numpy())
    np.testing.assert_allclose(got.sum, want["sum"].to_numpy())
    np.testing.assert_array_equal(got.mean, want["mean"].to_numpy())
    np.testing.assert_array_equal(got.max, want["max"].to_numpy())


def test_grid_aggregate_points_on_cell_borders() -> None:
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [99.999, 0.0], [100.0, 100.0], [-100.0, -0.0], [200.0, 300.0]])
    values = np.arange(6.0)
    got = grid_aggregate(xy, values, 100.0)
    # a cell holds [k*cs, (k+1)*cs): a point on a border belongs to the cell above/right of it
    assert list(zip(got.ix.tolist(), got.iy.tolist(), strict=True)) == [
        (-1, 0),
        (0, 0),
        (1, 0),
        (1, 1),
        (2, 3),
    ]
    assert got.count.tolist() == [1, 2, 1, 1, 1]
    _assert_cells(xy, values, 100.0, None)


def test_grid_aggregate_several_value_columns() -> None:
    rng = np.random.default_rng(4)
    xy = rng.random((500, 2)) * 300.0
    values = rng.random((500, 3))
    got = grid_aggregate(xy, values, 50.0)
    for j in range(3):
        want = _oracle_cells(xy, values[:, j], 50.0, (0.0, 0.0))
        np.testing.assert_allclose(got.mean[:, j], want["mean"].to_numpy(), rtol=1e-12)
        np.testing.assert_array_equal(got.max[:, j], want["max"].to_numpy())


# --------------------------------------------------------------------------------- IDW


def _oracle_idw(
    points: np.ndarray, values: np.ndarray, centres: np.ndarray, power: float, radius: float | None
) -> tuple[np.ndarray, np.ndarray]:
    d = _distances(centres, points)
    use = np.ones_like(d, dtype=bool) if radius is None else d <= radius
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(use & (d > 0), 1.0 / d**power, 0.0)
        weighted = (w * values[None, :]).sum(axis=1) / w.sum(axis=1)
        exact = (use & (d == 0)).any(axis=1)
        exact_mean = np.where(use & (d == 0), values[None, :], 0.0).sum(axis=1) / (use & (d == 0)).sum(axis=1)
    out = np.where(exact, exact_mean, weighted)
    cover = np.where(use, d, np.inf).min(axis=1)
    none = ~use.any(axis=1)
    out[none] = np.nan
    cover[none] = np.nan
    return out, cover


@pytest.mark.parametrize("power", [1.0, 2.0, 3.5])
@pytest.mark.parametrize("radius", [None, 150.0, 400.0])
def test_idw_matches_the_formula(power: float, radius: float | None) -> None:
    rng = np.random.default_rng(12)
    points = rng.random((300, 2)) * 2000.0
    values = rng.normal(25.0, 8.0, 300)
    gx, gy = np.meshgrid(np.arange(0.0, 2000.0, 50.0) + 25.0, np.arange(0.0, 2000.0, 50.0) + 25.0)
    centres = np.ascontiguousarray(np.column_stack([gx.ravel(), gy.ravel()]))
    centres[:5] = points[:5]  # centres exactly on a point take its value
    got, cover = idw(points, values, centres, power=power, max_radius=radius)
    want, want_cover = _oracle_idw(points, values, centres, power, radius)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cover, want_cover, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[:5], values[:5], rtol=1e-12)
    assert (cover[:5] == 0).all()


def test_idw_on_real_positions(velsen_trees: np.ndarray) -> None:
    # sensor positions taken from real tree positions (duplicates included), cells of 250 m
    points = _sample(velsen_trees, 400, seed=21)
    points = np.ascontiguousarray(np.vstack([points, points[:20]]))
    values = np.random.default_rng(8).normal(22.0, 6.0, len(points))
    cells = grid_aggregate(velsen_trees, np.zeros(len(velsen_trees)), 250.0)
    centres = np.ascontiguousarray(np.column_stack([(cells.ix + 0.5) * 250.0, (cells.iy + 0.5) * 250.0]))
    for radius in (None, 500.0):
        got, cover = idw(points, values, centres, max_radius=radius)
        want, want_cover = _oracle_idw(points, values, centres, 2.0, radius)
        np.testing.assert_allclose(got, want, rtol=1e-10)
        np.testing.assert_allclose(cover, want_cover, rtol=0, atol=1e-9)


def test_idw_ignores_nan_values() -> None:
    points = np.array([[0.0, 0.0], [10.0, 0.0]])
    got, cover = idw(points, np.array([np.nan, 4.0]), np.array([[1.0, 0.0]]))
    assert got[0] == 4.0 and cover[0] == 9.0


# --------------------------------------------------------------------------------- edge cases

EMPTY = np.empty((0, 2))


def test_empty_queries() -> None:
    target = np.array([[1.0, 2.0], [3.0, 4.0]])
    dist, idx = nearest_distances(EMPTY, target)
    assert dist.shape == (0,) and idx.shape == (0,)
    assert counts_within(EMPTY, target, (1.0, 2.0)).shape == (0, 2)
    assert leaf_load(EMPTY, target, np.ones(2), 5.0).shape == (0,)
    values, cover = idw(target, np.ones(2), EMPTY)
    assert values.shape == (0,) and cover.shape == (0,)
    cells = grid_aggregate(EMPTY, np.empty(0), 10.0)
    assert cells.count.shape == (0,) and cells.mean.shape == (0,)


def test_empty_targets() -> None:
    query = np.array([[1.0, 2.0], [3.0, 4.0]])
    dist, idx = nearest_distances(query, EMPTY)
    assert np.isnan(dist).all() and (idx == -1).all()
    assert counts_within(query, EMPTY, (1.0, 2.0)).tolist() == [[0, 0], [0, 0]]
    assert leaf_load(query, EMPTY, np.empty(0), 5.0).tolist() == [0.0, 0.0]
    for radius in (None, 10.0):
        values, cover = idw(EMPTY, np.empty(0), query, max_radius=radius)
        assert np.isnan(values).all() and np.isnan(cover).all()


def test_one_point() -> None:
    target = np.array([[155_000.0, 463_000.0]])
    query = np.array([[155_000.0, 463_000.0], [155_003.0, 463_004.0], [0.0, 0.0]])
    dist, idx = nearest_distances(query, target)
    np.testing.assert_allclose(dist, [0.0, 5.0, np.hypot(155_000.0, 463_000.0)])
    assert idx.tolist() == [0, 0, 0]
    assert counts_within(query, target, (5.0,)).ravel().tolist() == [1, 1, 0]
    assert_nearest_matches_kdtree(query, target)


def test_all_points_in_one_cell() -> None:
    rng = np.random.default_rng(13)
    target = 50.0 + rng.random((2000, 2)) * 1e-3  # a 1 mm square
    query = np.ascontiguousarray(np.vstack([target[:50] + 1e-4, rng.random((50, 2)) * 100.0]))
    assert_nearest_matches_kdtree(query, target)
    cells = grid_aggregate(target, np.ones(2000), 100.0)
    assert cells.count.tolist() == [2000]
    d = _distances(query, target)
    np.testing.assert_array_equal(
        counts_within(query, target, (0.0005, 1.0))[:, 0], (d <= 0.0005).sum(axis=1)
    )


def test_duplicate_coordinates() -> None:
    target = np.repeat(np.array([[10.0, 10.0], [20.0, 10.0], [10.0, 30.0]]), 500, axis=0)
    query = np.array([[10.0, 10.0], [15.0, 10.0], [14.0, 20.0], [1e4, 1e4]])
    assert_nearest_matches_kdtree(query, target)
    assert counts_within(query, target, (0.0, 5.0))[:2].tolist() == [[500, 500], [0, 1000]]
    # all targets the same point: a degenerate (zero-extent) grid
    same = np.full((100, 2), 7.0)
    dist, idx = nearest_distances(np.array([[7.0, 7.0], [10.0, 11.0]]), same)
    assert dist.tolist() == [0.0, 5.0] and ((idx >= 0) & (idx < 100)).all()


def test_points_on_a_line() -> None:
    # zero extent along one axis
    target = np.column_stack([np.arange(0.0, 1000.0, 2.5), np.full(400, 5.0)])
    query = np.random.default_rng(14).random((300, 2)) * 1000.0
    assert_nearest_matches_kdtree(query, target)
    d = _distances(query, target)
    np.testing.assert_array_equal(counts_within(query, target, (3.0, 12.0))[:, 1], (d <= 12.0).sum(axis=1))


def test_queries_far_outside_the_target_extent(velsen_trees: np.ndarray) -> None:
    far = np.array(
        [
            [-1e7, -1e7],
            [1e7, 496_000.0],
            [102_000.0, 1e8],
            [-5e6, 496_000.0],
            [0.0, 0.0],
            [300_000.0, 650_000.0],
            [1e12, -1e12],
        ]
    )
    assert_nearest_matches_kdtree(far, velsen_trees)
    assert counts_within(far, velsen_trees, (10.0, 1e4)).sum() == 0
    got, cover = idw(velsen_trees[:100].copy(), np.ones(100), far, max_radius=1000.0)
    assert np.isnan(got).all() and np.isnan(cover).all()


def test_invalid_input_is_rejected_clearly() -> None:
    good = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        nearest_distances(np.zeros((3, 3)), good)
    with pytest.raises(ValueError, match=r"query_xy must have shape \(n, 2\), got \(2,\)"):
        nearest_distances([1.0, 2.0], good)
    with pytest.raises(ValueError, match=r"target_xy must have shape \(n, 2\), got \(3, 2, 1\)"):
        nearest_distances(good, np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match="query_xy must be an array of numbers"):
        nearest_distances([["a", "b"]], good)
    with pytest.raises(ValueError, match="query_xy must be an array of numbers"):
        nearest_distances([[0.0, 0.0], [1.0]], good)  # ragged
    with pytest.raises(ValueError, match="query_xy must be an array of numbers"):
        nearest_distances(np.zeros((3, 2), np.complex128), good)
    with pytest.raises(ValueError, match="non-finite"):
        nearest_distances(np.asfortranarray([[0.0, np.inf], [1.0, 1.0]]), good)
    with pytest.raises(ValueError, match="non-finite"):
        nearest_distances(good, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="weights"):
        leaf_load(good, good, np.ones(2), 4.0)
    with pytest.raises(ValueError, match="cell_size"):
        grid_aggregate(good, np.ones(3), 0.0)


# --------------------------------------------------------------------------------- threads


def test_threading_layer_is_thread_safe() -> None:
    assert threading_layer() in ("omp", "tbb")


def test_concurrent_calls_from_python_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # what a web server does: several Python threads in the parallel kernels at once (every
    # size goes parallel here; with 'workqueue' this would abort the process)
    monkeypatch.setattr(threads, "PARALLEL_MIN_QUERIES", 0)
    monkeypatch.setattr(threads, "PARALLEL_MIN_POINTS", 0)
    warm_up()
    rng = np.random.default_rng(15)
    target, query = _clustered(rng, 20_000), _clustered(rng, 5000)
    expected, _ = cKDTree(target).query(query)

    def work() -> None:
        for _ in range(5):
            dist, _ = nearest_distances(query, target)
            np.testing.assert_allclose(dist, expected, rtol=0, atol=1e-6)
            counts = counts_within(query, target, (10.0,))
            assert counts.shape == (len(query), 1)

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(work) for _ in range(4)]:
            future.result()  # re-raises a failure in the worker
