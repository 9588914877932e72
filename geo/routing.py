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

import csv
import io
import itertools
import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import version
from typing import Any, Literal

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

from geo.roads import RoadNetwork, TravelMatrix, straight_line_matrix

__all__ = [
    "RouteInputError",
    "RoutePlan",
    "RouteStop",
    "Site",
    "TruckRoute",
    "Unserved",
    "Visit",
    "plan_from_sequences",
    "plan_routes",
]

Kind = Literal["depot", "stop", "dump"]
_GPX_NS = "http://www.topografix.com/GPX/1/1"


class RouteInputError(ValueError):
    """Inputs a route plan cannot be made from; the message says what to change."""


@dataclass(frozen=True)
class RouteStop:
    """A drain to clean: expected sludge (m³) and time on site (None: the plan's default)."""

    id: str
    lon: float
    lat: float
    volume_m3: float
    service_s: float | None = None


@dataclass(frozen=True)
class Site:
    """The depot or a dump site."""

    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Visit:
    """One stop of a truck. Times in seconds from the start of the shift; `load_m3` is what
    is in the tank after the visit; `point` is the row of the plan's travel matrix."""

    kind: Kind
    id: str
    lon: float
    lat: float
    arrival_s: float
    departure_s: float
    load_m3: float
    distance_from_previous_m: float
    point: int


@dataclass(frozen=True)
class TruckRoute:
    """A truck's day: depot, drains and dump visits, depot."""

    truck: int
    visits: tuple[Visit, ...]
    distance_m: float
    duration_s: float
    dump_visits: int
    volume_m3: float
    matrix: TravelMatrix = field(repr=False, compare=False)

    @property
    def stops(self) -> int:
        return sum(1 for v in self.visits if v.kind == "stop")

    def geometry(self) -> list[tuple[float, float]]:
        """lon/lat along the roads when the plan used a road network, else straight segments."""
        out: list[tuple[float, float]] = [(self.visits[0].lon, self.visits[0].lat)]
        for a, b in itertools.pairwise(self.visits):
            if a.point == b.point:
                continue
            leg = self.matrix.path(a.point, b.point)
            out.extend(p for k, p in enumerate(leg) if k > 0 or p != out[-1])
        return out


