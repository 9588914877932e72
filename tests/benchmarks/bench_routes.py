"""Truck routes for 1,000 drains: `geo.plan_routes` (PyVRP) against Google OR-Tools.

    python -m tests.benchmarks.bench_routes                          # 1,000 stops, 3 trucks, 30 s each
    python -m tests.benchmarks.bench_routes --stops 300 --time-limit 5

Instance: `--stops` drain positions sampled (seeded) from the real Castricum register
(../shared/data/nl-castricum-kolken), sludge 20-120 litres each (uniform, whole litres), 3
trucks, the depot at the drain nearest the sample's centroid and two dump sites at the drains
nearest a quarter and three quarters of the way along the sample's bounding-box diagonal
(positions for the benchmark, not the real sites). The tank is a tenth of a m³ above
total sludge / (2.5 × trucks), so each truck needs 2-3 dump visits (the final one before going
home included). Travel: straight lines × 1.3 at 25 km/h. Shift 12 h, service 45 s per drain,
15 min per dump: the shift does not bind, so the comparison is about distance.

Baseline, measured in the same run: OR-Tools routing (`pywrapcp`) on the SAME integer matrix
(`plan.matrix` of the PyVRP plan) with the SAME time limit, modelled the standard way:
copies of each dump site as optional nodes, a "load" dimension where a dump has transit
-capacity and slack up to capacity (so the tank is reset to any level down to empty), the
load at the route end fixed to 0 (trucks come home empty, as in PyVRP's plan), a "time"
dimension with service times, and every drain optional with PyVRP's prize. Guided local
search from parallel cheapest insertion: the default path-cheapest-arc start (and local
cheapest insertion, savings, automatic) leaves most drains out on this model (200 drains, 5 s:
86 served), as its arcs cannot open a dump visit when the tank is full. Both plans go
through the same independent checker (`tests.geo.plan.routecheck.check_plan`). Goals: PyVRP
plans within 60 s; length ratio PyVRP / OR-Tools <= 0.95.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.plan import RouteParams, RoutePlan, RouteStop, Site, Unserved, plan_from_sequences, plan_routes
from tests.geo.plan.routecheck import check_plan
from tests.support import shared_data

CSV = "kolken_castricum_limmen_akersloot_points.csv"
SHIFT_S = 12 * 3600.0
SERVICE_S = 45.0
DUMP_SERVICE_S = 900.0
DETOUR = 1.3
SPEED_KMH = 25.0
DUMPS_PER_TRUCK = 2.5


@dataclass(frozen=True)
class Instance:
    stops: tuple[RouteStop, ...]
    depot: Site
    dump_sites: tuple[Site, ...]
    trucks: int
    capacity_m3: float


@dataclass(frozen=True)
class Outcome:
    """One solver's plan and what the checker said about it."""

    name: str
    plan: RoutePlan
    wall_s: float
    problems: tuple[str, ...]

    @property
    def km(self) -> float:
        return self.plan.total_distance_m / 1000.0

    @property
    def served(self) -> int:
        return sum(r.stops for r in self.plan.routes)

    @property
    def dumps(self) -> str:
        return "/".join(str(r.dump_visits) for r in self.plan.routes)


