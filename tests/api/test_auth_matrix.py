"""Who may do what over HTTP (issue 14 parts 1-2): every route of the app is in the one access
table, and the matrix role × route holds: 401 without credentials where a route needs them,
403 for the wrong role or another tenant, never a 500; API keys are stored hashed, their last
use is recorded, and a revoked key is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api import create_app
from api.auth import enforce_access, install_access
from pakhuis.access import Role
from pakhuis.access.keys import KeyVerifier, issue_key
from pakhuis.access.policy import ROUTES, Access, access_for
from pakhuis.errors import ConfigurationError
from pakhuis.store import Store
from tests.support import bearer

pytestmark = pytest.mark.integration

TENANT = "demo"
OTHER_TENANT = "haarlem"
# Values that reach each route's code (or its own 4xx), per path parameter.
PATH_VALUES = {"tenant": TENANT, "sensor": "kolk-1", "drain_id": "1", "letter_id": "1"}
# What a request needs besides its path, per route: query parameters and a body.
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/v1/cells"): {"params": {"bbox": "4.3,51.9,4.4,52.0"}},
    ("GET", "/api/v1/coverage"): {"params": {"bbox": "4.3,51.9,4.4,52.0"}},
    ("POST", "/api/v1/cleanings"): {"json": {"drain": "K1", "time": "2026-10-01T09:30:00Z"}},
    ("GET", "/api/v1/schedule"): {"params": {"from": "2026-11-02", "horizon": 7}},
    ("POST", "/api/v1/routes"): {"params": {"date": "2026-12-01"}},
    ("GET", "/api/v1/routes"): {"params": {"date": "2026-12-01"}},
    ("PUT", "/api/v1/sensors/{tenant}/{sensor}"): {"json": {"kind": "drain"}},
    ("POST", "/api/v1/ingest/ttn"): {
        "json": {"end_device_ids": {"device_id": "d1", "application_ids": {"application_id": "app"}}}
    },
    ("POST", "/v1/push-sensor-data/"): {
        "json": {"sensordatavalues": []},
        "headers": {"X-Sensor": "esp8266-1", "X-Pin": "1"},
    },
}
VIEWERS: dict[str, tuple[Role, str | None] | None] = {
    "anonymous": None,
    "group of the tenant": (Role.GROUP, TENANT),
    "group of another tenant": (Role.GROUP, OTHER_TENANT),
    "planner": (Role.PLANNER, None),
    "operator": (Role.OPERATOR, None),
    "admin": (Role.ADMIN, None),
}


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves: its OpenAPI operations and the routes outside the
    document (pages, docs, the document itself, mounted files)."""
    document = app.openapi()
    found = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    for context in iter_route_contexts(app.routes):
        methods = context.methods or {"GET"}
        found.update((method, context.path or "") for method in methods if method != "HEAD")
    return sorted(found)


