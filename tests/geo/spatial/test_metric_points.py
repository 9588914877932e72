"""Coordinates read once (`MetricPoints`) and the one-pass cell union give what the frames and
the per-set aggregates give, to the bit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.spatial import (
    LEAF_CLASSES,
    RD_NEW,
    MetricPoints,
    cell_indicators,
    drain_tree_indicators,
    grid_aggregate,
    metric_points,
    union_cells,
)
from geo.spatial._kernels import merge_cells


def _frames(seed: int, drains: int = 400, trees: int = 3_000) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    origin = np.array([150_000.0, 450_000.0])
    dxy = origin + rng.random((drains, 2)) * 2_000.0
    txy = origin + np.vstack([rng.random((trees - 50, 2)) * 2_000.0, rng.normal(size=(50, 2)) + 1_000.0])
    leaf = pd.Categorical.from_codes(rng.choice(4, size=trees), categories=list(LEAF_CLASSES))
    d = gpd.GeoDataFrame({"id": np.arange(drains)}, geometry=shapely.points(dxy), crs=RD_NEW)
    t = gpd.GeoDataFrame(
        {"id": np.arange(trees, dtype=np.int32) * 7, "leaf_class": leaf},
        geometry=shapely.points(txy),
        crs=RD_NEW,
    )
    return d, t


def test_metric_points_give_the_same_indicators_and_cells_as_the_frames() -> None:
    d, t = _frames(1)
    t.loc[t.index[:5], "geometry"] = None  # trees without a position are skipped either way
    dp = metric_points(d)
    tp = metric_points(t, dp.crs)
    ind = drain_tree_indicators(d, t)
    pd.testing.assert_frame_equal(drain_tree_indicators(dp, tp), ind)
    pd.testing.assert_frame_equal(drain_tree_indicators(dp, t), ind)
    cells = cell_indicators(d, t, 50.0, indicators=ind)
    pd.testing.assert_frame_equal(cell_indicators(dp, tp, 50.0, indicators=ind), cells)
    pd.testing.assert_frame_equal(cell_indicators(dp, tp, 50.0), cells)
    # trees prepared in another CRS are read again in the drains' CRS
    t_wgs = t.to_crs("EPSG:4326")
    other = metric_points(t_wgs, t_wgs.crs)
    pd.testing.assert_frame_equal(drain_tree_indicators(dp, other), drain_tree_indicators(d, t_wgs))


def test_nearest_tree_ids_keep_their_dtype_and_missing_is_na() -> None:
    d, t = _frames(2)
    ind = drain_tree_indicators(d, t)
    assert ind["nearest_tree_id"].dtype == pd.Int32Dtype()
    ids = drain_tree_indicators(d, t.iloc[:0])["nearest_tree_id"]
    assert ids.isna().all()
    named = t.assign(id=[f"t{i}" for i in range(len(t))])
    assert drain_tree_indicators(d, named)["nearest_tree_id"].iloc[0].startswith("t")


def test_metric_points_are_validated() -> None:
    d, _ = _frames(3)
    dp = metric_points(d)
    with pytest.raises(ValueError, match="xy must be"):
        MetricPoints(d, dp.crs, dp.xy[:-1])
    with pytest.raises(TypeError, match=r"pyproj\.CRS"):
        MetricPoints(d, "EPSG:28992", dp.xy)  # type: ignore[arg-type]


def _by_merge(a: np.ndarray, vals: np.ndarray, b: np.ndarray, cs: float) -> list[np.ndarray]:
    ag = grid_aggregate(a, vals, cs)
    bg = grid_aggregate(b, np.empty((len(b), 0)), cs)
    ix, iy, at_a, at_b = merge_cells(ag.ix, ag.iy, bg.ix, bg.iy)
    ca = np.zeros(len(ix), np.int64)
    ca[at_a] = ag.count
    cb = np.zeros(len(ix), np.int64)
    cb[at_b] = bg.count
    mean = np.full((len(ix), vals.shape[1]), np.nan)
    mean[at_a] = ag.mean
    return [ix, iy, ca, cb, mean]


@pytest.mark.parametrize("seed", range(6))
def test_union_cells_equal_both_aggregates_merged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(size=(rng.integers(0, 500), 2)) * 300.0, 1)
    b = np.round(rng.normal(size=(rng.integers(0, 500), 2)) * 300.0 + 100.0, 1)
    vals = rng.random((len(a), 2))
    if seed % 3 == 0 and len(a):
        vals[rng.integers(0, len(a), 10), 1] = np.nan  # NaN values are skipped, as grid_aggregate does
    if seed % 2 == 1:
        b = np.vstack([b, [[1e9, -1e9]]])  # a huge extent: the sparse way
    got = union_cells(a, vals, b, 25.0)
    want = _by_merge(a, vals, b, 25.0)
    for g, w in zip((got.ix, got.iy, got.a_count, got.b_count, got.a_mean), want, strict=True):
        np.testing.assert_array_equal(g, w)