def instance(n_stops: int = 1000, trucks: int = 3, seed: int = 0) -> Instance:
    """The benchmark instance (see the module docstring), deterministic for a seed."""
    frame = pd.read_csv(
        shared_data("nl-castricum-kolken") / CSV, usecols=["record_no", "lon_wgs84", "lat_wgs84"]
    ).dropna()
    rng = np.random.default_rng(seed)
    rows = frame.iloc[np.sort(rng.choice(len(frame), size=n_stops, replace=False))]
    lonlat = rows[["lon_wgs84", "lat_wgs84"]].to_numpy()
    litres = rng.integers(20, 121, size=n_stops)
    stops = tuple(
        RouteStop(f"kolk-{int(rec)}", float(lon), float(lat), float(v) / 1000.0)
        for rec, (lon, lat), v in zip(rows["record_no"], lonlat, litres, strict=True)
    )

    def nearest(target: np.ndarray) -> tuple[float, float]:
        scale = np.array([math.cos(math.radians(float(target[1]))), 1.0])
        k = int(np.argmin((((lonlat - target) * scale) ** 2).sum(axis=1)))
        return float(lonlat[k, 0]), float(lonlat[k, 1])

    lo, hi = lonlat.min(axis=0), lonlat.max(axis=0)
    depot = Site("depot", *nearest(lonlat.mean(axis=0)))
    dumps = (
        Site("dump south-west", *nearest(lo + 0.25 * (hi - lo))),
        Site("dump north-east", *nearest(lo + 0.75 * (hi - lo))),
    )
    total = float(litres.sum()) / 1000.0
    capacity = math.ceil(total / (DUMPS_PER_TRUCK * trucks) * 10.0) / 10.0 + 0.1
    return Instance(stops, depot, dumps, trucks, capacity)


