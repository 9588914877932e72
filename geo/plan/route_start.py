"""The solver's start: route first, cluster second. One nearest-neighbour + 2-opt tour over all
drains (`giant_tour`), cut into a stretch of equal work per truck, the tank emptied where a
dynamic programme finds it cheapest (`split_trips`). On 1,000 drains a random start costs
PyVRP most of a 30 s budget (161 km against 147 km from this start on the benchmark in
tests/benchmarks/bench_routes.py)."""

from __future__ import annotations

import time

import numpy as np
import pyvrp

from geo.plan.route_ends import Ends, greedy, within
from geo.plan.route_params import RouteParams
from geo.plan.route_plan import Layout, litres, route
from geo.plan.travel import TravelMatrix

__all__ = ["giant_tour", "split_trips", "start_solution"]


def giant_tour(rows: np.ndarray, matrix: TravelMatrix, budget_s: float) -> np.ndarray:
    """All stop rows in one tour from the depot: nearest neighbour, then 2-opt (best move per
    position, vectorised over the other end; on the symmetrised distances, as a reversed
    stretch is driven the other way) until no move helps or `budget_s` is spent."""
    d = matrix.distance_m
    sub = d[np.ix_(rows, rows)].astype(np.float64)
    left = np.ones(len(rows), dtype=bool)
    here = d[0, rows].astype(np.float64)
    order = np.empty(len(rows), dtype=np.int64)
    for k in range(len(rows)):
        nxt = int(np.argmin(np.where(left, here, np.inf)))
        order[k] = nxt
        left[nxt] = False
        here = sub[nxt]
    tour = np.concatenate([[0], rows[order]])
    sym = (d + d.T) / 2.0
    deadline = time.perf_counter() + budget_s
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for i in range(len(tour) - 2):
            a, b = tour[i], tour[i + 1]
            c = tour[i + 2 :]
            e = np.append(tour[i + 3 :], tour[0])
            delta = sym[a, c] + sym[b, e] - sym[a, b] - sym[c, e]
            j = int(np.argmin(delta))
            if delta[j] < -0.5:
                tour[i + 1 : i + 3 + j] = tour[i + 1 : i + 3 + j][::-1].copy()
                improved = True
    return tour[1:]


def split_trips(seg: np.ndarray, lay: Layout, matrix: TravelMatrix, capacity_m3: float) -> list[int] | None:
    """The best places to empty the tank along a fixed order of stops (Beasley's
    route-first, cluster-second split): a dynamic programme over where each trip starts,
    a trip change costing the detour via the best dump site between the two stops. None
    without dump sites (nowhere to split)."""
    m = len(lay.dump_sites)
    if m == 0 or len(seg) == 0:
        return None
    d = matrix.distance_m
    dumps = np.arange(1, 1 + m)
    via_all = d[seg[:-1]][:, dumps] + d[dumps][:, seg[1:]].T
    via = np.concatenate([[float(d[0, seg[0]])], via_all.min(axis=1)])
    via_dump = np.concatenate([[-1], dumps[via_all.argmin(axis=1)]])
    inner = np.concatenate([[0.0], np.cumsum(d[seg[:-1], seg[1:]])])
    load = np.concatenate([[0.0], np.cumsum(lay.volume[seg - lay.first_stop])])
    n = len(seg)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    start = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):  # a trip over seg[i:j]
        first = int(np.searchsorted(load, load[j] - capacity_m3 - 1e-9))
        if first >= j:
            return None
        i = np.arange(first, j)
        cost = best[i] + via[i] + inner[j - 1] - inner[i]
        k = int(np.argmin(cost))
        best[j], start[j] = cost[k], i[k]
    cuts: set[int] = set()
    j = n
    while j > 0:
        cuts.add(int(start[j]))
        j = int(start[j])
    seq: list[int] = []
    for k in range(n):
        if k > 0 and k in cuts:
            seq.append(int(via_dump[k]))
        seq.append(int(seg[k]))
    return seq


def start_solution(
    data: pyvrp.ProblemData,
    candidates: np.ndarray,
    lay: Layout,
    matrix: TravelMatrix,
    ends: Ends,
    params: RouteParams,
    budget_s: float,
) -> pyvrp.Solution:
    """A sensible first solution, so the solver's time goes into improving routes rather than
    untangling random ones (PyVRP starts from random routes otherwise; at 1,000 drains that
    costs most of a 30 s budget): one tour over all drains (`giant_tour`), cut into a
    stretch of equal work per truck, the tank emptied where it costs least (`split_trips`).
    A truck whose stretch breaks the shift is driven greedily instead (`greedy`), leaving
    the drains it has no time for to the solver."""
    trucks, shift_s, dump_service_s = params.trucks, params.shift_s, params.dump_service_s
    capacity_m3 = litres(params.capacity_m3) / 1000.0  # the tank as the solver sees it
    rows = lay.first_stop + candidates
    tour = giant_tour(rows, matrix, budget_s)
    legs = matrix.duration_s[np.concatenate([[0], tour[:-1]]), tour]
    dumping = lay.volume[tour - lay.first_stop] / capacity_m3 * dump_service_s
    work = np.cumsum(legs + lay.service[tour - lay.first_stop] + dumping)
    cut = np.minimum((work / (work[-1] + 1e-9) * trucks).astype(np.int64), trucks - 1)
    client_of_row = {int(r): k for k, r in enumerate(rows)}
    routes = []
    for truck in range(trucks):
        seg = tour[cut == truck]
        seq = split_trips(seg, lay, matrix, capacity_m3)
        if seq is not None and seq[-1] >= lay.first_stop and ends.dump[seq[-1]] >= 0:
            seq = [*seq, int(ends.dump[seq[-1]])]
        if seq is None or not within(route(truck, seq, lay, matrix, dump_service_s), capacity_m3, shift_s):
            seq, _ = greedy(seg, lay, matrix, ends, capacity_m3, shift_s, dump_service_s)
        if seq and seq[-1] < lay.first_stop:
            seq = seq[:-1]  # the final dump is the virtual end depot's leg
        acts = [
            pyvrp.Activity(pyvrp.ActivityType.CLIENT, client_of_row[p])
            if p >= lay.first_stop
            else pyvrp.Activity(pyvrp.ActivityType.DEPOT, p)
            for p in seq
        ]
        if acts:
            routes.append(pyvrp.Route(data, acts, 0))
    return pyvrp.Solution(data, routes)
