"""`pakhuis geo indicators`: registers from the store → drain ↔ tree and cell indicators → back
into the store (and, when asked, a file)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.jobs.frames import drain_frame, tree_frame
from geo.spatial import cell_indicators, drain_tree_indicators, warm_up
from pakhuis.errors import ConfigurationError
from pakhuis.store import Store

__all__ = ["IndicatorReport", "compute_indicators", "write_drains"]

# Cells of this size (m) unless asked otherwise.
DEFAULT_CELL_M = 100.0


@dataclass
class IndicatorReport:
    drains: int = 0
    trees: int = 0
    cells: int = 0
    cell_size: float = DEFAULT_CELL_M
    share_within_4m: float = 0.0
    share_within_10m: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    out: Path | None = None

    def __str__(self) -> str:
        lines = [
            f"indicators for {self.drains:,} drains and {self.trees:,} trees: "
            f"{self.share_within_4m:.1%} of drains within 4 m of a tree, "
            f"{self.share_within_10m:.1%} within 10 m; "
            f"{self.cells:,} cells of {self.cell_size:g} m",
            "timings: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.timings.items()),
        ]
        if self.out is not None:
            lines.append(f"wrote {self.out}")
        return "\n".join(lines)


def compute_indicators(
    store: Store, *, cell_size: float = DEFAULT_CELL_M, out: Path | None = None
) -> IndicatorReport:
    """Indicators per drain and per cell of `cell_size` m from the stored registers, stored
    (replacing the previous ones) and, with `out`, written with the drains to a file."""
    report = IndicatorReport(cell_size=cell_size, out=out)
    t0 = time.perf_counter()
    drains, trees = drain_frame(store), tree_frame(store)
    if drains.empty:
        raise ConfigurationError(
            "The drain register is empty.", hint="Load one with `pakhuis load drains FILE`."
        )
    report.timings["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm_up()
    report.timings["kernels"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_drain = drain_tree_indicators(drains, trees)
    report.timings["drain indicators"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cells = cell_indicators(drains, trees, cell_size=cell_size)
    report.timings["cells"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.replace_drain_indicators(_drain_rows(per_drain))
    store.replace_cell_indicators(cell_size, _cell_rows(cells, cell_size))
    report.timings["store"] = time.perf_counter() - t0
    if out is not None:
        write_drains(drains.join(per_drain, rsuffix="_indicator"), out)
    report.drains, report.trees, report.cells = len(per_drain), len(trees), len(cells)
    report.share_within_4m = float(np.mean(per_drain["trees_within_4m"] > 0))
    report.share_within_10m = float(np.mean(per_drain["trees_within_10m"] > 0))
    return report


def _none_if_nan(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _drain_rows(per_drain: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    for drain_id, row in zip(per_drain.index, per_drain.itertuples(index=False), strict=True):
        nearest_id = _none_if_nan(row.nearest_tree_id)
        yield (
            int(drain_id),
            _none_if_nan(float(row.nearest_tree_m)),
            None if nearest_id is None or int(nearest_id) < 0 else int(nearest_id),
            row.nearest_leaf_class if isinstance(row.nearest_leaf_class, str) else None,
            int(row.trees_within_4m),
            int(row.trees_within_10m),
            int(row.large_leaf_within_10m),
            float(row.leaf_load),
        )


def _cell_rows(cells: gpd.GeoDataFrame, cell_size: float) -> Iterator[tuple[Any, ...]]:
    crs = cells.crs.to_string() if cells.crs is not None else "unknown"
    wgs84 = cells.to_crs("EPSG:4326").geometry
    for row, geometry in zip(cells.itertuples(index=False), wgs84, strict=True):
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        yield (
            cell_size,
            int(row.cell_x),
            int(row.cell_y),
            crs,
            shapely.geometry.mapping(geometry),
            min_lon,
            min_lat,
            max_lon,
            max_lat,
            int(row.drain_count),
            int(row.tree_count),
            _none_if_nan(float(row.mean_leaf_load)),
            _none_if_nan(float(row.share_drains_within_4m)),
        )


def write_drains(frame: gpd.GeoDataFrame, out: Path) -> None:
    """The drains with their indicators as .gpkg, .geojson or .csv (without geometry)."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table.to_csv(out, index=False)
    elif suffix in (".gpkg", ".geojson"):
        frame.to_file(out, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    else:
        raise ConfigurationError(f"cannot write {out.suffix!r} files", hint="Use .gpkg, .geojson or .csv.")