def run_pyvrp(inst: Instance, time_limit_s: float, seed: int = 0) -> Outcome:
    t0 = time.perf_counter()
    params = RouteParams(
        trucks=inst.trucks,
        capacity_m3=inst.capacity_m3,
        shift_s=SHIFT_S,
        service_s=SERVICE_S,
        dump_service_s=DUMP_SERVICE_S,
        detour=DETOUR,
        speed_kmh=SPEED_KMH,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    plan = plan_routes(inst.stops, inst.depot, inst.dump_sites, params)
    wall = time.perf_counter() - t0
    return Outcome("pyvrp", plan, wall, tuple(_check(plan, inst)))


def _check(plan: RoutePlan, inst: Instance) -> list[str]:
    return check_plan(plan, inst.stops, inst.capacity_m3, SHIFT_S, SERVICE_S, DUMP_SERVICE_S, plan.matrix)


def run_ortools(
    inst: Instance,
    reference: RoutePlan,
    time_limit_s: float,
    *,
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION",
    optional_stops: bool = True,
) -> Outcome:
    """OR-Tools on `reference.matrix` (rows: depot, dump sites, stops) with the same limits."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    matrix = reference.matrix
    m = len(inst.dump_sites)
    first_stop = 1 + m
    capacity_l = round(inst.capacity_m3 * 1000.0)
    litres = np.rint([s.volume_m3 * 1000.0 for s in inst.stops]).astype(np.int64)
    copies = math.ceil(float(litres.sum()) / capacity_l) + inst.trucks + 2
    # node → matrix row: depot, `copies` of every dump site, then the stops
    rows = np.array([0, *np.repeat(np.arange(1, 1 + m), copies), *(first_stop + np.arange(len(inst.stops)))])
    kind = np.array(["depot"] + ["dump"] * (m * copies) + ["stop"] * len(inst.stops))
    service = np.where(kind == "stop", round(SERVICE_S), np.where(kind == "dump", round(DUMP_SERVICE_S), 0))
    demand = np.zeros(len(rows), dtype=np.int64)
    demand[kind == "stop"] = litres
    demand[kind == "dump"] = -capacity_l
    dist = matrix.distance_m[np.ix_(rows, rows)]
    dur = matrix.duration_s[np.ix_(rows, rows)] + service[:, None]

    manager = pywrapcp.RoutingIndexManager(len(rows), inst.trucks, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(dist.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cb = routing.RegisterTransitMatrix(dur.tolist())
    routing.AddDimension(time_cb, 0, int(SHIFT_S), True, "time")
    load_cb = routing.RegisterUnaryTransitVector(demand.tolist())
    routing.AddDimension(load_cb, capacity_l, capacity_l, True, "load")
    load = routing.GetDimensionOrDie("load")
    prize = int(reference.solver.get("prize_per_stop", 10 * int(matrix.distance_m.max())))
    for node in range(1, len(rows)):
        index = manager.NodeToIndex(node)
        if kind[node] == "stop":
            load.SlackVar(index).SetValue(0)
            if optional_stops:
                routing.AddDisjunction([index], prize)
        else:
            routing.AddDisjunction([index], 0)
    for v in range(inst.trucks):
        load.CumulVar(routing.End(v)).SetMax(0)  # home with an empty tank
        load.SlackVar(routing.Start(v)).SetValue(0)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    sequences: list[list[int]] = []
    seen: set[int] = set()
    if solution is not None:
        for v in range(inst.trucks):
            seq: list[int] = []
            index = solution.Value(routing.NextVar(routing.Start(v)))
            while not routing.IsEnd(index):
                node = manager.IndexToNode(index)
                seq.append(int(rows[node]))
                if kind[node] == "stop":
                    seen.add(int(rows[node]))
                index = solution.Value(routing.NextVar(index))
            sequences.append(seq)
    unserved = [
        Unserved(s.id, "left out by OR-Tools within the time limit", s.lon, s.lat)
        for k, s in enumerate(inst.stops)
        if first_stop + k not in seen
    ]
    plan = plan_from_sequences(
        sequences,
        stops=inst.stops,
        depot=inst.depot,
        dump_sites=inst.dump_sites,
        matrix=matrix,
        service_s=SERVICE_S,
        dump_service_s=DUMP_SERVICE_S,
        unserved=unserved,
        parameters={**reference.parameters, "solver": "ortools"},
        solver={
            "name": "ortools",
            "feasible": solution is not None,
            "objective": float(solution.ObjectiveValue()) if solution is not None else None,
        },
    )
    wall = time.perf_counter() - t0
    return Outcome("ortools", plan, wall, tuple(_check(plan, inst)))


@dataclass(frozen=True)
class Comparison:
    inst: Instance
    pyvrp: Outcome
    ortools: Outcome
    time_limit_s: float

    @property
    def ratio(self) -> float:
        return self.pyvrp.km / self.ortools.km if self.ortools.km > 0 else math.inf

    def line(self) -> str:
        n, t = len(self.inst.stops), self.inst.trucks
        return (
            f"pyvrp {n:,} stops {t} trucks: {self.pyvrp.km:,.1f} km in {self.pyvrp.wall_s:.1f} s "
            f"(dumps {self.pyvrp.dumps}, served {self.pyvrp.served:,}) | OR-Tools same matrix & limit: "
            f"{self.ortools.km:,.1f} km in {self.ortools.wall_s:.1f} s (dumps {self.ortools.dumps}, "
            f"served {self.ortools.served:,}) → ratio {self.ratio:.2f}"
        )


def compare(n_stops: int = 1000, trucks: int = 3, time_limit_s: float = 30.0, seed: int = 0) -> Comparison:
    """Both solvers on one instance, PyVRP first (its plan carries the matrix OR-Tools gets)."""
    inst = instance(n_stops, trucks, seed)
    ours = run_pyvrp(inst, time_limit_s, seed)
    base = run_ortools(inst, ours.plan, time_limit_s)
    return Comparison(inst, ours, base, time_limit_s)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stops", type=int, default=1000)
    parser.add_argument("--trucks", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per solver")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = compare(args.stops, args.trucks, args.time_limit, args.seed)
    inst = result.inst
    volume = sum(s.volume_m3 for s in inst.stops)
    print(
        f"instance: {len(inst.stops):,} drains, {volume:.2f} m³ sludge, tank {inst.capacity_m3:.1f} m³, "
        f"{inst.trucks} trucks, {len(inst.dump_sites)} dump sites, time limit {args.time_limit:.0f} s each"
    )
    print(result.line())
    for out in (result.pyvrp, result.ortools):
        status = "feasible" if not out.problems else f"{len(out.problems)} violations, e.g. {out.problems[0]}"
        print(f"  {out.name}: checker {status}; unserved {len(out.plan.unserved)}")
    goals = (
        f"goals: plan <= 60 s: {'met' if result.pyvrp.wall_s <= 60 else 'MISSED'}, "
        f"ratio <= 0.95: {'met' if result.ratio <= 0.95 else 'MISSED'}"
    )
    print(goals)
    return 0 if not (result.pyvrp.problems or result.ortools.problems) else 1


if __name__ == "__main__":
    raise SystemExit(main())
