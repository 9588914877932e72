"""The component health board and /health, /health/ready, /health/live (issue 11 part 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from pakhuis.errors import StoreUnavailable
from pakhuis.health import ComponentHealth, HealthBoard, database_probe
from pakhuis.store import Store


class _Switch:
    """A component whose state the test sets."""

    def __init__(self) -> None:
        self.health = ComponentHealth("ok", "fine")

    def __call__(self) -> ComponentHealth:
        return self.health


def test_report_status_is_the_worst_component() -> None:
    board = HealthBoard()
    a, b = _Switch(), _Switch()
    board.register("a", a)
    board.register("b", b, ready=False)
    assert board.check().status == "ok"
    assert board.check().failure() is None
    b.health = ComponentHealth("degraded", "retrying")
    assert board.check().status == "degraded"
    assert board.check().failure() is None
    b.health = ComponentHealth("down", "gone", hint="restart b")
    report = board.check()
    assert report.status == "down" and report.down() == ["b"]
    failure = report.failure()
    assert failure is not None and failure.code == "component_down" and failure.status == 503
    assert "b is down: gone" in failure.message and "a: ok" in failure.message
    assert failure.hint == "restart b"
    # b does not count for readiness.
    assert report.failure(only_ready=True) is None


def test_a_raising_probe_reports_its_component_down() -> None:
    def broken() -> ComponentHealth:
        raise KeyError("oops")

    def outage() -> ComponentHealth:
        raise StoreUnavailable("db gone", hint="start it")

    board = HealthBoard()
    board.register("broken", broken)
    board.register("database", outage)
    report = board.check()
    assert report.components["broken"].status == "down"
    assert "KeyError" in report.components["broken"].detail
    failure = report.failure()
    # The first down component names the error; a down database keeps its own code.
    assert failure is not None and failure.code == "component_down"
    assert "database: down (db gone)" in failure.message


def test_database_probe_of_an_unreachable_store() -> None:
    store = Store("postgresql://postgres:pw@127.0.0.1:1/x", acquire_timeout_s=0.5)
    health = database_probe(store)()
    assert health.status == "down" and "127.0.0.1:1" in health.detail and health.hint


@pytest.fixture
def app_with_board(store: Store) -> Iterator[tuple[TestClient, _Switch, _Switch]]:
    board = HealthBoard()
    board.register("database", database_probe(store))
    runner, bridge = _Switch(), _Switch()
    board.register("runner", runner)
    board.register("http_ingest", bridge, ready=False)
    with TestClient(create_app(store, health_board=board)) as client:
        yield client, runner, bridge


def test_health_lists_every_component(app_with_board: tuple[TestClient, _Switch, _Switch]) -> None:
    client, runner, _bridge = app_with_board
    runner.health = ComponentHealth("ok", "committing", figures={"queued": 0, "last_commit_age_s": 0.4})
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert set(body["components"]) == {"database", "runner", "http_ingest"}
    assert body["components"]["runner"] == {
        "status": "ok",
        "detail": "committing",
        "queued": 0,
        "last_commit_age_s": 0.4,
    }
    assert client.get("/health/ready").status_code == 200
    assert client.get("/health/live").json() == {"status": "live"}


def test_health_is_503_naming_the_down_component(
    app_with_board: tuple[TestClient, _Switch, _Switch],
) -> None:
    client, runner, bridge = app_with_board
    runner.health = ComponentHealth("degraded", "retrying a batch")
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "degraded"

    runner.health = ComponentHealth("down", "the stream runner stopped (KeyError)", hint="Restart.")
    response = client.get("/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "component_down"
    assert error["message"].startswith("runner is down: the stream runner stopped (KeyError)")
    assert "database: ok" in error["message"] and error["hint"] == "Restart."
    assert client.get("/health/ready").status_code == 503
    assert client.get("/health/live").status_code == 200

    # A component that does not count for readiness: /health says 503, /health/ready 200.
    runner.health = ComponentHealth("ok")
    bridge.health = ComponentHealth("down", "bridge gone")
    assert client.get("/health").status_code == 503
    assert client.get("/health/ready").status_code == 200


def test_health_without_a_board_reports_the_database(store: Store) -> None:
    with TestClient(create_app(store)) as client:
        body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert set(body["components"]) == {"database"}
