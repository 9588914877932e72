"""The public algorithm register (issue 14 part 5): generated from the configuration in force --
change a threshold and the page and the JSON change -- with every Algoritmeregister field for
every algorithm, escaped HTML, and the coverage layer as valid GeoJSON with counts per cell only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geo.jobs import compute_indicators
from geo.plan import AlertConfig, PlanConfig, build_algorithm_register
from geo.plan.algorithm_register import REGISTER_FIELDS
from pakhuis.settings import load_settings
from pakhuis.store import Store

# Two clusters of drains ~400 m apart (Castricum): cells with and without sensors.
NORTH = [(f"N{i}", 4.6600 + i * 0.0002, 52.5500) for i in range(4)]
SOUTH = [(f"S{i}", 4.6650 + i * 0.0002, 52.5470) for i in range(4)]
HOSTILE_DISTRICT = "<script>alert('x')</script> & Zuid"
# A citizen sensor at an exact spot: the coverage layer must not repeat it.
BALCONY = (4.660123, 52.550045)


def _rules(algorithm: dict[str, Any]) -> dict[str, Any]:
    return {r["key"]: r["value"] for r in algorithm["rules"]}


def _by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in document["algorithms"]}


def test_the_register_is_built_from_the_config_objects() -> None:
    plan = PlanConfig(thresholds={"default": 55.0, "shopping": 33.0}, max_interval_days=400.0)
    alerts = AlertConfig.from_settings(load_settings(alert_above={"fill_level": 71.5}, stale_factor=4.0))
    register = build_algorithm_register(
        plan, alerts, None, configured_at=datetime(2026, 12, 8, tzinfo=UTC), software_version="9.9"
    ).as_dict()
    algorithms = _by_id(register)
    schedule = _rules(algorithms["drain_schedule"])
    assert schedule["threshold.default"] == 55.0 and schedule["threshold.shopping"] == 33.0
    assert schedule["threshold.bus_stop"] == plan.threshold("bus_stop") == 55.0  # unset kind: the default
    assert schedule["max_interval"] == 400.0 and schedule["min_interval"] == plan.min_interval_days
    assert _rules(algorithms["alerts"])["above.fill_level"] == 71.5
    assert _rules(algorithms["staleness"])["stale_factor"] == 4.0
    assert algorithms["environment_model"]["current"] == {"status": "not fitted yet"}
    assert algorithms["environment_model"]["last_change"] == {"at": None, "what": "not fitted yet"}
    for algorithm in register["algorithms"]:
        for key in REGISTER_FIELDS:
            assert algorithm[key], (algorithm["id"], key)
        for rule in algorithm["rules"]:
            assert rule["source"].startswith(("PAKHUIS_", "code: ")), rule


# ------------------------------------------------------------------------------ over a store


def _city(store: Store) -> None:
    drains = [(key, lon, lat, {"district": "Noord"}) for key, lon, lat in NORTH]
    drains += [(key, lon, lat, {"district": HOSTILE_DISTRICT}) for key, lon, lat in SOUTH]
    store.replace_drains(drains, source="test")
    store.replace_trees(
        [(None, 4.6601, 52.55005, "Platanus x hispanica", "Platanus", "large")], source="test"
    )
    compute_indicators(store, cell_size=100.0)
    store.set_tenant_kind("city", "city")  # the city's own sensors; undeclared tenants are groups
    store.register_sensor("city", "kolk-n0", kind="drain", lon=NORTH[0][1], lat=NORTH[0][2])
    store.register_sensor("buurtgroep", "balkon", kind="air", lon=BALCONY[0], lat=BALCONY[1])
    store.register_sensor("buurtgroep", "nowhere", kind="air")


def _fit(store: Store) -> None:
    """A stored fill model and fill states as a refit leaves them: N0 measured, the rest modelled."""
    ids = {row["drain_key"]: int(row["id"]) for row in store.drains_for_planning()}
    description = {
        "version": "glm-test-8",
        "kind": "glm",
        "n_train": 12,
        "folds": 5,
        "cv_mae": 0.031,
        "baseline_cv_mae": 0.058,
        "cv_r2": 0.41,
        "rate_unit": "%/day of seasonal time",
        "features": ["leaf_load"],
    }
    states = []
    for key, drain_id in ids.items():
        measured = key == "N0"
        states.append(
            (
                drain_id,
                "glm-test-8",
                "city/kolk-n0" if measured else None,
                "ok" if measured else "no_sensor",
                30 if measured else 0,
                10 if measured else 0,
                0.5 if measured else None,
                0.01 if measured else None,
                0.4,
                0.1,
                0.5,
                0.05,
                "sensor" if measured else "model",
                None,
                None,
                None,
                None,
            )
        )
    store.save_fill_model("glm-test-8", description, {"groups": ["open", "trees"]}, states)


def _cell_holding(features: list[dict[str, Any]], lon: float, lat: float) -> dict[str, Any] | None:
    """The feature whose square (WGS84 corners) holds the point, by its bounding box."""
    for feature in features:
        ring = feature["geometry"]["coordinates"][0]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        if min(lons) <= lon < max(lons) and min(lats) <= lat < max(lats):
            return feature
    return None


@pytest.fixture
def city(store: Store) -> Iterator[Store]:
    _city(store)
    yield store


@pytest.mark.integration
def test_page_and_json_change_with_the_configured_thresholds(
    city: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = TestClient(create_app(city)).get("/algorithms?f=json").json()
    default_plan = PlanConfig()
    assert _rules(_by_id(defaults)["drain_schedule"])["threshold.shopping"] == default_plan.threshold(
        "shopping"
    )
    assert _rules(_by_id(defaults)["alerts"])["above.fill_level"] == load_settings().alert_above["fill_level"]

    # A planner's threshold through the PlanConfig, an alert level through the environment.
    monkeypatch.setenv("PAKHUIS_ALERT_ABOVE", '{"fill_level": 71.5}')
    changed = default_plan.overridden(thresholds={**default_plan.thresholds, "shopping": 33.0})
    client = TestClient(create_app(city, plan_config=changed))
    document = client.get("/algorithms", headers={"Accept": "application/json"}).json()
    algorithms = _by_id(document)
    assert _rules(algorithms["drain_schedule"])["threshold.shopping"] == 33.0
    assert _rules(algorithms["alerts"])["above.fill_level"] == 71.5
    page = client.get("/algorithms")
    assert page.headers["content-type"].startswith("text/html")
    section = page.text.split("id='drain_schedule'")[1].split("</section>")[0]
    assert "shopping zone)</td><td class='num'>33</td>" in section
    assert "<td class='num'>71.5</td>" in page.text

    # Settings the app was given win over the environment.
    app = create_app(city)
    app.state.settings = load_settings(stale_factor=4.5)
    given = TestClient(app).get("/algorithms?f=json").json()
    assert _rules(_by_id(given)["staleness"])["stale_factor"] == 4.5


@pytest.mark.integration
def test_json_has_every_field_for_every_algorithm_and_the_fitted_model(city: Store) -> None:
    client = TestClient(create_app(city))
    before = client.get("/algorithms?f=json").json()
    assert _by_id(before)["environment_model"]["current"]["status"] == "not fitted yet"
    assert before["fairness"] is None

    _fit(city)
    response = client.get("/algorithms?f=json")
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert {a["id"] for a in document["algorithms"]} == {
        "drain_schedule",
        "fill_rate_fitting",
        "environment_model",
        "cleaning_method",
        "alerts",
        "staleness",
    }
    assert document["fields"] == REGISTER_FIELDS
    for algorithm in document["algorithms"]:
        for key in REGISTER_FIELDS:
            assert algorithm[key], (algorithm["id"], key)
    model = _by_id(document)["environment_model"]
    assert model["current"]["version"] == "glm-test-8" and model["current"]["kind"] == "glm"
    assert model["current"]["cv_mae"] == 0.031 and model["current"]["baseline_cv_mae"] == 0.058
    assert model["current"]["training_drains"] == 12
    created = city.fill_model()["created"]  # type: ignore[index]
    assert datetime.fromisoformat(model["last_change"]["at"]) == created

    fairness = document["fairness"]
    by_district = {d["district"]: d for d in fairness["districts"]}
    assert by_district["Noord"]["rate_from_sensor"] == 1 and by_district["Noord"]["drains"] == len(NORTH)
    assert by_district[HOSTILE_DISTRICT]["rate_from_sensor"] == 0
    assert fairness["districts_without_sensor"] == 1
    assert fairness["share_from_sensor"] == round(1 / (len(NORTH) + len(SOUTH)), 4)
    assert document["coverage"]["cell_size"] == 100.0 and document["coverage"]["layer"] == "/api/v1/coverage"


@pytest.mark.integration
def test_the_page_escapes_everything(city: Store) -> None:
    _fit(city)
    page = TestClient(create_app(city)).get("/algorithms").text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Zuid" in page
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere


@pytest.mark.integration
def test_coverage_is_geojson_with_counts_per_cell_and_no_positions(city: Store) -> None:
    client = TestClient(create_app(city))
    before = client.get("/api/v1/coverage").json()
    assert all(f["properties"]["drains_with_sensor"] is None for f in before["features"])  # no refit yet

    _fit(city)
    response = client.get("/api/v1/coverage")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    layer = response.json()
    assert layer["type"] == "FeatureCollection" and layer["cell_size"] == 100.0
    features = layer["features"]
    assert features
    for feature in features:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) >= 4 and ring[0] == ring[-1]
        props = feature["properties"]
        assert (
            props["sensors"]
            == props["sensors_air"]
            + props["sensors_drain"]
            + props["sensors_bridge"]
            + (props["sensors_other"])
        )
        assert props["has_sensor_data"] == (props["sensors"] > 0)
    assert any(not f["properties"]["has_sensor_data"] and f["properties"]["drains"] > 0 for f in features)
    assert sum(f["properties"]["drains"] for f in features) == len(NORTH) + len(SOUTH)
    assert sum(f["properties"]["drains_with_sensor"] for f in features) == 1
    assert sum(f["properties"]["sensors_drain"] for f in features) == 1
    # The citizen's sensor counts where the public sensor list shows it: its privacy cell's
    # centre, which here lies in a 100 m cell without drains or trees -- not in the cell of its
    # exact place (where the city's drain sensor is).
    balcony_cell = _cell_holding(features, *BALCONY)
    assert balcony_cell is not None and balcony_cell["properties"]["sensors_drain"] == 1
    assert balcony_cell["properties"]["sensors_air"] == 0
    centre = create_app(city).state.privacy.coarsen(*BALCONY)
    assert _cell_holding(features, *centre) is None
    assert sum(f["properties"]["sensors_air"] for f in features) == 0
    assert layer["totals"]["sensors_outside_cells"] == 1
    assert layer["totals"]["sensors_without_position"] == 1
    assert layer["totals"]["cells"] == len(features)
    text = response.text
    for secret in ("balkon", "buurtgroep", "kolk-n0", f"{BALCONY[0]}", f"{BALCONY[1]}"):
        assert secret not in text
