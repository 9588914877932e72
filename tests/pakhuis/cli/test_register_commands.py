"""The small store commands in process, against a fresh database: each says what it did."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app
from pakhuis.store import Store

pytestmark = pytest.mark.integration


def test_db_migrate_reports_nothing_left_on_a_migrated_database(cli: CliRunner) -> None:
    result = cli.invoke(app, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("migrations applied: 0 (none); already applied: ")


def test_sensor_tenant_and_datastream_registration_reach_the_store(cli: CliRunner, database_url: str) -> None:
    sensor = cli.invoke(app, ["sensors", "register", "t1", "no2-9", "--kind", "air", "--lon", "4.9"])
    assert sensor.exit_code == 0, sensor.output
    assert "registered sensor t1/no2-9 (air)" in sensor.output
    policy = cli.invoke(app, ["tenants", "policy", "t1", "reject"])
    assert "tenant t1: unregistered sensors are refused" in policy.output
    stream = cli.invoke(app, ["datastreams", "register", "ds-1", "t1", "no2-9", "no2"])
    assert "Datastream ds-1 → t1/no2-9 no2" in stream.output
    with Store(database_url) as store:
        assert store.known_sensors([("t1", "no2-9")]) == {("t1", "no2-9")}
        assert store.tenant_policies()["t1"] == "reject"
        assert store.datastream("ds-1") == {
            "id": "ds-1", "tenant": "t1", "sensor": "no2-9", "quantity": "no2", "unit": None
        }  # fmt: skip


def test_an_unreachable_database_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "postgresql://pakhuis:secret@127.0.0.1:1/pakhuis")
    result = CliRunner().invoke(app, ["sensors", "register", "t1", "s1"])
    assert result.exit_code == 1
    assert "error: Cannot connect to PostgreSQL" in result.output and "secret" not in result.output
    assert "what to do: Check PAKHUIS_DATABASE_URL" in result.output


def test_a_sensor_registered_with_a_drain_is_linked_to_it(cli: CliRunner, database_url: str) -> None:
    with Store(database_url) as store:
        store.replace_drains([("kolk-7", 4.90, 52.37, {}), (None, 4.91, 52.37, {})], source="test")
    by_own_id = cli.invoke(app, ["sensors", "register", "t1", "fill-1", "--drain", "kolk-7"])
    assert by_own_id.exit_code == 0, by_own_id.output
    assert "registered sensor t1/fill-1 (drain, measuring drain kolk-7)" in by_own_id.output
    by_pakhuis_id = cli.invoke(app, ["sensors", "register", "t1", "fill-2", "--drain", "2"])
    assert by_pakhuis_id.exit_code == 0, by_pakhuis_id.output
    missing = cli.invoke(app, ["sensors", "register", "t1", "fill-3", "--drain", "kolk-99"])
    assert missing.exit_code == 1
    assert "--drain kolk-99: the drain register has no drain with that id" in missing.output
    assert "within 5 m" in missing.output
    with Store(database_url) as store:
        sensors = {s["sensor"]: s for s in store.sensors(tenant="t1")}
        assert sensors["fill-1"]["metadata"] == {"drain": "kolk-7"}
        assert sensors["fill-1"]["kind"] == "drain"
        assert sensors["fill-2"]["metadata"] == {"drain": "2"}
        assert "fill-3" not in sensors
