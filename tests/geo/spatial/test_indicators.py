"""Drain ↔ tree indicators on real co-located registers, against a cKDTree / brute-force oracle.

Somerville (MA) and Durham (NC) are the shared data's real pairs of drains and trees in one
city. The share of drains with a tree within 4 m and 10 m is printed (run with -s) and must
equal the oracle's exactly: both work on the same metric coordinates.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from scipy.spatial import cKDTree

from geo.spatial import (
    LEAF_WEIGHTS,
    RD_NEW,
    cell_indicators,
    drain_tree_indicators,
    metric_crs,
    to_metric_xy,
)
from tests.support import shared_data

# A few genera per class: enough to exercise the classes (the register's own table is richer).
GENUS_CLASS = {
    "Platanus": "large",
    "Quercus": "large",
    "Acer": "large",
    "Tilia": "large",
    "Aesculus": "large",
    "Liriodendron": "large",
    "Ulmus": "large",
    "Prunus": "small",
    "Lagerstroemia": "small",
    "Cercis": "small",
    "Cornus": "small",
    "Pyrus": "small",
    "Malus": "small",
    "Pinus": "needle",
    "Juniperus": "needle",
    "Cedrus": "needle",
}


def _points(
    frame: pd.DataFrame, x: str = "lon", y: str = "lat", crs: object = "EPSG:4326"
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame[x], frame[y]), crs=crs)


def _pair(city: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    folder = shared_data(city)
    drains = _points(pd.read_csv(folder / "drains.csv"))
    trees = pd.read_csv(folder / "trees.csv")
    if "genus_species" in trees.columns:
        genus = trees["genus_species"].fillna("").str.split().str[0]
        trees["leaf_class"] = genus.map(GENUS_CLASS).fillna("unknown")
    return drains, _points(trees)


def _oracle(drains: gpd.GeoDataFrame, trees: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    crs = metric_crs(drains)
    dxy, txy = to_metric_xy(drains, crs), to_metric_xy(trees, crs)
    dist, _ = cKDTree(txy).query(dxy, k=1)
    return dist, dxy, txy


def _brute(dxy: np.ndarray, txy: np.ndarray, weights: np.ndarray, large: np.ndarray) -> pd.DataFrame:
    """Counts within 4 / 10 m, large-leaf trees within 10 m, leaf load at 10 m, by brute force."""
    rows = []
    for a in range(0, len(dxy), 500):
        q = dxy[a : a + 500]
        dx = q[:, 0][:, None] - txy[:, 0][None, :]
        dy = q[:, 1][:, None] - txy[:, 1][None, :]
        d = np.sqrt(dx * dx + dy * dy)
        rows.append(
            pd.DataFrame(
                {
                    "trees_within_4m": (d <= 4.0).sum(axis=1),
                    "trees_within_10m": (d <= 10.0).sum(axis=1),
                    "large_leaf_within_10m": ((d <= 10.0) & large[None, :]).sum(axis=1),
                    "leaf_load": np.where(d <= 10.0, weights[None, :] * (1.0 - d / 10.0), 0.0).sum(axis=1),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _check_against_oracle(label: str, drains: gpd.GeoDataFrame, trees: gpd.GeoDataFrame) -> None:
    got = drain_tree_indicators(drains, trees)
    dist, dxy, txy = _oracle(drains, trees)
    assert got.index.equals(drains.index)
    shares = {}
    for r in (4, 10):
        ours = float((got[f"trees_within_{r}m"] > 0).mean())
        oracle = float((dist <= r).mean())
        shares[r] = ours
        assert ours == oracle, f"{label}: share within {r} m {ours} != oracle {oracle}"
    print(
        f"\n{label}: {len(drains):,} drains, {len(trees):,} trees; "
        f"share of drains with a tree within 4 m {shares[4]:.2%}, within 10 m {shares[10]:.2%} "
        f"(cKDTree oracle: identical); median nearest tree {np.median(dist):.1f} m"
    )
    np.testing.assert_allclose(got["nearest_tree_m"].to_numpy(), dist, rtol=0, atol=1e-6)
    # the id points at a tree at that distance (of tied trees any one)
    ids = trees["id"].to_numpy() if "id" in trees.columns else trees.index.to_numpy()
    pos = pd.Index(ids).get_indexer(got["nearest_tree_id"].to_numpy(dtype=ids.dtype))
    pointed = np.hypot(dxy[:, 0] - txy[pos, 0], dxy[:, 1] - txy[pos, 1])
    np.testing.assert_allclose(pointed, dist, rtol=0, atol=1e-6)
    classes = (
        trees["leaf_class"].to_numpy() if "leaf_class" in trees.columns else np.full(len(trees), "unknown")
    )
    np.testing.assert_array_equal(got["nearest_leaf_class"].astype(str).to_numpy(), classes[pos])
    weights = np.array([LEAF_WEIGHTS[c] for c in classes])
    brute = _brute(dxy, txy, weights, classes == "large")
    for column in ("trees_within_4m", "trees_within_10m", "large_leaf_within_10m"):
        np.testing.assert_array_equal(got[column].to_numpy(), brute[column].to_numpy(), err_msg=column)
    np.testing.assert_allclose(
        got["leaf_load"].to_numpy(), brute["leaf_load"].to_numpy(), rtol=1e-12, atol=1e-12
    )


def test_somerville_shares_match_the_oracle() -> None:
    drains, trees = _pair("somerville_ma")
    assert metric_crs(drains).to_epsg() == 32619  # UTM 19N
    _check_against_oracle("Somerville MA, all city drains", drains, trees)
    # the trees cover West Somerville only (the Cyvl survey area): the drains inside it
    lon0, lat0, lon1, lat1 = trees.total_bounds
    inside = drains.cx[lon0:lon1, lat0:lat1]
    assert 900 < len(inside) < 1200
    _check_against_oracle("Somerville MA, drains inside the tree survey area", inside, trees)


def test_durham_shares_match_the_oracle() -> None:
    drains, trees = _pair("durham_nc")
    assert metric_crs(drains).to_epsg() == 32617  # UTM 17N
    assert (trees["leaf_class"] != "unknown").mean() > 0.3
    _check_against_oracle("Durham NC, all drains", drains, trees)
    # where the 10,000-tree subset is dense: drains with a tree within 200 m
    dist, _, _ = _oracle(drains, trees)
    _check_against_oracle("Durham NC, drains with a tree within 200 m", drains[dist <= 200.0], trees)


def test_dutch_data_is_computed_in_rd_new_from_any_crs() -> None:
    drains_csv = pd.read_csv(
        shared_data("nl-castricum-kolken") / "kolken_castricum_limmen_akersloot_points.csv"
    )
    trees_csv = pd.read_csv(shared_data("velsen-bomen") / "velsen_bomen_points.csv")
    drains = _points(drains_csv, "x_rd", "y_rd", RD_NEW)
    trees_rd = _points(trees_csv, "x_rd", "y_rd", RD_NEW)
    assert metric_crs(drains) == RD_NEW
    assert metric_crs(drains.to_crs(4326)) == RD_NEW
    in_rd = drain_tree_indicators(drains, trees_rd)
    in_wgs84 = drain_tree_indicators(drains, trees_rd.to_crs(4326))  # projected back to RD
    np.testing.assert_allclose(in_wgs84["nearest_tree_m"], in_rd["nearest_tree_m"], atol=1e-3)
    assert (in_rd["nearest_leaf_class"] == "unknown").all()  # no leaf_class column: unknown
    assert (in_rd["nearest_tree_m"] > 0).all()  # Castricum and Velsen are neighbouring towns
    # and the other way round: drains in WGS84 are computed in RD New too
    back = drain_tree_indicators(drains.to_crs(4326), trees_rd)
    np.testing.assert_allclose(back["nearest_tree_m"], in_rd["nearest_tree_m"], atol=1e-3)


def _rd(*xy: tuple[float, float]) -> list[shapely.Point]:
    """Points at offsets (metres) from Amersfoort, the origin of RD New."""
    return [shapely.Point(155_000.0 + x, 463_000.0 + y) for x, y in xy]


def test_radii_name_the_columns_and_trees_without_geometry_are_skipped() -> None:
    drains = gpd.GeoDataFrame({"id": [1, 2]}, geometry=_rd((0, 0), (100, 0)), crs=RD_NEW)
    trees = gpd.GeoDataFrame(
        {"id": ["t0", "t1", "t2", "t3"], "leaf_class": ["large", None, "Needle", "small"]},
        geometry=[None, *_rd((3, 0), (0, 5), (100, 2.5))],
        crs=RD_NEW,
    ).set_index(pd.Index([10, 11, 12, 13]))
    got = drain_tree_indicators(drains, trees, radii=(2.5, 6.0))
    assert list(got.columns) == [
        "nearest_tree_m",
        "nearest_tree_id",
        "nearest_leaf_class",
        "trees_within_2.5m",
        "trees_within_6m",
        "large_leaf_within_6m",
        "leaf_load",
    ]
    assert got["nearest_tree_id"].tolist() == ["t1", "t3"]
    assert got["nearest_leaf_class"].tolist() == ["unknown", "small"]
    assert got["trees_within_6m"].tolist() == [2, 1]
    assert got["leaf_load"].tolist() == pytest.approx([0.5 * 0.5 + 0.3 * (1 - 5 / 6), 0.5 * (1 - 2.5 / 6)])
    # no id column: the trees' index
    by_index = drain_tree_indicators(drains, trees.drop(columns="id"))
    assert by_index["nearest_tree_id"].tolist() == [11, 13]


def test_no_trees_and_bad_input() -> None:
    drains = gpd.GeoDataFrame(geometry=_rd((0, 0), (100, 0)), crs=RD_NEW)
    none = gpd.GeoDataFrame({"id": pd.Series([], dtype="int64")}, geometry=[], crs=RD_NEW)
    got = drain_tree_indicators(drains, none)
    assert got["nearest_tree_m"].isna().all() and got["nearest_tree_id"].isna().all()
    assert got["nearest_leaf_class"].isna().all() and (got["trees_within_10m"] == 0).all()
    with pytest.raises(ValueError, match="no CRS"):
        drain_tree_indicators(drains.set_crs(None, allow_override=True), none)
    with pytest.raises(ValueError, match="no usable geometry"):
        drain_tree_indicators(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), None], crs=RD_NEW), none)


# ------------------------------------------------------------------------------------ cells


def _cell_oracle(drains: gpd.GeoDataFrame, trees: gpd.GeoDataFrame, cs: float) -> pd.DataFrame:
    dist, dxy, txy = _oracle(drains, trees)
    per_drain = drain_tree_indicators(drains, trees)
    d = pd.DataFrame(
        {
            "cell_x": np.floor(dxy[:, 0] / cs) * cs,
            "cell_y": np.floor(dxy[:, 1] / cs) * cs,
            "load": per_drain["leaf_load"].to_numpy(),
            "near": dist <= 4.0,
        }
    )
    t = pd.DataFrame({"cell_x": np.floor(txy[:, 0] / cs) * cs, "cell_y": np.floor(txy[:, 1] / cs) * cs})
    by_d = d.groupby(["cell_x", "cell_y"]).agg(
        drain_count=("load", "size"), mean_leaf_load=("load", "mean"), share_drains_within_4m=("near", "mean")
    )
    by_t = t.groupby(["cell_x", "cell_y"]).size().rename("tree_count")
    out = by_d.join(by_t, how="outer")
    out["drain_count"] = out["drain_count"].fillna(0).astype(np.int64)
    out["tree_count"] = out["tree_count"].fillna(0).astype(np.int64)
    return out


@pytest.mark.parametrize("city", ["somerville_ma", "durham_nc"])
def test_cells_match_a_groupby_oracle(city: str) -> None:
    drains, trees = _pair(city)
    cells = cell_indicators(drains, trees, cell_size=100.0)
    assert cells.crs == metric_crs(drains)
    want = _cell_oracle(drains, trees, 100.0)
    got = cells.set_index(["cell_x", "cell_y"]).sort_index()
    want = want.sort_index()
    assert got.index.equals(want.index)
    for column in ("drain_count", "tree_count"):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy())
    for column in ("mean_leaf_load", "share_drains_within_4m"):
        np.testing.assert_allclose(got[column].to_numpy(), want[column].to_numpy(), rtol=1e-12, atol=1e-12)
    assert cells["drain_count"].sum() == len(drains) and cells["tree_count"].sum() == len(trees)
    np.testing.assert_allclose(cells.geometry.area, 100.0 * 100.0)
    # the square holds the cell's corner, and maps to WGS84 for the API
    corners = shapely.points(cells["cell_x"] + 50.0, cells["cell_y"] + 50.0)
    assert shapely.contains(cells.geometry.values, corners).all()
    lon0, lat0, lon1, lat1 = cells.to_crs(4326).total_bounds
    d_lon0, d_lat0, d_lon1, d_lat1 = drains.total_bounds
    assert lon0 <= d_lon0 and lat0 <= d_lat0 and lon1 >= d_lon1 and lat1 >= d_lat1
    # reusing the per-drain indicators gives the same cells
    again = cell_indicators(drains, trees, cell_size=100.0, indicators=drain_tree_indicators(drains, trees))
    pd.testing.assert_frame_equal(again.drop(columns="geometry"), cells.drop(columns="geometry"))


def test_cells_with_readings_interpolate_by_inverse_distance() -> None:
    drains, trees = _pair("durham_nc")
    rng = np.random.default_rng(5)
    sensors = drains.sample(25, random_state=1)
    no2 = gpd.GeoDataFrame(
        {"quantity": "no2", "value": rng.normal(22.0, 5.0, len(sensors))},
        geometry=sensors.geometry.values,
        crs=4326,
    )
    fill = gpd.GeoDataFrame(
        {"quantity": "fill_rate", "value": rng.gamma(2.0, 0.5, 40)},
        geometry=drains.sample(40, random_state=2).geometry.values,
        crs=4326,
    ).to_crs(metric_crs(drains))  # readings may come in another CRS
    readings = pd.concat([no2, fill.to_crs(4326)], ignore_index=True)
    cells = cell_indicators(drains, trees, cell_size=250.0, readings=readings)
    for column in ("mean_no2", "mean_fill_rate", "coverage_m", "coverage_no2_m", "coverage_fill_rate_m"):
        assert column in cells.columns
    centres = np.column_stack([cells["cell_x"] + 125.0, cells["cell_y"] + 125.0])
    crs = metric_crs(drains)
    for quantity, frame in (("no2", no2), ("fill_rate", fill)):
        pts = to_metric_xy(frame, crs)
        d = np.hypot(centres[:, 0][:, None] - pts[:, 0][None, :], centres[:, 1][:, None] - pts[:, 1][None, :])
        w = 1.0 / d**2
        want = (w * frame["value"].to_numpy()[None, :]).sum(axis=1) / w.sum(axis=1)
        np.testing.assert_allclose(cells[f"mean_{quantity}"], want, rtol=1e-9)
        np.testing.assert_allclose(cells[f"coverage_{quantity}_m"], d.min(axis=1), atol=1e-6)
    np.testing.assert_allclose(
        cells["coverage_m"], np.minimum(cells["coverage_no2_m"], cells["coverage_fill_rate_m"])
    )
    # a radius limits which readings count: cells far from every sensor get NaN
    near = cell_indicators(drains, trees, cell_size=250.0, readings=no2, idw_max_radius=500.0)
    assert near["mean_no2"].isna().any() and near["mean_no2"].notna().any()
    assert (near["coverage_m"].dropna() <= 500.0).all()
    assert "coverage_no2_m" not in near.columns


def test_metric_crs_needs_a_crs() -> None:
    with pytest.raises(ValueError, match="no CRS"):
        metric_crs(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]))
    assert isinstance(metric_crs(gpd.GeoDataFrame(geometry=[shapely.Point(5.1, 52.1)], crs=4326)), pyproj.CRS)
