"""The drain plan end to end on the real Castricum drain positions (25,153): synthetic trees and
zones, 300 sensor drains with simulated series, last year's round as work orders; refit, the
4-week schedule and its reasons against the simulated truth, the coming year against the
fixed yearly round, and one day's routes checked by an independent feasibility checker."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api import create_app
from geo.jobs import environment, plan_day_routes, plan_schedule
from geo.plan import PlanConfig, RouteStop
from pakhuis.store import Store
from tests.geo.jobs.plan_scenario import (
    OPEN_SEASON,
    STORM_PER_DAY,
    TREE_SEASON,
    Series,
    simulate,
    synthetic_trees,
    true_rate,
    write_sensors,
)
from tests.geo.plan.routecheck import check_plan
from tests.support import REPO, bearer, pakhuis_command, shared_data

pytestmark = pytest.mark.integration

START = date(2026, 11, 2)
HISTORY = datetime(2025, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 2, tzinfo=UTC)
SENSORS = 300
DEPOT = "4.6690,52.5560"
DUMPS = "4.6400,52.5300;4.7600,52.5750"


def _run(database_url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env["PAKHUIS_DATABASE_URL"] = database_url
    result = subprocess.run(
        pakhuis_command(*args), env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@dataclass
class Scenario:
    database_url: str
    store: Store
    config: PlanConfig
    drains: pd.DataFrame  # id, drain_key, x, y, rate, group, last_clean, zone threshold
    sensors: dict[str, Series]
    sensor_drain: dict[str, int]
    refit_out: str
    tmp: Path


def _truth_due(
    rate: float, season: np.ndarray, fill: float, threshold: float, start: date, days: int
) -> date | None:
    """Day by day, as the truth fills (no noise): the first day at or above the threshold."""
    day = start
    for _ in range(days):
        if fill >= threshold:
            return day
        fill += rate * season[day.month - 1] + STORM_PER_DAY
        day += timedelta(days=1)
    return None


@pytest.fixture(scope="module")
def scenario(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("castricum")
    database_url = backend.database.new_database()
    rng = np.random.default_rng(20261102)
    kolken = shared_data("nl-castricum-kolken") / "kolken_castricum_limmen_akersloot_points.csv"
    _run(database_url, "load", "drains", str(kolken), "--id-column", "record_no")
    with Store(database_url) as store:
        drains = pd.DataFrame(store.drains_register())
        drains = drains.rename(columns={"source_id": "drain_key"})
        points = gpd.GeoSeries(gpd.points_from_xy(drains["lon"], drains["lat"]), crs="EPSG:4326").to_crs(
            28992
        )
        drains["x"], drains["y"] = points.x.to_numpy(), points.y.to_numpy()
        trees = synthetic_trees(rng, drains[["x", "y"]].to_numpy())
        tree_file = tmp / "trees.csv"
        trees.to_csv(tree_file, index=False)
        _run(database_url, "load", "trees", str(tree_file), "--crs", "EPSG:28992")
        # Zones: a shopping street polygon in Castricum's centre, bus stops (points), a building site.
        centre = drains[["x", "y"]].median().to_numpy()
        shop = gpd.GeoDataFrame(
            {"name": ["Dorpsstraat"]},
            geometry=[gpd.points_from_xy([centre[0]], [centre[1]])[0].buffer(150, cap_style="square")],
            crs=28992,
        )
        shop.to_file(tmp / "shopping.geojson")
        stops = drains.sample(12, random_state=1)
        gpd.GeoDataFrame(
            {"name": [f"halte {i}" for i in range(12)]},
            geometry=gpd.points_from_xy(stops["x"], stops["y"]),
            crs=28992,
        ).to_file(tmp / "bus_stops.geojson")
        site = drains.sample(1, random_state=2)
        gpd.GeoDataFrame(geometry=gpd.points_from_xy(site["x"], site["y"]), crs=28992).to_file(
            tmp / "site.geojson"
        )
        _run(database_url, "load", "zones", str(tmp / "shopping.geojson"), "--kind", "shopping")
        _run(database_url, "load", "zones", str(tmp / "bus_stops.geojson"), "--kind", "bus_stop")
        _run(database_url, "load", "zones", str(tmp / "site.geojson"), "--kind", "construction")

        config = PlanConfig(depot=DEPOT, dump_sites=DUMPS, time_limit_s=5.0, trucks=3)
        env = environment(store, config)
        drains = drains.set_index("id").join(
            env[["group", "multiplier", "threshold", "leaf_load", "trees_within_4m"]]
        )
        drains["rate"] = true_rate(drains)
        # Last year's round, recorded as work orders: every drain once, spread over the year.
        order = rng.permutation(len(drains))
        round_day = np.floor(order * 330.0 / len(drains))
        drains["last_clean"] = [HISTORY + timedelta(days=float(d)) for d in round_day]
        sensor_ids = rng.choice(drains.index.to_numpy(), SENSORS, replace=False)
        sensors: dict[str, Series] = {}
        sensor_drain: dict[str, int] = {}
        for n, drain_id in enumerate(sensor_ids):
            row = drains.loc[drain_id]
            season = TREE_SEASON if row["group"] else OPEN_SEASON
            name = f"kolk-{n:03d}"
            sensors[name] = simulate(rng, float(row["rate"]), season, HISTORY, NOW, fill0=3.0, step_h=12.0)
            sensor_drain[name] = int(drain_id)
        write_sensors(
            store, "castricum", sensors, {k: str(drains.at[v, "drain_key"]) for k, v in sensor_drain.items()}
        )
        # Work orders: the round for drains without a sensor (sensors see their own cleanings).
        without = drains.drop(index=sensor_ids)
        orders = pd.DataFrame(
            {
                "drain": without["drain_key"],
                "time": [t.isoformat() for t in without["last_clean"]],
                "method": "suction",
                "sludge_m3": np.round(rng.uniform(0.01, 0.05, len(without)), 3),
            }
        )
        orders.to_csv(tmp / "round.csv", index=False)
        loaded = _run(database_url, "load", "cleanings", str(tmp / "round.csv"))
        assert f"cleanings: {len(without):,} recorded" in loaded
        refit_out = _run(database_url, "plan", "refit")
        yield Scenario(database_url, store, config, drains, sensors, sensor_drain, refit_out, tmp)


def test_refit_fits_the_sensors_and_beats_a_constant_model(scenario: Scenario) -> None:
    out = scenario.refit_out
    model = scenario.store.fill_model()
    assert model is not None
    d = model["description"]
    assert d["n_train"] >= 0.8 * SENSORS, out
    # the environment explains the rates: cross-validated error well below a constant's
    assert d["cv_mae"] < 0.7 * d["baseline_cv_mae"], out
    seasonal = model["seasonal"]
    assert seasonal["trees"][10] > 1.3 and seasonal["trees"][6] < 1.0, seasonal  # Nov vs Jul
    states = pd.DataFrame(scenario.store.fill_states()).set_index("drain_id")
    assert len(states) == len(scenario.drains)
    measured = states[states["measured_rate"].notna()]
    truth = scenario.drains.loc[measured.index, "rate"] + STORM_PER_DAY
    rel = np.abs(measured["measured_rate"] - truth) / truth
    assert float(np.median(rel)) < 0.15, float(np.median(rel))
    print(f"\n{out}")


def test_schedule_matches_the_truth_and_gives_reasons(scenario: Scenario) -> None:
    result = plan_schedule(scenario.store, scenario.config, START, 28, with_summary=True)
    due = result.due
    assert len(due) > 0
    assert due["due"].between(START, START + timedelta(days=27)).all()
    # sensor drains: the scheduled due date against the truth's own projection
    by_drain = due.set_index("drain_id")
    hits = misses = 0
    errors = []
    for name, s in scenario.sensors.items():
        drain_id = scenario.sensor_drain[name]
        row = scenario.drains.loc[drain_id]
        season = TREE_SEASON if row["group"] else OPEN_SEASON
        truth = _truth_due(float(row["rate"]), season, s.fill_end, float(row["threshold"]), START, 28)
        if truth is None:
            continue
        if drain_id in by_drain.index:
            hits += 1
            errors.append(abs((by_drain.loc[drain_id, "due"] - truth).days))
        else:
            misses += 1
    assert hits + misses > 10
    assert hits / (hits + misses) >= 0.8, (hits, misses)
    assert float(np.median(errors)) <= 3, errors
    # reasons a planner can read
    sensor_rows = due[due["rate_source"] != "model"]
    assert sensor_rows["reason"].str.contains(r"%/day in Nov \(sensor, \d+ readings").any()
    assert due["reason"].str.contains(r"reaches \d+ % on 2026-1[12]-\d\d").any()
    leafy = due[due["method"] != "suction"]
    assert len(leafy) > 0 and leafy["reason"].str.contains("large-leaf tree").all()
    shopping = due[due["reason"].str.contains("shopping zone threshold 40 %")]
    assert len(shopping) > 0 and (shopping["threshold"] == 40.0).all()
    year = result.summary
    assert year is not None
    assert year.yearly.cleanings == len(scenario.drains)
    assert year.dynamic.drains_over_threshold < year.yearly.drains_over_threshold
    # once the backlog is cleared, drains away from trees skip the year, drains under trees
    # are cleaned more than once
    assert year.second_year is not None
    by = year.second_year.drains_by_cleanings
    assert by["0"] > 0.3 * len(scenario.drains) and by["2"] + by["3+"] > 0.1 * len(scenario.drains), by
    print(
        f"\nschedule {START} +28 d: {len(due):,} due ({result.schedule.counts_by_method()}); "
        f"sensor drains truly due found {hits}/{hits + misses}, median |Δdue| {np.median(errors):.0f} d"
        f"\nyear: {json.dumps(year.as_dict())}"
    )


def test_the_cli_schedule_writes_every_due_drain(scenario: Scenario) -> None:
    out = scenario.tmp / "schedule.csv"
    printed = _run(
        scenario.database_url,
        "plan",
        "schedule",
        "--from",
        START.isoformat(),
        "--horizon",
        "28d",
        "--out",
        str(out),
    )
    written = pd.read_csv(out)
    assert f"{len(written):,} of {len(scenario.drains):,} drains due" in printed
    assert "coming year" in printed and "fixed yearly round" in printed
    assert set(written["method"]) <= {"suction", "sweep", "both"}
    assert written["reason"].str.len().min() > 40


def test_a_days_routes_are_feasible_and_downloadable(scenario: Scenario) -> None:
    routes = plan_day_routes(scenario.store, scenario.config, START, trucks=3, time_limit_s=5.0)
    plan = routes.plan
    work = plan_schedule(scenario.store, scenario.config, START, 1).due
    stops = work[work["method"] != "sweep"]
    assert routes.summary["suction_due"] == len(stops) > 0
    deferred = routes.summary["deferred_drains"]
    stops = stops[~stops["drain_key"].astype(str).isin(deferred)]
    assert len(stops) == routes.summary["suction_stops"]
    route_stops = [
        RouteStop(id=str(r.drain_key), lon=float(r.lon), lat=float(r.lat), volume_m3=float(r.sludge_m3))
        for r in stops.itertuples(index=False)
    ]
    violations = check_plan(
        plan,
        route_stops,
        capacity_m3=scenario.config.tank_m3,
        shift_s=scenario.config.shift_h * 3600,
        service_s=scenario.config.service_s,
        dump_service_s=scenario.config.dump_service_s,
        matrix=plan.matrix,
    )
    assert violations == []
    served = [v.id for r in plan.routes for v in r.visits if v.kind == "stop"]
    assert sorted(served + [u.id for u in plan.unserved]) == sorted(stops["drain_key"].astype(str))
    # downloads through the CLI and the API
    gpx = scenario.tmp / "routes.gpx"
    printed = _run(
        scenario.database_url,
        "plan",
        "routes",
        "--date",
        START.isoformat(),
        "--trucks",
        "3",
        "--depot",
        DEPOT,
        "--dump",
        DUMPS,
        "--time-limit",
        "3",
        "--out",
        str(gpx),
    )
    assert "drains due for suction" in printed
    root = ET.parse(gpx).getroot()
    assert sum(1 for el in root.iter() if el.tag.endswith("trk")) >= 1
    planner = bearer(scenario.store, "planner")
    client = TestClient(create_app(scenario.store, plan_config=scenario.config), headers=planner)
    collection = client.get(f"/api/v1/routes?date={START}").json()
    assert collection["type"] == "FeatureCollection"
    assert any(f["geometry"]["type"] == "LineString" for f in collection["features"])
    csv_text = client.get(f"/api/v1/routes?date={START}&format=csv").text
    assert csv_text.count("\n") >= len(served)
    assert (
        client.get(f"/api/v1/routes?date={START}&format=gpx")
        .headers["content-type"]
        .startswith("application/gpx+xml")
    )
    assert client.get("/api/v1/routes?date=2020-01-01").status_code == 404
    planned = client.post(f"/api/v1/routes?date={START + timedelta(days=1)}&trucks=2&time_limit=2")
    assert planned.status_code == 201, planned.text
    assert planned.json()["summary"]["trucks"] == 2
    assert client.get(f"/api/v1/routes?date={START + timedelta(days=1)}").status_code == 200
    no_depot = TestClient(create_app(scenario.store), headers=planner).post(f"/api/v1/routes?date={START}")
    assert no_depot.status_code == 409 and "PAKHUIS_PLAN_DEPOT" in no_depot.json()["error"]["hint"]
    # Tanks too small for the day's sludge and nowhere to empty them: the hint says where dump
    # sites are set, in the words of the CLI, the settings and the API.
    no_dump = scenario.config.overridden(dump_sites="", tank_m3=0.2)  # each drain fits, not the day
    full = TestClient(create_app(scenario.store, plan_config=no_dump), headers=planner).post(
        f"/api/v1/routes?date={START}"
    )
    assert full.status_code == 400, full.text
    assert "without emptying" in full.json()["error"]["message"]
    assert "--dump 'lon,lat;lon,lat', PAKHUIS_PLAN_DUMP_SITES" in full.json()["error"]["hint"]
    schedule = client.get(f"/api/v1/schedule?from={START}&horizon=28").json()
    assert len(schedule["due"]) > 0 and schedule["due"][0]["reason"]
