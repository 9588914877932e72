"""What a register load returns: the points, the rejected rows and the numbers of the load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.registers.source_crs import WGS84

__all__ = ["LoadCounts", "LoadResult", "TreeLoadResult"]


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

    ``geometry_types`` counts the file's geometries by GeoJSON type (``Point``, ``Polygon``,
    ...) as read, before lines and polygons are reduced to one point each: a register of
    points is told from a file of areas by it.
    """

    path: Path
    frame: gpd.GeoDataFrame
    rejected: pd.DataFrame
    counts: LoadCounts
    source_crs: str
    columns: dict[str, str]
    notes: tuple[str, ...] = ()
    geometry_types: dict[str, int] = field(default_factory=dict)

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
