"""Where the data is thin (issue 14 part 5, the Street Bump lesson): per grid cell, how many of
its drains have a fill sensor of their own and how many sensors of each kind lie in it; and,
per district, how many drains' fill rates come from a sensor rather than the model -- the
schedule's fairness figure.

Pure: the caller passes the stored cells (the grid of the cell indicators), the drains with
whether each has a linked sensor, and the sensors' positions and kinds. Only counts per cell
come out: no sensor's position, id or name.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyproj

from pakhuis.quantities import SensorKind

__all__ = [
    "RATE_FROM_SENSOR",
    "CoverageLayer",
    "DistrictRates",
    "FairnessFigure",
    "LocatedDrain",
    "LocatedSensor",
    "coverage_layer",
    "fairness_figure",
]

# Fill-state rate sources that rest on the drain's own sensor (`geo.jobs` writes them).
RATE_FROM_SENSOR = ("sensor", "sensor+model")
_KINDS = tuple(kind.value for kind in SensorKind)


@dataclass(frozen=True)
class LocatedDrain:
    lon: float
    lat: float
    has_sensor: bool


@dataclass(frozen=True)
class LocatedSensor:
    lon: float | None
    lat: float | None
    kind: str


@dataclass(frozen=True)
class CoverageLayer:
    """The GeoJSON FeatureCollection and its totals."""

    features: list[dict[str, Any]]
    cell_size: float | None
    cells_with_drains: int
    cells_with_sensors: int
    sensors_outside_cells: int  # sensors with a position outside every cell of the grid
    sensors_without_position: int

    def to_geojson(self) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "features": self.features,
            "cell_size": self.cell_size,
            "totals": {
                "cells": len(self.features),
                "cells_with_drains": self.cells_with_drains,
                "cells_with_sensors": self.cells_with_sensors,
                "sensors_outside_cells": self.sensors_outside_cells,
                "sensors_without_position": self.sensors_without_position,
            },
        }


@lru_cache(maxsize=8)
def _to_grid(crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _cell_of(lon: float, lat: float, crs: str, size: float) -> tuple[int, int] | None:
    x, y = _to_grid(crs).transform(lon, lat)
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    # The cell indicators' grid: squares aligned on multiples of the size (lower-left corner).
    return math.floor(x / size), math.floor(y / size)


def coverage_layer(
    cells: Iterable[Mapping[str, Any]],
    drains: Iterable[LocatedDrain],
    sensors: Iterable[LocatedSensor],
    *,
    drain_links_known: bool = True,
) -> CoverageLayer:
    """Per cell of `cells` (rows of the stored cell indicators: cell_size, cell_x, cell_y, crs,
    geometry as GeoJSON text or object, drain_count) the drains with a sensor and the sensors
    per kind. Without `drain_links_known` (no refit yet) drains_with_sensor is None."""
    rows = list(cells)
    if not rows:
        sensors = list(sensors)
        positioned = sum(1 for s in sensors if s.lon is not None and s.lat is not None)
        return CoverageLayer([], None, 0, 0, positioned, len(sensors) - positioned)
    size = float(rows[0]["cell_size"])
    crs = str(rows[0]["crs"])
    index = {
        (round(float(r["cell_x"]) / size), round(float(r["cell_y"]) / size)): i for i, r in enumerate(rows)
    }
    with_sensor = [0] * len(rows)
    for d in drains:
        cell = _cell_of(d.lon, d.lat, crs, size) if d.has_sensor else None
        at = index.get(cell) if cell is not None else None
        if at is not None:
            with_sensor[at] += 1
    per_kind: dict[int, Counter[str]] = defaultdict(Counter)
    outside = unplaced = 0
    for s in sensors:
        if s.lon is None or s.lat is None:
            unplaced += 1
            continue
        cell = _cell_of(s.lon, s.lat, crs, size)
        at = index.get(cell) if cell is not None else None
        if at is None:
            outside += 1
        else:
            per_kind[at][s.kind if s.kind in _KINDS else SensorKind.OTHER.value] += 1
    features = []
    for i, row in enumerate(rows):
        counts = per_kind.get(i, Counter())
        geometry = row["geometry"]
        drain_count = int(row.get("drain_count") or 0)
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geometry) if isinstance(geometry, str) else geometry,
                "properties": {
                    "cell_x": row["cell_x"],
                    "cell_y": row["cell_y"],
                    "drains": drain_count,
                    "drains_with_sensor": with_sensor[i] if drain_links_known else None,
                    "sensors": sum(counts.values()),
                    **{f"sensors_{kind}": counts.get(kind, 0) for kind in _KINDS},
                    "has_sensor_data": sum(counts.values()) > 0,
                },
            }
        )
    return CoverageLayer(
        features,
        size,
        cells_with_drains=sum(1 for r in rows if int(r.get("drain_count") or 0) > 0),
        cells_with_sensors=len(per_kind),
        sensors_outside_cells=outside,
        sensors_without_position=unplaced,
    )


@dataclass(frozen=True)
class DistrictRates:
    district: str
    drains: int
    rate_from_sensor: int
    rate_from_model: int

    @property
    def share_from_sensor(self) -> float:
        return self.rate_from_sensor / self.drains if self.drains else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "drains": self.drains,
            "rate_from_sensor": self.rate_from_sensor,
            "rate_from_model": self.rate_from_model,
            "share_from_sensor": round(self.share_from_sensor, 4),
        }


@dataclass(frozen=True)
class FairnessFigure:
    """Per district, how many drains' rates rest on their own sensor and how many on the model.
    A schedule that follows the environment, not the sensor density, gives districts with and
    without sensors the same share of due drains (tests/geo/jobs/test_plan_fairness.py); this
    shows how unevenly the measurements themselves are spread."""

    districts: tuple[DistrictRates, ...]

    def as_dict(self) -> dict[str, Any]:
        shares = [d.share_from_sensor for d in self.districts]
        drains = sum(d.drains for d in self.districts)
        measured = sum(d.rate_from_sensor for d in self.districts)
        return {
            "districts": [d.as_dict() for d in self.districts],
            "drains": drains,
            "share_from_sensor": round(measured / drains, 4) if drains else None,
            "min_district_share": round(min(shares), 4) if shares else None,
            "max_district_share": round(max(shares), 4) if shares else None,
            "districts_without_sensor": sum(1 for d in self.districts if d.rate_from_sensor == 0),
        }


def fairness_figure(districts: Sequence[str], rate_sources: Sequence[str]) -> FairnessFigure:
    """From each drain's district and its fill state's rate source (aligned)."""
    if len(districts) != len(rate_sources):
        raise ValueError("districts and rate_sources must be aligned, one per drain")
    drains: Counter[str] = Counter()
    measured: Counter[str] = Counter()
    for district, source in zip(districts, rate_sources, strict=True):
        drains[district] += 1
        measured[district] += source in RATE_FROM_SENSOR
    rows = tuple(
        DistrictRates(name, drains[name], measured[name], drains[name] - measured[name])
        for name in sorted(drains)
    )
    return FairnessFigure(rows)
