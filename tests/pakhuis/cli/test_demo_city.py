"""The demo city (issue 13, part 1): installed into a database it gives registers that overlap,
zones, last year's work orders, sensors at their places linked to drains, and a history the
refit fits; a second install writes only what is new; another register is kept or refused,
never silently replaced; the exported files load like one's own."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from geo.jobs import load_drains, refit
from geo.plan import PlanConfig, RoadNetwork
from geo.registers import read_work_orders
from pakhuis.cli import app
from pakhuis.cli.demo_city import (
    DemoCity,
    DemoCityInstall,
    DemoCityRefused,
    export_demo_city,
    install_demo_city,
    with_demo_plan,
)
from pakhuis.settings import Settings, load_settings
from pakhuis.store import Store

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
CITY = DemoCity.bundled()


def _features(name: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(CITY.file(name).read_text(encoding="utf-8"))["features"]
    return features


@dataclasses.dataclass
class Installed:
    url: str
    settings: Settings
    first: DemoCityInstall


@pytest.fixture(scope="module")
def installed(backend: Any) -> Iterator[Installed]:
    url = backend.database.new_database()
    settings = load_settings(database_url=url)
    with Store(url) as store:
        first = install_demo_city(settings, store, now=NOW)
    yield Installed(url, settings, first)


def test_the_registers_overlap_and_every_file_is_loaded(installed: Installed) -> None:
    first = installed.first
    assert first.registers == "loaded"
    assert first.drains == len(_features("drains.geojson")) > 1000
    assert first.trees == len(_features("trees.geojson")) > 1000
    zone_points = sum(len(_features(name)) for name in CITY.zone_files.values())
    assert first.zones == zone_points
    # Last year's round: every drain without a sensor has a work order.
    assert first.work_orders == first.drains - len(CITY.sensored_drains())
    with Store(installed.url) as store:
        drains, trees = store.register_bounds("drains"), store.register_bounds("trees")
    assert drains is not None and trees is not None
    (d0, d1, d2, d3), (t0, t1, t2, t3) = drains, trees
    assert d0 < t2 and t0 < d2 and d1 < t3 and t1 < d3  # the boxes overlap


def test_every_sensor_has_a_place_and_every_fill_sensor_its_drain(installed: Installed) -> None:
    with Store(installed.url) as store:
        # The city's own sensors: public as they are (issue 14 part 4).
        assert store.tenant_kinds()[CITY.tenant] == "city"
        sensors = store.sensors(tenant=CITY.tenant)
        keys = {str(row["source_id"]) for row in store.drains_register()}
        drain_sensors = store.drain_sensors()
    assert len(sensors) == len(CITY.devices) == installed.first.sensors
    assert all(s["lon"] is not None and s["lat"] is not None for s in sensors)
    assert all(s["metadata"]["simulated"] is True for s in sensors)
    assert {s["kind"] for s in sensors} == {"air", "drain", "bridge"}
    assert len(drain_sensors) == len(CITY.sensored_drains()) == 48
    assert all(s["metadata"]["drain"] in keys for s in drain_sensors)


def test_the_history_is_what_the_refit_needs(installed: Installed) -> None:
    first = installed.first
    assert first.history_from is not None and first.history_from <= NOW - timedelta(weeks=52)
    assert first.readings > 100_000
    with Store(installed.url) as store:
        report = refit(store, PlanConfig.from_settings(installed.settings), seed=0)
    assert report.linked == report.sensors == 48 and report.unlinked == ""
    assert report.measured_ok >= 40
    # Trees shed leaves in autumn: the seasonal factors of drains near trees peak then.
    trees = report.seasonal["trees"]
    assert max(trees[9], trees[10]) > 1.3 * min(trees[3:7])
    # The environment model beats a constant on held-out drains.
    assert report.model["cv_mae"] < report.model["baseline_cv_mae"]


def test_a_second_install_keeps_the_city_and_writes_only_what_is_new(installed: Installed) -> None:
    with Store(installed.url) as store:
        before = store.last_reading_times(CITY.tenant)
        second = install_demo_city(installed.settings, store, now=NOW + timedelta(hours=1))
        after = store.last_reading_times(CITY.tenant)
        loads = store.register_loads()
    assert second.registers == "kept (already the demo city)"
    assert second.history_from == installed.first.history_from
    # One more hour: hourly air readings and quarter-hourly bridge readings, nothing repeated.
    assert 0 < second.readings < 200
    assert after["brug-1"] > before["brug-1"]
    assert {row["register"]: row["rows"] for row in loads}["drains"] == installed.first.drains


def test_another_register_is_refused_or_kept_never_replaced_silently(backend: Any, tmp_path: Path) -> None:
    url = backend.database.new_database()
    settings = load_settings(database_url=url)
    own = tmp_path / "own.csv"
    own.write_text("id,lon,lat\nA1,4.67,52.55\nA2,4.6702,52.55\n", encoding="utf-8")
    no_devices = dataclasses.replace(CITY, devices=())
    with Store(url) as store:
        load_drains(store, own)
        with pytest.raises(DemoCityRefused, match="another drain register") as refused:
            install_demo_city(settings, store, now=NOW, city=no_devices)
        assert "--replace" in (refused.value.hint or "")
        kept = install_demo_city(settings, store, now=NOW, other_register="keep", city=no_devices)
        assert kept.registers == "kept (your own registers)"
        assert len(store.drains_register()) == 2
    result = CliRunner().invoke(app, ["demo"], env={"PAKHUIS_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "another drain register (2 drains" in result.output and "--replace" in result.output


def test_the_exported_files_load_like_ones_own(tmp_path: Path) -> None:
    written = {p.name for p in export_demo_city(tmp_path / "city", now=NOW)}
    assert {"drains.geojson", "trees.geojson", "roads.geojson", "workorders.csv", "SOURCE.txt"} <= written
    orders = read_work_orders(tmp_path / "city" / "workorders.csv")
    keys = {f["properties"]["id"] for f in _features("drains.geojson")}
    assert len(orders) == len(keys) - len(CITY.sensored_drains())
    assert {o.drain for o in orders} <= keys
    assert all(NOW - timedelta(days=366) < o.time < NOW for o in orders)
    assert "OpenStreetMap" in (tmp_path / "city" / "SOURCE.txt").read_text(encoding="utf-8")


def test_the_depot_and_dump_site_lie_on_the_road_network() -> None:
    network = RoadNetwork.from_file(CITY.file("roads.geojson"))
    sites = [CITY.depot, *CITY.dump_sites.split(";")]
    points = [(float(lon), float(lat)) for lon, lat in (s.split(",") for s in sites)]
    matrix = network.travel_matrix(points)
    assert matrix.reachable.all() and (matrix.snap_m < 1.0).all()


def test_the_api_of_run_simulate_plans_with_the_demo_sites_unless_set() -> None:
    plain = load_settings(database_url="postgresql://x/y")
    demo = with_demo_plan(plain, CITY)
    assert demo.plan_depot == CITY.depot and demo.plan_roads_file == CITY.file("roads.geojson")
    own = with_demo_plan(load_settings(database_url="postgresql://x/y", plan_depot="4.1,52.1"), CITY)
    assert own.plan_depot == "4.1,52.1" and own.plan_dump_sites == CITY.dump_sites
