"""`pakhuis plan routes` (and POST /api/v1/routes): the suction work due on one day → truck
routes (`geo.plan.plan_routes`), stored as GeoJSON, CSV and GPX for the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from geo.jobs.schedule import plan_schedule
from geo.plan import (
    PlanConfig,
    RoadNetwork,
    RoadNetworkError,
    RouteInputError,
    RouteParams,
    RoutePlan,
    day_parameters,
    day_summary,
    day_work,
    parse_sites,
    plan_routes,
)
from pakhuis.errors import ConfigurationError, InvalidParameter
from pakhuis.store import Store

__all__ = ["DayRoutes", "plan_day_routes"]

# The shift starts at this hour of the planned day (local time).
SHIFT_START_HOUR = 7


@dataclass
class DayRoutes:
    day: date
    plan: RoutePlan
    summary: dict[str, Any]  # counts, unserved and deferred drains, km, hours (also stored)


# Where each route input is set, for the CLI (flag), the settings (variable) and the API.
_ROUTE_INPUTS = (
    "Check the route inputs: dump sites (--dump 'lon,lat;lon,lat', PAKHUIS_PLAN_DUMP_SITES), "
    "depot (--depot lon,lat, PAKHUIS_PLAN_DEPOT), tank (--tank m³, PAKHUIS_PLAN_TANK_M3), trucks "
    "(--trucks, PAKHUIS_PLAN_TRUCKS; the API's trucks=) and the road file (--roads, "
    "PAKHUIS_PLAN_ROADS_FILE)."
)


def plan_day_routes(
    store: Store,
    config: PlanConfig,
    day: date,
    *,
    trucks: int | None = None,
    roads_file: Path | None = None,
    time_limit_s: float | None = None,
    seed: int = 0,
) -> DayRoutes:
    """Routes for the suction work due on `day` (overdue drains included), stored for the API;
    `trucks`, `roads_file` and `time_limit_s` override the configuration when given."""
    depots = parse_sites(config.depot, "depot")
    dumps = parse_sites(config.dump_sites, "dump site")
    if not depots:
        raise ConfigurationError(
            "No depot is set.", hint="Set PAKHUIS_PLAN_DEPOT='lon,lat' or pass --depot lon,lat."
        )
    depot = depots[0]
    due = plan_schedule(store, config, day, horizon_days=1).due
    work = day_work(due, config, config.trucks if trucks is None else trucks)
    roads_path = roads_file or config.roads_file
    try:
        roads = RoadNetwork.from_file(roads_path) if roads_path is not None else None
        params = RouteParams.from_config(
            config,
            trucks=trucks,
            time_limit_s=time_limit_s,
            start_time=datetime(day.year, day.month, day.day, SHIFT_START_HOUR, 0),
            seed=seed,
        )
        plan = plan_routes(work.stops, depot, dumps, params, roads=roads)
    except (RouteInputError, RoadNetworkError) as exc:
        # Bad inputs (a road file without roads, a negative volume, no dump site for the work):
        # the planner's to fix, so a 400 / CLI error with the solver's own explanation.
        raise InvalidParameter(str(exc), hint=_ROUTE_INPUTS) from exc
    summary = day_summary(day, due, work, plan, config, roads_path)
    store.save_route_plan(
        day,
        parameters=day_parameters(params, config, depot, dumps),
        summary=summary,
        geojson=plan.to_geojson(),
        csv=plan.to_csv(),
        gpx=plan.to_gpx(),
    )
    return DayRoutes(day, plan, summary)
