"""A register's coordinates in its own CRS: from the file's geometries, or from x/y, lon/lat
or WKT columns found by their usual names (``x``/``y``, ``RD_X``/``RD_Y``, ``x_rd``,
``RD_XCOORD``, ``lon``/``lat``, ``longitude``/``latitude`` (also ``Longtitude``) ...).

Rows without a position or with coordinates that are not numbers are rejected here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.registers.columns import cell_text, column_texts, detect_column, find_column
from geo.registers.errors import RegisterError
from geo.registers.numbers import parse_decimal
from geo.registers.options import ReadOptions
from geo.registers.rejections import Rejections
from geo.registers.source_crs import WGS84, file_crs

__all__ = [
    "LAT_COLUMNS",
    "LON_COLUMNS",
    "WKT_COLUMNS",
    "X_COLUMNS",
    "Y_COLUMNS",
    "SourceCoordinates",
    "source_coordinates",
]

# Column names, compared after lower-casing and dropping everything but letters and digits.
X_COLUMNS = (
    "x", "xrd", "rdx", "xcoord", "rdxcoord", "xcoordinaat", "xcoordinate", "coordx", "xco",
    "easting", "east", "oostwaarde",
)  # fmt: skip
Y_COLUMNS = (
    "y", "yrd", "rdy", "ycoord", "rdycoord", "ycoordinaat", "ycoordinate", "coordy", "yco",
    "northing", "north", "noordwaarde",
)  # fmt: skip
LON_COLUMNS = (
    "lon", "lng", "long", "longitude", "longtitude", "lonwgs84", "wgs84lon", "longwgs84",
    "lengtegraad", "xwgs84", "lon4326",
)  # fmt: skip
LAT_COLUMNS = ("lat", "latitude", "latwgs84", "wgs84lat", "breedtegraad", "ywgs84", "lat4326")
WKT_COLUMNS = ("geometry", "wkt", "geom", "thegeom", "shape")


@dataclass(frozen=True)
class SourceCoordinates:
    """Per row x and y in the source CRS (NaN where there are none) and what was read
    (``raw_x``/``raw_y``, for the rejected report); ``crs`` as far as the source tells it;
    ``geometry_types``: how many rows have each geometry type as read (GeoJSON names: ``Point``,
    ``Polygon``, ...; x/y columns are points), before non-points are reduced to one point."""

    xs: np.ndarray
    ys: np.ndarray
    raw_x: np.ndarray
    raw_y: np.ndarray
    crs: CRS | None
    geometry_types: dict[str, int] = field(default_factory=dict)


def source_coordinates(
    table: pd.DataFrame,
    geometry: gpd.GeoSeries | None,
    options: ReadOptions,
    rejections: Rejections,
    notes: list[str],
    used: dict[str, str],
) -> SourceCoordinates:
    """The coordinates of every row: named columns win over the file's geometries."""
    given = CRS.from_user_input(options.crs) if options.crs is not None else None
    if geometry is not None and not options.explicit_columns:
        return _from_geometry(geometry, file_crs(given, geometry, notes), rejections, notes, used)
    xs, ys, raw_x, raw_y, pair_crs, types = _coordinate_columns(table, options, used)
    if pair_crs == WGS84 and given is None:
        given = CRS.from_user_input(WGS84)
    blank = pd.isna(raw_x) | pd.isna(raw_y)
    rejections.reject(blank, "no-geometry", "no coordinates", "x {a}, y {b}", raw_x, raw_y)
    bad = ~blank & (np.isnan(xs) | np.isnan(ys))
    rejections.reject(bad, "unparseable", "coordinates are not numbers", "x {a}, y {b}", raw_x, raw_y)
    return SourceCoordinates(xs, ys, raw_x, raw_y, given, types)


