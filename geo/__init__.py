"""Spatial analytics and drain-cleaning planning, in five sub-rooms with a one-way rule
`spatial ← registers ← fill ← plan ← jobs` (each imports only those to its left):

- `geo.spatial`: numba kernels behind typed wrappers (numpy in, numpy out, in metres), the
  metric CRS, drain ↔ tree and per-cell indicators;
- `geo.registers`: published register files → frames with every rejected row; leaf classes,
  zones, work orders;
- `geo.fill`: measured fill rates and cleanings from sensor series, seasonal factors, the
  environment model that predicts every drain's rate;
- `geo.plan`: pure planning -- the plan's settings, schedule with reasons, yearly summary,
  roads and truck routes with their files;
- `geo.jobs`: store → compute → store, the only importers of `pakhuis.store`.

This module re-exports each sub-room's front door. The numpy layer of `geo.spatial` is
imported eagerly (numpy and numba only); everything else, which needs geopandas, scikit-learn
or PyVRP, on first use -- so `import geo` stays cheap for a process that only wants the
kernels. The sub-rooms themselves (`geo.jobs`, ...) are reachable as attributes too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geo._lazy import lazy_attributes
from geo.spatial import (
    CellAggregate,
    GridIndex,
    NearbySummary,
    counts_within,
    grid_aggregate,
    idw,
    leaf_load,
    nearest_distances,
    threading_layer,
    warm_up,
)

if TYPE_CHECKING:
    from geo import fill, jobs, plan, registers, spatial
    from geo.fill import (
        FillModel,
        FillRateFit,
        SeasonalFactors,
        detect_cleanings,
        fit_fill_model,
        fit_fill_rate,
        fit_seasonal_factors,
    )
    from geo.plan import (
        DrainState,
        PlanConfig,
        RoadNetwork,
        RoadNetworkError,
        RouteInputError,
        RouteParams,
        RoutePlan,
        RouteStop,
        Schedule,
        ScheduleParameters,
        Site,
        TravelMatrix,
        YearlySummary,
        compute_schedule,
        plan_routes,
        straight_line_matrix,
        write_route_plan,
        yearly_summary,
    )
    from geo.registers import (
        ZONE_KINDS,
        LoadResult,
        RegisterError,
        TreeLoadResult,
        WorkOrder,
        WorkOrderError,
        ZoneLoad,
        drain_zones,
        parse_work_orders,
        read_points,
        read_trees,
        read_work_orders,
        read_zones,
    )
    from geo.spatial import (
        LEAF_CLASSES,
        LEAF_WEIGHTS,
        RD_NEW,
        MetricPoints,
        cell_indicators,
        drain_tree_indicators,
        metric_crs,
        metric_points,
        metric_xy_of,
        to_metric_xy,
    )

_SUBROOMS = ("spatial", "registers", "fill", "plan", "jobs")

# name -> the sub-room whose front door holds it, imported on first attribute access
_LAZY = {
    **dict.fromkeys(
        (
            "LEAF_CLASSES",
            "LEAF_WEIGHTS",
            "RD_NEW",
            "MetricPoints",
            "cell_indicators",
            "drain_tree_indicators",
            "metric_crs",
            "metric_points",
            "metric_xy_of",
            "to_metric_xy",
        ),
        "geo.spatial",
    ),
    **dict.fromkeys(
        (
            "ZONE_KINDS",
            "LoadResult",
            "RegisterError",
            "TreeLoadResult",
            "WorkOrder",
            "WorkOrderError",
            "ZoneLoad",
            "drain_zones",
            "parse_work_orders",
            "read_points",
            "read_trees",
            "read_work_orders",
            "read_zones",
        ),
        "geo.registers",
    ),
    **dict.fromkeys(
        (
            "FillModel",
            "FillRateFit",
            "SeasonalFactors",
            "detect_cleanings",
            "fit_fill_model",
            "fit_fill_rate",
            "fit_seasonal_factors",
        ),
        "geo.fill",
    ),
    **dict.fromkeys(
        (
            "DrainState",
            "PlanConfig",
            "RoadNetwork",
            "RoadNetworkError",
            "RouteInputError",
            "RouteParams",
            "RoutePlan",
            "RouteStop",
            "Schedule",
            "ScheduleParameters",
            "Site",
            "TravelMatrix",
            "YearlySummary",
            "compute_schedule",
            "plan_routes",
            "straight_line_matrix",
            "write_route_plan",
            "yearly_summary",
        ),
        "geo.plan",
    ),
}

__all__ = [
    "LEAF_CLASSES",
    "LEAF_WEIGHTS",
    "RD_NEW",
    "ZONE_KINDS",
    "CellAggregate",
    "DrainState",
    "FillModel",
    "FillRateFit",
    "GridIndex",
    "LoadResult",
    "MetricPoints",
    "NearbySummary",
    "PlanConfig",
    "RegisterError",
    "RoadNetwork",
    "RoadNetworkError",
    "RouteInputError",
    "RouteParams",
    "RoutePlan",
    "RouteStop",
    "Schedule",
    "ScheduleParameters",
    "SeasonalFactors",
    "Site",
    "TravelMatrix",
    "TreeLoadResult",
    "WorkOrder",
    "WorkOrderError",
    "YearlySummary",
    "ZoneLoad",
    "cell_indicators",
    "compute_schedule",
    "counts_within",
    "detect_cleanings",
    "drain_tree_indicators",
    "drain_zones",
    "fill",
    "fit_fill_model",
    "fit_fill_rate",
    "fit_seasonal_factors",
    "grid_aggregate",
    "idw",
    "jobs",
    "leaf_load",
    "metric_crs",
    "metric_points",
    "metric_xy_of",
    "nearest_distances",
    "parse_work_orders",
    "plan",
    "plan_routes",
    "read_points",
    "read_trees",
    "read_work_orders",
    "read_zones",
    "registers",
    "spatial",
    "straight_line_matrix",
    "threading_layer",
    "to_metric_xy",
    "warm_up",
    "write_route_plan",
    "yearly_summary",
]


_lazy_name = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    if name in _SUBROOMS:
        return importlib.import_module(f"geo.{name}")
    return _lazy_name(name)
