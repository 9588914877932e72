"""The Kafka wire format (`pakhuis.codec`): readings, dead letters and alerts survive the trip,
topic names follow the prefix, keys keep one sensor in one partition, and a corrupt record fails
with the exception types consumers catch (ValueError, KeyError, TypeError: what the Faust
persist agent turns into `bad_kafka_record` dead letters)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import TypedDict, Unpack

import pytest

from pakhuis.alerts import Alert, AlertRule
from pakhuis.codec import (
    KafkaTopics,
    decode_dead_letter,
    decode_sensor_readings,
    encode_alert,
    encode_dead_letter,
    encode_sensor_readings,
    sensor_key,
)
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, QualityLabel, Reading, Rejection

T0 = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)


class _ReadingChanges(TypedDict, total=False):
    """The fields a test reading has other than the default one's."""

    tenant: str
    sensor: str
    quantity: Quantity
    value: float
    time: datetime
    source_format: str
    quality: QualityLabel
    time_end: datetime | None


def _reading(**changes: Unpack[_ReadingChanges]) -> Reading:
    base = Reading(
        tenant="haarlem",
        sensor="no2-1",
        quantity=Quantity.NO2,
        value=23.456789012345,
        time=T0,
        received=T0 + timedelta(seconds=3, microseconds=7),
        source_format="senml",
    )
    return dataclasses.replace(base, **changes)


def test_sensor_readings_record_round_trips_one_sensors_readings() -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    readings = [
        _reading(),
        _reading(quantity=Quantity.TEMPERATURE, value=-3.25, quality=QualityLabel.CALIBRATED),
        _reading(time=start, time_end=start + timedelta(days=28), quality=QualityLabel.VALIDATED, value=31.5),
        _reading(time=T0 + timedelta(minutes=1), source_format="ttn-v3", value=0.0),
    ]
    data = encode_sensor_readings(readings)
    doc = json.loads(data.decode("utf-8"))
    assert (doc["tenant"], doc["sensor"], len(doc["r"])) == ("haarlem", "no2-1", 4)
    assert doc["r"][0][3] is None and doc["r"][2][3] == "2026-02-02T09:00:00+00:00"
    decoded = decode_sensor_readings(data)
    assert decoded == readings
    assert [r.quality for r in decoded] == [r.quality for r in readings]
    assert decoded[1].value == -3.25 and decoded[2].time_end == start + timedelta(days=28)


def test_sensor_readings_record_refuses_readings_of_two_sensors() -> None:
    with pytest.raises(ValueError, match="one sensor"):
        encode_sensor_readings([_reading(), _reading(sensor="no2-2")])
    with pytest.raises(ValueError, match="one sensor"):
        encode_sensor_readings([_reading(), _reading(tenant="delft")])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00 not json",
        b"null",
        b"[]",
        b'"text"',
        b'{"tenant": "t", "sensor": "s"}',
        b'{"tenant": "t", "sensor": "s", "r": 5}',
        b'{"tenant": "t", "sensor": "s", "r": [5]}',
        b'{"tenant": "t", "sensor": "s", "r": [["no2", 1.0, "2026-01-01T00:00:00+00:00"]]}',
        b'{"tenant":"t","sensor":"s","r":[["ozone",1,"2026-01-01T00:00:00+00:00",null,'
        b'"2026-01-01T00:00:00+00:00","raw","native"]]}',
        b'{"tenant":"t","sensor":"s","r":[["no2","x","2026-01-01T00:00:00+00:00",null,'
        b'"2026-01-01T00:00:00+00:00","raw","native"]]}',
        b'{"tenant":"t","sensor":"s","r":[["no2",1,"2026-01-01T00:00:00",null,'
        b'"2026-01-01T00:00:00+00:00","raw","native"]]}',
        b'{"tenant":"t","sensor":"s","r":[["no2",1,"2026-01-01T00:00:00+00:00",7,'
        b'"2026-01-01T00:00:00+00:00","raw","native"]]}',
    ],
)
def test_corrupt_sensor_readings_records_raise_what_the_persist_agent_catches(data: bytes) -> None:
    # stream.faust_app._decode_readings turns exactly these into bad_kafka_record dead letters;
    # anything else would crash the agent.
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_sensor_readings(data)


