"""One day's suction work for the trucks: which due drains go to the solver (the most urgent that
fit the day, with a margin; the rest deferred, with the reason), and what the day's plan
records about itself (its summary and parameters)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from geo.plan.config import PlanConfig
from geo.plan.route_params import RouteParams
from geo.plan.route_plan import RoutePlan
from geo.plan.sites import RouteStop, Site

__all__ = ["DayWork", "day_parameters", "day_summary", "day_work"]

# Only to size a day's work before solving: driving time between neighbouring due drains.
ROUGH_DRIVE_BETWEEN_STOPS_S = 120.0
# The solver gets this many times the stops the day roughly has room for.
ROOM_MARGIN = 1.25


@dataclass(frozen=True)
class DayWork:
    """The suction drains of a day's schedule: the stops for the solver and those deferred."""

    stops: list[RouteStop]
    deferred: pd.DataFrame
    trucks: int
    stops_per_truck: float  # what a shift roughly has room for


def day_work(due: pd.DataFrame, config: PlanConfig, trucks: int) -> DayWork:
    """A day has room for so many stops; more would only slow the solver down. The most urgent
    (earliest due, then fullest) go to the solver, with a margin; the rest is deferred to the
    next days."""
    work = due[due["method"] != "sweep"]
    per_truck = config.shift_h * 3600.0 / (config.service_s + ROUGH_DRIVE_BETWEEN_STOPS_S)
    room = math.ceil(ROOM_MARGIN * trucks * per_truck)
    work = work.sort_values(["due", "fill_now"], ascending=[True, False], kind="stable")
    stops = [
        RouteStop(id=str(r.drain_key), lon=float(r.lon), lat=float(r.lat), volume_m3=float(r.sludge_m3))
        for r in work.iloc[:room].itertuples(index=False)
    ]
    return DayWork(stops, work.iloc[room:], trucks, per_truck)


def day_summary(
    day: date,
    due: pd.DataFrame,
    work: DayWork,
    plan: RoutePlan,
    config: PlanConfig,
    roads_path: Path | None,
) -> dict[str, Any]:
    """Counts, unserved and deferred drains, km and hours: what the plan says about the day."""
    deferred = work.deferred
    return {
        "date": day.isoformat(),
        "due": len(due),
        "suction_due": len(work.stops) + len(deferred),
        "suction_stops": len(work.stops),
        "sweep_only": int((due["method"] == "sweep").sum()),
        "served": sum(sum(1 for v in r.visits if v.kind == "stop") for r in plan.routes),
        "unserved": [{"drain": u.id, "reason": u.reason} for u in plan.unserved],
        "deferred": len(deferred),
        "deferred_reason": (
            f"beyond today's capacity: {work.trucks} trucks × {config.shift_h:g} h fit about "
            f"{int(work.trucks * work.stops_per_truck):,} stops; "
            "the most urgent (earliest due, fullest) go first"
        )
        if len(deferred)
        else None,
        "deferred_drains": [str(k) for k in deferred["drain_key"]],
        "trucks": len(plan.routes),
        "total_km": round(plan.total_distance_m / 1000.0, 2),
        "total_hours": round(plan.total_duration_s / 3600.0, 2),
        "dump_visits": [r.dump_visits for r in plan.routes],
        "travel": "road network " + str(roads_path)
        if roads_path is not None
        else (f"straight line × {config.detour} at {config.speed_kmh:g} km/h"),
    }


def day_parameters(params: RouteParams, config: PlanConfig, depot: Site, dumps: list[Site]) -> dict[str, Any]:
    """What the day was planned with, as stored beside its routes."""
    return {
        "trucks": params.trucks,
        "tank_m3": config.tank_m3,
        "shift_h": config.shift_h,
        "service_s": config.service_s,
        "dump_service_s": config.dump_service_s,
        "depot": [depot.lon, depot.lat],
        "dump_sites": [[s.lon, s.lat] for s in dumps],
        "time_limit_s": params.time_limit_s,
    }
