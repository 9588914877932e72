"""How a truck's day ends (straight home, or via the dump that makes the way home shortest) and
the greedy route that always keeps tank and shift: the fallback when a solver's route breaks
either, and for the start solution's stretches that do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geo.plan.route_plan import Layout, TruckRoute
from geo.plan.travel import TravelMatrix

__all__ = ["Ends", "ends_of", "greedy", "within"]


@dataclass(frozen=True)
class Ends:
    """How a route ends after each matrix row: straight to the depot, or (`empty_at_end`) via
    the dump that makes the way home shortest."""

    dump: np.ndarray  # per row: the dump (row) to empty at before going home, -1 for none
    distance: np.ndarray
    duration: np.ndarray


def ends_of(matrix: TravelMatrix, n_dumps: int, empty_at_end: bool, dump_service_s: float) -> Ends:
    d, t = matrix.distance_m, matrix.duration_s
    n = len(d)
    if not empty_at_end or n_dumps == 0:
        return Ends(np.full(n, -1), d[:, 0].copy(), t[:, 0].copy())
    dumps = np.arange(1, 1 + n_dumps)
    via = d[:, dumps] + d[dumps, 0][None, :]
    best = dumps[np.argmin(via, axis=1)]
    rows = np.arange(n)
    distance = d[rows, best] + d[best, 0]
    duration = t[rows, best] + round(dump_service_s) + t[best, 0]
    # a route whose last visit is a dump has just emptied: home directly
    distance[dumps] = d[dumps, 0]
    duration[dumps] = t[dumps, 0]
    dump = best.copy()
    dump[dumps] = -1
    dump[0] = -1
    return Ends(dump, distance, duration)



def greedy(
    order: Sequence[int],
    lay: Layout,
    matrix: TravelMatrix,
    ends: Ends,
    capacity_m3: float,
    shift_s: float,
    dump_service_s: float,
) -> tuple[list[int], list[int]]:
    """A feasible route along `order` (stop rows), emptying at the nearest dump whenever the
    next drain would overfill the tank and skipping drains the shift has no time for. Used
    only when the solver returns an infeasible route (a time limit too short for the size)."""
    d, t = matrix.distance_m, matrix.duration_s
    dumps = np.arange(1, 1 + len(lay.dump_sites))
    seq: list[int] = []
    skipped: list[int] = []
    now, load, cur = 0.0, 0.0, 0
    for p in order:
        i = p - lay.first_stop
        vol = float(lay.volume[i])
        step: list[int] = []
        tt, here, tank = now, cur, load
        if tank + vol > capacity_m3 + 1e-9:
            if len(dumps) == 0:
                skipped.append(p)
                continue
            dump = int(dumps[np.argmin(d[here, dumps])])
            step.append(dump)
            tt += float(t[here, dump]) + dump_service_s
            here, tank = dump, 0.0
        tt += float(t[here, p]) + float(lay.service[i])
        tank += vol
        home = float(ends.duration[p]) if tank > 0 or ends.dump[p] < 0 else float(t[p, 0])
        if tt + home > shift_s:
            skipped.append(p)
            continue
        seq += [*step, p]
        now, load, cur = tt, tank, p
    if seq and ends.dump[seq[-1]] >= 0 and load > 0:
        seq.append(int(ends.dump[seq[-1]]))
    return seq, skipped


def within(route: TruckRoute, capacity_m3: float, shift_s: float) -> bool:
    return route.duration_s <= shift_s + 1e-6 and all(v.load_m3 <= capacity_m3 + 1e-9 for v in route.visits)