@dataclass(frozen=True)
class Unserved:
    """A drain not in any route today, and why (in words a planner can act on)."""

    id: str
    reason: str
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True)
class RoutePlan:
    """Routes, the drains left out with their reasons, and how the plan was made."""

    routes: tuple[TruckRoute, ...]
    unserved: tuple[Unserved, ...]
    total_distance_m: float
    total_duration_s: float
    matrix: TravelMatrix = field(repr=False, compare=False)
    parameters: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    start_time: datetime | None = None

    def clock(self, seconds: float) -> str:
        """ "HH:MM": the time of day when the shift start is known, else hours:minutes into it."""
        if self.start_time is not None:
            return (self.start_time + timedelta(seconds=float(seconds))).strftime("%H:%M")
        minutes = int(seconds // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection: a LineString per truck, a Point per visit, a Point per unserved
        drain that has a position (kind "unserved", with the reason)."""
        features: list[dict[str, Any]] = []
        for route in self.routes:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [list(p) for p in route.geometry()]},
                    "properties": {
                        "truck": route.truck,
                        "distance_m": route.distance_m,
                        "duration_s": route.duration_s,
                        "dumps": route.dump_visits,
                        "stops": route.stops,
                        "volume_m3": round(route.volume_m3, 3),
                    },
                }
            )
            for seq, v in enumerate(route.visits):
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [v.lon, v.lat]},
                        "properties": {
                            "truck": route.truck,
                            "sequence": seq,
                            "kind": v.kind,
                            "id": v.id,
                            "arrival": self.clock(v.arrival_s),
                            "departure": self.clock(v.departure_s),
                            "arrival_s": v.arrival_s,
                            "load_m3": round(v.load_m3, 3),
                            "distance_from_previous_m": v.distance_from_previous_m,
                        },
                    }
                )
        for u in self.unserved:
            if u.lon is not None and u.lat is not None:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [u.lon, u.lat]},
                        "properties": {"kind": "unserved", "id": u.id, "reason": u.reason},
                    }
                )
        return {"type": "FeatureCollection", "features": features}

    def to_csv(self) -> str:
        """One row per visit, in driving order per truck."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            [
                "truck",
                "seq",
                "kind",
                "id",
                "lon",
                "lat",
                "arrival",
                "departure",
                "load_m3",
                "distance_from_previous_m",
            ]
        )
        for route in self.routes:
            for seq, v in enumerate(route.visits):
                writer.writerow(
                    [
                        route.truck,
                        seq,
                        v.kind,
                        v.id,
                        f"{v.lon:.7f}",
                        f"{v.lat:.7f}",
                        self.clock(v.arrival_s),
                        self.clock(v.departure_s),
                        f"{v.load_m3:.3f}",
                        f"{v.distance_from_previous_m:.0f}",
                    ]
                )
        return buf.getvalue()

    def to_gpx(self) -> str:
        """GPX 1.1 for navigation devices: a waypoint per drain and dump visit, a route
        (rtept per visit) and a track (the road geometry) per truck."""
        ET.register_namespace("", _GPX_NS)
        root = ET.Element(f"{{{_GPX_NS}}}gpx", {"version": "1.1", "creator": "pakhuis"})
        meta = ET.SubElement(root, f"{{{_GPX_NS}}}metadata")
        ET.SubElement(meta, f"{{{_GPX_NS}}}name").text = "Drain cleaning routes"

        def point(tag: str, parent: ET.Element, lon: float, lat: float) -> ET.Element:
            return ET.SubElement(parent, f"{{{_GPX_NS}}}{tag}", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})

        def describe(el: ET.Element, route: TruckRoute, seq: int, v: Visit) -> None:
            if self.start_time is not None and self.start_time.tzinfo is not None:
                when = self.start_time + timedelta(seconds=v.arrival_s)
                ET.SubElement(el, f"{{{_GPX_NS}}}time").text = when.isoformat()
            ET.SubElement(el, f"{{{_GPX_NS}}}name").text = f"T{route.truck} {seq:03d} {v.id}"
            ET.SubElement(
                el, f"{{{_GPX_NS}}}desc"
            ).text = f"{v.kind}, arrival {self.clock(v.arrival_s)}, load after {v.load_m3:.2f} m³"
            ET.SubElement(el, f"{{{_GPX_NS}}}type").text = v.kind

        for route in self.routes:
            for seq, v in enumerate(route.visits):
                if v.kind != "depot":
                    describe(point("wpt", root, v.lon, v.lat), route, seq, v)
        for route in self.routes:
            rte = ET.SubElement(root, f"{{{_GPX_NS}}}rte")
            ET.SubElement(rte, f"{{{_GPX_NS}}}name").text = f"Truck {route.truck}"
            for seq, v in enumerate(route.visits):
                describe(point("rtept", rte, v.lon, v.lat), route, seq, v)
        for route in self.routes:
            trk = ET.SubElement(root, f"{{{_GPX_NS}}}trk")
            ET.SubElement(trk, f"{{{_GPX_NS}}}name").text = f"Truck {route.truck}"
            seg = ET.SubElement(trk, f"{{{_GPX_NS}}}trkseg")
            for lon, lat in route.geometry():
                point("trkpt", seg, lon, lat)
        return ET.tostring(root, encoding="unicode", xml_declaration=True)


@dataclass(frozen=True)
class _Layout:
    """Matrix rows: 0 the depot, 1..m the dump sites, m+1.. the stops in input order."""

    stops: Sequence[RouteStop]
    depot: Site
    dump_sites: Sequence[Site]
    service: np.ndarray  # s per stop
    volume: np.ndarray  # m³ per stop

    @property
    def first_stop(self) -> int:
        return 1 + len(self.dump_sites)

    def describe(self, point: int) -> tuple[Kind, str, float, float]:
        if point == 0:
            return "depot", self.depot.name, self.depot.lon, self.depot.lat
        if point < self.first_stop:
            site = self.dump_sites[point - 1]
            return "dump", site.name, site.lon, site.lat
        stop = self.stops[point - self.first_stop]
        return "stop", stop.id, stop.lon, stop.lat


