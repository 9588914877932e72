"""An independent feasibility check of a route plan against the travel matrix it claims.

It reads only the plan's public fields (routes → visits, unserved, totals) and recomputes
everything from the inputs: the stop list (volumes, service times), the limits, and the
integer matrix. It imports nothing of `geo.plan` and no solver, so a bug in the planner's
bookkeeping cannot hide itself; benchmark baselines are checked by the same function.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

TIME_TOL_S = 1e-6
DIST_TOL_M = 1e-6
LITRE = 1e-3  # volumes are counted in whole litres by the planner: 0.5 L rounding per drain


def _service(stop: Any, default_s: float) -> float:
    return float(default_s if stop.service_s is None else stop.service_s)


def check_plan(
    plan: Any,
    stops: Sequence[Any],
    capacity_m3: float,
    shift_s: float,
    service_s: float,
    dump_service_s: float,
    matrix: Any,
) -> list[str]:
    """Violations of the plan, as sentences; an empty list means the plan is feasible.

    Checked: every stop served exactly once or reported unserved (none missing, none twice,
    no unknown ids); each route starts and ends at the depot and visits it nowhere else;
    visit positions match the matrix rows and the stops; the tank never holds more than
    `capacity_m3` and is empty after a dump (and at the end, when the plan empties there);
    arrivals never come before the previous departure plus the matrix travel time, service
    and dump times are spent; route duration within `shift_s`; distances equal the matrix.
    """
    problems: list[str] = []
    by_id = {str(s.id): s for s in stops}
    served = Counter(v.id for r in plan.routes for v in r.visits if v.kind == "stop")
    unserved = Counter(u.id for u in plan.unserved)
    for sid in by_id:
        n = served[sid] + unserved[sid]
        if n == 0:
            problems.append(f"stop {sid} is neither served nor reported unserved")
        elif n > 1:
            problems.append(f"stop {sid} appears {served[sid]}× in routes and {unserved[sid]}× unserved")
    for sid in set(served) | set(unserved):
        if sid not in by_id:
            problems.append(f"unknown stop id {sid} in the plan")
    for u in plan.unserved:
        if not str(u.reason).strip():
            problems.append(f"unserved stop {u.id} has no reason")

    dist = np.asarray(matrix.distance_m)
    dur = np.asarray(matrix.duration_s)
    pts = np.asarray(matrix.points_lonlat)
    empty_at_end = bool(getattr(plan, "parameters", {}).get("empty_at_end", False))
    total_distance = 0.0
    total_duration = 0.0
    for route in plan.routes:
        name = f"truck {route.truck}"
        visits = list(route.visits)
        if len(visits) < 2 or visits[0].kind != "depot" or visits[-1].kind != "depot":
            problems.append(f"{name} does not start and end at the depot")
            continue
        if visits[0].point != visits[-1].point:
            problems.append(f"{name} ends at another place than it started")
        if any(v.kind == "depot" for v in visits[1:-1]):
            problems.append(f"{name} passes the depot mid-route")
        load = 0.0
        stops_since_dump = 0
        distance = 0.0
        dumps = 0
        volume = 0.0
        prev = None
        for k, v in enumerate(visits):
            where = f"{name} visit {k} ({v.kind} {v.id})"
            if not np.allclose(pts[v.point], (v.lon, v.lat), atol=1e-9):
                problems.append(f"{where}: position differs from matrix row {v.point}")
            if v.kind == "stop":
                stop = by_id.get(v.id)
                if stop is None:
                    continue
                if not np.allclose((stop.lon, stop.lat), (v.lon, v.lat), atol=1e-9):
                    problems.append(f"{where}: not at the stop's position")
                load += float(stop.volume_m3)
                volume += float(stop.volume_m3)
                stops_since_dump += 1
                need = _service(stop, service_s)
            elif v.kind == "dump":
                load = 0.0
                stops_since_dump = 0
                dumps += 1
                need = float(dump_service_s)
            else:
                need = 0.0
            tol_load = (stops_since_dump * 0.5 + 0.5) * LITRE
            if load > capacity_m3 + tol_load:
                problems.append(f"{where}: tank holds {load:.3f} m³, above {capacity_m3} m³")
            if abs(v.load_m3 - load) > tol_load:
                problems.append(f"{where}: reported load {v.load_m3:.3f} m³, recomputed {load:.3f} m³")
            if v.departure_s - v.arrival_s < need - 0.5 - TIME_TOL_S:
                problems.append(f"{where}: {v.departure_s - v.arrival_s:.0f} s on site, needs {need:.0f} s")
            if prev is None:
                if v.distance_from_previous_m != 0:
                    problems.append(f"{where}: first visit with a distance from a previous one")
            else:
                leg = float(dist[prev.point, v.point])
                if abs(v.distance_from_previous_m - leg) > DIST_TOL_M:
                    problems.append(f"{where}: leg {v.distance_from_previous_m} m, matrix says {leg:.0f} m")
                earliest = prev.departure_s + float(dur[prev.point, v.point])
                if v.arrival_s < earliest - TIME_TOL_S:
                    problems.append(f"{where}: arrives {v.arrival_s:.0f} s, before {earliest:.0f} s")
                distance += leg
            prev = v
        if empty_at_end and load > (stops_since_dump * 0.5 + 0.5) * LITRE:
            problems.append(f"{name} comes home with {load:.3f} m³ in the tank")
        duration = visits[-1].arrival_s - visits[0].departure_s
        if duration > shift_s + TIME_TOL_S:
            problems.append(f"{name} takes {duration:.0f} s, longer than the {shift_s:.0f} s shift")
        if abs(route.duration_s - duration) > TIME_TOL_S:
            problems.append(f"{name} reports {route.duration_s} s, its visits span {duration} s")
        if abs(route.distance_m - distance) > DIST_TOL_M:
            problems.append(f"{name} reports {route.distance_m} m, its legs sum to {distance} m")
        if route.dump_visits != dumps:
            problems.append(f"{name} reports {route.dump_visits} dump visits, has {dumps}")
        if abs(route.volume_m3 - volume) > (len(visits) * 0.5 + 0.5) * LITRE:
            problems.append(f"{name} reports {route.volume_m3} m³ collected, its stops hold {volume} m³")
        total_distance += distance
        total_duration += duration
    if abs(plan.total_distance_m - total_distance) > DIST_TOL_M * max(1, len(plan.routes)):
        problems.append(f"total distance {plan.total_distance_m} m, routes sum to {total_distance} m")
    if abs(plan.total_duration_s - total_duration) > TIME_TOL_S * max(1, len(plan.routes)):
        problems.append(f"total duration {plan.total_duration_s} s, routes sum to {total_duration} s")
    return problems
