"""The quantity vocabulary, the Reading / DeadLetter contracts, and the migrations that store them.

Unit tests need nothing; the integration tests run against the real database of every backend.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import TypedDict, Unpack
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from pakhuis.quantities import QUANTITIES, Quantity, QuantitySpec, SensorKind, parse_quantity, spec
from pakhuis.reading import DeadLetter, QualityLabel, Reading, Rejection
from pakhuis.store import MigrationError, Store
from pakhuis.store.migrate import available_migrations
from tests.conftest import Backend

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

# The stored ids: renumbering any of them would orphan every observation in every database.
EXPECTED_IDS = {
    "no2": 1,
    "pm10": 2,
    "pm25": 3,
    "temperature": 4,
    "humidity": 5,
    "fill_level": 6,
    "sludge_depth": 7,
    "water_level": 8,
    "bridge_state": 9,
    "deck_angle": 10,
    "vessel_passage": 11,
    "battery": 12,
}

EXPECTED_UNITS = {
    "no2": "µg/m³",
    "pm10": "µg/m³",
    "pm25": "µg/m³",
    "temperature": "°C",
    "humidity": "%",
    "fill_level": "%",
    "sludge_depth": "mm",
    "water_level": "mm",
    "bridge_state": "state",
    "deck_angle": "°",
    "vessel_passage": "count",
    "battery": "V",
}

EXPECTED_KINDS = {
    "no2": SensorKind.AIR,
    "pm10": SensorKind.AIR,
    "pm25": SensorKind.AIR,
    "temperature": SensorKind.AIR,
    "humidity": SensorKind.AIR,
    "fill_level": SensorKind.DRAIN,
    "sludge_depth": SensorKind.DRAIN,
    "water_level": SensorKind.DRAIN,
    "bridge_state": SensorKind.BRIDGE,
    "deck_angle": SensorKind.BRIDGE,
    "vessel_passage": SensorKind.BRIDGE,
    "battery": SensorKind.OTHER,
}


# -- vocabulary --------------------------------------------------------------------------------


def test_vocabulary_has_exactly_the_twelve_quantities() -> None:
    assert {q.value for q in Quantity} == set(EXPECTED_IDS)
    assert {q.value for q in QUANTITIES} == set(EXPECTED_IDS)
    assert len(QUANTITIES) == 12


def test_quantity_ids_are_the_stable_mapping() -> None:
    assert {q.value: s.id for q, s in QUANTITIES.items()} == EXPECTED_IDS


def test_quantity_ids_are_unique() -> None:
    ids = [s.id for s in QUANTITIES.values()]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and 0 < i < 2**15 for i in ids)  # fits the smallint column


def test_canonical_units() -> None:
    assert {q.value: s.unit for q, s in QUANTITIES.items()} == EXPECTED_UNITS


def test_sensor_kinds() -> None:
    assert {q.value: s.kind for q, s in QUANTITIES.items()} == EXPECTED_KINDS


def test_spec_is_keyed_by_its_own_quantity() -> None:
    for quantity, entry in QUANTITIES.items():
        assert entry.quantity is quantity
        assert spec(quantity) is entry
        assert entry.description.strip()


def test_ranges_are_sane() -> None:
    for entry in QUANTITIES.values():
        assert entry.minimum < entry.maximum, entry.quantity


@pytest.mark.parametrize(
    ("quantity", "minimum", "maximum"),
    [
        (Quantity.BRIDGE_STATE, 0.0, 3.0),
        (Quantity.DECK_ANGLE, -5.0, 90.0),
        (Quantity.HUMIDITY, 0.0, 100.0),
        (Quantity.FILL_LEVEL, 0.0, 100.0),
        (Quantity.NO2, 0.0, 2000.0),
    ],
)
def test_specific_ranges(quantity: Quantity, minimum: float, maximum: float) -> None:
    entry = QUANTITIES[quantity]
    assert (entry.minimum, entry.maximum) == (minimum, maximum)


def test_only_state_and_count_are_integral() -> None:
    integral = {q.value for q, s in QUANTITIES.items() if s.integral}
    assert integral == {"bridge_state", "vessel_passage"}


def test_concentrations_and_levels_cannot_be_negative() -> None:
    for name in (
        "no2",
        "pm10",
        "pm25",
        "humidity",
        "fill_level",
        "sludge_depth",
        "water_level",
        "bridge_state",
        "vessel_passage",
        "battery",
    ):
        assert QUANTITIES[Quantity(name)].minimum == 0.0, name


def test_plausible_is_inclusive_at_both_ends() -> None:
    deck = QUANTITIES[Quantity.DECK_ANGLE]
    assert deck.plausible(-5.0)
    assert deck.plausible(90.0)
    assert deck.plausible(0.0)
    assert not deck.plausible(-5.000001)
    assert not deck.plausible(90.000001)
    assert not deck.plausible(float("nan"))


def test_quantity_spec_is_frozen() -> None:
    entry = QUANTITIES[Quantity.NO2]
    with pytest.raises(AttributeError):
        entry.id = 99  # type: ignore[misc]
    assert isinstance(entry, QuantitySpec)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no2", Quantity.NO2),
        ("NO2", Quantity.NO2),
        ("No2", Quantity.NO2),
        ("  pm25 ", Quantity.PM25),
        ("Fill_Level", Quantity.FILL_LEVEL),
        ("BRIDGE_STATE", Quantity.BRIDGE_STATE),
        ("battery", Quantity.BATTERY),
    ],
)
def test_parse_quantity_is_case_insensitive(name: str, expected: Quantity) -> None:
    assert parse_quantity(name) is expected


@pytest.mark.parametrize("name", ["", "co2", "pm2.5", "fill level", "no 2", "temp", "nox"])
def test_parse_quantity_unknown_is_none(name: str) -> None:
    assert parse_quantity(name) is None


# -- Reading -------------------------------------------------------------------------------


class _ReadingFields(TypedDict, total=False):
    """Any of a Reading's fields, to build one that differs from the test default."""

    tenant: str
    sensor: str
    quantity: Quantity
    value: float
    time: datetime
    received: datetime
    source_format: str
    quality: QualityLabel
    time_end: datetime | None