def _layout(stops: Sequence[RouteStop], depot: Site, dump_sites: Sequence[Site], service_s: float) -> _Layout:
    """The solver counts whole seconds and litres, so the plan does too: service times are
    rounded to the second and volumes to the litre everywhere (loads add up exactly)."""
    service = np.rint([service_s if s.service_s is None else s.service_s for s in stops]).astype(np.float64)
    volume = np.rint(np.array([s.volume_m3 for s in stops], dtype=np.float64) * 1000.0) / 1000.0
    return _Layout(stops, depot, dump_sites, service.reshape(-1), volume)


def _route(
    truck: int, points: Sequence[int], lay: _Layout, matrix: TravelMatrix, dump_service_s: float
) -> TruckRoute:
    seq = [0, *points, 0]
    visits: list[Visit] = []
    t = 0.0
    load = 0.0
    prev = 0
    dumps = 0
    volume = 0.0
    distance = 0.0
    for k, p in enumerate(seq):
        kind, ident, lon, lat = lay.describe(p)
        leg = float(matrix.distance_m[prev, p]) if k > 0 else 0.0
        arrival = t + (float(matrix.duration_s[prev, p]) if k > 0 else 0.0)
        if kind == "stop":
            i = p - lay.first_stop
            load += float(lay.volume[i])
            volume += float(lay.volume[i])
            departure = arrival + float(lay.service[i])
        elif kind == "dump":
            load = 0.0
            dumps += 1
            departure = arrival + dump_service_s
        else:
            departure = arrival
        visits.append(Visit(kind, ident, lon, lat, arrival, departure, load, leg, p))
        distance += leg
        t, prev = departure, p
    return TruckRoute(truck, tuple(visits), distance, visits[-1].arrival_s, dumps, volume, matrix)


def plan_from_sequences(
    sequences: Sequence[Sequence[int]],
    *,
    stops: Sequence[RouteStop],
    depot: Site,
    dump_sites: Sequence[Site],
    matrix: TravelMatrix,
    service_s: float = 180.0,
    dump_service_s: float = 900.0,
    unserved: Sequence[Unserved] = (),
    start_time: datetime | None = None,
    parameters: dict[str, Any] | None = None,
    solver: dict[str, Any] | None = None,
) -> RoutePlan:
    """A plan from visit orders, one per truck, as matrix rows (0 depot, 1..m dump sites in
    order, m+1.. stops in order; the depot at both ends is added). Times, loads and distances
    are computed from `matrix`; any solver's output (a baseline's too) becomes the same plan."""
    lay = _layout(stops, depot, dump_sites, service_s)
    dump_service_s = float(round(dump_service_s))
    routes = tuple(
        _route(truck, list(seq), lay, matrix, dump_service_s)
        for truck, seq in enumerate((s for s in sequences if len(s) > 0), start=1)
    )
    return RoutePlan(
        routes=routes,
        unserved=tuple(unserved),
        total_distance_m=float(sum(r.distance_m for r in routes)),
        total_duration_s=float(sum(r.duration_s for r in routes)),
        matrix=matrix,
        parameters=dict(parameters or {}),
        solver=dict(solver or {}),
        start_time=start_time,
    )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def _validate(
    stops: Sequence[RouteStop],
    depot: Site,
    dump_sites: Sequence[Site],
    trucks: int,
    numbers: dict[str, float],
) -> None:
    if isinstance(trucks, bool) or not isinstance(trucks, int | np.integer) or trucks < 1:
        raise RouteInputError(f"trucks must be a whole number of at least 1, got {trucks!r}")
    positive = ("capacity_m3", "shift_s", "time_limit_s", "speed_kmh")
    for name, value in numbers.items():
        if not math.isfinite(value):
            raise RouteInputError(f"{name} must be a finite number, got {value}")
        if name in positive and value <= 0:
            raise RouteInputError(f"{name} must be positive, got {value}")
        if value < 0:
            raise RouteInputError(f"{name} must not be negative, got {value}")
    if numbers["detour"] < 1:
        raise RouteInputError(
            f"detour must be at least 1 (roads are never shorter than a straight line), got "
            f"{numbers['detour']}"
        )
    for site, what in [(depot, "depot"), *((d, "dump site") for d in dump_sites)]:
        if not (
            math.isfinite(site.lon)
            and math.isfinite(site.lat)
            and abs(site.lon) <= 180
            and abs(site.lat) <= 90
        ):
            raise RouteInputError(f"{what} {site.name!r} has no valid lon/lat ({site.lon}, {site.lat})")
    seen: set[str] = set()
    for s in stops:
        if s.id in seen:
            raise RouteInputError(f"stop id {s.id!r} occurs twice; give every drain its own id")
        seen.add(s.id)
        if not (math.isfinite(s.lon) and math.isfinite(s.lat) and abs(s.lon) <= 180 and abs(s.lat) <= 90):
            raise RouteInputError(
                f"stop {s.id!r} has no valid lon/lat ({s.lon}, {s.lat}); fix or leave it out"
            )
        if not math.isfinite(s.volume_m3) or s.volume_m3 < 0:
            raise RouteInputError(f"stop {s.id!r} has sludge volume {s.volume_m3} m³; it must be 0 or more")
        if s.service_s is not None and (not math.isfinite(s.service_s) or s.service_s < 0):
            raise RouteInputError(
                f"stop {s.id!r} has service time {s.service_s} s; it must be 0 or more "
                "(or None for the default)"
            )


