"""Strict parameters on every route: control characters, trailing newlines, the missing depot,
and an OpenAPI document that declares every status code the API answers with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import create_app
from pakhuis.identifiers import IDENTIFIER_PATTERN, is_identifier
from pakhuis.store import Store
from tests.support import bearer

pytestmark = pytest.mark.integration


@pytest.fixture
def app(store: Store) -> FastAPI:
    return create_app(store)


@pytest.fixture
def client(app: FastAPI, store: Store) -> Iterator[TestClient]:
    # An admin's key: every route is reached, and what is refused is refused for its parameters.
    with TestClient(app, raise_server_exceptions=False, headers=bearer(store)) as test_client:
        yield test_client


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == code
    return str(error["message"])


def _get_operations(app: FastAPI) -> dict[str, list[str]]:
    """The GET paths without path parameters, with the names of their query parameters."""
    found = {}
    for path, item in app.openapi()["paths"].items():
        op = item.get("get")
        if op is not None and "{" not in path:
            found[path] = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
    return found


def test_a_control_character_in_any_query_parameter_is_a_400_naming_it(
    app: FastAPI, client: TestClient
) -> None:
    checked = 0
    for path, names in _get_operations(app).items():
        # Declared parameters and one the route does not know: all are checked.
        for name in [*names, "tenant", "unknown"]:
            for bad in ("demo\x00", "de\x07mo", "demo\x7f"):
                response = client.get(path, params={name: bad})
                message = _error(response, 400, "invalid_parameter")
                assert repr(name) in message, (path, name, message)
                checked += 1
    # Every GET route with its parameters: sensors, latest, observations, deadletter, alerts, ...
    assert checked >= 60


def test_a_nul_in_the_five_filters_that_used_to_fail_is_a_400(client: TestClient) -> None:
    for path, name in [
        ("/api/v1/sensors", "tenant"),
        ("/api/v1/latest", "tenant"),
        ("/api/v1/observations", "tenant"),
        ("/api/v1/observations", "sensor"),
        ("/api/v1/deadletter", "reason"),
        ("/api/v1/deadletter", "tenant"),
        ("/api/v1/alerts", "tenant"),
    ]:
        message = _error(client.get(path, params={name: "a\x00b"}), 400, "invalid_parameter")
        assert f"'{name}'" in message and "U+0000" in message


def test_a_control_character_in_a_path_parameter_is_a_400(client: TestClient) -> None:
    message = _error(client.get("/api/v1/drains/1%00"), 400, "invalid_parameter")
    assert "drain_id" in message


def test_a_trailing_newline_is_not_an_identifier(client: TestClient) -> None:
    for path in ("/api/v1/sensors", "/api/v1/observations", "/api/v1/deadletter"):
        message = _error(client.get(path, params={"tenant": "demo\n"}), 400, "invalid_parameter")
        assert "tenant" in message
    # HTTP ingest: the tenant of a TTN webhook used to make a look-alike tenant "demo\n".
    uplink = {"end_device_ids": {"device_id": "d1", "application_ids": {"application_id": "app"}}}
    response = client.post("/api/v1/ingest/ttn", params={"tenant": "demo\n"}, json=uplink)
    assert "tenant" in _error(response, 400, "invalid_parameter")
    response = client.post("/api/v1/ingest/ttn", params={"tenant": "demo"}, json={**uplink, "x": 1})
    # A valid tenant gets as far as the (absent) broker bridge.
    _error(response, 503, "http_ingest_unavailable")
    bad_device = {"end_device_ids": {"device_id": "d1\n", "application_ids": {"application_id": "app"}}}
    assert "device" in _error(client.post("/api/v1/ingest/ttn", json=bad_device), 400, "invalid_parameter")


def test_plain_identifiers_still_pass(client: TestClient) -> None:
    for tenant in ("demo", "haarlem-2", "a.b:c_d", "x" * 64):
        assert client.get("/api/v1/sensors", params={"tenant": tenant}).status_code == 200
    _error(client.get("/api/v1/sensors", params={"tenant": "x" * 65}), 400, "invalid_parameter")


def test_post_routes_without_a_depot_is_409_naming_the_setting(client: TestClient) -> None:
    response = client.post("/api/v1/routes", params={"date": "2026-12-01"})
    _error(response, 409, "not_configured")
    assert "PAKHUIS_PLAN_DEPOT" in response.json()["error"]["hint"]


def test_an_unexpected_error_is_a_500_in_the_error_shape(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug behind a real route (a route added after create_app has no access rule: refused).
    def boom() -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(store, "dead_letter_counts", boom)
    with TestClient(create_app(store), raise_server_exceptions=False, headers=bearer(store)) as client:
        response = client.get("/metrics")
    message = _error(response, 500, "internal_error")
    assert "secret" not in message


def test_405_keeps_its_allow_header(client: TestClient) -> None:
    response = client.delete("/api/v1/sensors")
    _error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_openapi_declares_the_common_errors_once_and_no_unused_422_shape(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(operations) >= 15
    for path, method, op in operations:
        declared = set(op["responses"])
        assert {"400", "413", "500", "503"} <= declared, (path, method, declared)
        for status in declared - {"200", "201", "202"}:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method, status)
    assert "409" in doc["paths"]["/api/v1/routes"]["post"]["responses"]
    assert "404" in doc["paths"]["/api/v1/routes"]["get"]["responses"]
    assert "404" in doc["paths"]["/api/v1/drains/{drain_id}"]["get"]["responses"]
    assert "404" in doc["paths"]["/api/v1/deadletter/{letter_id}"]["get"]["responses"]


@pytest.mark.parametrize("name", ["demo", "a", "x" * 64, "a.b:c_d-e", "demo\n", "\ndemo", "-a", "x" * 65, ""])
def test_the_documented_pattern_and_the_check_agree(name: str) -> None:
    assert (re.fullmatch(IDENTIFIER_PATTERN.strip("^$"), name) is not None) == is_identifier(name)
    assert is_identifier(name) == (name in ("demo", "a", "x" * 64, "a.b:c_d-e"))


def test_ttn_ids_must_be_strings(client: TestClient) -> None:
    uplink = {"end_device_ids": {"device_id": 0, "application_ids": {"application_id": "app"}}}
    assert "device" in _error(client.post("/api/v1/ingest/ttn", json=uplink), 400, "invalid_parameter")
