"""Privacy by design (issue 14 part 4): a citizen group's balcony sensor, scanned for in every
public answer.

The group tenant `buren` (undeclared: the default kind, a group) has one air sensor named by its
hardware id at an exact balcony position, with readings, an alert and device metadata. Every
public GET operation of the OpenAPI document (public by the one authorization table,
`pakhuis.access.policy`) is called with its parameters filled in several ways, following `Link`
headers, and the page `/` too: no body or header may hold the exact coordinates (4+ decimals),
the hardware id or the metadata's device and gateway ids. Where the sensor is listed, its
pseudonym and its cell's centre are. The owning group and admins see it as it is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import create_app
from api.viewer import get_viewer
from pakhuis.access import Role, Viewer
from pakhuis.access.policy import access_for
from pakhuis.access.privacy import PrivacyRules
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Reading, Rejection
from pakhuis.settings import load_settings
from pakhuis.store import Store
from stream.alerts import ThresholdAlerts
from tests.support import bearer

pytestmark = pytest.mark.integration

GROUP = "buren"
RAW_ID = "esp8266-13374242"
LON, LAT = 4.358123, 52.012345
# What identifies the device beyond its name: kept in its metadata, never shown to the public.
METADATA = {"chip_id": "13374242", "dev_eui": "eui-70b3d57ed0051234", "gateway": "gw-delft-balcony-7"}
# Exact coordinates as text to 4 decimals, the hardware id and the metadata's ids.
NEEDLES = ("4.3581", "52.0123", RAW_ID, "13374242", "eui-70b3d57ed0051234", "gw-delft-balcony-7")
CITY, CITY_SENSOR, CITY_LON, CITY_LAT = "stad", "kolk-9", 4.361234, 52.005678
SECRET = b"test-secret-of-this-deployment-0123456789"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def _seed(store: Store) -> None:
    store.register_sensor(GROUP, RAW_ID, kind="air", lon=LON, lat=LAT, metadata=METADATA)
    store.register_sensor(CITY, CITY_SENSOR, kind="drain", lon=CITY_LON, lat=CITY_LAT)
    store.set_tenant_kind(CITY, "city")
    readings = [
        *(
            Reading(GROUP, RAW_ID, Quantity.NO2, 20.0 + i, T0 + timedelta(minutes=5 * i), T0, "native")
            for i in range(12)
        ),
        Reading(GROUP, RAW_ID, Quantity.PM25, 250.0, T0 + timedelta(minutes=61), T0, "native"),
        Reading(CITY, CITY_SENSOR, Quantity.FILL_LEVEL, 55.0, T0, T0, "native"),
    ]
    # A refused uplink: its bytes name the device, its gateway and their exact places.
    letter = DeadLetter(
        topic=f"pakhuis/v1/{GROUP}/{RAW_ID}/native",
        payload=orjson.dumps({"value": "abc", "lon": LON, "lat": LAT, "gateway": METADATA["gateway"]}),
        decoder="native",
        rejections=(Rejection("bad_value", f"no2 value 'abc' of {RAW_ID} is not a number"),),
        received=T0,
        tenant=GROUP,
    )
    store.write_batch(readings, [letter])
    store.refresh_rollups()
    opened = ThresholdAlerts(store, {"pm25": 100.0})(readings)
    assert [a.state for a in opened] == ["opened"]


def _app(store: Store, rules: PrivacyRules, viewer: Viewer | None = None) -> FastAPI:
    app = create_app(store, privacy=rules)
    if viewer is not None:
        # Test-only: the viewer the authentication layer would have put on the request.
        app.dependency_overrides[get_viewer] = lambda: viewer
    return app


@pytest.fixture
def rules() -> PrivacyRules:
    return PrivacyRules(SECRET)


@pytest.fixture
def seeded(store: Store) -> Store:
    _seed(store)
    return store


@pytest.fixture
def public(seeded: Store, rules: PrivacyRules) -> Iterator[TestClient]:
    with TestClient(_app(seeded, rules)) as client:
        yield client


@dataclass
class Scan:
    operations: set[str] = field(default_factory=set)
    responses: int = 0
    hits: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def check(self, what: str, status: int, text: str) -> None:
        self.responses += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.hits += [f"{what}: {needle!r}" for needle in NEEDLES if needle in text]


def _sample(name: str, schema: dict[str, Any], pseudonym: str) -> list[str]:
    """Values worth trying for a parameter: the group's tenant and the sensor's pseudonym,
    the sensor's quantities, a box around its balcony, every value of an enum."""
    named = {
        "tenant": [GROUP],
        "sensor": [pseudonym],
        "quantity": ["no2", "pm25"],
        "bbox": ["4.34,52.00,4.38,52.03"],
        "drain_id": ["1"],
        "letter_id": ["1"],
        "limit": ["1", "1000"],
        "open": ["true", "false"],
        "start": [(T0 - timedelta(days=1)).isoformat()],
        "end": [(T0 + timedelta(days=1)).isoformat()],
    }
    if name in named:
        return named[name]
    options = schema.get("anyOf", [schema])
    for option in options:
        if "enum" in option:
            return [str(v) for v in option["enum"]]
        if option.get("type") == "boolean":
            return ["true", "false"]
    return []


