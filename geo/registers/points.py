"""Loading drain and tree registers from the files municipalities publish, as WGS84 points.

:func:`read_points` reads any file geopandas reads (GeoJSON, GeoPackage, Shapefile, GeoParquet)
and CSV with x/y or lon/lat columns, and returns WGS84 points with an id and (when the file has
one) a species name, plus every rejected row with a reason a person can read.
:func:`geo.registers.trees.read_trees` adds the leaf class of each tree.

A load runs in stages, each in its own module, sharing one :class:`Rejections`:

1. the file into a table (:mod:`~geo.registers.source`: delimiter, encoding, formats), and the
   ``where`` filter (filtered rows are neither loaded nor rejected);
2. coordinates in the source CRS (:mod:`~geo.registers.coordinates`: the file's geometries,
   or x/y, lon/lat or WKT columns found by their usual names; Dutch decimal commas and
   thousands separators, :mod:`~geo.registers.numbers`);
3. the source CRS (:mod:`~geo.registers.source_crs`): a file's own, the ``crs`` option,
   lon/lat columns as EPSG:4326, or from the values -- RD New (EPSG:28992) when they lie in
   the Dutch RD box, EPSG:4326 when they are degrees;
4. checks and the transformation to WGS84 (:mod:`~geo.registers.positions`);
5. ids and species (:mod:`~geo.registers.species`), then the frame and the rejected rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from geo.registers.columns import cell_text, column_texts, detect_column, find_column
from geo.registers.coordinates import source_coordinates
from geo.registers.options import DEFAULT_OUTLIER_KM, ReadOptions
from geo.registers.positions import check_source_positions, reject_non_finite, wgs84_positions
from geo.registers.rejections import Rejections
from geo.registers.results import LoadCounts, LoadResult
from geo.registers.source import read_source
from geo.registers.source_crs import WGS84, settle_crs
from geo.registers.species import row_species

__all__ = ["ID_COLUMNS", "points_of", "read_points", "read_register"]

ID_COLUMNS = (
    "id", "objectid", "elementnr", "elementnummer", "boomnummer", "boomnr", "boomid", "treeid",
    "kolkid", "kolknummer", "assetid", "facilityid", "featureid", "recordno", "fid", "gid",
    "ogcfid", "globalid", "guid", "uuid", "identificatie",
)  # fmt: skip


def read_points(
    path: str | Path,
    *,
    x: str | None = None,
    y: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    crs: str | int | CRS | None = None,
    id_column: str | None = None,
    species_column: str | Sequence[str] | None = None,
    layer: str | int | None = None,
    where: Mapping[str, object] | None = None,
    keep_attributes: bool = False,
    outlier_km: float | None = DEFAULT_OUTLIER_KM,
) -> LoadResult:
    """Read a register as WGS84 points; see the module docstring for what is detected.

    ``crs`` is the CRS of the input coordinates (it overrides a file's own); ``species_column``
    may be one column, ``"genus+species"`` (joined with a space) or several in order of preference
    (per row the first non-empty one wins); ``where`` keeps only rows whose column equals the
    value (or is in a collection of values); ``keep_attributes`` adds an ``attributes`` column
    (dict of the row's other non-empty values); ``outlier_km`` rejects points farther than that
    from the register's median position (None: off).
    """
    options = ReadOptions(
        x=x,
        y=y,
        lon=lon,
        lat=lat,
        crs=crs,
        id_column=id_column,
        species_column=species_column,
        layer=layer,
        where=where,
        keep_attributes=keep_attributes,
        outlier_km=outlier_km,
    )
    return points_of(Path(path), options)


def points_of(path: Path, options: ReadOptions) -> LoadResult:
    """:func:`read_points` for options already gathered (and checked) in a :class:`ReadOptions`."""
    result, _ = read_register(path, options)
    return result


def read_register(path: Path, options: ReadOptions) -> tuple[LoadResult, pd.DataFrame]:
    """The load, and per loaded row the text of every species source (for the leaf classes)."""
    table, geometry = read_source(path, options.layer)
    read = len(table)
    rows, table, geometry = _filter_rows(table, geometry, options.where)
    rejections = Rejections(len(table))
    notes: list[str] = []
    used: dict[str, str] = {}

    coords = source_coordinates(table, geometry, options, rejections, notes, used)
    reject_non_finite(coords.xs, coords.ys, rejections)
    source_crs = settle_crs(coords.crs, coords.xs, coords.ys, path, notes)
    check_source_positions(coords.xs, coords.ys, source_crs, rejections)
    lons, lats = wgs84_positions(coords.xs, coords.ys, source_crs, path, options.outlier_km, rejections)

    ok = rejections.pending()
    id_col, ids = _row_ids(table, rows, options.id_column, used)
    species, candidates = row_species(table, options.species_column, ok, used)
    frame = _points_frame(table, ok, ids, species, (lons, lats), options.keep_attributes, used)
    counts = LoadCounts(
        read=read,
        skipped=read - len(table),
        loaded=int(ok.sum()),
        rejected=int((~ok).sum()),
        by_reason=rejections.by_reason(),
        duplicate_ids=int(pd.Series(ids[ok]).duplicated().sum()) if id_col is not None else 0,
    )
    result = LoadResult(
        path=path,
        frame=frame,
        rejected=rejections.frame(rows, ids, coords.raw_x, coords.raw_y, table),
        counts=counts,
        source_crs=source_crs.to_string(),
        columns=used,
        notes=tuple(notes),
        geometry_types=coords.geometry_types,
    )
    return result, candidates


def _filter_rows(
    table: pd.DataFrame, geometry: gpd.GeoSeries | None, where: Mapping[str, object] | None
) -> tuple[np.ndarray, pd.DataFrame, gpd.GeoSeries | None]:
    """(1-based file row of each kept row, the kept rows, their geometries)."""
    columns = [str(c) for c in table.columns]
    keep = np.ones(len(table), dtype=bool)
    for column, value in (where or {}).items():
        col = find_column(columns, column, "filter")
        values = pd.Series(column_texts(table[col]), dtype=object)
        if isinstance(value, Collection) and not isinstance(value, str):
            keep &= values.isin([str(v) for v in value]).to_numpy()
        else:
            keep &= (values == str(value)).to_numpy()
    rows = np.arange(1, len(table) + 1)[keep]
    kept = table.loc[keep].reset_index(drop=True)
    if geometry is not None:
        geometry = geometry.loc[keep].reset_index(drop=True)
    return rows, kept, geometry


def _row_ids(
    table: pd.DataFrame, rows: np.ndarray, id_column: str | None, used: dict[str, str]
) -> tuple[str | None, np.ndarray]:
    """(the id column, one id per row): the column's text ("#<n>" where blank), else the file row."""
    columns = [str(c) for c in table.columns]
    id_col = id_column if id_column is None else find_column(columns, id_column, "id")
    if id_col is None:
        id_col = detect_column(columns, ID_COLUMNS, exclude=set(used.values()))
    if id_col is None:
        return None, np.array([str(r) for r in rows], dtype=object)
    used["id"] = id_col
    values = column_texts(table[id_col])
    ids = np.empty(len(table), dtype=object)
    ids[:] = [v if v is not None else f"#{r}" for v, r in zip(values, range(1, len(table) + 1), strict=True)]
    return id_col, ids


def _points_frame(
    table: pd.DataFrame,
    ok: np.ndarray,
    ids: np.ndarray,
    species: np.ndarray,
    lonlat: tuple[np.ndarray, np.ndarray],
    keep_attributes: bool,
    used: dict[str, str],
) -> gpd.GeoDataFrame:
    """The loaded rows (`ok`) as WGS84 points with id, species and (if asked) attributes."""
    # object dtype: None stays None (pandas would make a str column with NaN for missing)
    data: dict[str, Any] = {
        "id": pd.Series(ids[ok], dtype=object),
        "species": pd.Series(species[ok], dtype=object),
    }
    if keep_attributes:
        skip = {used[k] for k in ("x", "y", "lon", "lat", "geometry", "id") if k in used}
        attribute_columns = [c for c in (str(c) for c in table.columns) if c not in skip]
        records = table.loc[ok, attribute_columns].to_dict("records")
        data["attributes"] = [{k: v for k, v in r.items() if cell_text(v) is not None} for r in records]
    lons, lats = lonlat
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lons[ok], lats[ok]), crs=WGS84)
