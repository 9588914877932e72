"""Store → compute → store: the only part of `geo` that imports `pakhuis.store`.

- `registers`: register files → the drain, tree and zone registers (`load_drains`,
  `load_trees`, `load_zones`);
- `cleanings`: recorded cleanings (work orders), for the CLI and the API (`record_cleanings`,
  `load_cleanings`);
- `indicators`: drain ↔ tree and cell indicators (`compute_indicators`);
- `environment`: every drain's environment and zone rules, read from the store;
- `fairness`: per district, drains whose rate comes from a sensor vs the model
  (`district_rate_sources`, for the algorithm register);
- `refit`: fill rates, seasonal factors and the environment model → each drain's fill state;
- `schedule`: the drains due within a horizon, with reasons (`plan_schedule`);
- `routes`: a day's truck routes, stored with their files (`plan_day_routes`);
- `sensor_registration`: a sensor registered, linked to its drain by id or by position
  (`register_sensor`), for the CLI and the API.

Each job returns a report whose `str()` is what the CLI prints. Imported on first use (they
need geopandas, scikit-learn, PyVRP), so `import geo.jobs` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo._lazy import lazy_attributes

if TYPE_CHECKING:
    from geo.jobs.cleanings import CleaningsReport, load_cleanings, record_cleanings
    from geo.jobs.environment import environment
    from geo.jobs.errors import PlanNotReady
    from geo.jobs.fairness import district_rate_sources
    from geo.jobs.indicators import IndicatorReport, compute_indicators, write_drains
    from geo.jobs.refit import RefitReport, refit
    from geo.jobs.registers import RegisterLoadReport, ZoneLoadReport, load_drains, load_trees, load_zones
    from geo.jobs.routes import DayRoutes, plan_day_routes
    from geo.jobs.schedule import plan_schedule
    from geo.jobs.sensor_registration import SensorRegistration, register_sensor
    from geo.plan.schedule_output import ScheduleResult, write_schedule

# name -> module, imported on first attribute access
_LAZY = {
    "CleaningsReport": "geo.jobs.cleanings",
    "load_cleanings": "geo.jobs.cleanings",
    "record_cleanings": "geo.jobs.cleanings",
    "environment": "geo.jobs.environment",
    "PlanNotReady": "geo.jobs.errors",
    "district_rate_sources": "geo.jobs.fairness",
    "IndicatorReport": "geo.jobs.indicators",
    "compute_indicators": "geo.jobs.indicators",
    "write_drains": "geo.jobs.indicators",
    "RefitReport": "geo.jobs.refit",
    "refit": "geo.jobs.refit",
    "RegisterLoadReport": "geo.jobs.registers",
    "ZoneLoadReport": "geo.jobs.registers",
    "load_drains": "geo.jobs.registers",
    "load_trees": "geo.jobs.registers",
    "load_zones": "geo.jobs.registers",
    "DayRoutes": "geo.jobs.routes",
    "plan_day_routes": "geo.jobs.routes",
    "plan_schedule": "geo.jobs.schedule",
    "SensorRegistration": "geo.jobs.sensor_registration",
    "register_sensor": "geo.jobs.sensor_registration",
    # the schedule job's result and its file writer, beside the job for the CLI's convenience
    "ScheduleResult": "geo.plan.schedule_output",
    "write_schedule": "geo.plan.schedule_output",
}

__all__ = [
    "CleaningsReport",
    "DayRoutes",
    "IndicatorReport",
    "PlanNotReady",
    "RefitReport",
    "RegisterLoadReport",
    "ScheduleResult",
    "SensorRegistration",
    "ZoneLoadReport",
    "compute_indicators",
    "district_rate_sources",
    "environment",
    "load_cleanings",
    "load_drains",
    "load_trees",
    "load_zones",
    "plan_day_routes",
    "plan_schedule",
    "record_cleanings",
    "refit",
    "register_sensor",
    "write_drains",
    "write_schedule",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