@dataclass(frozen=True)
class _Ends:
    """How a route ends after each matrix row: straight to the depot, or (`empty_at_end`) via
    the dump that makes the way home shortest."""

    dump: np.ndarray  # per row: the dump (row) to empty at before going home, -1 for none
    distance: np.ndarray
    duration: np.ndarray


def _ends(matrix: TravelMatrix, n_dumps: int, empty_at_end: bool, dump_service_s: float) -> _Ends:
    d, t = matrix.distance_m, matrix.duration_s
    n = len(d)
    if not empty_at_end or n_dumps == 0:
        return _Ends(np.full(n, -1), d[:, 0].copy(), t[:, 0].copy())
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
    return _Ends(dump, distance, duration)


def _solve(
    candidates: np.ndarray,
    lay: _Layout,
    matrix: TravelMatrix,
    ends: _Ends,
    trucks: int,
    capacity_l: int,
    shift_s: float,
    dump_service_s: float,
    time_limit_s: float,
    seed: int,
) -> tuple[list[list[int]], list[int], dict[str, Any]]:
    """PyVRP on the candidate stops: per truck the visit rows (dumps included, the final
    dump written back), the rows left out, and solver figures."""
    t0 = time.perf_counter()
    data, prize = _problem(candidates, lay, matrix, ends, trucks, capacity_l, shift_s, dump_service_s)
    start = _start(
        data,
        candidates,
        lay,
        matrix,
        ends,
        trucks,
        capacity_l / 1000.0,
        shift_s,
        dump_service_s,
        budget_s=0.1 * time_limit_s,
    )
    built = time.perf_counter() - t0
    result = pyvrp.solve(
        data,
        MaxRuntime(max(0.01, time_limit_s - built)),
        seed=seed,
        collect_stats=False,
        display=False,
        initial_solution=start,
    )
    sequences, left_out, figures = _read(result, candidates, lay, ends, prize)
    figures["runtime_s"] = time.perf_counter() - t0
    figures["start_s"] = built
    figures["start_distance_m"] = float(start.distance())
    return sequences, left_out, figures


def _giant_tour(rows: np.ndarray, matrix: TravelMatrix, budget_s: float) -> np.ndarray:
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


def _split_trips(seg: np.ndarray, lay: _Layout, matrix: TravelMatrix, capacity_m3: float) -> list[int] | None:
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


