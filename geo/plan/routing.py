"""Suction-truck routes for the drains due on a day: PyVRP with dump trips, and planner outputs.

Model (PyVRP 0.14, integers: metres, seconds, litres):

- each truck starts at the depot empty; every drain is a client whose sludge is a *pickup*
  in litres and whose service time is spent on site;
- the dump sites are PyVRP *reload depots*: visiting one empties the tank (its service time
  is the dump time) and starts a new trip, as often as the shift allows;
- with dump sites, a truck also empties before it returns (`empty_at_end`, on by default: the
  depot yard is no place for a tank of sludge overnight). PyVRP ends a route at a depot, so the
  route ends at a virtual depot whose distance from a drain is the cheapest drain → dump →
  depot leg; the dump visit is written back into the route afterwards. Without dump sites the
  depot is where tanks are emptied, once, at the end of the shift;
- every drain is an optional client with the same large prize (larger than any detour it can
  cost), so the solver serves as many as the shifts allow and then minimises distance;
- the solver starts from a constructed solution, not a random one (route first, cluster
  second: one nearest-neighbour + 2-opt tour over all drains, a stretch of equal work per
  truck, the tank emptied where a dynamic programme finds it cheapest). On 1,000 drains a
  random start costs PyVRP most of a 30 s budget (161 km against 147 km from this start on the
  benchmark in tests/benchmarks/bench_routes.py).

Nothing is dropped silently: drains that cannot be served are listed in `RoutePlan.unserved`
with a reason, decided in this order: sludge above the tank, no road to the drain, a round
trip to it alone longer than the shift (all three before solving), and finally "does not fit
in today's shifts" for the drains the solver left out. Arrival times, loads and distances are
recomputed from the travel matrix, so what the plan says is what the matrix says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from geo.plan.roads import RoadNetwork
from geo.plan.route_ends import Ends, ends_of, greedy, within
from geo.plan.route_params import RouteParams
from geo.plan.route_plan import Layout, RoutePlan, Unserved, layout, litres, plan_from_sequences, route
from geo.plan.sites import RouteInputError, RouteStop, Site, check_sites, check_stops
from geo.plan.solver import solve
from geo.plan.travel import TravelMatrix, straight_line_matrix

__all__ = ["plan_routes"]


def plan_routes(
    stops: Sequence[RouteStop],
    depot: Site,
    dump_sites: Sequence[Site],
    params: RouteParams | None = None,
    *,
    roads: RoadNetwork | None = None,
) -> RoutePlan:
    """Routes for `params.trucks` suction trucks from `depot` over `stops`, emptying at
    `dump_sites` (`RouteParams()`: the plan settings' trucks, tank, shift and times).

    Travel comes from `roads` (fastest road paths) when given, else from straight lines ×
    `params.detour` at `params.speed_kmh`. Stops that cannot be served are in `unserved`, each
    with its reason; every other stop is in exactly one route. Raises RouteInputError for
    inputs no plan can come from.
    """
    stops = list(stops)
    dump_sites = list(dump_sites)
    check_sites(depot, dump_sites)
    check_stops(stops)
    params = params or RouteParams()
    # the solver counts whole seconds: the dump time as it will be driven
    params = replace(params, dump_service_s=float(round(params.dump_service_s)))
    matrix = _travel(stops, depot, dump_sites, params, roads)
    lay = layout(stops, depot, dump_sites, params.service_s)
    ends = ends_of(matrix, len(dump_sites), params.empty_at_end, params.dump_service_s)
    unserved = _unservable(lay, matrix, ends, params)
    candidates = np.array([i for i in range(len(stops)) if i not in unserved], dtype=np.int64)
    if not dump_sites and len(candidates):
        total = float(lay.volume[candidates].sum())
        if total > params.trucks * params.capacity_m3 + 1e-9:
            raise RouteInputError(
                f"the drains hold {total:.1f} m³ of sludge but {params.trucks} truck(s) carry "
                f"{params.trucks * params.capacity_m3:.1f} m³ without emptying; "
                "pass dump_sites where the tanks can be emptied"
            )
    sequences, solver = _solved(candidates, lay, matrix, ends, params, unserved)
    return plan_from_sequences(
        sequences,
        stops=stops,
        depot=depot,
        dump_sites=dump_sites,
        matrix=matrix,
        service_s=params.service_s,
        dump_service_s=params.dump_service_s,
        unserved=[
            Unserved(stops[i].id, reason, stops[i].lon, stops[i].lat)
            for i, reason in sorted(unserved.items())
        ],
        start_time=params.start_time,
        parameters=_parameters(params, matrix, roads, len(stops), len(dump_sites)),
        solver=solver,
    )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def _travel(
    stops: Sequence[RouteStop],
    depot: Site,
    dump_sites: Sequence[Site],
    params: RouteParams,
    roads: RoadNetwork | None,
) -> TravelMatrix:
    """The matrix over depot, dump sites and stops (in that order); the depot and every dump
    site must be reachable."""
    points = [(depot.lon, depot.lat), *((d.lon, d.lat) for d in dump_sites), *((s.lon, s.lat) for s in stops)]
    if roads is not None:
        matrix = roads.travel_matrix(points, max_snap_m=params.max_snap_m)
    else:
        matrix = straight_line_matrix(points, detour=params.detour, speed_kmh=params.speed_kmh)
    for row, site in enumerate([depot, *dump_sites]):
        reason = matrix.unreachable_reason(row)
        if reason is not None:
            what = "the depot" if row == 0 else "dump site"
            raise RouteInputError(f"{what} {site.name!r} is {reason}; move it onto a road a truck may use")
    return matrix


def _unservable(lay: Layout, matrix: TravelMatrix, ends: Ends, params: RouteParams) -> dict[int, str]:
    """Stops no truck can serve, before solving: sludge above the tank, no road to the drain,
    a round trip to it alone longer than the shift (index → reason)."""
    capacity_l = litres(params.capacity_m3)
    volume_l = np.rint(lay.volume * 1000.0).astype(np.int64)
    unserved: dict[int, str] = {}
    for i, s in enumerate(lay.stops):
        p = lay.first_stop + i
        reason = matrix.unreachable_reason(p)
        alone = float(matrix.duration_s[0, p]) + float(lay.service[i]) + float(ends.duration[p])
        if volume_l[i] > capacity_l:
            unserved[i] = f"sludge volume {s.volume_m3:.1f} m³ exceeds the tank ({params.capacity_m3:.1f} m³)"
        elif reason is not None:
            unserved[i] = reason
        elif alone > params.shift_s:
            via = "depot → drain → dump → depot" if ends.dump[p] >= 0 else "depot → drain → depot"
            unserved[i] = (
                f"does not fit in a shift even on its own ({via} takes {_hours(alone)}, "
                f"the shift {_hours(params.shift_s)})"
            )
    return unserved


def _solved(
    candidates: np.ndarray,
    lay: Layout,
    matrix: TravelMatrix,
    ends: Ends,
    params: RouteParams,
    unserved: dict[int, str],
) -> tuple[list[list[int]], dict[str, Any]]:
    """The solver's visit orders (rows) per truck and its figures; the stops it leaves out
    are added to `unserved`."""
    trucks = params.trucks
    plural = "s" if trucks > 1 else ""
    shifts = f"does not fit in today's shifts ({trucks} truck{plural} × {_hours(params.shift_s)})"
    solver: dict[str, Any] = {
        "name": "pyvrp",
        "runtime_s": 0.0,
        "iterations": 0,
        "feasible": True,
        "objective": 0.0,
    }
    sequences: list[list[int]] = []
    if len(candidates):
        sequences, left_out, solver = solve(candidates, lay, matrix, ends, params)
        for p in left_out:
            unserved[p - lay.first_stop] = shifts
    # what the matrix says is what counts: a route that breaks the tank or the shift (an
    # infeasible best solution) is re-laid greedily in the solver's order
    repaired = 0
    for k, seq in enumerate(sequences):
        laid = route(k + 1, seq, lay, matrix, params.dump_service_s)
        if not within(laid, params.capacity_m3, params.shift_s):
            order = [p for p in seq if p >= lay.first_stop]
            sequences[k], skipped = greedy(
                order, lay, matrix, ends, params.capacity_m3, params.shift_s, params.dump_service_s
            )
            for p in skipped:
                unserved[p - lay.first_stop] = shifts
            repaired += 1
    solver["repaired_routes"] = repaired
    return sequences, solver


def _parameters(
    params: RouteParams, matrix: TravelMatrix, roads: RoadNetwork | None, n_stops: int, n_dumps: int
) -> dict[str, Any]:
    """How the plan was made, as the plan records it."""
    return {
        "trucks": params.trucks,
        "capacity_m3": params.capacity_m3,
        "shift_s": params.shift_s,
        "service_s": params.service_s,
        "dump_service_s": params.dump_service_s,
        "empty_at_end": bool(params.empty_at_end and n_dumps),
        "travel": matrix.source,
        "detour": params.detour if roads is None else None,
        "speed_kmh": params.speed_kmh if roads is None else None,
        "max_snap_m": params.max_snap_m if roads is not None else None,
        "time_limit_s": params.time_limit_s,
        "seed": params.seed,
        "start_time": params.start_time.isoformat() if params.start_time is not None else None,
        "stops": n_stops,
        "dump_sites": n_dumps,
    }
