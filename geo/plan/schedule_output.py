"""A planned schedule as the planner gets it: the due drains as records (JSON), CSV or GeoJSON
points, with the model it rests on and, when asked for, the yearly summary."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.plan.schedule import Schedule
from geo.plan.summary import YearlySummary
from pakhuis.errors import ConfigurationError

__all__ = ["ScheduleResult", "write_schedule"]


@dataclass
class ScheduleResult:
    schedule: Schedule
    model: dict[str, Any]
    env: gpd.GeoDataFrame
    summary: YearlySummary | None = None

    @property
    def due(self) -> pd.DataFrame:
        return self.schedule.due

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "drain_id": int(row.drain_id),
                "drain": str(row.drain_key),
                "lon": round(float(row.lon), 7),
                "lat": round(float(row.lat), 7),
                "due": row.due.isoformat(),
                "cause": row.cause,
                "method": row.method,
                "fill_now": round(float(row.fill_now), 1),
                "fill_at_due": round(float(row.fill_at_due), 1),
                "threshold": float(row.threshold),
                "sludge_m3": round(float(row.sludge_m3), 4),
                "rate_source": row.rate_source,
                "reason": row.reason,
            }
            for row in self.due.itertuples(index=False)
        ]

    def to_csv(self) -> str:
        """One row per due drain, the columns of `records`."""
        records = self.records()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["drain"])
        writer.writeheader()
        writer.writerows(records)
        return buffer.getvalue()

    def to_geojson(self) -> dict[str, Any]:
        """A FeatureCollection of the due drains as points, the record as properties."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                    "properties": r,
                }
                for r in self.records()
            ],
        }


def write_schedule(result: ScheduleResult, out: Path) -> None:
    """Write the due drains as .csv or .geojson (.json), by the file's suffix."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            fh.write(result.to_csv())
    elif suffix in (".geojson", ".json"):
        out.write_text(json.dumps(result.to_geojson()), encoding="utf-8")
    else:
        raise ConfigurationError(f"cannot write {out.suffix!r} files", hint="use .csv or .geojson")
