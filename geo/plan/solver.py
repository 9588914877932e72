"""PyVRP on the candidate drains: the instance (depot, dump sites as reload depots, a virtual
end depot, drains as optional clients with a prize), the run from the constructed start, and
the routes read back as matrix rows."""

from __future__ import annotations

import math
import time
from importlib.metadata import version
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

from geo.plan.route_ends import Ends
from geo.plan.route_params import RouteParams
from geo.plan.route_plan import Layout, litres
from geo.plan.route_start import start_solution
from geo.plan.travel import TravelMatrix

__all__ = ["solve"]


def solve(
    candidates: np.ndarray,
    lay: Layout,
    matrix: TravelMatrix,
    ends: Ends,
    params: RouteParams,
) -> tuple[list[list[int]], list[int], dict[str, Any]]:
    """PyVRP on the candidate stops: per truck the visit rows (dumps included, the final
    dump written back), the rows left out, and solver figures."""
    t0 = time.perf_counter()
    data, prize = problem(candidates, lay, matrix, ends, params)
    start = start_solution(data, candidates, lay, matrix, ends, params, budget_s=0.1 * params.time_limit_s)
    built = time.perf_counter() - t0
    result = pyvrp.solve(
        data,
        MaxRuntime(max(0.01, params.time_limit_s - built)),
        seed=params.seed,
        collect_stats=False,
        display=False,
        initial_solution=start,
    )
    sequences, left_out, figures = read_result(result, candidates, lay, ends, prize)
    figures["runtime_s"] = time.perf_counter() - t0
    figures["start_s"] = built
    figures["start_distance_m"] = float(start.distance())
    return sequences, left_out, figures


def problem(
    candidates: np.ndarray, lay: Layout, matrix: TravelMatrix, ends: Ends, params: RouteParams
) -> tuple[pyvrp.ProblemData, int]:
    """The PyVRP instance: locations = depot, dump sites, candidate stops, virtual end."""
    m = len(lay.dump_sites)
    rows = np.concatenate([np.arange(1 + m), lay.first_stop + candidates])
    end = len(rows)  # the virtual end depot's location
    dist = np.zeros((end + 1, end + 1), dtype=np.int64)
    dur = np.zeros((end + 1, end + 1), dtype=np.int64)
    dist[:end, :end] = matrix.distance_m[np.ix_(rows, rows)]
    dur[:end, :end] = matrix.duration_s[np.ix_(rows, rows)]
    dist[:end, end] = ends.distance[rows]
    dur[:end, end] = ends.duration[rows]
    dist[end, :end] = matrix.distance_m[0, rows]  # from the end: as from the depot (never driven)
    dur[end, :end] = matrix.duration_s[0, rows]
    lonlat = matrix.points_lonlat[rows]
    locations = [pyvrp.Location(float(x), float(y)) for x, y in lonlat]
    locations.append(pyvrp.Location(float(lonlat[0, 0]), float(lonlat[0, 1]), name="end"))
    depots = [pyvrp.Depot(0, name="depot")]
    dump_s = round(params.dump_service_s)
    depots += [pyvrp.Depot(k, service_duration=dump_s, name=f"dump {k}") for k in range(1, m + 1)]
    depots.append(pyvrp.Depot(end, name="end"))
    # The prize outweighs anything one more drain can cost: a detour there and back plus an
    # extra dump trip, so serving more drains always wins over driving less.
    prize = int(4 * (int(dist[:end, :end].max()) + int(dist[:end, end].max())) + 1)
    volume_l = np.rint(lay.volume[candidates] * 1000.0).astype(np.int64)
    clients = [
        pyvrp.Client(
            location=1 + m + k,
            pickup=[int(volume_l[k])],
            service_duration=round(float(lay.service[c])),
            prize=prize,
            required=False,
            name=lay.stops[c].id,
        )
        for k, c in enumerate(candidates)
    ]
    vehicle = pyvrp.VehicleType(
        num_available=params.trucks,
        capacity=[litres(params.capacity_m3)],
        start_depot=0,
        end_depot=m + 1,
        reload_depots=list(range(1, m + 1)),
        shift_duration=math.floor(params.shift_s),
        name="suction truck",
    )
    distances: list[Any] = [dist]  # the stubs spell the matrix type in a way numpy's do not
    durations: list[Any] = [dur]
    return pyvrp.ProblemData(locations, clients, depots, [vehicle], distances, durations), prize


def read_result(
    result: pyvrp.Result, candidates: np.ndarray, lay: Layout, ends: Ends, prize: int
) -> tuple[list[list[int]], list[int], dict[str, Any]]:
    m = len(lay.dump_sites)
    best = result.best
    sequences: list[list[int]] = []
    served: set[int] = set()
    for route in best.routes():
        seq: list[int] = []
        for act in route.schedule():
            if act.is_client():
                k = act.idx
                served.add(k)
                seq.append(int(lay.first_stop + candidates[k]))
            elif act.is_depot() and 1 <= act.idx <= m:
                seq.append(int(act.idx))
        if seq and ends.dump[seq[-1]] >= 0:
            seq.append(int(ends.dump[seq[-1]]))
        sequences.append(seq)
    left_out = [int(lay.first_stop + c) for k, c in enumerate(candidates) if k not in served]
    figures = {
        "name": "pyvrp",
        "version": version("pyvrp"),
        "runtime_s": float(result.runtime),
        "iterations": int(result.num_iterations),
        "feasible": bool(best.is_feasible()),
        "objective": float(result.cost()) if best.is_feasible() else None,
        "prize_per_stop": prize,
    }
    return sequences, left_out, figures
