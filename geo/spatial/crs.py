"""Metric CRS choice and coordinate extraction for GeoDataFrames in any CRS.

Dutch data is computed in RD New (EPSG:28992), everything else in the UTM zone geopandas
estimates for it; kernels then get plain (n, 2) float64 arrays in metres.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from geo.spatial._kernels import all_finite

__all__ = ["NL_BOUNDS_LONLAT", "RD_NEW", "metric_crs", "to_metric_xy"]

RD_NEW = pyproj.CRS.from_epsg(28992)
WGS84 = pyproj.CRS.from_epsg(4326)
# The Netherlands (land, territorial waters and a margin), lon/lat: (west, south, east, north).
NL_BOUNDS_LONLAT = (3.2, 50.7, 7.3, 53.7)


@lru_cache(maxsize=64)
def _transformer(source: pyproj.CRS, target: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    crs = gdf.crs
    if crs is None:
        raise ValueError("the GeoDataFrame has no CRS; set it first, e.g. gdf.set_crs('EPSG:4326')")
    return crs if isinstance(crs, pyproj.CRS) else pyproj.CRS(crs)


def _source_xy(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """(n, 2) coordinates in the data's own CRS: points as they are, other geometries by their
    centroid; NaN for missing or empty geometries."""
    geoms = np.asarray(gdf.geometry.array if isinstance(gdf, gpd.GeoDataFrame) else gdf.array)
    xy = np.empty((len(geoms), 2))
    xy[:, 0] = shapely.get_x(geoms)  # NaN for anything but a (non-empty) point
    xy[:, 1] = shapely.get_y(geoms)
    other = np.isnan(xy[:, 0])
    if other.any():
        centroids = shapely.centroid(geoms[other])
        xy[other, 0] = shapely.get_x(centroids)
        xy[other, 1] = shapely.get_y(centroids)
    return xy


def _bounds_lonlat(crs: pyproj.CRS, xy: np.ndarray) -> tuple[float, float, float, float] | None:
    if not all_finite(xy):
        xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return None
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    if crs.is_geographic and crs.equals(WGS84, ignore_axis_order=True):
        return float(x0), float(y0), float(x1), float(y1)
    west, south, east, north = _transformer(crs, WGS84).transform_bounds(x0, y0, x1, y1)
    return float(west), float(south), float(east), float(north)


def _choose(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS, xy: np.ndarray) -> pyproj.CRS:
    bounds = _bounds_lonlat(crs, xy)
    if bounds is None:  # nothing to go by: the project's home CRS
        return RD_NEW
    west, south, east, north = bounds
    w0, s0, e0, n0 = NL_BOUNDS_LONLAT
    if west >= w0 and south >= s0 and east <= e0 and north <= n0:
        return RD_NEW
    return pyproj.CRS(gdf.estimate_utm_crs())


def metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """EPSG:28992 (RD New) when all of the data lies within the Netherlands, else the UTM
    zone `gdf.estimate_utm_crs()` picks. Raises ValueError when `gdf` has no CRS."""
    crs = _require_crs(gdf)
    return _choose(gdf, crs, _source_xy(gdf))


def _transform(xy: np.ndarray, source: pyproj.CRS, target: pyproj.CRS) -> np.ndarray:
    if source == target:
        return xy
    x, y = _transformer(source, target).transform(xy[:, 0], xy[:, 1])
    out = np.empty_like(xy)
    out[:, 0] = x
    out[:, 1] = y
    return out


def to_metric_xy(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS) -> np.ndarray:
    """(n, 2) C-contiguous float64 coordinates of `gdf` in `crs` (metres), one row per row of
    `gdf`: points as they are, other geometries by their centroid (taken in the data's own
    CRS); NaN rows for missing or empty geometries."""
    source = _require_crs(gdf)
    return _transform(_source_xy(gdf), source, crs if isinstance(crs, pyproj.CRS) else pyproj.CRS(crs))


def metric_xy_of(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS | None = None
) -> tuple[pyproj.CRS, np.ndarray]:
    """The metric CRS (chosen from `gdf` unless given) and `gdf`'s coordinates in it, reading
    the geometries once."""
    source = _require_crs(gdf)
    xy = _source_xy(gdf)
    if crs is None:
        target = _choose(gdf, source, xy)
    else:
        target = crs if isinstance(crs, pyproj.CRS) else pyproj.CRS(crs)
    return target, _transform(xy, source, target)
