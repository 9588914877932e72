"""A fill sensor linked to its drain from the API and the CLI (issue 13, part 2): by the drain's
id (refused when the register lacks it), or by position, where the answer names the nearest
drain, its distance and whether the refit links it (within 5 m)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import create_app
from pakhuis.cli import app
from pakhuis.store import Store
from tests.support import bearer

pytestmark = pytest.mark.integration

# Two drains 100 m apart on a street in Delft (WGS84).
K1 = (4.370000, 52.000000)
K2 = (4.371460, 52.000000)


def _drains(store: Store) -> None:
    store.replace_drains([("K1", *K1, {}), ("K2", *K2, {})], source="test")


def test_put_links_by_id_and_refuses_an_unknown_drain(store: Store) -> None:
    _drains(store)
    # The tenant's own group key: a group registers its sensors.
    client = TestClient(create_app(store), headers=bearer(store, "group", tenant="demo"))
    linked = client.put("/api/v1/sensors/demo/kolk-1", json={"drain": "K2"})
    assert linked.status_code == 200, linked.text
    assert linked.json()["kind"] == "drain" and linked.json()["drain"] == "K2" and linked.json()["linked"]
    sensors = {s["sensor"]: s for s in store.sensors(tenant="demo")}
    assert sensors["kolk-1"]["metadata"] == {"drain": "K2"}
    missing = client.put("/api/v1/sensors/demo/kolk-2", json={"drain": "K9"})
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert error["code"] == "invalid_parameter" and "K9" in error["message"]
    assert "kolk-2" not in {s["sensor"] for s in store.sensors(tenant="demo")}


def test_put_by_position_reports_the_nearest_drain_and_its_distance(store: Store) -> None:
    _drains(store)
    client = TestClient(create_app(store), headers=bearer(store))
    # 2 m east of K1: linked; 30 m east of K1: not.
    near = client.put(
        "/api/v1/sensors/demo/kolk-near", json={"kind": "drain", "lon": K1[0] + 0.0000292, "lat": K1[1]}
    ).json()
    assert near["nearest_drain"] == "K1" and near["nearest_m"] == pytest.approx(2.0, abs=0.1)
    assert near["linked"] is True
    far = client.put(
        "/api/v1/sensors/demo/kolk-far", json={"kind": "drain", "lon": K1[0] + 0.000438, "lat": K1[1]}
    ).json()
    assert far["nearest_drain"] == "K1" and far["nearest_m"] == pytest.approx(30.0, abs=0.5)
    assert far["linked"] is False
    sensors = {s["sensor"]: s for s in store.sensors(tenant="demo")}
    assert sensors["kolk-near"]["lon"] == pytest.approx(K1[0] + 0.0000292)


def test_the_cli_says_which_drain_is_nearest(store: Store, database_url: str) -> None:
    _drains(store)
    runner = CliRunner()
    env = {"PAKHUIS_DATABASE_URL": database_url}
    args = ["sensors", "register", "demo", "kolk-far", "--kind", "drain"]
    far = runner.invoke(app, [*args, "--lon", str(K2[0] + 0.000146), "--lat", str(K2[1])], env=env)
    assert far.exit_code == 0, far.output
    assert "nearest drain K2, 10.0 m away: not linked (farther than 5 m" in far.output
    by_id = runner.invoke(app, ["sensors", "register", "demo", "kolk-far", "--drain", "K2"], env=env)
    assert "registered sensor demo/kolk-far (drain, measuring drain K2)" in by_id.output
