"""Settings of the drain-cleaning plan as a plain value (thresholds, intervals, trucks, sites).


Kept apart from `geo.planning` so the API can hold one without importing the model stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PlanConfig"]


@dataclass(frozen=True)
class PlanConfig:
    thresholds: Mapping[str, float] = field(
        default_factory=lambda: {
            "default": 60.0,
            "shopping": 40.0,
            "bus_stop": 40.0,
            "main_road": 40.0,
            "school": 50.0,
            "construction": 60.0,
        }
    )
    rate_multipliers: Mapping[str, float] = field(default_factory=lambda: {"construction": 2.0})
    min_interval_days: float = 14.0
    max_interval_days: float = 5 * 365.0
    sump_m3: float = 0.06
    assumed_days_since_cleaning: float = 182.0
    depot: str | None = None
    dump_sites: str | None = None
    trucks: int = 3
    tank_m3: float = 6.0
    shift_h: float = 8.0
    service_s: float = 180.0
    dump_service_s: float = 900.0
    speed_kmh: float = 25.0
    detour: float = 1.3
    time_limit_s: float = 10.0
    roads_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> PlanConfig:
        return cls(
            thresholds=dict(settings.plan_thresholds),
            rate_multipliers=dict(settings.plan_rate_multipliers),
            min_interval_days=settings.plan_min_interval_days,
            max_interval_days=settings.plan_max_interval_days,
            sump_m3=settings.plan_sump_m3,
            assumed_days_since_cleaning=settings.plan_assumed_days_since_cleaning,
            depot=settings.plan_depot,
            dump_sites=settings.plan_dump_sites,
            trucks=settings.plan_trucks,
            tank_m3=settings.plan_tank_m3,
            shift_h=settings.plan_shift_h,
            service_s=settings.plan_service_s,
            dump_service_s=settings.plan_dump_service_s,
            speed_kmh=settings.plan_speed_kmh,
            detour=settings.plan_detour,
            time_limit_s=settings.plan_time_limit_s,
            roads_file=settings.plan_roads_file,
        )

    def threshold(self, kind: str) -> float:
        return float(self.thresholds.get(kind, self.thresholds.get("default", 60.0)))
