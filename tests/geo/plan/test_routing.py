"""Truck routes: hand-checked small cases, unserved reasons, random instances through the
independent checker (`tests.geo.plan.routecheck`), and the GeoJSON / CSV / GPX outputs."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from geo.plan import (
    RoadNetwork,
    RouteInputError,
    RouteParams,
    RoutePlan,
    RouteStop,
    Site,
    Unserved,
    plan_from_sequences,
    plan_routes,
    straight_line_matrix,
)
from geo.plan.route_ends import ends_of, greedy
from geo.plan.route_plan import layout
from tests.geo.plan.routecheck import check_plan

RD_TO_LONLAT = pyproj.Transformer.from_crs(28992, 4326, always_xy=True)
X0, Y0 = 105_000.0, 507_000.0  # RD New, near Castricum
GPX = "{http://www.topografix.com/GPX/1/1}"


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = RD_TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def site(name: str, x: float, y: float = 0.0) -> Site:
    return Site(name, *lonlat(x, y))


def stop(ident: str, x: float, volume: float, y: float = 0.0, service: float | None = None) -> RouteStop:
    return RouteStop(ident, *lonlat(x, y), volume, service)


def check(plan: RoutePlan, stops: list[RouteStop], **kw: float) -> list[str]:
    args = {"capacity_m3": 8.0, "shift_s": 8 * 3600.0, "service_s": 180.0, "dump_service_s": 900.0}
    args.update(kw)
    return check_plan(plan, stops, matrix=plan.matrix, **args)


# A straight line: depot at 0 m, drains at 1, 2, 3 km, the dump at 4 km; 10 m/s, no detour; an
# 8 m³ tank.
LINE: dict[str, Any] = {"detour": 1.0, "speed_kmh": 36.0, "time_limit_s": 1.0, "capacity_m3": 8.0}


def line(trucks: int, **changes: Any) -> RouteParams:
    """The straight-line parameters for `trucks` trucks, with `changes`."""
    return RouteParams(trucks=trucks, **{**LINE, **changes})


def test_three_stops_on_a_line_by_hand() -> None:
    stops = [stop("a", 1000, 1.0), stop("b", 2000, 1.0), stop("c", 3000, 1.0)]
    plan = plan_routes(stops, site("depot", 0), [site("dump", 4000)], line(2))
    assert check(plan, stops) == []
    assert len(plan.routes) == 1 and plan.unserved == ()
    route = plan.routes[0]
    assert [(v.kind, v.id) for v in route.visits] == [
        ("depot", "depot"),
        ("stop", "a"),
        ("stop", "b"),
        ("stop", "c"),
        ("dump", "dump"),
        ("depot", "depot"),
    ]
    # out to the dump and back: 4 km + 4 km; 100 s per km, 180 s per drain, 900 s at the dump
    assert [v.distance_from_previous_m for v in route.visits] == [0, 1000, 1000, 1000, 1000, 4000]
    assert [v.arrival_s for v in route.visits] == [0, 100, 380, 660, 940, 2240]
    assert [v.departure_s for v in route.visits] == [0, 280, 560, 840, 1840, 2240]
    assert [v.load_m3 for v in route.visits] == [0, 1, 2, 3, 0, 0]
    assert route.distance_m == plan.total_distance_m == 8000
    assert route.duration_s == 2240 and route.dump_visits == 1 and route.volume_m3 == 3
    # the virtual end depot (drain → best dump → depot) costs what the written-back legs cost
    assert plan.solver["feasible"] and plan.solver["objective"] == 8000


def test_a_small_tank_forces_a_dump_after_every_drain() -> None:
    stops = [stop("a", 1000, 5.0), stop("b", 2000, 5.0), stop("c", 3000, 5.0)]
    plan = plan_routes(stops, site("depot", 0), [site("dump", 4000)], line(3))
    assert check(plan, stops) == []
    assert plan.unserved == ()
    # one truck: 1 + 3 + 2 + 2 + 1 + 1 + 4 km (or the same length in another order) beats
    # three trucks at 8 km each
    assert len(plan.routes) == 1
    assert plan.total_distance_m == 14_000
    assert plan.routes[0].dump_visits == 3
    loads = [v.load_m3 for v in plan.routes[0].visits]
    assert max(loads) == 5.0 and loads[-2:] == [0.0, 0.0]


def test_several_dump_sites_the_nearest_one_is_used() -> None:
    stops = [stop("a", 1000, 6.0), stop("b", 1200, 6.0)]
    dumps = [site("far", 20_000), site("near", 1100, 300)]
    plan = plan_routes(stops, site("depot", 0), dumps, line(1))
    assert check(plan, stops) == []
    assert {v.id for v in plan.routes[0].visits if v.kind == "dump"} == {"near"}


def test_oversize_drain_is_unserved_with_its_reason() -> None:
    stops = [stop("a", 1000, 1.0), stop("huge", 2000, 9.1)]
    plan = plan_routes(stops, site("depot", 0), [site("dump", 4000)], line(1))
    assert check(plan, stops) == []
    assert [(u.id, u.reason) for u in plan.unserved] == [
        ("huge", "sludge volume 9.1 m³ exceeds the tank (8.0 m³)")
    ]
    assert plan.unserved[0].lon == stops[1].lon


def test_too_short_shift_leaves_drains_out_and_says_so() -> None:
    stops = [stop(f"s{k}", 500.0 * k, 0.5, y=300.0 * (k % 2)) for k in range(1, 13)]
    stops.append(stop("far", 60_000, 0.5))  # 2 × 60 km at 36 km/h alone: more than the shift
    params = line(1, shift_s=1800, dump_service_s=300)
    plan = plan_routes(stops, site("depot", 0), [site("dump", 3000)], params)
    assert check(plan, stops, shift_s=1800, dump_service_s=300) == []
    reasons = {u.id: u.reason for u in plan.unserved}
    assert reasons.pop("far").startswith("does not fit in a shift even on its own (depot → drain → dump")
    assert reasons and set(reasons.values()) == {"does not fit in today's shifts (1 truck × 0.5 h)"}
    served = sum(r.stops for r in plan.routes)
    assert served + len(plan.unserved) == len(stops) and served >= 4
    assert all(r.duration_s <= 1800 for r in plan.routes)


def test_more_trucks_serve_what_one_shift_cannot() -> None:
    stops = [stop(f"s{k}", 500.0 * k, 0.5, y=300.0 * (k % 2)) for k in range(1, 13)]
    short: dict[str, Any] = {"shift_s": 1800, "dump_service_s": 300}
    one = plan_routes(stops, site("depot", 0), [site("dump", 3000)], line(1, **short))
    three = plan_routes(stops, site("depot", 0), [site("dump", 3000)], line(3, **short))
    assert check(three, stops, **short) == []
    assert len(three.unserved) < len(one.unserved)
    assert "(3 trucks × 0.5 h)" in "".join(u.reason for u in three.unserved) or not three.unserved


def test_without_dump_sites_the_tank_goes_home_full() -> None:
    stops = [stop("a", 1000, 3.0), stop("b", 2000, 3.0)]
    plan = plan_routes(stops, site("depot", 0), [], line(1))
    assert check(plan, stops) == []
    assert plan.parameters["empty_at_end"] is False
    assert plan.routes[0].visits[-1].load_m3 == 6.0 and plan.total_distance_m == 4000


def test_no_drains_or_none_servable_gives_an_empty_plan() -> None:
    empty = plan_routes([], site("depot", 0), [site("dump", 100)], line(2))
    assert empty.routes == () and empty.unserved == () and empty.total_distance_m == 0
    stops = [stop("huge", 100, 20.0)]
    plan = plan_routes(stops, site("depot", 0), [site("dump", 100)], line(2))
    assert plan.routes == () and [u.id for u in plan.unserved] == ["huge"]
    assert check(plan, stops) == []
    assert plan.to_csv().count("\n") == 1 and ET.fromstring(plan.to_gpx().encode()) is not None


def test_per_stop_service_time_and_start_time() -> None:
    start = datetime(2026, 11, 2, 7, 0, tzinfo=timezone(timedelta(hours=1)))
    stops = [stop("a", 1000, 1.0, service=600)]
    plan = plan_routes(stops, site("depot", 0), [site("dump", 2000)], line(1, start_time=start))
    assert check(plan, stops) == []
    a = plan.routes[0].visits[1]
    assert (a.arrival_s, a.departure_s) == (100, 700)
    point = next(f for f in plan.to_geojson()["features"] if f["properties"].get("id") == "a")
    assert point["properties"]["arrival"] == "07:01"


# --- on a road network -------------------------------------------------------------------


def small_network() -> RoadNetwork:
    """A 1 × 1 km grid of two-way streets (200 m blocks), a road stub 1.5 km east that joins
    nothing a truck may use (only a footway), and that footway."""
    lines = []
    for k in range(6):  # a vertex at every crossing: lines join where they share one
        lines.append(shapely.LineString([(X0 + 200 * k, Y0 + 200 * j) for j in range(6)]))
        lines.append(shapely.LineString([(X0 + 200 * j, Y0 + 200 * k) for j in range(6)]))
    highway = ["residential"] * len(lines)
    lines.append(shapely.LineString([(X0 + 2500, Y0), (X0 + 2500, Y0 + 300)]))
    highway.append("residential")
    lines.append(shapely.LineString([(X0 + 1000, Y0), (X0 + 2500, Y0)]))
    highway.append("footway")
    frame = gpd.GeoDataFrame({"highway": highway}, geometry=lines, crs=28992)
    return RoadNetwork.from_frame(frame)


def test_unreachable_drains_on_a_network() -> None:
    net = small_network()
    stops = [
        stop("on grid", 410, 1.0, y=590),
        stop("by the stub", 2530, 1.0, y=100),  # 30 m from a road that leads nowhere
        stop("in a meadow", 500, 1.0, y=3000),  # 2 km from any road
    ]
    plan = plan_routes(
        stops, site("depot", 0), [site("dump", 1000, 1000)], RouteParams(trucks=1, time_limit_s=1), roads=net
    )
    assert check(plan, stops) == []
    reasons = {u.id: u.reason for u in plan.unserved}
    assert set(reasons) == {"by the stub", "in a meadow"}
    assert reasons["by the stub"].startswith(
        "not reachable on the road network (nearest road of the connected"
    )
    assert "the nearest road, 30 m away, is disconnected" in reasons["by the stub"]
    assert reasons["in a meadow"].endswith("more than 250 m)")
    route = plan.routes[0]
    assert [v.id for v in route.visits] == ["depot", "on grid", "dump", "depot"]
    # along the grid: 400 + 600 m to the vertex next to the drain, then √(10² + 10²) m on foot
    assert route.visits[1].distance_from_previous_m == round(400 + 600 + np.hypot(10, 10))
    geometry = route.geometry()
    assert geometry[0] == geometry[-1] == (route.visits[0].lon, route.visits[0].lat)
    assert len(geometry) > len(route.visits)


def test_depot_off_the_network_is_an_input_error() -> None:
    with pytest.raises(RouteInputError, match="the depot 'yard' is not reachable on the road network"):
        plan_routes(
            [stop("a", 100, 1.0)],
            site("yard", 500, 3000),
            [site("dump", 0)],
            RouteParams(trucks=1),
            roads=small_network(),
        )


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trucks": 0}, "trucks must be a whole number of at least 1"),
        ({"capacity_m3": 0.0}, "capacity_m3 must be positive"),
        ({"shift_s": -1.0}, "shift_s must be positive"),
        ({"service_s": -5.0}, "service_s must not be negative"),
        ({"time_limit_s": float("nan")}, "time_limit_s must be a finite number"),
        ({"detour": 0.9}, "detour must be at least 1"),
        ({"stops": [stop("a", 100, -0.1)]}, "stop 'a' has sludge volume -0.1 m³; it must be 0 or more"),
        ({"stops": [stop("a", 100, 1.0), stop("a", 200, 1.0)]}, "stop id 'a' occurs twice"),
        ({"stops": [RouteStop("a", float("nan"), 52.5, 1.0)]}, "stop 'a' has no valid lon/lat"),
        ({"stops": [stop("a", 100, 1.0, service=-1)]}, "stop 'a' has service time -1 s"),
        (
            {"dump_sites": [], "stops": [stop("a", 100, 5.0), stop("b", 200, 5.0)]},
            "the drains hold 10.0 m³ of sludge but 1 truck.s. carry 8.0 m³ without emptying; pass dump_sites",
        ),
    ],
)
def test_inputs_are_validated(kwargs: dict[str, Any], message: str) -> None:
    places: dict[str, Any] = {
        "stops": [stop("a", 100, 1.0)],
        "depot": site("depot", 0),
        "dump_sites": [site("d", 50)],
    }
    params: dict[str, Any] = {"trucks": 1, "time_limit_s": 1.0, "capacity_m3": 8.0}
    for name, value in kwargs.items():
        (places if name in places else params)[name] = value
    with pytest.raises(RouteInputError, match=message):
        plan_routes(**places, params=RouteParams(**params))


# --- random instances through the independent checker -------------------------------------


def random_instance(seed: int, n: int) -> tuple[list[RouteStop], Site, list[Site]]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-4000, 4000, size=(n, 2))
    volumes = np.round(rng.gamma(2.0, 0.3, size=n), 3)
    stops = [
        stop(f"k{seed}-{i}", x, float(v), y=y) for i, ((x, y), v) in enumerate(zip(xy, volumes, strict=True))
    ]
    if seed % 2:
        stops[3] = replace(stops[3], volume_m3=12.0)  # one too big for the tank
    dumps = [site(f"dump {k}", *rng.uniform(-5000, 5000, size=2)) for k in range(1 + seed % 2)]
    return stops, site("depot", *rng.uniform(-1000, 1000, size=2)), dumps


@pytest.mark.parametrize(
    ("seed", "n", "trucks", "shift_h"),
    [(0, 50, 2, 8.0), (1, 120, 3, 8.0), (2, 200, 4, 10.0), (3, 150, 2, 3.0)],
)
def test_random_instances_pass_the_checker(seed: int, n: int, trucks: int, shift_h: float) -> None:
    stops, depot, dumps = random_instance(seed, n)
    params = RouteParams(
        trucks=trucks,
        capacity_m3=4.0,
        shift_s=shift_h * 3600,
        service_s=120,
        dump_service_s=600,
        time_limit_s=1.5,
        seed=seed,
    )
    plan = plan_routes(stops, depot, dumps, params)
    assert (
        check(plan, stops, capacity_m3=4.0, shift_s=shift_h * 3600, service_s=120, dump_service_s=600) == []
    )
    assert plan.solver["feasible"] and plan.solver["repaired_routes"] == 0
    assert sum(r.stops for r in plan.routes) + len(plan.unserved) == n
    assert sum(r.dump_visits for r in plan.routes) >= sum(r.volume_m3 for r in plan.routes) / 4.0
    if shift_h < 4:  # 150 drains at 120 s do not fit two 3-hour shifts
        assert any(
            u.reason.startswith("does not fit in today's shifts (2 trucks × 3.0 h)") for u in plan.unserved
        )
    else:  # shifts with room to spare (the plans fill 50-75 % of the shift hours)
        assert all("shifts" not in u.reason for u in plan.unserved)


def test_checker_catches_broken_plans() -> None:
    stops = [stop("a", 1000, 5.0), stop("b", 2000, 5.0)]
    plan = plan_routes(stops, site("depot", 0), [site("dump", 4000)], line(1))
    assert check(plan, stops) == []
    route = plan.routes[0]
    dropped = [v for v in route.visits if v.id != "a"]
    broken = replace(plan, routes=(replace(route, visits=tuple(dropped)),))
    assert any("stop a is neither served nor reported unserved" in p for p in check(broken, stops))
    no_dump = tuple(v for v in route.visits if v.kind != "dump")
    assert any(
        "above 8.0 m³" in p for p in check(replace(plan, routes=(replace(route, visits=no_dump),)), stops)
    )
    early = tuple(replace(v, arrival_s=v.arrival_s - 50) if k == 2 else v for k, v in enumerate(route.visits))
    assert any("before" in p for p in check(replace(plan, routes=(replace(route, visits=early),)), stops))
    assert any("longer than" in p for p in check(plan, stops, shift_s=600))


def test_greedy_repair_keeps_tank_and_shift() -> None:
    """The fallback for an infeasible solver result, on a poor order (input order)."""
    stops, depot, dumps = random_instance(5, 60)
    matrix = straight_line_matrix(
        [(depot.lon, depot.lat), *((d.lon, d.lat) for d in dumps), *((s.lon, s.lat) for s in stops)]
    )
    lay = layout(stops, depot, dumps, 180.0)
    ends = ends_of(matrix, len(dumps), True, 900.0)
    order = [lay.first_stop + i for i in range(len(stops)) if stops[i].volume_m3 <= 4.0]
    seq, skipped = greedy(order, lay, matrix, ends, 4.0, 4 * 3600.0, 900.0)
    assert skipped and len(seq) > 10
    unserved = [Unserved(stops[p - lay.first_stop].id, "skipped") for p in skipped]
    unserved += [Unserved(s.id, "too big") for s in stops if s.volume_m3 > 4.0]
    plan = plan_from_sequences(
        [seq],
        stops=stops,
        depot=depot,
        dump_sites=dumps,
        matrix=matrix,
        unserved=unserved,
        parameters={"empty_at_end": True},
    )
    assert check(plan, stops, capacity_m3=4.0, shift_s=4 * 3600.0) == []


# --- outputs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_and_stops() -> tuple[RoutePlan, list[RouteStop]]:
    stops, depot, dumps = random_instance(1, 60)
    params = RouteParams(
        trucks=3, capacity_m3=3.0, time_limit_s=1.0, start_time=datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
    )
    plan = plan_routes(stops, depot, dumps, params)
    return plan, stops


def test_geojson_structure(plan_and_stops: tuple[RoutePlan, list[RouteStop]]) -> None:
    plan, _ = plan_and_stops
    doc = json.loads(json.dumps(plan.to_geojson()))
    assert doc["type"] == "FeatureCollection"
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    visits = [f for f in doc["features"] if f["properties"].get("kind") in ("depot", "stop", "dump")]
    unserved = [f for f in doc["features"] if f["properties"].get("kind") == "unserved"]
    assert len(lines) == len(plan.routes) >= 1
    assert len(visits) == sum(len(r.visits) for r in plan.routes)
    assert len(unserved) == len(plan.unserved) >= 1
    assert {"truck", "distance_m", "duration_s", "dumps"} <= set(lines[0]["properties"])
    first = visits[0]["properties"]
    assert {"sequence", "kind", "id", "arrival", "load_m3"} <= set(first)
    assert first["arrival"] == "07:30" and first["sequence"] == 0


def test_csv_rows(plan_and_stops: tuple[RoutePlan, list[RouteStop]]) -> None:
    plan, _ = plan_and_stops
    rows = list(csv.DictReader(io.StringIO(plan.to_csv())))
    assert len(rows) == sum(len(r.visits) for r in plan.routes)
    assert list(rows[0]) == [
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
    last = rows[-1]
    assert last["kind"] == "depot" and float(last["load_m3"]) == 0.0
    total = sum(float(r["distance_from_previous_m"]) for r in rows)
    assert total == pytest.approx(plan.total_distance_m, abs=len(rows))


def test_gpx_is_xml_with_a_track_per_truck(plan_and_stops: tuple[RoutePlan, list[RouteStop]]) -> None:
    plan, _ = plan_and_stops
    root = ET.fromstring(plan.to_gpx().encode())
    assert root.tag == f"{GPX}gpx" and root.get("version") == "1.1"
    assert len(root.findall(f"{GPX}trk")) == len(plan.routes)
    assert len(root.findall(f"{GPX}rte")) == len(plan.routes)
    n_wpt = sum(1 for r in plan.routes for v in r.visits if v.kind != "depot")
    assert len(root.findall(f"{GPX}wpt")) == n_wpt
    assert root.find(f"{GPX}wpt/{GPX}time") is not None
    for trk, route in zip(root.findall(f"{GPX}trk"), plan.routes, strict=True):
        assert len(trk.findall(f"{GPX}trkseg/{GPX}trkpt")) == len(route.geometry())
