"""Reading a register file into an attribute table and (for spatial formats) its geometries.

CSV (``.csv``, ``.tsv``, ``.txt``) is read as text, with the delimiter (``,`` ``;`` tab ``|``)
and encoding (UTF-8 with or without BOM, else cp1252) sniffed; everything else through
geopandas (GeoJSON, GeoPackage, Shapefile, GeoParquet).
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.registers.errors import RegisterError

__all__ = ["CSV_SUFFIXES", "read_source"]

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})


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


def _read_csv(path: Path) -> pd.DataFrame:
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
    return table


def read_source(path: Path, layer: str | int | None) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """The attribute table and, for spatial formats, the geometry column (with its CRS)."""
    if not path.exists():
        raise RegisterError(
            f"no such file: {path}", hint="check the path (relative to the working directory)"
        )
    if path.suffix.lower() in CSV_SUFFIXES:
        return _read_csv(path), None
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