def test_dead_letter_round_trip_keeps_non_utf8_payload_and_rejections() -> None:
    payload = bytes(range(256)) + b"\xc3\x28\xa0\xa1\x00"  # every byte value, invalid UTF-8
    with pytest.raises(UnicodeDecodeError):
        payload.decode("utf-8")
    letter = DeadLetter(
        topic="pakhuis/v1/delft/brug-1/native",
        payload=payload,
        decoder="native",
        rejections=(
            Rejection("bad_shape", "expected a JSON object", 0),
            Rejection("out_of_range", "deck_angle value 91 is too high", 1),
            Rejection("bad_payload", "whole message refused"),
        ),
        received=datetime(2026, 10, 25, 1, 30, 0, 5, tzinfo=UTC),
        tenant="delft",
    )
    data = encode_dead_letter(letter)
    doc = json.loads(data.decode("utf-8"))  # the record itself is plain UTF-8 JSON
    assert base64.b64decode(doc["payload"]) == payload
    decoded = decode_dead_letter(data)
    assert decoded == letter
    assert decoded.payload == payload
    assert decoded.rejections[0].item == 0 and decoded.rejections[2].item is None
    assert decoded.reason_code == "bad_shape"
    assert decoded.reason == letter.reason
    assert decoded.reason.startswith("item 0: expected a JSON object; item 1: ")


def test_dead_letter_without_tenant_and_empty_payload_round_trips() -> None:
    letter = DeadLetter(
        topic="garbage",
        payload=b"",
        decoder="unknown",
        rejections=(Rejection("bad_topic", "topic 'garbage' does not match"),),
        received=datetime(2026, 1, 1, tzinfo=UTC),
    )
    decoded = decode_dead_letter(encode_dead_letter(letter))
    assert decoded == letter
    assert decoded.tenant is None
    assert decoded.payload == b""


def test_kafka_topic_names_follow_the_prefix() -> None:
    default = KafkaTopics()
    assert (default.readings, default.deadletter, default.alerts, default.live) == (
        "pakhuis.readings",
        "pakhuis.deadletter",
        "pakhuis.alerts",
        "pakhuis.live",
    )
    assert default.app_id == "pakhuis-stream"
    assert default.all() == ("pakhuis.readings", "pakhuis.deadletter", "pakhuis.alerts", "pakhuis.live")

    run = KafkaTopics("t0a1b2c3")
    assert run.all() == ("t0a1b2c3.readings", "t0a1b2c3.deadletter", "t0a1b2c3.alerts", "t0a1b2c3.live")
    assert run.app_id == "t0a1b2c3-stream"
    assert set(run.all()).isdisjoint(default.all())
    assert KafkaTopics("t0a1b2c3") == run and hash(KafkaTopics("t0a1b2c3")) == hash(run)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.prefix = "other"  # type: ignore[misc]


def test_sensor_key_is_tenant_slash_sensor_in_utf8() -> None:
    assert sensor_key("haarlem", "no2-1") == b"haarlem/no2-1"
    assert sensor_key("zaanstad", "kolk-ĳ") == "zaanstad/kolk-ĳ".encode()
    assert sensor_key("a", "b/c") != sensor_key("a/b", "d")
    # one sensor, one key: every reading of it lands in the same partition
    assert sensor_key("t", "s") == sensor_key("t", "s")
    assert sensor_key("t1", "s") != sensor_key("t2", "s")


def test_alert_encodes_as_json_document() -> None:
    alert = Alert(
        id=7,
        tenant="castricum",
        sensor="kolk-12",
        quantity="fill_level",
        rule=AlertRule.ABOVE,
        state="opened",
        time=datetime(2026, 11, 1, 10, 3, tzinfo=UTC),
        value=80.0,
        threshold=80.0,
        message="fill_level 80 % reached the alert level 80 %",
    )
    assert json.loads(encode_alert(alert)) == {
        "id": 7,
        "tenant": "castricum",
        "sensor": "kolk-12",
        "quantity": "fill_level",
        "rule": "above",
        "state": "opened",
        "time": "2026-11-01T10:03:00+00:00",
        "value": 80.0,
        "threshold": 80.0,
        "message": "fill_level 80 % reached the alert level 80 %",
    }
    stale = dataclasses.replace(alert, quantity=None, rule=AlertRule.STALE, value=None, threshold=None)
    doc = json.loads(encode_alert(stale))
    assert doc["quantity"] is None and doc["rule"] == "stale" and doc["value"] is None
