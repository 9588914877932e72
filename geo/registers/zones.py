"""Priority zones for drain cleaning: shopping streets, bus stops, main roads, schools, building sites.

A zone file may hold polygons (kept as they are), or points and lines (bus stops, main-road
centre lines), which are buffered into areas in a metric CRS. Zones are stored as WGS84
GeoJSON; a drain "is in" a zone when its point lies inside the (buffered) area. Each kind has a
fill threshold and, where relevant, a fill-rate multiplier (settings `plan_thresholds`,
`plan_rate_multipliers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.registers.errors import RegisterError
from geo.registers.source import read_source
from geo.spatial.crs import metric_crs

__all__ = [
    "DEFAULT_BUFFER_M",
    "ZONE_KINDS",
    "ZoneKind",
    "ZoneLoad",
    "drain_zones",
    "read_zones",
]

ZoneKind = Literal["shopping", "bus_stop", "main_road", "school", "construction"]
ZONE_KINDS: tuple[ZoneKind, ...] = get_args(ZoneKind)

# Buffers for points and lines, in metres: a bus stop's drains are the ones at the stop and
# its approach; a main road's are the ones in its gutters; a school's and a building site's
# those of the streets around it. Polygons are taken as drawn unless a buffer is given.
DEFAULT_BUFFER_M: dict[str, float] = {
    "shopping": 15.0,
    "bus_stop": 30.0,
    "main_road": 12.0,
    "school": 50.0,
    "construction": 50.0,
}

_NAME_COLUMNS = ("name", "naam", "straatnaam", "street", "omschrijving", "description", "id")


@dataclass(frozen=True)
class ZoneLoad:
    kind: ZoneKind
    path: Path
    rows: list[tuple[str | None, dict[str, Any], float]]  # name, WGS84 GeoJSON, buffer (m)
    by_geometry: dict[str, int]
    rejected: int

    def summary(self) -> str:
        kinds = ", ".join(f"{count:,} {name}" for name, count in sorted(self.by_geometry.items()))
        return (
            f"{self.path.name}: {len(self.rows):,} {self.kind} zones ({kinds}), "
            f"{self.rejected:,} rejected (no geometry)"
        )


def _check_kind(kind: str) -> ZoneKind:
    if kind not in ZONE_KINDS:
        raise RegisterError(f"unknown zone kind {kind!r}", hint=f"use one of {', '.join(ZONE_KINDS)}")
    return kind


def read_zones(
    path: str | Path,
    kind: str,
    *,
    buffer_m: float | None = None,
    name_column: str | None = None,
    layer: str | int | None = None,
) -> ZoneLoad:
    """Read a zone file (any format geopandas reads) as WGS84 areas of one kind.

    Points and lines are buffered by `buffer_m` (default per kind, `DEFAULT_BUFFER_M`);
    polygons only when `buffer_m` is given.
    """
    zone_kind = _check_kind(kind)
    if buffer_m is not None and buffer_m < 0:
        raise RegisterError("the buffer must be 0 m or more", hint="e.g. --buffer 25")
    source = Path(path)
    table, geometry = read_source(source, layer)
    if geometry is None:
        raise RegisterError(
            f"{source.name} has no geometry column",
            hint="zones are polygons, points or lines: use GeoJSON, GeoPackage or Shapefile",
        )
    if geometry.crs is None:
        raise RegisterError(f"{source.name} has no CRS", hint="give the file a CRS (e.g. a .prj)")
    gdf = gpd.GeoDataFrame(table, geometry=geometry, crs=geometry.crs)
    ok = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    rejected = int((~ok).sum())
    gdf = gdf[ok]
    if gdf.empty:
        raise RegisterError(f"{source.name} holds no geometries", hint="check the file and its layer")
    names = _names(gdf, name_column)
    crs = metric_crs(gdf)
    metric = gdf.to_crs(crs).geometry
    types = metric.geom_type.to_numpy()
    areal = np.isin(types, ("Polygon", "MultiPolygon"))
    default_buffer = DEFAULT_BUFFER_M[zone_kind] if buffer_m is None else buffer_m
    buffers = np.where(areal, 0.0 if buffer_m is None else buffer_m, default_buffer)
    geoms = np.asarray(metric.array)
    shaped = np.where(buffers > 0, shapely.buffer(geoms, buffers), geoms)
    lonlat = gpd.GeoSeries(shaped, crs=crs).to_crs("EPSG:4326")
    rows = [
        (name, shapely.geometry.mapping(geom), float(buf))
        for name, geom, buf in zip(names, lonlat, buffers, strict=True)
    ]
    counts = pd.Series(types).value_counts()
    return ZoneLoad(
        kind=zone_kind,
        path=source,
        rows=rows,
        by_geometry={str(k): int(v) for k, v in counts.items()},
        rejected=rejected,
    )


def _names(gdf: gpd.GeoDataFrame, name_column: str | None) -> list[str | None]:
    if name_column is not None:
        if name_column not in gdf.columns:
            raise RegisterError(
                f"no column {name_column!r}", hint=f"columns: {', '.join(map(str, gdf.columns))}"
            )
        column: str | None = name_column
    else:
        lower = {str(c).lower(): str(c) for c in gdf.columns if c != gdf.geometry.name}
        column = next((lower[c] for c in _NAME_COLUMNS if c in lower), None)
    if column is None:
        return [None] * len(gdf)
    return [None if pd.isna(v) or str(v).strip() == "" else str(v) for v in gdf[column]]


def drain_zones(
    drain_lonlat: np.ndarray, zones: Sequence[Mapping[str, Any]], crs: pyproj.CRS | None = None
) -> pd.DataFrame:
    """For every drain (rows of `drain_lonlat`, WGS84), a boolean column `zone_<kind>` per
    zone kind: whether the drain lies inside any zone of that kind (border included)."""
    n = len(drain_lonlat)
    out = pd.DataFrame({f"zone_{kind}": np.zeros(n, dtype=bool) for kind in ZONE_KINDS})
    if not zones or n == 0:
        return out
    points = gpd.GeoSeries(gpd.points_from_xy(drain_lonlat[:, 0], drain_lonlat[:, 1]), crs="EPSG:4326")
    target = crs if crs is not None else metric_crs(points)
    metric_points = np.asarray(points.to_crs(target).array)
    areas = gpd.GeoSeries([shapely.geometry.shape(z["geometry"]) for z in zones], crs="EPSG:4326").to_crs(
        target
    )
    kinds = np.array([str(z["kind"]) for z in zones])
    tree = shapely.STRtree(np.asarray(areas.array))
    point_idx, zone_idx = tree.query(metric_points, predicate="intersects")
    for kind in ZONE_KINDS:
        hit = point_idx[kinds[zone_idx] == kind]
        column = out[f"zone_{kind}"].to_numpy(copy=True)
        column[hit] = True
        out[f"zone_{kind}"] = column
    return out