def _from_geometry(
    geometry: gpd.GeoSeries, crs: CRS | None, rejections: Rejections, notes: list[str], used: dict[str, str]
) -> SourceCoordinates:
    """Points as they are; MultiPoint, line and polygon geometries by a representative point."""
    values = geometry.to_numpy()
    missing = pd.isna(values) | shapely.is_empty(values)
    rejections.reject(missing, "no-geometry", "no geometry", "empty or missing geometry")
    points = values.copy()
    not_point = ~missing & (shapely.get_type_id(values) != shapely.GeometryType.POINT)
    if not_point.any():
        points[not_point] = shapely.point_on_surface(values[not_point])
        notes.append(f"{int(not_point.sum()):,} non-point geometries reduced to a representative point")
    n = len(values)
    xs = np.full(n, np.nan)
    ys = np.full(n, np.nan)
    xs[~missing] = shapely.get_x(points[~missing])
    ys[~missing] = shapely.get_y(points[~missing])
    used["geometry"] = str(geometry.name) if geometry.name is not None else "geometry"
    types = _geometry_types(values[~missing])
    return SourceCoordinates(xs, ys, xs.astype(object), ys.astype(object), crs, types)


def _geometry_types(geometries: np.ndarray) -> dict[str, int]:
    """How many of `geometries` (none missing) there are of each type, by GeoJSON name."""
    counts = gpd.GeoSeries(geometries).geom_type.value_counts()
    return {str(name): int(n) for name, n in counts.items()}


def _coordinate_pair(
    columns: Sequence[str], options: ReadOptions
) -> tuple[tuple[str, str] | None, str | None]:
    """The x/y (or lon/lat) columns, named or detected, and WGS84 when they are lon/lat."""
    if options.x is not None and options.y is not None:
        return (find_column(columns, options.x, "x"), find_column(columns, options.y, "y")), None
    if options.lon is not None and options.lat is not None:
        return (find_column(columns, options.lon, "lon"), find_column(columns, options.lat, "lat")), WGS84
    cx, cy = detect_column(columns, X_COLUMNS), detect_column(columns, Y_COLUMNS)
    clon, clat = detect_column(columns, LON_COLUMNS), detect_column(columns, LAT_COLUMNS)
    if cx is not None and cy is not None:
        return (cx, cy), None
    if clon is not None and clat is not None:
        return (clon, clat), WGS84
    return None, None


def _coordinate_columns(
    table: pd.DataFrame, options: ReadOptions, used: dict[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str | None, dict[str, int]]:
    """Source coordinates from x/y or lon/lat columns (or a WKT column); CRS hint for lon/lat;
    the geometry types of the rows that have one."""
    columns = [str(c) for c in table.columns]
    pair, pair_crs = _coordinate_pair(columns, options)
    if pair is None:
        xs, ys, raw, _, types = _wkt_coordinates(table, columns, used)
        return xs, ys, raw, raw, None, types
    used["x" if pair_crs is None else "lon"] = pair[0]
    used["y" if pair_crs is None else "lat"] = pair[1]
    xs = parse_decimal(table[pair[0]])
    ys = parse_decimal(table[pair[1]])
    # The text as read, for the rejected report; blanks (None) only where parsing failed.
    raw_x = table[pair[0]].to_numpy(dtype=object).copy()
    raw_y = table[pair[1]].to_numpy(dtype=object).copy()
    for raw, parsed in ((raw_x, xs), (raw_y, ys)):
        failed = np.flatnonzero(np.isnan(parsed))
        raw[failed] = [cell_text(v) for v in raw[failed]]
    points = int((~np.isnan(xs) & ~np.isnan(ys)).sum())
    return xs, ys, raw_x, raw_y, pair_crs, {"Point": points} if points else {}


def _wkt_coordinates(
    table: pd.DataFrame, columns: Sequence[str], used: dict[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Representative points of a WKT column (the text itself as read), and its geometry types."""
    wkt = detect_column(columns, WKT_COLUMNS)
    if wkt is None:
        raise RegisterError(
            "no coordinate columns found",
            hint="name them with x=/y= (plus crs=) or lon=/lat=; columns are: " + ", ".join(columns),
        )
    used["geometry"] = wkt
    raw = column_texts(table[wkt])
    geoms = shapely.from_wkt(raw, on_invalid="ignore")
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    types = _geometry_types(geoms[~missing])
    geoms[~missing] = shapely.point_on_surface(geoms[~missing])
    xs = np.full(len(table), np.nan)
    ys = np.full(len(table), np.nan)
    xs[~missing] = shapely.get_x(geoms[~missing])
    ys[~missing] = shapely.get_y(geoms[~missing])
    return xs, ys, raw, raw, types