def _reading(**changes: Unpack[_ReadingFields]) -> Reading:
    fields: _ReadingFields = {
        "tenant": "t",
        "sensor": "s",
        "quantity": Quantity.NO2,
        "value": 1.0,
        "time": T0,
        "received": T0,
        "source_format": "native",
        **changes,
    }
    return Reading(**fields)


def test_reading_defaults() -> None:
    reading = _reading()
    assert reading.quality is QualityLabel.RAW
    assert reading.time_end is None
    assert reading.kind is SensorKind.AIR
    assert _reading(quantity=Quantity.DECK_ANGLE).kind is SensorKind.BRIDGE


def test_reading_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _reading(time=datetime(2026, 11, 22, 10, 0))


def test_reading_rejects_naive_received() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _reading(received=datetime(2026, 11, 22, 10, 0))


def test_reading_accepts_non_utc_offsets() -> None:
    cet = timezone(timedelta(hours=1))
    reading = _reading(time=datetime(2026, 11, 22, 11, 0, tzinfo=cet))
    assert reading.time == T0


def test_reading_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="before"):
        _reading(time_end=T0 - timedelta(seconds=1))


def test_reading_accepts_interval_and_zero_length_interval() -> None:
    assert _reading(time_end=T0 + timedelta(days=28)).time_end == T0 + timedelta(days=28)
    assert _reading(time_end=T0).time_end == T0


def test_reading_is_frozen_and_hashable() -> None:
    reading = _reading()
    with pytest.raises(AttributeError):
        reading.value = 2.0  # type: ignore[misc]
    assert reading == _reading()
    assert len({reading, _reading()}) == 1


# -- DeadLetter --------------------------------------------------------------------------------


def _letter(*rejections: Rejection) -> DeadLetter:
    return DeadLetter(
        topic="pakhuis/v1/t/s/native",
        payload=b"[]",
        decoder="native",
        rejections=rejections,
        received=T0,
        tenant="t",
    )