def _start(
    data: pyvrp.ProblemData,
    candidates: np.ndarray,
    lay: _Layout,
    matrix: TravelMatrix,
    ends: _Ends,
    trucks: int,
    capacity_m3: float,
    shift_s: float,
    dump_service_s: float,
    budget_s: float,
) -> pyvrp.Solution:
    """A sensible first solution, so the solver's time goes into improving routes rather than
    untangling random ones (PyVRP starts from random routes otherwise; at 1,000 drains that
    costs most of a 30 s budget): one tour over all drains (`_giant_tour`), cut into a
    stretch of equal work per truck, the tank emptied where it costs least (`_split_trips`).
    A truck whose stretch breaks the shift is driven greedily instead (`_greedy`), leaving
    the drains it has no time for to the solver."""
    rows = lay.first_stop + candidates
    tour = _giant_tour(rows, matrix, budget_s)
    legs = matrix.duration_s[np.concatenate([[0], tour[:-1]]), tour]
    dumping = lay.volume[tour - lay.first_stop] / capacity_m3 * dump_service_s
    work = np.cumsum(legs + lay.service[tour - lay.first_stop] + dumping)
    cut = np.minimum((work / (work[-1] + 1e-9) * trucks).astype(np.int64), trucks - 1)
    client_of_row = {int(r): k for k, r in enumerate(rows)}
    routes = []
    for truck in range(trucks):
        seg = tour[cut == truck]
        seq = _split_trips(seg, lay, matrix, capacity_m3)
        if seq is not None and seq[-1] >= lay.first_stop and ends.dump[seq[-1]] >= 0:
            seq = [*seq, int(ends.dump[seq[-1]])]
        if seq is None or not _within(_route(truck, seq, lay, matrix, dump_service_s), capacity_m3, shift_s):
            seq, _ = _greedy(seg, lay, matrix, ends, capacity_m3, shift_s, dump_service_s)
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


def _problem(
    candidates: np.ndarray,
    lay: _Layout,
    matrix: TravelMatrix,
    ends: _Ends,
    trucks: int,
    capacity_l: int,
    shift_s: float,
    dump_service_s: float,
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
    depots += [
        pyvrp.Depot(k, service_duration=round(dump_service_s), name=f"dump {k}") for k in range(1, m + 1)
    ]
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
        num_available=trucks,
        capacity=[capacity_l],
        start_depot=0,
        end_depot=m + 1,
        reload_depots=list(range(1, m + 1)),
        shift_duration=math.floor(shift_s),
        name="suction truck",
    )
    distances: list[Any] = [dist]  # the stubs spell the matrix type in a way numpy's do not
    durations: list[Any] = [dur]
    return pyvrp.ProblemData(locations, clients, depots, [vehicle], distances, durations), prize


