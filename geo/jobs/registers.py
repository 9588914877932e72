"""`pakhuis load drains|trees|zones`: a published register file → the store's register rows,
replacing the previous load, with a report in numbers (stored, rejected by reason).

A drain or tree load that would lose most of the register it replaces (fewer than half as
many points), or that brings lines or polygons where a register holds points, is refused
before anything is written (`RegisterLoadRefused`) unless the caller says `replace_anyway`:
replacing the drains also removes the fitted fill model's per-drain states. The report warns
when the drains and trees end up too far apart for any tree indicator to count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd

from geo.jobs.register_guards import (
    Register,
    RegisterLoadRefused,
    distance_warning,
    refuse_losing_load,
    removed_indicators,
    removed_with_drains,
)
from geo.plan import PlanConfig
from geo.registers import LoadResult, ReadOptions, points_of, read_zones, trees_of
from pakhuis.store import DrainRow, Store, TreeRow

__all__ = [
    "RegisterLoadRefused",
    "RegisterLoadReport",
    "ZoneLoadReport",
    "load_drains",
    "load_trees",
    "load_zones",
]


@dataclass(frozen=True)
class RegisterLoadReport:
    what: Register
    source: str
    stored: int
    rejected: int
    rejected_by_reason: dict[str, int]
    summary: str  # the reader's own account of the file
    seconds: float
    warnings: tuple[str, ...] = ()  # what the load removed or will make meaningless

    def __str__(self) -> str:
        lines = [f"  rejected {count:,}: {reason}" for reason, count in self.rejected_by_reason.items()]
        lines.append(self.summary)
        lines.append(f"{self.what}: {self.stored:,} stored in {self.seconds:.1f} s")
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)


@dataclass(frozen=True)
class ZoneLoadReport:
    kind: str
    stored: int
    threshold: float  # % at which a drain in this zone is due
    multiplier: float | None  # fill-rate multiplier of the kind, None when not configured
    summary: str

    def __str__(self) -> str:
        extra = f", fill-rate ×{self.multiplier:g}" if self.multiplier else ""
        stored = f"zones: {self.stored:,} {self.kind} stored; threshold {self.threshold:g} %{extra}"
        return f"{self.summary}\n{stored}"


def load_drains(
    store: Store, path: Path, options: ReadOptions | None = None, *, replace_anyway: bool = False
) -> RegisterLoadReport:
    """Replace the drain register with the points in `path` (any format geopandas reads, or
    CSV); the rows' other columns are kept (district/buurt codes feed the fill model).

    Refused (`RegisterLoadRefused`) when it would lose most of the register or the file is not
    points, unless `replace_anyway`."""
    started = time.perf_counter()
    result = points_of(path, replace(options or ReadOptions(), keep_attributes=True))
    if not replace_anyway:
        refuse_losing_load(store, "drains", result)
    removed = store.drain_dependents()
    count = store.replace_drains(_drain_rows(result.frame), source=str(path), rejected=len(result.rejected))
    warnings = removed_with_drains(removed) + distance_warning(store, "drains")
    return _report("drains", path, count, result, started, warnings)


def load_trees(
    store: Store, path: Path, options: ReadOptions | None = None, *, replace_anyway: bool = False
) -> RegisterLoadReport:
    """Replace the tree register with `path`; species are mapped to leaf classes.

    Refused like `load_drains` unless `replace_anyway`."""
    started = time.perf_counter()
    result = trees_of(path, options or ReadOptions())
    if not replace_anyway:
        refuse_losing_load(store, "trees", result)
    indicators = store.drain_dependents()["drain_indicators"]
    count = store.replace_trees(_tree_rows(result.frame), source=str(path), rejected=len(result.rejected))
    warnings = removed_indicators(indicators, "tree") + distance_warning(store, "trees")
    return _report("trees", path, count, result, started, warnings)


def load_zones(
    store: Store,
    path: Path,
    kind: str,
    config: PlanConfig,
    *,
    buffer_m: float | None = None,
    name_column: str | None = None,
    layer: str | None = None,
) -> ZoneLoadReport:
    """Replace the zones of one `kind` with `path` (polygons, or points/lines buffered into
    areas); the report says which threshold and multiplier `config` gives them."""
    loaded = read_zones(path, kind, buffer_m=buffer_m, name_column=name_column, layer=layer)
    count = store.replace_zones(loaded.kind, loaded.rows, source=str(path))
    return ZoneLoadReport(
        kind=kind,
        stored=count,
        threshold=config.threshold(kind),
        multiplier=config.rate_multipliers.get(kind),
        summary=loaded.summary(),
    )


def _report(
    what: Register,
    path: Path,
    count: int,
    result: LoadResult,
    started: float,
    warnings: tuple[str, ...] = (),
) -> RegisterLoadReport:
    rejected = result.rejected
    by_reason = {}
    if len(rejected):
        by_reason = {str(reason): int(n) for reason, n in rejected["reason"].value_counts().items()}
    return RegisterLoadReport(
        what=what,
        source=str(path),
        stored=count,
        rejected=len(rejected),
        rejected_by_reason=by_reason,
        summary=result.summary(),
        seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def _drain_rows(frame: gpd.GeoDataFrame) -> list[DrainRow]:
    attributes = frame["attributes"] if "attributes" in frame else [{}] * len(frame)
    return [
        (None if source_id is None else str(source_id), float(point.x), float(point.y), dict(attrs or {}))
        for source_id, point, attrs in zip(frame["id"], frame.geometry, attributes, strict=True)
    ]


def _tree_rows(frame: gpd.GeoDataFrame) -> list[TreeRow]:
    return [
        (
            None if source_id is None else str(source_id),
            float(point.x),
            float(point.y),
            species if isinstance(species, str) else None,
            genus if isinstance(genus, str) else None,
            str(leaf_class),
        )
        for source_id, point, species, genus, leaf_class in zip(
            frame["id"], frame.geometry, frame["species"], frame["genus"], frame["leaf_class"], strict=True
        )
    ]
