"""A day's truck routes as a value: each truck's visits (depot, drains, dump sites) with times,
loads and distances recomputed from the travel matrix, the drains left out with their reasons,
and how the plan was made. `plan_from_sequences` turns any solver's visit orders (a
baseline's too) into the same plan; the file formats are in `geo.plan.route_files`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from geo.plan import route_files
from geo.plan.config import plan_default
from geo.plan.sites import RouteStop, Site
from geo.plan.travel import TravelMatrix

__all__ = ["Kind", "RoutePlan", "TruckRoute", "Unserved", "Visit", "plan_from_sequences"]

Kind = Literal["depot", "stop", "dump"]


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
        return route_files.geojson(self)

    def to_csv(self) -> str:
        """One row per visit, in driving order per truck."""
        return route_files.csv_text(self)

    def to_gpx(self) -> str:
        """GPX 1.1 for navigation devices: a waypoint per drain and dump visit, a route
        (rtept per visit) and a track (the road geometry) per truck."""
        return route_files.gpx(self)


@dataclass(frozen=True)
class Layout:
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


def litres(volume_m3: float) -> int:
    """A volume in the whole litres the solver counts."""
    return round(volume_m3 * 1000.0)


def layout(stops: Sequence[RouteStop], depot: Site, dump_sites: Sequence[Site], service_s: float) -> Layout:
    """The solver counts whole seconds and litres, so the plan does too: service times are
    rounded to the second and volumes to the litre everywhere (loads add up exactly)."""
    service = np.rint([service_s if s.service_s is None else s.service_s for s in stops]).astype(np.float64)
    volume = np.rint(np.array([s.volume_m3 for s in stops], dtype=np.float64) * 1000.0) / 1000.0
    return Layout(stops, depot, dump_sites, service.reshape(-1), volume)


def route(
    truck: int, points: Sequence[int], lay: Layout, matrix: TravelMatrix, dump_service_s: float
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
    service_s: float = plan_default("service_s"),
    dump_service_s: float = plan_default("dump_service_s"),
    unserved: Sequence[Unserved] = (),
    start_time: datetime | None = None,
    parameters: dict[str, Any] | None = None,
    solver: dict[str, Any] | None = None,
) -> RoutePlan:
    """A plan from visit orders, one per truck, as matrix rows (0 depot, 1..m dump sites in
    order, m+1.. stops in order; the depot at both ends is added). Times, loads and distances
    are computed from `matrix`; any solver's output (a baseline's too) becomes the same plan."""
    lay = layout(stops, depot, dump_sites, service_s)
    dump_service_s = float(round(dump_service_s))
    routes = tuple(
        route(truck, list(seq), lay, matrix, dump_service_s)
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
