"""Loading a tree register: the points of :func:`read_points` plus each tree's leaf class."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from geo.registers.leafclasses import LeafClassTable, default_table
from geo.registers.options import DEFAULT_OUTLIER_KM, ReadOptions
from geo.registers.points import read_register
from geo.registers.results import TreeLoadResult
from geo.registers.source_crs import WGS84

__all__ = ["read_trees", "trees_of"]

# How a name the leaf-class table can place matched it; "empty" and "unresolved" cannot.
_PLACED = ("species", "genus", "name")


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
    outlier_km: float | None = DEFAULT_OUTLIER_KM,
    table: LeafClassTable | None = None,
) -> TreeLoadResult:
    """:func:`read_points` plus the leaf class of every tree.

    The species column is the one given or detected (scientific names preferred, then Dutch or
    English common names); when a row's name cannot be placed, its other species columns are
    tried (e.g. Durham's ``commonname`` when ``genus`` is empty).
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
    return trees_of(Path(path), options, table)


def trees_of(path: Path, options: ReadOptions, table: LeafClassTable | None = None) -> TreeLoadResult:
    """:func:`read_trees` for options already gathered (and checked) in a :class:`ReadOptions`."""
    base, candidates = read_register(path, options)
    leaf_table = table if table is not None else default_table()
    frame = base.frame
    leaf, chosen = _leaf_classes(leaf_table, frame["species"], candidates)
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
        geometry_types=base.geometry_types,
        leaf_class_counts=dict(classes),
        unknown_share=(classes.get("unknown", 0) / n) if n else 0.0,
        no_species=int((leaf["match"] == "empty").sum()),
        unresolved_names=dict(unresolved.most_common()),
    )


def _leaf_classes(
    leaf_table: LeafClassTable, species: pd.Series, candidates: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """(the leaf class of every tree, the name it was found by): the chosen species first, then
    each other species column for the rows the table could not place yet."""
    leaf = leaf_table.classify_series(species)
    chosen = species.to_numpy(dtype=object).copy()
    placed = leaf["match"].isin(_PLACED).to_numpy()
    for column in candidates.columns:
        if placed.all():
            break
        other = leaf_table.classify_series(candidates[column])
        better = ~placed & other["match"].isin(_PLACED).to_numpy()
        if better.any():
            leaf.loc[better] = other.loc[better]
            chosen[better] = candidates[column].to_numpy(dtype=object)[better]
            placed |= better
    return leaf, chosen
