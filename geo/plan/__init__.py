"""Pure drain-cleaning planning (no store): the plan's settings, the schedule with its reasons
and yearly summary, roads and travel, and truck routes with their files.

- `PlanConfig` (`config.py`): thresholds, intervals, trucks and sites; every default is the
  matching `pakhuis.settings.Settings` field's;
- the schedule (`projection.py`, `schedule.py`, `summary.py`, `truck.py`, `reasons.py`,
  `schedule_output.py`): when each drain is due, by which method and why; the coming year
  against the fixed yearly round;
- roads (`road_ways.py`, `road_graph.py`, `roads.py`, `travel.py`): a line file → a truck's
  road graph → travel matrices;
- zone rules (`zone_rules.py`): thresholds and fill-rate multipliers per drain;
- transparency (`algorithm_register.py` over `register_model.py` and `register_entries.py`;
  `coverage.py`): the public algorithm register built from the configuration in force;
  per-cell sensor coverage and the per-district fairness figure;
- routes (`sites.py`, `route_params.py`, `routing.py` over `solver.py`, `route_start.py`,
  `route_ends.py`; `route_plan.py`, `route_files.py`): PyVRP with dump trips → GeoJSON, CSV,
  GPX; `day_routes.py`: a day's suction work and what its plan records.

`PlanConfig` and the default horizon are imported eagerly (they need only the settings);
everything else, which needs geopandas, scipy or PyVRP, on first use -- so the API can hold
a config cheaply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo._lazy import lazy_attributes
from geo.plan.config import DEFAULT_HORIZON_DAYS, PlanConfig, plan_default

if TYPE_CHECKING:
    from geo.plan.algorithm_register import AlertConfig, AlgorithmRegister, build_algorithm_register
    from geo.plan.coverage import (
        CoverageLayer,
        FairnessFigure,
        LocatedDrain,
        LocatedSensor,
        coverage_layer,
        fairness_figure,
    )
    from geo.plan.day_routes import DayWork, day_parameters, day_summary, day_work
    from geo.plan.projection import (
        LEAF_FALL_MONTHS,
        DrainState,
        ScheduleParameters,
        SeasonalTable,
    )
    from geo.plan.reasons import due_reasons, join_reasons, month_name, rate_text
    from geo.plan.road_ways import NO_ACCESS, TRUCK_SPEEDS_KMH
    from geo.plan.roads import RoadNetwork, RoadNetworkError
    from geo.plan.route_files import write_route_plan
    from geo.plan.route_params import RouteParams
    from geo.plan.route_plan import RoutePlan, TruckRoute, Unserved, Visit, plan_from_sequences
    from geo.plan.routing import plan_routes
    from geo.plan.schedule import Schedule, compute_schedule
    from geo.plan.schedule_output import ScheduleResult, write_schedule
    from geo.plan.sites import RouteInputError, RouteStop, Site, parse_sites
    from geo.plan.summary import PolicyYear, YearlySummary, city_summary, yearly_summary
    from geo.plan.travel import TravelMatrix, straight_line_matrix
    from geo.plan.truck import TruckModel
    from geo.plan.zone_rules import effective_multiplier, zone_rules

# name -> module, imported on first attribute access
_LAZY = {
    "AlertConfig": "geo.plan.algorithm_register",
    "AlgorithmRegister": "geo.plan.algorithm_register",
    "build_algorithm_register": "geo.plan.algorithm_register",
    "CoverageLayer": "geo.plan.coverage",
    "FairnessFigure": "geo.plan.coverage",
    "LocatedDrain": "geo.plan.coverage",
    "LocatedSensor": "geo.plan.coverage",
    "coverage_layer": "geo.plan.coverage",
    "fairness_figure": "geo.plan.coverage",
    "LEAF_FALL_MONTHS": "geo.plan.projection",
    "DrainState": "geo.plan.projection",
    "ScheduleParameters": "geo.plan.projection",
    "SeasonalTable": "geo.plan.projection",
    "DayWork": "geo.plan.day_routes",
    "day_parameters": "geo.plan.day_routes",
    "day_summary": "geo.plan.day_routes",
    "day_work": "geo.plan.day_routes",
    "due_reasons": "geo.plan.reasons",
    "join_reasons": "geo.plan.reasons",
    "month_name": "geo.plan.reasons",
    "rate_text": "geo.plan.reasons",
    "NO_ACCESS": "geo.plan.road_ways",
    "TRUCK_SPEEDS_KMH": "geo.plan.road_ways",
    "RoadNetwork": "geo.plan.roads",
    "RoadNetworkError": "geo.plan.roads",
    "write_route_plan": "geo.plan.route_files",
    "RouteParams": "geo.plan.route_params",
    "RoutePlan": "geo.plan.route_plan",
    "TruckRoute": "geo.plan.route_plan",
    "Unserved": "geo.plan.route_plan",
    "Visit": "geo.plan.route_plan",
    "plan_from_sequences": "geo.plan.route_plan",
    "plan_routes": "geo.plan.routing",
    "Schedule": "geo.plan.schedule",
    "compute_schedule": "geo.plan.schedule",
    "ScheduleResult": "geo.plan.schedule_output",
    "write_schedule": "geo.plan.schedule_output",
    "RouteInputError": "geo.plan.sites",
    "RouteStop": "geo.plan.sites",
    "Site": "geo.plan.sites",
    "parse_sites": "geo.plan.sites",
    "PolicyYear": "geo.plan.summary",
    "YearlySummary": "geo.plan.summary",
    "city_summary": "geo.plan.summary",
    "yearly_summary": "geo.plan.summary",
    "TravelMatrix": "geo.plan.travel",
    "straight_line_matrix": "geo.plan.travel",
    "TruckModel": "geo.plan.truck",
    "effective_multiplier": "geo.plan.zone_rules",
    "zone_rules": "geo.plan.zone_rules",
}

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "LEAF_FALL_MONTHS",
    "NO_ACCESS",
    "TRUCK_SPEEDS_KMH",
    "AlertConfig",
    "AlgorithmRegister",
    "CoverageLayer",
    "DayWork",
    "DrainState",
    "FairnessFigure",
    "LocatedDrain",
    "LocatedSensor",
    "PlanConfig",
    "PolicyYear",
    "RoadNetwork",
    "RoadNetworkError",
    "RouteInputError",
    "RouteParams",
    "RoutePlan",
    "RouteStop",
    "Schedule",
    "ScheduleParameters",
    "ScheduleResult",
    "SeasonalTable",
    "Site",
    "TravelMatrix",
    "TruckModel",
    "TruckRoute",
    "Unserved",
    "Visit",
    "YearlySummary",
    "build_algorithm_register",
    "city_summary",
    "compute_schedule",
    "coverage_layer",
    "day_parameters",
    "day_summary",
    "day_work",
    "due_reasons",
    "effective_multiplier",
    "fairness_figure",
    "join_reasons",
    "month_name",
    "parse_sites",
    "plan_default",
    "plan_from_sequences",
    "plan_routes",
    "rate_text",
    "straight_line_matrix",
    "write_route_plan",
    "write_schedule",
    "yearly_summary",
    "zone_rules",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
