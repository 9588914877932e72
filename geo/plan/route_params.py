"""The parameters of a day's truck routes as one validated value (`RouteParams`).

Defaults are the plan settings' (`geo.plan.config.plan_default`), so a plan made without
arguments uses the configured tank, shift and service times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np

from geo.plan.config import PlanConfig, plan_default
from geo.plan.sites import RouteInputError
from geo.plan.travel import MAX_SNAP_M

__all__ = ["RouteParams"]

# Numbers that must be above 0 (the others must only not be negative).
_POSITIVE = ("capacity_m3", "shift_s", "time_limit_s", "speed_kmh")
_NUMBERS = (
    "capacity_m3",
    "shift_s",
    "service_s",
    "dump_service_s",
    "time_limit_s",
    "detour",
    "speed_kmh",
    "max_snap_m",
)


@dataclass(frozen=True)
class RouteParams:
    """How a day's routes are planned.

    `trucks` suction trucks with a tank of `capacity_m3` work shifts of `shift_s` seconds
    (starting at `start_time`, when known); a drain takes `service_s` unless its stop says
    otherwise, emptying the tank at a dump site `dump_service_s`. Without a road network travel
    is the straight line × `detour` at `speed_kmh`; with one, points further than `max_snap_m`
    from it are unreachable. The solver runs `time_limit_s` seconds with `seed`. With dump
    sites, `empty_at_end` sends every truck to empty its tank before it returns to the depot.
    """

    trucks: int = plan_default("trucks")
    capacity_m3: float = plan_default("tank_m3")
    shift_s: float = plan_default("shift_h") * 3600.0
    service_s: float = plan_default("service_s")
    dump_service_s: float = plan_default("dump_service_s")
    start_time: datetime | None = None
    detour: float = plan_default("detour")
    speed_kmh: float = plan_default("speed_kmh")
    time_limit_s: float = plan_default("time_limit_s")
    seed: int = 0
    empty_at_end: bool = True
    max_snap_m: float = MAX_SNAP_M

    def __post_init__(self) -> None:
        trucks = self.trucks
        if isinstance(trucks, bool) or not isinstance(trucks, int | np.integer) or trucks < 1:
            raise RouteInputError(f"trucks must be a whole number of at least 1, got {trucks!r}")
        object.__setattr__(self, "trucks", int(trucks))
        for name in _NUMBERS:
            value = getattr(self, name)
            if not math.isfinite(value):
                raise RouteInputError(f"{name} must be a finite number, got {value}")
            if name in _POSITIVE and value <= 0:
                raise RouteInputError(f"{name} must be positive, got {value}")
            if value < 0:
                raise RouteInputError(f"{name} must not be negative, got {value}")
        if self.detour < 1:
            raise RouteInputError(
                f"detour must be at least 1 (roads are never shorter than a straight line), got {self.detour}"
            )

    @classmethod
    def from_config(
        cls,
        config: PlanConfig,
        *,
        trucks: int | None = None,
        time_limit_s: float | None = None,
        start_time: datetime | None = None,
        seed: int = 0,
    ) -> RouteParams:
        """The configured trucks, tank, shift, service times and travel (`trucks` and
        `time_limit_s` override the configuration when given)."""
        return cls(
            trucks=trucks or config.trucks,
            capacity_m3=config.tank_m3,
            shift_s=config.shift_h * 3600.0,
            service_s=config.service_s,
            dump_service_s=config.dump_service_s,
            start_time=start_time,
            detour=config.detour,
            speed_kmh=config.speed_kmh,
            time_limit_s=time_limit_s or config.time_limit_s,
            seed=seed,
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