@pytest.fixture
def app(store: Store) -> FastAPI:
    store.replace_drains([("K1", 4.37, 52.0, {})], source="test")
    return create_app(store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _headers(store: Store, viewer: tuple[Role, str | None] | None) -> dict[str, str]:
    if viewer is None:
        return {}
    return bearer(store, viewer[0].value, tenant=viewer[1])


def _call(client: TestClient, method: str, path: str, headers: dict[str, Any]) -> Any:
    extra = dict(REQUESTS.get((method, path), {}))
    url = path.format(**PATH_VALUES)
    return client.request(method, url, headers={**extra.pop("headers", {}), **headers}, **extra)


def _expected(access: Access, viewer: tuple[Role, str | None] | None) -> str:
    """What a request should get: "ok" (neither 401 nor 403), "401" or "403"."""
    if access.public:
        return "ok"
    if viewer is None:
        return "401"
    role, tenant = viewer
    if role is Role.ADMIN:
        return "ok"
    if role not in access.roles:
        return "403"
    if role is Role.GROUP and access.tenant_parameter is not None and tenant != TENANT:
        return "403"
    return "ok"


def test_every_served_route_is_in_the_table(app: FastAPI) -> None:
    served = served_routes(app)
    assert len(served) >= 25
    undeclared = [route for route in served if access_for(*route) is None]
    assert undeclared == [], "declare these in pakhuis/access/policy.py"
    # And nothing in the table that the app does not serve (a stale row hides a renamed route).
    assert sorted(set(ROUTES) - set(served)) == []


def test_a_route_missing_from_the_table_stops_the_app_at_creation(store: Store) -> None:
    app = FastAPI(dependencies=[Depends(enforce_access)])

    @app.get("/api/v1/undeclared")
    def undeclared() -> None: ...

    with pytest.raises(
        ConfigurationError, match=re.escape("GET /api/v1/undeclared: not in pakhuis/access/policy.py")
    ):
        install_access(app, None)  # type: ignore[arg-type]
    # A declared route that does not run the check is refused too.
    unchecked = FastAPI()

    @unchecked.get("/metrics")
    def metrics() -> None: ...

    with pytest.raises(ConfigurationError, match=re.escape("does not run api.auth.enforce_access")):
        install_access(unchecked, None)  # type: ignore[arg-type]


def test_the_role_by_route_matrix(app: FastAPI, client: TestClient, store: Store) -> None:
    headers = {name: _headers(store, viewer) for name, viewer in VIEWERS.items()}
    outcomes: dict[str, int] = {"ok": 0, "401": 0, "403": 0}
    wrong: list[str] = []
    for method, path in served_routes(app):
        access = access_for(method, path)
        assert access is not None
        for name, viewer in VIEWERS.items():
            response = _call(client, method, path, headers[name])
            expected = _expected(access, viewer)
            status = response.status_code
            got = str(status) if status in (401, 403) else "ok"
            if got != expected or status == 500:
                wrong.append(
                    f"{method} {path} as {name}: {status} (expected {expected}) {response.text[:120]}"
                )
            outcomes[expected] += 1
            if status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
            if status in (401, 403):
                error = response.json()["error"]
                assert error["code"] == ("unauthenticated" if status == 401 else "forbidden")
    print(f"\nauth matrix: {sum(outcomes.values())} requests, {outcomes}")
    assert wrong == []
    assert outcomes["401"] >= 8 and outcomes["403"] >= 20


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer pk_1_" + "x" * 43,  # a key that does not exist
        "Bearer pk_nonsense",
        "Basic dXNlcjpwdw==",
        "Bearer",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # a JWT, and no OIDC issuer configured
        "Bearer \u00e9\u00e9".encode("latin-1"),  # not ASCII (a header is bytes)
    ],
)
def test_bad_credentials_are_401_on_every_kind_of_route(
    client: TestClient, authorization: str | bytes
) -> None:
    for method, path in (("GET", "/api/v1/sensors"), ("GET", "/health"), ("POST", "/api/v1/cleanings")):
        response = _call(client, method, path, {"Authorization": authorization})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_device_routes_ignore_api_credentials(client: TestClient) -> None:
    # Their own credentials (issue 14 part 3) are the ingest's; a Basic login is not refused here.
    response = _call(client, "POST", "/v1/push-sensor-data/", {"Authorization": "Basic dXNlcjpwdw=="})
    assert response.status_code not in (401, 403, 500)


def test_keys_are_hashed_used_and_revoked(client: TestClient, store: Store, database_url: str) -> None:
    issued = issue_key(store, Role.PLANNER, name="depot laptop")
    headers = {"Authorization": f"Bearer {issued.key}"}
    assert client.get("/api/v1/schedule", headers=headers).status_code not in (401, 403)
    [row] = [row for row in store.api_keys() if row.id == issued.id]
    assert row.role == "planner" and row.name == "depot laptop" and row.revoked is None
    assert row.last_used is not None and row.last_used <= datetime.now(UTC)
    # The table holds the hash of the secret, never the key or the secret.
    secret = issued.key.split("_", 2)[2]  # pk_<id>_<secret>
    with psycopg.connect(database_url) as conn:
        dump = " ".join(str(r[0]) for r in conn.execute("SELECT t::text FROM api_keys t").fetchall())
    assert issued.key not in dump and secret not in dump
    # Another key's secret with this key's id is refused.
    other = issue_key(store, Role.PLANNER)
    forged = f"pk_{issued.id}_{other.key.split('_', 2)[2]}"
    assert client.get("/api/v1/schedule", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert store.revoke_api_key(issued.id)
    response = client.get("/api/v1/schedule", headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
    assert not store.revoke_api_key(999_999)


def test_last_use_is_written_at_most_once_a_minute(store: Store) -> None:
    issued = issue_key(store, Role.OPERATOR)
    touches: list[int] = []
    real_touch = store.touch_api_key

    class CountingStore:
        def insert_api_key(self, *args: Any) -> int:
            raise AssertionError

        def api_key(self, key_id: int) -> Any:
            return store.api_key(key_id)

        def touch_api_key(self, key_id: int) -> None:
            touches.append(key_id)
            real_touch(key_id)

    verifier = KeyVerifier(CountingStore())
    for _ in range(5):
        assert verifier.verify(issued.key).role is Role.OPERATOR
    assert touches == [issued.id]


def test_key_rules(store: Store) -> None:
    from pakhuis.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="group key belongs to one tenant"):
        issue_key(store, Role.GROUP)
    with pytest.raises(InvalidParameter, match="Only group keys belong to a tenant"):
        issue_key(store, Role.PLANNER, tenant=TENANT)
    group = issue_key(store, Role.GROUP, tenant=TENANT)
    viewer = KeyVerifier(store).verify(group.key)
    assert (viewer.role, viewer.tenant, viewer.subject) == (Role.GROUP, TENANT, f"key:{group.id}")
