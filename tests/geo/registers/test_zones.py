"""Zones: points and lines buffered, polygons kept; drains inside zones against shapely."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.registers.errors import RegisterError
from geo.registers.zones import DEFAULT_BUFFER_M, drain_zones, read_zones

RD = 28992


def _lonlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=RD).to_crs(4326)
    return np.column_stack([pts.x, pts.y])


def test_points_are_buffered_by_the_kind_default(tmp_path: Path) -> None:
    path = tmp_path / "stops.geojson"
    gpd.GeoDataFrame(
        {"naam": ["Station", "Kerk"]}, geometry=gpd.points_from_xy([108000, 109000], [506000, 506000]), crs=RD
    ).to_file(path)
    loaded = read_zones(path, "bus_stop")
    assert [r[0] for r in loaded.rows] == ["Station", "Kerk"]
    assert all(r[2] == DEFAULT_BUFFER_M["bus_stop"] for r in loaded.rows)
    zones = [{"kind": "bus_stop", "geometry": r[1]} for r in loaded.rows]
    # drains 29 m and 31 m from the first stop: inside and outside a 30 m buffer
    drains = _lonlat(np.array([108029.0, 108031.0, 109000.0]), np.array([506000.0, 506000.0, 506010.0]))
    flags = drain_zones(drains, zones)
    assert flags["zone_bus_stop"].tolist() == [True, False, True]
    assert not flags["zone_shopping"].any()


def test_polygons_are_kept_and_lines_buffered(tmp_path: Path) -> None:
    poly = shapely.box(108000, 506000, 108100, 506050)
    line = shapely.LineString([(108000, 507000), (108500, 507000)])
    gpd.GeoDataFrame(geometry=[poly], crs=RD).to_file(tmp_path / "shop.geojson")
    gpd.GeoDataFrame(geometry=[line], crs=RD).to_file(tmp_path / "road.geojson")
    shop = read_zones(tmp_path / "shop.geojson", "shopping")
    road = read_zones(tmp_path / "road.geojson", "main_road", buffer_m=10)
    assert shop.rows[0][2] == 0.0 and road.rows[0][2] == 10.0
    zones = [
        {"kind": "shopping", "geometry": shop.rows[0][1]},
        {"kind": "main_road", "geometry": road.rows[0][1]},
    ]
    rng = np.random.default_rng(3)
    x = rng.uniform(107900, 108600, 2000)
    y = rng.uniform(505950, 507050, 2000)
    flags = drain_zones(_lonlat(x, y), zones)
    pts = shapely.points(x, y)
    # oracle in RD New (the round trip through WGS84 moves points by far less than a mm)
    expect_shop = shapely.contains_xy(poly, x, y) | shapely.touches(poly, pts)
    expect_road = shapely.distance(line, pts) <= 10.0
    near_edge = (np.abs(shapely.distance(poly.exterior, pts)) < 1e-3) | (
        np.abs(shapely.distance(line, pts) - 10.0) < 0.05
    )
    assert (flags["zone_shopping"].to_numpy() == expect_shop)[~near_edge].all()
    assert (flags["zone_main_road"].to_numpy() == expect_road)[~near_edge].all()
    assert expect_shop.sum() > 10 and expect_road.sum() > 10


def test_unknown_kind_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="unknown zone kind"):
        read_zones(tmp_path / "x.geojson", "park")
    with pytest.raises(RegisterError, match="no such file"):
        read_zones(tmp_path / "x.geojson", "school")