def _requests(path: str, operation: dict[str, Any], pseudonym: str) -> Iterator[str]:
    """The operation's URL with its path filled in: bare, then each query parameter on its own
    with each sample, then tenant and sensor together (and with each other parameter)."""
    params = operation.get("parameters", [])
    for p in params:
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", _sample(p["name"], p["schema"], pseudonym)[0])
    query = {
        p["name"]: _sample(p["name"], p.get("schema", {}), pseudonym) for p in params if p["in"] == "query"
    }
    required = {p["name"] for p in params if p["in"] == "query" and p.get("required")}
    base = {name: query[name][0] for name in required if query[name]}
    yield _url(path, base)
    for name, values in query.items():
        for value in values:
            yield _url(path, {**base, name: value})
    if "tenant" in query and "sensor" in query:
        both = {**base, "tenant": GROUP, "sensor": pseudonym}
        yield _url(path, both)
        for name, values in query.items():
            for value in values:
                yield _url(path, {**both, name: value})


def _url(path: str, query: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return f"{path}?{urlencode(query)}" if query else path


def _public_get_operations(client: TestClient) -> dict[str, dict[str, Any]]:
    document = client.get("/openapi.json").json()
    found = {}
    for path, item in document["paths"].items():
        if "get" not in item:
            continue
        access = access_for("GET", path)
        assert access is not None, f"GET {path} has no row in the authorization table"
        if access.public:
            found[path] = item["get"]
    return found


def _scan(client: TestClient, pseudonym: str) -> Scan:
    """Every public GET operation with its parameters filled in several ways (following each
    `Link` once), and the page `/`: bodies and headers searched for the needles."""
    scan = Scan()
    for path, operation in _public_get_operations(client).items():
        for url in _requests(path, operation, pseudonym):
            response = client.get(url)
            scan.operations.add(path)
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            scan.check(url, response.status_code, headers + "\n" + response.text)
            assert response.status_code < 500, (url, response.text)
            link = response.headers.get("link")
            if link:
                following = client.get(link.split(";")[0].strip("<>"))
                scan.check(f"{url} → next", following.status_code, following.text)
    page = client.get("/")
    scan.check("/", page.status_code, page.text)
    return scan


def test_no_public_answer_holds_the_exact_place_or_the_hardware_id(
    public: TestClient, rules: PrivacyRules
) -> None:
    scan = _scan(public, rules.pseudonym(GROUP, RAW_ID))
    print(
        f"privacy scan: {len(scan.operations)} public GET operations ({', '.join(sorted(scan.operations))}) "
        f"+ the page, {scan.responses} responses {dict(sorted(scan.statuses.items()))}, {len(scan.hits)} hits"
    )
    assert {"/api/v1/sensors", "/api/v1/latest", "/api/v1/observations", "/api/v1/alerts"} <= scan.operations
    assert scan.responses >= 50
    assert scan.hits == []


def test_the_scan_finds_what_an_admin_may_see(seeded: Store, rules: PrivacyRules) -> None:
    # The control: the same scan for an admin finds the exact place and the hardware id, so
    # the public scan's zero is the rules' doing, not a blind scan.
    with TestClient(_app(seeded, rules, Viewer(Role.ADMIN, None, "key-admin"))) as admin:
        hits = _scan(admin, rules.pseudonym(GROUP, RAW_ID)).hits
    print(f"privacy scan as admin: {len(hits)} hits")
    assert any(RAW_ID in hit for hit in hits) and any("'4.3581'" in hit for hit in hits)


def test_where_the_sensor_is_listed_the_public_sees_its_pseudonym_and_cell(
    public: TestClient, rules: PrivacyRules
) -> None:
    pseudonym = rules.pseudonym(GROUP, RAW_ID)
    assert pseudonym.startswith("p-") and len(pseudonym) == 18
    centre = rules.coarsen(LON, LAT)
    assert centre is not None
    # Within the cell (250 m: a few thousandths of a degree), yet not the balcony.
    assert abs(centre[0] - LON) < 0.004 and abs(centre[1] - LAT) < 0.003 and centre != (LON, LAT)

    sensors = {r["tenant"]: r for r in public.get("/api/v1/sensors").json()}
    assert (sensors[GROUP]["sensor"], sensors[GROUP]["lon"], sensors[GROUP]["lat"]) == (pseudonym, *centre)
    assert "metadata" not in sensors[GROUP]
    # The city's own sensors are public as they are.
    assert (sensors[CITY]["sensor"], sensors[CITY]["lon"], sensors[CITY]["lat"]) == (
        CITY_SENSOR,
        CITY_LON,
        CITY_LAT,
    )
    latest = public.get("/api/v1/latest", params={"tenant": GROUP}).json()
    assert {(r["sensor"], r["quantity"]) for r in latest} == {(pseudonym, "no2"), (pseudonym, "pm25")}
    alerts = public.get("/api/v1/alerts", params={"tenant": GROUP}).json()
    assert [(a["sensor"], a["quantity"]) for a in alerts] == [(pseudonym, "pm25")]

    # The public filters by the pseudonym it was shown; the hardware id finds nothing.
    by_pseudonym = public.get("/api/v1/observations", params={"sensor": pseudonym, "quantity": "no2"}).json()
    assert len(by_pseudonym) == 12 and {r["sensor"] for r in by_pseudonym} == {pseudonym}
    hourly = public.get("/api/v1/observations", params={"sensor": pseudonym, "bucket": "1h"}).json()
    assert hourly and {r["sensor"] for r in hourly} == {pseudonym}
    for params in (
        {"sensor": RAW_ID},
        {"sensor": RAW_ID, "tenant": GROUP},
        {"sensor": RAW_ID, "bucket": "1d"},
    ):
        assert public.get("/api/v1/observations", params=params).json() == [], params

    # Pages continue through a cursor naming the pseudonym, and lose no row.
    seen, url = [], "/api/v1/observations?sensor=" + pseudonym + "&limit=5"
    while url:
        response = public.get(url)
        assert RAW_ID not in response.headers.get("link", "")
        seen += response.json()
        link = response.headers.get("link")
        url = link.split(";")[0].strip("<>") if link else ""
    assert len(seen) == 13


@pytest.mark.parametrize(
    "viewer", [Viewer(Role.GROUP, GROUP, "key-1"), Viewer(Role.ADMIN, None, "key-2")], ids=["group", "admin"]
)
def test_the_owning_group_and_admins_see_exact_values(
    seeded: Store, rules: PrivacyRules, viewer: Viewer
) -> None:
    with TestClient(_app(seeded, rules, viewer)) as client:
        sensors = {r["tenant"]: r for r in client.get("/api/v1/sensors").json()}
        assert (sensors[GROUP]["sensor"], sensors[GROUP]["lon"], sensors[GROUP]["lat"]) == (RAW_ID, LON, LAT)
        assert {r["sensor"] for r in client.get("/api/v1/latest", params={"tenant": GROUP}).json()} == {
            RAW_ID
        }
        rows = client.get("/api/v1/observations", params={"sensor": RAW_ID, "quantity": "no2"}).json()
        assert len(rows) == 12
        assert [a["sensor"] for a in client.get("/api/v1/alerts", params={"tenant": GROUP}).json()] == [
            RAW_ID
        ]


def test_another_group_sees_the_sensor_through_the_rules(seeded: Store, rules: PrivacyRules) -> None:
    with TestClient(_app(seeded, rules, Viewer(Role.GROUP, "elders", "key-3"))) as client:
        sensors = {r["tenant"]: r for r in client.get("/api/v1/sensors").json()}
        assert sensors[GROUP]["sensor"] == rules.pseudonym(GROUP, RAW_ID)
        assert (sensors[GROUP]["lon"], sensors[GROUP]["lat"]) == rules.coarsen(LON, LAT)


def test_declaring_the_tenant_city_makes_it_public_as_it_is(seeded: Store, rules: PrivacyRules) -> None:
    seeded.set_tenant_kind(GROUP, "city")
    with TestClient(_app(seeded, rules)) as client:
        assert {r["sensor"] for r in client.get("/api/v1/latest", params={"tenant": GROUP}).json()} == {
            RAW_ID
        }
    seeded.set_tenant_kind(GROUP, "group")
    with TestClient(_app(seeded, rules)) as client:
        latest = client.get("/api/v1/latest", params={"tenant": GROUP}).json()
        assert {r["sensor"] for r in latest} == {rules.pseudonym(GROUP, RAW_ID)}


def test_dead_letters_are_not_public_and_operators_get_no_raw_bytes(
    public: TestClient, seeded: Store, rules: PrivacyRules
) -> None:
    assert public.get("/api/v1/deadletter").status_code == 401
    operator = TestClient(public.app, headers=bearer(seeded, "operator"))
    for url in (
        "/api/v1/deadletter",
        "/api/v1/deadletter?payload=true",
        f"/api/v1/deadletter?tenant={GROUP}",
    ):
        response = operator.get(url)
        assert response.status_code == 200, response.text
        [letter] = response.json()
        assert letter["payload_preview"] == "" and letter["payload_base64"] is None
        assert letter["topic"] == f"pakhuis/v1/{GROUP}/{rules.pseudonym(GROUP, RAW_ID)}/native"
        assert [needle for needle in NEEDLES if needle in response.text] == []
    one = operator.get(f"/api/v1/deadletter/{letter['id']}")
    assert one.status_code == 200 and one.json()["payload_base64"] is None
    assert [needle for needle in NEEDLES if needle in one.text] == []
    admin = TestClient(public.app, headers=bearer(seeded, "admin"))
    exact = admin.get(f"/api/v1/deadletter/{letter['id']}").json()
    assert RAW_ID in exact["topic"] and "4.358123" in exact["payload_preview"] and exact["payload_base64"]


def test_pseudonyms_are_stable_across_restarts_and_differ_per_secret(seeded: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = PrivacyRules.from_settings(settings)
    secret_file = tmp_path / "data" / "pseudonym.secret"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600

    def shown(rules: PrivacyRules) -> str:
        with TestClient(_app(seeded, rules)) as client:
            names = {str(r["sensor"]) for r in client.get("/api/v1/latest", params={"tenant": GROUP}).json()}
        assert len(names) == 1
        return names.pop()

    before = shown(first)
    assert before == shown(PrivacyRules.from_settings(settings))  # a restart: the kept secret
    # Just restarted, before any answer gave the pseudonym out, a filter by it still finds it.
    with TestClient(_app(seeded, PrivacyRules.from_settings(settings))) as restarted:
        rows = restarted.get("/api/v1/observations", params={"sensor": before}).json()
        assert len(rows) == 13 and {r["sensor"] for r in rows} == {before}
    assert before == first.pseudonym(GROUP, RAW_ID)
    configured = load_settings(data_dir=tmp_path / "data", pseudonym_secret="another-deployment-0123456789")
    other = shown(PrivacyRules.from_settings(configured))
    assert other != before and other.startswith("p-")
    assert shown(PrivacyRules.from_settings(load_settings(data_dir=tmp_path / "elsewhere"))) not in {
        before,
        other,
    }


def test_the_rules_refuse_a_short_secret_and_coarsen_only_placed_sensors() -> None:
    from pakhuis.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="too short"):
        PrivacyRules(b"short")
    rules = PrivacyRules(SECRET, cell_m=1000.0)
    assert rules.coarsen(None, LAT) is None
    lons, lats = rules.coarsen_many([LON, float("nan"), LON + 0.0001], [LAT, float("nan"), LAT])
    assert lons[0] == lons[2] and lats[0] == lats[2]  # one cell, one centre
    assert lons[1] != lons[1]  # no position stays none
    # Another deployment's secret gives another pseudonym; the same secret the same one.
    assert PrivacyRules(SECRET).pseudonym(GROUP, RAW_ID) == rules.pseudonym(GROUP, RAW_ID)
    assert PrivacyRules(SECRET + b"x").pseudonym(GROUP, RAW_ID) != rules.pseudonym(GROUP, RAW_ID)