def _read(
    result: pyvrp.Result, candidates: np.ndarray, lay: _Layout, ends: _Ends, prize: int
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


def _greedy(
    order: Sequence[int],
    lay: _Layout,
    matrix: TravelMatrix,
    ends: _Ends,
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


def _within(route: TruckRoute, capacity_m3: float, shift_s: float) -> bool:
    return route.duration_s <= shift_s + 1e-6 and all(v.load_m3 <= capacity_m3 + 1e-9 for v in route.visits)


def plan_routes(
    stops: Sequence[RouteStop],
    depot: Site,
    dump_sites: Sequence[Site],
    trucks: int,
    *,
    capacity_m3: float = 8.0,
    shift_s: float = 8 * 3600,
    service_s: float = 180,
    dump_service_s: float = 900,
    start_time: datetime | None = None,
    roads: RoadNetwork | None = None,
    detour: float = 1.3,
    speed_kmh: float = 25.0,
    time_limit_s: float = 10.0,
    seed: int = 0,
    empty_at_end: bool = True,
    max_snap_m: float = 250.0,
) -> RoutePlan:
    """Routes for `trucks` suction trucks from `depot` over `stops`, emptying at `dump_sites`.

    Travel comes from `roads` (fastest road paths) when given, else from straight lines ×
    `detour` at `speed_kmh`. The solver runs `time_limit_s` seconds with `seed`. Stops that
    cannot be served are in `unserved`, each with its reason; every other stop is in exactly
    one route. Raises RouteInputError for inputs no plan can come from.
    """
    stops = list(stops)
    dump_sites = list(dump_sites)
    _validate(
        stops,
        depot,
        dump_sites,
        trucks,
        {
            "capacity_m3": capacity_m3,
            "shift_s": shift_s,
            "service_s": service_s,
            "dump_service_s": dump_service_s,
            "time_limit_s": time_limit_s,
            "detour": detour,
            "speed_kmh": speed_kmh,
            "max_snap_m": max_snap_m,
        },
    )
    trucks = int(trucks)
    dump_service_s = float(round(dump_service_s))
    points = [(depot.lon, depot.lat), *((d.lon, d.lat) for d in dump_sites), *((s.lon, s.lat) for s in stops)]
    if roads is not None:
        matrix = roads.travel_matrix(points, max_snap_m=max_snap_m)
    else:
        matrix = straight_line_matrix(points, detour=detour, speed_kmh=speed_kmh)
    for row, site in enumerate([depot, *dump_sites]):
        reason = matrix.unreachable_reason(row)
        if reason is not None:
            what = "the depot" if row == 0 else "dump site"
            raise RouteInputError(f"{what} {site.name!r} is {reason}; move it onto a road a truck may use")
    lay = _layout(stops, depot, dump_sites, service_s)
    ends = _ends(matrix, len(dump_sites), empty_at_end, dump_service_s)
    capacity_l = round(capacity_m3 * 1000.0)
    volume_l = np.rint(lay.volume * 1000.0).astype(np.int64)

    unserved: dict[int, str] = {}
    for i, s in enumerate(stops):
        p = lay.first_stop + i
        reason = matrix.unreachable_reason(p)
        alone = float(matrix.duration_s[0, p]) + float(lay.service[i]) + float(ends.duration[p])
        if volume_l[i] > capacity_l:
            unserved[i] = f"sludge volume {s.volume_m3:.1f} m³ exceeds the tank ({capacity_m3:.1f} m³)"
        elif reason is not None:
            unserved[i] = reason
        elif alone > shift_s:
            via = "depot → drain → dump → depot" if ends.dump[p] >= 0 else "depot → drain → depot"
            unserved[i] = (
                f"does not fit in a shift even on its own ({via} takes {_hours(alone)}, "
                f"the shift {_hours(shift_s)})"
            )
    candidates = np.array([i for i in range(len(stops)) if i not in unserved], dtype=np.int64)
    if not dump_sites and len(candidates):
        total = float(lay.volume[candidates].sum())
        if total > trucks * capacity_m3 + 1e-9:
            raise RouteInputError(
                f"the drains hold {total:.1f} m³ of sludge but {trucks} truck(s) carry "
                f"{trucks * capacity_m3:.1f} m³ without emptying; "
                "pass dump_sites where the tanks can be emptied"
            )
    shifts = f"does not fit in today's shifts ({trucks} truck{'s' if trucks > 1 else ''} × {_hours(shift_s)})"
    solver: dict[str, Any] = {
        "name": "pyvrp",
        "runtime_s": 0.0,
        "iterations": 0,
        "feasible": True,
        "objective": 0.0,
    }
    sequences: list[list[int]] = []
    if len(candidates):
        sequences, left_out, solver = _solve(
            candidates, lay, matrix, ends, trucks, capacity_l, shift_s, dump_service_s, time_limit_s, seed
        )
        for p in left_out:
            unserved[p - lay.first_stop] = shifts
    # what the matrix says is what counts: a route that breaks the tank or the shift (an
    # infeasible best solution) is re-laid greedily in the solver's order
    repaired = 0
    for k, seq in enumerate(sequences):
        route = _route(k + 1, seq, lay, matrix, dump_service_s)
        if not _within(route, capacity_m3, shift_s):
            order = [p for p in seq if p >= lay.first_stop]
            sequences[k], skipped = _greedy(order, lay, matrix, ends, capacity_m3, shift_s, dump_service_s)
            for p in skipped:
                unserved[p - lay.first_stop] = shifts
            repaired += 1
    solver["repaired_routes"] = repaired
    parameters = {
        "trucks": trucks,
        "capacity_m3": capacity_m3,
        "shift_s": shift_s,
        "service_s": service_s,
        "dump_service_s": dump_service_s,
        "empty_at_end": bool(empty_at_end and dump_sites),
        "travel": matrix.source,
        "detour": detour if roads is None else None,
        "speed_kmh": speed_kmh if roads is None else None,
        "max_snap_m": max_snap_m if roads is not None else None,
        "time_limit_s": time_limit_s,
        "seed": seed,
        "start_time": start_time.isoformat() if start_time is not None else None,
        "stops": len(stops),
        "dump_sites": len(dump_sites),
    }
    return plan_from_sequences(
        sequences,
        stops=stops,
        depot=depot,
        dump_sites=dump_sites,
        matrix=matrix,
        service_s=service_s,
        dump_service_s=dump_service_s,
        unserved=[
            Unserved(stops[i].id, reason, stops[i].lon, stops[i].lat)
            for i, reason in sorted(unserved.items())
        ],
        start_time=start_time,
        parameters=parameters,
        solver=solver,
    )
