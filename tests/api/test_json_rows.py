"""The hot read paths encode rows straight to JSON (api/json_rows.py): the bytes must be what
Pydantic writes for the documented response models, on real rows from the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api import create_app
from api.json_rows import geojson_features, json_array_chunks, json_document
from api.routers.observations import ObservationOut
from api.routers.sensors import LatestOut
from pakhuis.quantities import Quantity
from pakhuis.reading import QualityLabel, Reading
from pakhuis.store import Store
from pakhuis.store.rows import RowTable

pytestmark = pytest.mark.integration

T0 = (datetime.now(UTC) - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


def _readings() -> list[Reading]:
    out = []
    for i in range(300):
        t = T0 + timedelta(minutes=5 * i, microseconds=(i * 7919) % 1_000_000)
        out.append(
            Reading(
                "delft",
                f"s-{i % 7}",
                Quantity.NO2 if i % 3 else Quantity.FILL_LEVEL,
                # values that print differently in naive encoders: tiny, huge, long fractions
                [0.1 + 0.2, 1e-7, 12345678.9, 40.0, -0.0][i % 5],
                t,
                t + timedelta(seconds=30),
                "native",
                quality=QualityLabel.RAW,
                time_end=t + timedelta(minutes=5) if i % 2 else None,
            )
        )
    return out


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    store.set_tenant_kind("delft", "city")  # names as they are: the encoding is under test here
    store.write_batch(_readings())
    store.refresh_rollups()
    with TestClient(create_app(store)) as test_client:
        yield test_client


def test_latest_bytes_equal_pydantic(client: TestClient, store: Store) -> None:
    body = client.get("/api/v1/latest").content
    models = TypeAdapter(list[LatestOut])
    assert body == models.dump_json(models.validate_python(store.latest()))
    assert len(json.loads(body)) == 14  # 7 sensors × 2 quantities


@pytest.mark.parametrize("bucket", ["1h", "1d"])
@pytest.mark.parametrize("agg", ["mean", "min", "max", "count"])
def test_rollup_bytes_equal_pydantic(client: TestClient, store: Store, bucket: str, agg: str) -> None:
    body = client.get("/api/v1/observations", params={"bucket": bucket, "agg": agg, "limit": 10_000}).content
    rows = store.rollup(bucket=bucket, limit=10_000)  # type: ignore[arg-type]
    expected = [
        ObservationOut(
            tenant=r["tenant"],
            sensor=r["sensor"],
            quantity=r["quantity"],
            unit="count" if agg == "count" else r["unit"],
            time=r["time"],
            value=float(r[agg]),
            agg=agg,
            count=r["count"],
            coverage=r["coverage"],
        )
        for r in rows
    ]
    assert rows, "the fixture must produce rollup rows"
    assert body == TypeAdapter(list[ObservationOut]).dump_json(expected)


def test_raw_page_bytes_equal_pydantic(client: TestClient) -> None:
    page = client.get("/api/v1/observations", params={"limit": 10_000})
    rows = json.loads(page.content)
    assert len(rows) == 300
    models = TypeAdapter(list[ObservationOut])
    assert page.content == models.dump_json(models.validate_python(rows))


def test_encoders_keep_offsets_and_microseconds() -> None:
    cet = timezone(timedelta(hours=1))
    rows = [
        ("a", datetime(2026, 1, 1, 0, 0, 0, 120000, tzinfo=UTC), None, 1.0),
        ("b", datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=cet), 2, 0.30000000000000004),
    ]
    columns = ("name", "time", "count", "value")
    dicts = [dict(zip(columns, row, strict=True)) for row in rows]
    text = json_document(dicts)
    assert text == (
        b'[{"name":"a","time":"2026-01-01T00:00:00.120000Z","count":null,"value":1.0},'
        b'{"name":"b","time":"2026-01-01T00:00:00.000001+01:00","count":2,"value":0.30000000000000004}]'
    )
    assert b"".join(json_array_chunks(dicts * 600)) == json_document(dicts * 600)  # > one chunk
    assert b"".join(json_array_chunks([])) == b"[]"


def test_geojson_features_embed_the_geometry_text_unchanged() -> None:
    geometry = '{"type": "Polygon", "coordinates": [[[4.1, 52.0], [4.2, 52.0], [4.2, 52.1], [4.1, 52.0]]]}'
    computed = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    table = RowTable(("cell_x", "geometry", "mean", "computed"), [(100.0, geometry, None, computed)] * 3)
    document = json.loads(geojson_features(table, "geometry"))
    assert document == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(geometry),
                "properties": {"cell_x": 100.0, "mean": None, "computed": "2026-12-01T08:30:00Z"},
            }
        ]
        * 3,
    }
    assert json.loads(geojson_features(RowTable(("geometry",), []), "geometry"))["features"] == []