def test_rejection_describe() -> None:
    assert Rejection("bad_json", "payload is not JSON").describe() == "payload is not JSON"
    assert Rejection("out_of_range", "too big", 3).describe() == "item 3: too big"
    assert Rejection("out_of_range", "too big", 0).describe() == "item 0: too big"


def test_dead_letter_reason_lists_item_indices() -> None:
    letter = _letter(
        Rejection("out_of_range", "no2 value -1 is too low", 1),
        Rejection("bad_time", "time has no offset", 4),
    )
    assert letter.reason == "item 1: no2 value -1 is too low; item 4: time has no offset"
    assert letter.reason_code == "out_of_range"


def test_dead_letter_reason_whole_message() -> None:
    letter = _letter(Rejection("bad_json", "payload is not valid JSON"))
    assert letter.reason == "payload is not valid JSON"
    assert letter.reason_code == "bad_json"


def test_dead_letter_reason_is_bounded() -> None:
    letter = _letter(*(Rejection("bad_value", f"v{i}", i) for i in range(25)))
    reason = letter.reason
    assert reason.startswith("item 0: v0; item 1: v1")
    assert "item 19: v19" in reason
    assert "item 20:" not in reason
    assert reason.endswith("; and 5 more")


# -- the database ------------------------------------------------------------------------------


@pytest.mark.integration
def test_quantities_table_equals_vocabulary(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id, name, unit, description, minimum, maximum, kind FROM quantities ORDER BY id"
        ).fetchall()
    expected = [
        (s.id, s.quantity.value, s.unit, s.description, s.minimum, s.maximum, s.kind.value)
        for s in sorted(QUANTITIES.values(), key=lambda s: s.id)
    ]
    assert rows == expected


@pytest.mark.integration
def test_migrate_again_applies_nothing(store: Store) -> None:
    report = store.migrate()
    assert report.applied == ()
    assert report.already == len(available_migrations())
    again = store.migrate()
    assert again.applied == ()
    assert again.already == report.already


def _empty_database(backend: Backend) -> tuple[str, str]:
    name = f"pakhuis_test_empty_{uuid.uuid4().hex[:12]}"
    admin = backend.database.admin_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def _drop_database(backend: Backend, name: str) -> None:
    with psycopg.connect(backend.database.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.integration
def test_migrate_fresh_database_then_nothing(backend: Backend) -> None:
    name, url = _empty_database(backend)
    try:
        with Store(url) as fresh:
            first = fresh.migrate()
            second = fresh.migrate()
        expected = tuple(f"{m.version:04d}_{m.name}" for m in available_migrations())
        assert first.applied == expected
        assert "0001_core" in first.applied
        assert first.already == 0
        assert second.applied == ()
        assert second.already == len(expected)
        with psycopg.connect(url) as conn:
            versions = [
                r[0]
                for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
            ]
            count = conn.execute("SELECT count(*) FROM quantities").fetchone()
        assert versions == [m.version for m in available_migrations()]
        assert count == (12,)
    finally:
        _drop_database(backend, name)


@pytest.mark.integration
def test_concurrent_migrations_apply_once(backend: Backend) -> None:
    name, url = _empty_database(backend)
    reports: list[tuple[str, ...]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with Store(url) as s:
                reports.append(s.migrate().applied)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert len(reports) == 4
        applied = [name for report in reports for name in report]
        assert applied == [f"{m.version:04d}_{m.name}" for m in available_migrations()]
    finally:
        _drop_database(backend, name)


@pytest.mark.integration
def test_edited_applied_migration_is_refused(store: Store, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 1", ("0" * 64,))
    with pytest.raises(MigrationError) as info:
        store.migrate()
    assert info.value.code == "migration_error"
    assert "0001_core" in info.value.message
    assert "edited" in info.value.message
    assert info.value.hint and "new migration" in info.value.hint
    # The refusal changed nothing: the row still carries the tampered checksum.
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT checksum FROM schema_migrations WHERE version = 1").fetchone()
    assert row == ("0" * 64,)
