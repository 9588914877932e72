"""Loading drain and tree registers from the files municipalities publish.

:func:`read_points` reads any file geopandas reads (GeoJSON, GeoPackage, Shapefile, GeoParquet)
and CSV with x/y or lon/lat columns, and returns WGS84 points with an id and (when the file has
one) a species name, plus every rejected row with a reason a person can read. :func:`read_trees`
adds the leaf class of each tree from the leaf-class table (:mod:`geo.leafclasses`).

What it handles, so the callers do not have to:

- coordinate columns found by their usual names (``x``/``y``, ``X``/``Y``, ``RD_X``/``RD_Y``,
  ``x_rd``, ``RD_XCOORD``, ``lon``/``lat``, ``longitude``/``latitude`` (also ``Longtitude``) ...);
- the CRS: a file's own, the ``crs`` option, lon/lat columns as EPSG:4326, or from the values:
  RD New (EPSG:28992) when they lie in the Dutch RD box, EPSG:4326 when they are degrees;
- Dutch decimal commas (``"104123,45"``, ``"104.123,45"``) and thousands separators;
- delimiter (``,`` ``;`` tab ``|``) and encoding (UTF-8 with or without BOM, else cp1252);
- MultiPoint, line and polygon geometries, reduced to a representative point;
- rejected rows: no geometry, unparseable or non-finite coordinates, outside -180..180 / -90..90,
  outside the CRS's area (RD outside the Netherlands' box), placeholder positions (0,0 or a pole)
  and positions far from the rest of the register (``outlier_km``).
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj import CRS, Transformer

from geo.leafclasses import LeafClassTable, default_table
from pakhuis.errors import InvalidParameter

WGS84 = "EPSG:4326"
RD_NEW = "EPSG:28992"
#: Projected bounds of EPSG:28992 (RD New): x_min, y_min, x_max, y_max in metres.
RD_BOUNDS: tuple[float, float, float, float] = (-7_000.0, 289_000.0, 300_000.0, 629_000.0)
#: Margin in degrees around a CRS's area of use within which points are still accepted.
AREA_OF_USE_MARGIN_DEG = 1.0
#: |latitude| at or above this is a placeholder (a pole), not a street asset.
POLE_LATITUDE = 89.9

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})

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
ID_COLUMNS = (
    "id", "objectid", "elementnr", "elementnummer", "boomnummer", "boomnr", "boomid", "treeid",
    "kolkid", "kolknummer", "assetid", "facilityid", "featureid", "recordno", "fid", "gid",
    "ogcfid", "globalid", "guid", "uuid", "identificatie",
)  # fmt: skip
# Species columns in order of preference: scientific names first, then common names.
SPECIES_COLUMNS = (
    "genusspecies", "scientificname", "botanicalname", "latinname", "latijnsenaam",
    "wetenschappelijkenaam", "boomsoortwetenschappelijk", "boomsoortwetenschappelij",
    "boomsoortlatijn", "sortiment", "boomsoort", "soortnaam", "taxon", "speciesname",
    "soort", "species", "spp", "commonname", "nederlandsenaam", "boomsoortnederlands",
    "naamnl", "genus", "geslacht",
)  # fmt: skip
GENUS_COLUMNS = ("genus", "geslacht")
EPITHET_COLUMNS = ("species", "soort", "epithet")

_NULL_TEXT = frozenset({"", "nan", "none", "null", "<null>", "n/a", "na", "-", "?"})
_EMPTY_SPECIES = frozenset({"onbekend", "diversen", "unknown", "vacant", "overig", "overige"})


class RegisterError(InvalidParameter):
    """A register file cannot be read as points (missing columns, unknown CRS, unreadable)."""

    code = "register_invalid"


@dataclass(frozen=True)
class LoadCounts:
    """Numbers of one load. ``read`` = rows in the file, ``skipped`` = rows left out by ``where``."""

    read: int
    skipped: int
    loaded: int
    rejected: int
    by_reason: dict[str, int] = field(default_factory=dict)
    duplicate_ids: int = 0


@dataclass(frozen=True)
class LoadResult:
    """Points in EPSG:4326 (columns ``id``, ``species``, ``geometry``) and the rejected rows.

    ``rejected`` has ``row`` (1-based data row in the file), ``id``, ``code`` (``no-geometry``,
    ``unparseable``, ``non-finite``, ``out-of-range``, ``outside-extent``, ``placeholder``,
    ``outlier``), ``reason`` (one readable text per kind, for grouping), ``detail`` (the row's
    values), ``x``/``y`` (the coordinates as read) and the row's own columns.
    """

    path: Path
    frame: gpd.GeoDataFrame
    rejected: pd.DataFrame
    counts: LoadCounts
    source_crs: str
    columns: dict[str, str]
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        c = self.counts
        text = f"{self.path.name}: loaded {c.loaded:,} of {c.read:,} rows ({self.source_crs} -> {WGS84})"
        if c.skipped:
            text += f", skipped {c.skipped:,} (filter)"
        text += f", rejected {c.rejected:,}"
        if c.by_reason:
            text += " (" + ", ".join(f"{k}: {v:,}" for k, v in sorted(c.by_reason.items())) + ")"
        if c.duplicate_ids:
            text += f", {c.duplicate_ids:,} duplicate ids"
        return text


@dataclass(frozen=True)
class TreeLoadResult(LoadResult):
    """A tree load: the frame also has ``genus``, ``leaf_class``, ``leaf_habit``, ``leaf_fall_months``.

    ``unknown_share`` is the share of loaded trees whose leaf class is unknown (no species,
    a species the table marks unknown, or a name the table cannot place: ``unresolved_names``).
    """

    leaf_class_counts: dict[str, int] = field(default_factory=dict)
    unknown_share: float = 0.0
    no_species: int = 0
    unresolved_names: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        classes = ", ".join(f"{k} {v:,}" for k, v in sorted(self.leaf_class_counts.items()))
        text = f"{super().summary()}; leaf classes: {classes}; unknown {self.unknown_share:.1%}"
        if self.unresolved_names:
            text += f" ({len(self.unresolved_names):,} names not in the leaf-class table)"
        return text


# -- public API ------------------------------------------------------------------------------------


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
    outlier_km: float | None = 1000.0,
) -> LoadResult:
    """Read a register as WGS84 points; see the module docstring for what is detected.

    ``crs`` is the CRS of the input coordinates (it overrides a file's own); ``species_column``
    may be one column, ``"genus+species"`` (joined with a space) or several in order of preference
    (per row the first non-empty one wins); ``where`` keeps only rows whose column equals the
    value (or is in a collection of values); ``keep_attributes`` adds an ``attributes`` column
    (dict of the row's other non-empty values); ``outlier_km`` rejects points farther than that
    from the register's median position (None: off).
    """
    result, _ = _read(
        Path(path),
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
    return result


def read_trees(
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
    outlier_km: float | None = 1000.0,
    table: LeafClassTable | None = None,
) -> TreeLoadResult:
    """:func:`read_points` plus the leaf class of every tree.

    The species column is the one given or detected (scientific names preferred, then Dutch or
    English common names); when a row's name cannot be placed, its other species columns are
    tried (e.g. Durham's ``commonname`` when ``genus`` is empty).
    """
    base, candidates = _read(
        Path(path),
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
    leaf_table = table if table is not None else default_table()
    frame = base.frame
    species = frame["species"]
    leaf = leaf_table.classify_series(species)
    chosen = species.to_numpy(dtype=object).copy()
    placed = leaf["match"].isin(("species", "genus", "name")).to_numpy()
    for column in candidates.columns:
        if placed.all():
            break
        other = leaf_table.classify_series(candidates[column])
        better = ~placed & other["match"].isin(("species", "genus", "name")).to_numpy()
        if better.any():
            leaf.loc[better] = other.loc[better]
            chosen[better] = candidates[column].to_numpy(dtype=object)[better]
            placed |= better

    out = gpd.GeoDataFrame(
        {
            "id": frame["id"],
            "species": pd.Series(chosen, index=frame.index, dtype=object),
            "genus": leaf["genus"],
            "leaf_class": leaf["leaf_class"],
            "leaf_habit": leaf["leaf_habit"],
            "leaf_fall_months": leaf["leaf_fall_months"],
            **({"attributes": frame["attributes"]} if "attributes" in frame else {}),
        },
        geometry=frame.geometry,
        crs=WGS84,
    )
    n = len(out)
    classes = Counter(out["leaf_class"])
    unresolved = Counter(str(s) for s, m in zip(chosen, leaf["match"], strict=True) if m == "unresolved")
    return TreeLoadResult(
        path=base.path,
        frame=out,
        rejected=base.rejected,
        counts=base.counts,
        source_crs=base.source_crs,
        columns=base.columns,
        notes=base.notes,
        leaf_class_counts=dict(classes),
        unknown_share=(classes.get("unknown", 0) / n) if n else 0.0,
        no_species=int((leaf["match"] == "empty").sum()),
        unresolved_names=dict(unresolved.most_common()),
    )


def parse_decimal(values: pd.Series) -> np.ndarray:
    """Numbers from text with a decimal point or a Dutch decimal comma; NaN where not a number.

    ``"104123,45"`` and ``"104.123,45"`` -> 104123.45; ``"104,123.45"`` -> 104123.45;
    ``"52.1"`` -> 52.1; blanks -> NaN. Numeric input is passed through.
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return np.asarray(values, dtype="float64")
    raw = values.to_numpy(dtype=object)
    # Fast path: plain numbers parse in C; only what fails goes through the comma rules.
    numbers = np.array(pd.to_numeric(pd.Series(raw), errors="coerce"), dtype="float64")
    failed = np.flatnonzero(np.isnan(numbers))
    if failed.size:
        # Second fast path, the common Dutch case "104123,45": swap the comma, parse in C again.
        swapped = np.char.replace(raw[failed].astype(str), ",", ".")
        numbers[failed] = np.asarray(pd.to_numeric(pd.Series(swapped), errors="coerce"), dtype="float64")
        failed = failed[np.isnan(numbers[failed])]
    if failed.size:
        codes, uniques = pd.factorize(raw[failed], use_na_sentinel=True)
        parsed = np.array([_parse_number(u) for u in uniques] + [math.nan], dtype="float64")
        numbers[failed] = parsed[np.where(codes < 0, len(uniques), codes)]
    return numbers


_SEPARATOR_NOISE = re.compile(r"[\s\u00a0']")


def _parse_number(value: object) -> float:
    """One number with a decimal comma or point and optional thousands separators; NaN if none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    text = _SEPARATOR_NOISE.sub("", str(value))
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")  # 104.123,45
        else:
            text = text.replace(",", "")  # 104,123.45
    elif commas == 1:
        text = text.replace(",", ".")  # 104123,45
    elif commas > 1:
        text = text.replace(",", "")  # 1,234,567
    elif dots > 1:
        text = text.replace(".", "")  # 1.234.567
    try:
        return float(text)
    except ValueError:
        return math.nan


def guess_crs(xs: np.ndarray, ys: np.ndarray) -> str | None:
    """EPSG:4326 when the typical value is in degrees, EPSG:28992 when in the Dutch RD box."""
    finite = np.isfinite(xs) & np.isfinite(ys)
    if not finite.any():
        return None
    mx, my = float(np.median(xs[finite])), float(np.median(ys[finite]))
    if -180.0 <= mx <= 180.0 and -90.0 <= my <= 90.0:
        return WGS84
    x0, y0, x1, y1 = RD_BOUNDS
    if x0 <= mx <= x1 and y0 <= my <= y1:
        return RD_NEW
    return None


# -- reading -----------------------------------------------------------------------------------------


def _norm_column(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _find_column(columns: Sequence[str], wanted: str, role: str) -> str:
    """The column named ``wanted`` (exact, else case- and punctuation-insensitive)."""
    if wanted in columns:
        return wanted
    matches = [c for c in columns if _norm_column(c) == _norm_column(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise RegisterError(
        f"the {role} column {wanted!r} is not in the file",
        hint=f"columns are: {', '.join(map(str, columns))}",
    )


def _detect(columns: Sequence[str], candidates: Sequence[str], exclude: Collection[str] = ()) -> str | None:
    by_norm: dict[str, str] = {}
    for c in columns:
        if c not in exclude:
            by_norm.setdefault(_norm_column(c), c)
    for cand in candidates:
        if cand in by_norm:
            return by_norm[cand]
    return None


def _sniff_csv(path: Path) -> tuple[str, str]:
    raw = path.open("rb").read(65536)
    try:
        raw.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        encoding = "utf-8-sig" if exc.start >= len(raw) - 3 else "cp1252"
    text = raw.decode(encoding if encoding != "utf-8-sig" else "utf-8", errors="ignore")
    sample = "\n".join(text.splitlines()[:50])  # the sniffer is slow on long samples
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        delimiter = max(",;\t|", key=header.count)
    return encoding, delimiter


def _read_source(path: Path, layer: str | int | None) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """The attribute table and, for spatial formats, the geometry column (with its CRS)."""
    if not path.exists():
        raise RegisterError(
            f"no such file: {path}", hint="check the path (relative to the working directory)"
        )
    if path.suffix.lower() in CSV_SUFFIXES:
        encoding, delimiter = _sniff_csv(path)
        try:
            table = pd.read_csv(
                path,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                skipinitialspace=True,
            )
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise RegisterError(f"cannot read {path.name} as CSV: {exc}") from exc
        table.columns = [str(c).strip() for c in table.columns]
        return table, None
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except Exception as exc:  # pyogrio/fiona raise many types; report one clear error
        raise RegisterError(
            f"cannot read {path.name}: {exc}",
            hint="use GeoJSON, GeoPackage, Shapefile, GeoParquet or CSV (for a GeoPackage, name the layer)",
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        return pd.DataFrame(gdf), None
    geometry = gdf.geometry
    table = pd.DataFrame(gdf.drop(columns=[geometry.name]))
    return table.reset_index(drop=True), geometry.reset_index(drop=True)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return None if text.lower() in _NULL_TEXT else text


def _texts(values: pd.Series) -> np.ndarray:
    """Trimmed text per value, None for blanks and null markers (object array; once per distinct value)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [_text(u) for u in uniques]
    mapped[-1] = None
    out: np.ndarray = mapped[np.where(codes < 0, len(uniques), codes)]
    return out


def _ids(table: pd.DataFrame, column: str | None) -> np.ndarray:
    rows = np.arange(1, len(table) + 1)
    out = np.empty(len(table), dtype=object)
    if column is None:
        out[:] = [str(r) for r in rows]
        return out
    values = _texts(table[column])
    out[:] = [v if v is not None else f"#{r}" for v, r in zip(values, rows, strict=True)]
    return out


def _species_columns(
    table: pd.DataFrame, species_column: str | Sequence[str] | None
) -> tuple[list[tuple[str, ...]], bool]:
    """Species sources in order of preference: tuples of columns joined with a space."""
    columns = [str(c) for c in table.columns]
    if species_column is not None:
        wanted = [species_column] if isinstance(species_column, str) else list(species_column)
        sources: list[tuple[str, ...]] = []
        for item in wanted:
            if item in columns or "+" not in item:
                sources.append((_find_column(columns, item, "species"),))
            else:
                sources.append(
                    tuple(_find_column(columns, part.strip(), "species") for part in item.split("+"))
                )
        return sources, True
    sources = []
    genus = _detect(columns, GENUS_COLUMNS)
    epithet = _detect(columns, EPITHET_COLUMNS)
    used: set[str] = set()
    if genus is not None and epithet is not None:
        sources.append((genus, epithet))
        used |= {genus, epithet}
    remaining = [c for c in columns if c not in used]
    while True:
        found = _detect(remaining, SPECIES_COLUMNS)
        if found is None:
            break
        sources.append((found,))
        remaining.remove(found)
    return sources, False


def _species_text(table: pd.DataFrame, source: tuple[str, ...]) -> np.ndarray:
    parts = [_texts(table[c]) for c in source]
    out = np.empty(len(table), dtype=object)
    if len(parts) == 1:
        out[:] = parts[0]
    else:
        out[:] = [" ".join(p for p in row if p) or None for row in zip(*parts, strict=True)]
    return out


def _pick_species(texts: list[np.ndarray], n: int) -> np.ndarray:
    """Per row the first text that names something; else the first non-blank one ("onbekend")."""
    out = np.full(n, None, dtype=object)
    fallback = np.full(n, None, dtype=object)
    for values in texts:
        blank = pd.isna(values)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        says_nothing = np.array([str(u).lower() in _EMPTY_SPECIES for u in uniques] + [True], dtype=bool)
        useful = ~blank & ~says_nothing[np.where(codes < 0, len(uniques), codes)]
        take = useful & pd.isna(out)
        out[take] = values[take]
        take_fallback = ~blank & pd.isna(fallback)
        fallback[take_fallback] = values[take_fallback]
    missing = pd.isna(out)
    out[missing] = fallback[missing]
    return out


def _is_rd(crs: CRS) -> bool:
    return crs.to_epsg() in (28992, 7415) or "RD New" in crs.name


def _area_bounds(crs: CRS) -> tuple[float, float, float, float] | None:
    area = crs.area_of_use
    if area is None:
        return None
    west, south, east, north = area.bounds
    if west <= -179.0 and east >= 179.0 and south <= -89.0 and north >= 89.0:
        return None  # the whole world
    return west, south, east, north


def _read(
    path: Path,
    *,
    x: str | None,
    y: str | None,
    lon: str | None,
    lat: str | None,
    crs: str | int | CRS | None,
    id_column: str | None,
    species_column: str | Sequence[str] | None,
    layer: str | int | None,
    where: Mapping[str, object] | None,
    keep_attributes: bool,
    outlier_km: float | None,
) -> tuple[LoadResult, pd.DataFrame]:
    table, geometry = _read_source(path, layer)
    read = len(table)
    columns = [str(c) for c in table.columns]
    notes: list[str] = []
    used: dict[str, str] = {}

    # Filter rows first: they are neither loaded nor rejected.
    keep = np.ones(read, dtype=bool)
    for column, value in (where or {}).items():
        col = _find_column(columns, column, "filter")
        values = pd.Series(_texts(table[col]), dtype=object)
        if isinstance(value, Collection) and not isinstance(value, str):
            keep &= values.isin([str(v) for v in value]).to_numpy()
        else:
            keep &= (values == str(value)).to_numpy()
    rows = np.arange(1, read + 1)[keep]
    table = table.loc[keep].reset_index(drop=True)
    if geometry is not None:
        geometry = geometry.loc[keep].reset_index(drop=True)
    n = len(table)

    # Coordinates in the source CRS, and the text they came from (for the rejected report).
    reasons = np.full(n, None, dtype=object)
    details = np.full(n, None, dtype=object)
    codes = np.full(n, None, dtype=object)

    def reject(
        mask: np.ndarray,
        code: str,
        reason: str,
        detail: str = "",
        a: np.ndarray | None = None,
        b: np.ndarray | None = None,
    ) -> None:
        """Mark rows not yet rejected: one ``reason`` per kind, a ``detail`` per row ({a}, {b})."""
        mask = mask & pd.isna(codes)
        if not mask.any():
            return
        codes[mask] = code
        reasons[mask] = reason
        if a is None or b is None:
            details[mask] = detail
        else:
            details[mask] = [
                detail.format(a=_fmt(p), b=_fmt(q)) for p, q in zip(a[mask], b[mask], strict=True)
            ]

    explicit_columns = any(v is not None for v in (x, y, lon, lat))
    source_crs: CRS | None = CRS.from_user_input(crs) if crs is not None else None
    if geometry is not None and not explicit_columns:
        if source_crs is None:
            source_crs = CRS.from_user_input(geometry.crs) if geometry.crs is not None else None
        elif geometry.crs is not None and not CRS.from_user_input(geometry.crs).equals(source_crs):
            notes.append(f"the file says {geometry.crs.to_string()}; using {source_crs.to_string()} as asked")
        values = geometry.to_numpy()
        missing = pd.isna(values) | shapely.is_empty(values)
        reject(missing, "no-geometry", "no geometry", "empty or missing geometry")
        points = values.copy()
        not_point = ~missing & (shapely.get_type_id(values) != shapely.GeometryType.POINT)
        if not_point.any():
            points[not_point] = shapely.point_on_surface(values[not_point])
            notes.append(f"{int(not_point.sum()):,} non-point geometries reduced to a representative point")
        xs = np.full(n, np.nan)
        ys = np.full(n, np.nan)
        xs[~missing] = shapely.get_x(points[~missing])
        ys[~missing] = shapely.get_y(points[~missing])
        raw_x: np.ndarray = xs.astype(object)
        raw_y: np.ndarray = ys.astype(object)
        used["geometry"] = str(geometry.name) if geometry.name is not None else "geometry"
    else:
        xs, ys, raw_x, raw_y, pair_crs = _coordinate_columns(
            table, columns, x=x, y=y, lon=lon, lat=lat, used=used
        )
        if pair_crs == WGS84 and source_crs is None:
            source_crs = CRS.from_user_input(WGS84)
        blank = pd.isna(raw_x) | pd.isna(raw_y)
        reject(blank, "no-geometry", "no coordinates", "x {a}, y {b}", raw_x, raw_y)
        bad = ~blank & (np.isnan(xs) | np.isnan(ys))
        reject(bad, "unparseable", "coordinates are not numbers", "x {a}, y {b}", raw_x, raw_y)

    finite = np.isfinite(xs) & np.isfinite(ys)
    reject(~finite, "non-finite", "coordinates are not finite", "x {a}, y {b}", xs, ys)
    if source_crs is None:
        guessed = guess_crs(xs, ys)
        if guessed is None:
            raise RegisterError(
                f"cannot tell the coordinate reference system of {path.name}",
                hint="pass crs= (e.g. EPSG:28992 for RD New, EPSG:4326 for lon/lat degrees)",
            )
        source_crs = CRS.from_user_input(guessed)
        notes.append(f"no CRS given: {guessed} assumed from the coordinate values")

    # Plausibility in the source CRS.
    if source_crs.is_geographic:
        lon_bad = finite & ((xs < -180) | (xs > 180))
        reject(lon_bad, "out-of-range", "longitude outside -180..180", "lon {a}, lat {b}", xs, ys)
        lat_bad = finite & ((ys < -90) | (ys > 90))
        reject(lat_bad, "out-of-range", "latitude outside -90..90", "lon {a}, lat {b}", xs, ys)
    if _is_rd(source_crs):
        x0, y0, x1, y1 = RD_BOUNDS
        outside = finite & ((xs < x0) | (xs > x1) | (ys < y0) | (ys > y1))
        reject(outside, "outside-extent", "outside the Netherlands (RD New bounds)", "x {a}, y {b}", xs, ys)
    reject(
        finite & (xs == 0) & (ys == 0), "placeholder", "at 0,0 (a placeholder, not a position)", "x 0, y 0"
    )

    # To WGS84.
    lons = np.full(n, np.nan)
    lats = np.full(n, np.nan)
    ok = pd.isna(codes)
    if ok.any():
        transformer = Transformer.from_crs(source_crs, WGS84, always_xy=True)
        try:
            lons[ok], lats[ok] = transformer.transform(xs[ok], ys[ok])
        except pyproj.exceptions.ProjError as exc:
            raise RegisterError(f"cannot transform {path.name} from {source_crs.to_string()}: {exc}") from exc
    lonlat_ok = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
    reject(
        ok & ~lonlat_ok,
        "outside-extent",
        f"cannot be transformed from {source_crs.to_string()} to WGS84",
        "x {a}, y {b}",
        xs,
        ys,
    )
    at_pole = pd.isna(codes) & (np.abs(lats) >= POLE_LATITUDE)
    reject(
        at_pole, "placeholder", "at a pole (a placeholder, not a position)", "lon {a}, lat {b}", lons, lats
    )
    null_island = pd.isna(codes) & (lons == 0) & (lats == 0)
    reject(null_island, "placeholder", "at lon 0, lat 0 (a placeholder, not a position)", "lon 0, lat 0")
    bounds = None if _is_rd(source_crs) else _area_bounds(source_crs)
    if bounds is not None:
        w, s, e, nb = bounds
        m = AREA_OF_USE_MARGIN_DEG
        outside = pd.isna(codes) & ((lons < w - m) | (lons > e + m) | (lats < s - m) | (lats > nb + m))
        reason = f"outside the area of use of {source_crs.name}"
        reject(outside, "outside-extent", reason, "lon {a}, lat {b}", lons, lats)
    if outlier_km is not None:
        good = pd.isna(codes)
        if good.sum() >= 3:
            lon0, lat0 = float(np.median(lons[good])), float(np.median(lats[good]))
            dist = _haversine_km(lons, lats, lon0, lat0)
            reason = f"more than {outlier_km:,.0f} km from the rest of the register"
            far = good & (dist > outlier_km)
            reject(far, "outlier", reason)
            if far.any():
                centre = f"({lon0:.5f}, {lat0:.5f})"
                details[far] = [
                    f"lon {_fmt(a)}, lat {_fmt(b)}: {d:,.0f} km from the median position {centre}"
                    for a, b, d in zip(lons[far], lats[far], dist[far], strict=True)
                ]

    ok = pd.isna(codes)
    id_col = id_column if id_column is None else _find_column(columns, id_column, "id")
    if id_col is None:
        id_col = _detect(columns, ID_COLUMNS, exclude=set(used.values()))
    if id_col is not None:
        used["id"] = id_col
    ids = _ids(table, id_col) if id_col is not None else np.array([str(r) for r in rows], dtype=object)

    sources, _explicit = _species_columns(table, species_column)
    texts = [_species_text(table, s) for s in sources]
    species = _pick_species(texts, n) if texts else np.full(n, None, dtype=object)
    if sources:
        used["species"] = " > ".join("+".join(s) for s in sources)
    candidates = pd.DataFrame({"+".join(s): t[ok] for s, t in zip(sources, texts, strict=True)})

    # object dtype: None stays None (pandas would make a str column with NaN for missing)
    data: dict[str, Any] = {
        "id": pd.Series(ids[ok], dtype=object),
        "species": pd.Series(species[ok], dtype=object),
    }
    if keep_attributes:
        skip = {used[k] for k in ("x", "y", "lon", "lat", "geometry", "id") if k in used}
        attribute_columns = [c for c in columns if c not in skip]
        records = table.loc[ok, attribute_columns].to_dict("records")
        data["attributes"] = [{k: v for k, v in r.items() if _text(v) is not None} for r in records]
    frame = gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lons[ok], lats[ok]), crs=WGS84)

    bad_rows = ~ok
    rejected = pd.DataFrame(
        {
            "row": rows[bad_rows],
            "id": ids[bad_rows],
            "code": codes[bad_rows],
            "reason": reasons[bad_rows],
            "detail": details[bad_rows],
            "x": raw_x[bad_rows],
            "y": raw_y[bad_rows],
        }
    )
    if bad_rows.any():
        extra = table.loc[bad_rows].reset_index(drop=True)
        extra = extra[[c for c in extra.columns if c not in rejected.columns]]
        rejected = pd.concat([rejected, extra], axis=1)

    id_values = pd.Series(ids[ok])
    counts = LoadCounts(
        read=read,
        skipped=read - n,
        loaded=int(ok.sum()),
        rejected=int(bad_rows.sum()),
        by_reason=dict(Counter(codes[bad_rows].tolist())),
        duplicate_ids=int(id_values.duplicated().sum()) if id_col is not None else 0,
    )
    result = LoadResult(
        path=path,
        frame=frame,
        rejected=rejected,
        counts=counts,
        source_crs=source_crs.to_string(),
        columns=used,
        notes=tuple(notes),
    )
    return result, candidates


def _coordinate_columns(
    table: pd.DataFrame,
    columns: Sequence[str],
    *,
    x: str | None,
    y: str | None,
    lon: str | None,
    lat: str | None,
    used: dict[str, str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Source coordinates from x/y or lon/lat columns (or a WKT column); CRS hint for lon/lat."""
    if (x is None) != (y is None):
        raise RegisterError("give both x and y columns, or neither")
    if (lon is None) != (lat is None):
        raise RegisterError("give both lon and lat columns, or neither")
    pair: tuple[str, str] | None = None
    pair_crs: str | None = None
    if x is not None and y is not None:
        pair = (_find_column(columns, x, "x"), _find_column(columns, y, "y"))
    elif lon is not None and lat is not None:
        pair = (_find_column(columns, lon, "lon"), _find_column(columns, lat, "lat"))
        pair_crs = WGS84
    else:
        cx, cy = _detect(columns, X_COLUMNS), _detect(columns, Y_COLUMNS)
        clon, clat = _detect(columns, LON_COLUMNS), _detect(columns, LAT_COLUMNS)
        if cx is not None and cy is not None:
            pair = (cx, cy)
        elif clon is not None and clat is not None:
            pair, pair_crs = (clon, clat), WGS84
    if pair is None:
        wkt = _detect(columns, WKT_COLUMNS)
        if wkt is None:
            raise RegisterError(
                "no coordinate columns found",
                hint="name them with x=/y= (plus crs=) or lon=/lat=; columns are: " + ", ".join(columns),
            )
        used["geometry"] = wkt
        raw = _texts(table[wkt])
        geoms = shapely.from_wkt(raw, on_invalid="ignore")
        missing = pd.isna(geoms) | shapely.is_empty(geoms)
        geoms[~missing] = shapely.point_on_surface(geoms[~missing])
        xs = np.full(len(table), np.nan)
        ys = np.full(len(table), np.nan)
        xs[~missing] = shapely.get_x(geoms[~missing])
        ys[~missing] = shapely.get_y(geoms[~missing])
        return xs, ys, raw, raw, None
    used["x" if pair_crs is None else "lon"] = pair[0]
    used["y" if pair_crs is None else "lat"] = pair[1]
    xs = parse_decimal(table[pair[0]])
    ys = parse_decimal(table[pair[1]])
    # The text as read, for the rejected report; blanks (None) only where parsing failed.
    raw_x = table[pair[0]].to_numpy(dtype=object).copy()
    raw_y = table[pair[1]].to_numpy(dtype=object).copy()
    for raw, parsed in ((raw_x, xs), (raw_y, ys)):
        failed = np.flatnonzero(np.isnan(parsed))
        raw[failed] = [_text(v) for v in raw[failed]]
    return xs, ys, raw_x, raw_y, pair_crs


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.10g}"
    return repr(value) if isinstance(value, str) else str(value)


def _haversine_km(lons: np.ndarray, lats: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    lam1, phi1 = np.radians(lons), np.radians(lats)
    lam0, phi0 = math.radians(lon0), math.radians(lat0)
    a = np.sin((phi1 - phi0) / 2) ** 2 + np.cos(phi0) * np.cos(phi1) * np.sin((lam1 - lam0) / 2) ** 2
    with np.errstate(invalid="ignore"):
        return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


__all__ = [
    "RD_BOUNDS",
    "RD_NEW",
    "WGS84",
    "LoadCounts",
    "LoadResult",
    "RegisterError",
    "TreeLoadResult",
    "guess_crs",
    "parse_decimal",
    "read_points",
    "read_trees",
]
