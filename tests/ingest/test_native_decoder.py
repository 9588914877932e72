"""The native decoder, unit conversion and the topic contract: raw bytes in, Readings or refusals out."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from ingest.decode import DECODERS, MAX_PAYLOAD_BYTES, decode_message
from ingest.topics import TopicError, TopicInfo, parse_topic, reading_topic
from ingest.units import NO2_PPB_TO_UGM3, UnknownUnit, normalise_unit, to_canonical
from pakhuis.quantities import QUANTITIES, Quantity
from pakhuis.reading import Envelope, QualityLabel

RECEIVED = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
TOPIC = "pakhuis/v1/haarlem/no2-17/native"
ISO = "2026-11-22T10:00:00Z"
TIME = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _decode(document: object, topic: str = TOPIC, **kw: float) -> Envelope:
    return decode_message(topic, json.dumps(document).encode(), RECEIVED, **kw)


def _one(item: dict[str, object]) -> Envelope:
    return _decode(item)


def _value(quantity: str, value: object, unit: str | None = None) -> float:
    item: dict[str, object] = {"time": ISO, "quantity": quantity, "value": value}
    if unit is not None:
        item["unit"] = unit
    envelope = _one(item)
    assert envelope.dead_letter is None, envelope.dead_letter.reason
    assert len(envelope.readings) == 1
    return envelope.readings[0].value


def _refused(item: object, code: str, raw: bytes | None = None, topic: str = TOPIC) -> str:
    """Assert the whole message is refused with `code`; returns the reason text."""
    payload = raw if raw is not None else json.dumps(item).encode()
    envelope = decode_message(topic, payload, RECEIVED)
    assert envelope.readings == []
    assert envelope.dead_letter is not None
    assert [r.code for r in envelope.dead_letter.rejections] == [code], envelope.dead_letter.reason
    assert envelope.dead_letter.reason_code == code
    assert envelope.dead_letter.reason  # a sentence a person can read
    return envelope.dead_letter.reason


# -- valid messages --------------------------------------------------------------------------


def test_single_object() -> None:
    envelope = _one({"time": ISO, "quantity": "no2", "value": 23.4, "unit": "ug/m3"})
    assert envelope.dead_letter is None
    assert envelope.topic == TOPIC
    [reading] = envelope.readings
    assert reading.tenant == "haarlem"
    assert reading.sensor == "no2-17"
    assert reading.quantity is Quantity.NO2
    assert reading.value == 23.4
    assert reading.time == TIME
    assert reading.time.utcoffset() == timedelta(0)
    assert reading.received == RECEIVED
    assert reading.source_format == "native"
    assert reading.quality is QualityLabel.RAW
    assert reading.time_end is None


def test_list_of_objects() -> None:
    envelope = _decode(
        [
            {"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 20},
            {"time": "2026-11-22T10:01:00Z", "quantity": "pm10", "value": 12.5},
            {"time": "2026-11-22T10:02:00Z", "quantity": "TEMPERATURE", "value": -3.5},
        ]
    )
    assert envelope.dead_letter is None
    assert [(r.quantity, r.value, r.time.minute) for r in envelope.readings] == [
        (Quantity.NO2, 20.0, 0),
        (Quantity.PM10, 12.5, 1),
        (Quantity.TEMPERATURE, -3.5, 2),
    ]
    assert all(isinstance(r.value, float) for r in envelope.readings)


def test_tenant_and_sensor_come_from_the_topic_not_the_payload() -> None:
    envelope = decode_message(
        "pakhuis/v1/zaanstad/kolk_0042/native",
        json.dumps(
            {"time": ISO, "quantity": "fill_level", "value": 40, "tenant": "other", "sensor": "spoofed"}
        ).encode(),
        RECEIVED,
    )
    [reading] = envelope.readings
    assert (reading.tenant, reading.sensor) == ("zaanstad", "kolk_0042")


def test_unit_is_optional_and_canonical_unit_is_accepted() -> None:
    assert _value("no2", 23.4) == 23.4
    assert _value("no2", 23.4, "µg/m³") == 23.4
    assert _value("temperature", 12.0, "°C") == 12.0
    assert _value("humidity", 55.0, "%") == 55.0
    assert _value("deck_angle", 45.0, "°") == 45.0
    assert _value("battery", 3.6, "V") == 3.6


def test_ppb_to_ugm3_by_hand() -> None:
    # 10 ppb NO2 × 46.0055 g/mol / 24.055 l/mol ≈ 19.125 µg/m³ at 20 °C, 101.3 kPa (EU 2008/50/EC).
    assert _value("no2", 10, "ppb") == pytest.approx(19.125, abs=1e-12)
    assert _value("no2", 10, "PPB") == pytest.approx(19.125, abs=1e-12)


def test_ppm_to_ugm3() -> None:
    assert _value("no2", 0.1, "ppm") == pytest.approx(191.25, rel=1e-12)


def test_mg_per_m3() -> None:
    assert _value("pm10", 0.05, "mg/m3") == pytest.approx(50.0)


def test_fahrenheit_and_kelvin_to_celsius() -> None:
    assert _value("temperature", 104.0, "°F") == pytest.approx(40.0)
    assert _value("temperature", 32.0, "F") == pytest.approx(0.0, abs=1e-12)
    assert _value("temperature", 50.0, "degF") == pytest.approx(10.0)
    assert _value("temperature", 273.15, "K") == pytest.approx(0.0, abs=1e-12)
    assert _value("temperature", 293.15, "kelvin") == pytest.approx(20.0)


def test_fraction_to_percent_for_fill_level() -> None:
    assert _value("fill_level", 0.42, "fraction") == pytest.approx(42.0)
    assert _value("fill_level", 1.0, "ratio") == pytest.approx(100.0)


def test_millivolt_to_volt() -> None:
    assert _value("battery", 3600, "mV") == pytest.approx(3.6)


def test_cm_and_m_to_mm() -> None:
    assert _value("sludge_depth", 12.5, "cm") == pytest.approx(125.0)
    assert _value("water_level", 1.2, "m") == pytest.approx(1200.0)


def test_integral_quantities_are_whole() -> None:
    assert _value("bridge_state", 2) == 2.0
    assert _value("vessel_passage", 3, "count") == 3.0


def test_interval_observation() -> None:
    envelope = _one(
        {
            "time": "2026-10-01T00:00:00Z",
            "time_end": "2026-10-29T00:00:00+00:00",
            "quantity": "no2",
            "value": 31.0,
        }
    )
    [reading] = envelope.readings
    assert reading.time_end is not None
    assert reading.time_end - reading.time == timedelta(days=28)


def test_time_with_z_and_with_offset_are_normalised_to_utc() -> None:
    envelope = _decode(
        [
            {"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 1},
            {"time": "2026-11-22T11:00:00+01:00", "quantity": "pm10", "value": 1},
            {"time": "2026-11-22T05:30:00-04:30", "quantity": "pm25", "value": 1},
            {"time": "2026-11-22T10:00:00.250000+00:00", "quantity": "humidity", "value": 1},
        ]
    )
    assert envelope.dead_letter is None
    times = [r.time for r in envelope.readings]
    assert times[:3] == [TIME, TIME, TIME]
    assert times[3] == TIME + timedelta(milliseconds=250)
    assert all(t.tzinfo is UTC for t in times)


def test_four_minutes_ahead_is_accepted() -> None:
    ahead = (RECEIVED + timedelta(minutes=4)).isoformat()
    envelope = _one({"time": ahead, "quantity": "no2", "value": 5})
    assert envelope.dead_letter is None
    assert envelope.readings[0].time == RECEIVED + timedelta(minutes=4)


def test_exactly_the_limit_ahead_is_accepted() -> None:
    ahead = (RECEIVED + timedelta(seconds=300)).isoformat()
    assert _one({"time": ahead, "quantity": "no2", "value": 5}).dead_letter is None


def test_old_readings_are_accepted() -> None:
    assert _one({"time": "2001-01-01T00:00:00Z", "quantity": "no2", "value": 5}).readings


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("no2", 0),
        ("no2", 2000),
        ("deck_angle", -5),
        ("deck_angle", 90),
        ("humidity", 100),
        ("temperature", -50),
        ("temperature", 60),
        ("bridge_state", 0),
        ("bridge_state", 3),
    ],
)
def test_range_edges_are_accepted(quantity: str, value: float) -> None:
    assert _value(quantity, value) == value


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        ("no2", "furlongs"),
        ("no2", "ug"),
        ("no2", ""),
        ("temperature", "R"),
        ("fill_level", "mm"),
        ("battery", "A"),
        ("pm10", "ppb"),
        ("deck_angle", "rad"),
    ],
)
def test_unknown_unit_is_refused_never_guessed(quantity: str, unit: str) -> None:
    reason = _refused({"time": ISO, "quantity": quantity, "value": 1, "unit": unit}, "unknown_unit")
    assert repr(unit) in reason


def test_non_string_unit_is_refused() -> None:
    _refused({"time": ISO, "quantity": "no2", "value": 1, "unit": 5}, "unknown_unit")


def test_unknown_quantity() -> None:
    reason = _refused({"time": ISO, "quantity": "co2", "value": 400}, "unknown_quantity")
    assert "co2" in reason
    _refused({"time": ISO, "quantity": 7, "value": 400}, "unknown_quantity")


@pytest.mark.parametrize("text", ["2026-11-22T10:00:00", "2026-11-22 10:00:00", "2026-11-22"])
def test_naive_time_is_refused(text: str) -> None:
    reason = _refused({"time": text, "quantity": "no2", "value": 1}, "bad_time")
    assert "offset" in reason


@pytest.mark.parametrize("time", ["yesterday", "2026-13-01T00:00:00Z", "", 1764000000, None])
def test_unparseable_time_is_refused(time: object) -> None:
    _refused({"time": time, "quantity": "no2", "value": 1}, "bad_time")


def test_naive_or_backwards_time_end_is_refused() -> None:
    _refused({"time": ISO, "time_end": "2026-11-23T00:00:00", "quantity": "no2", "value": 1}, "bad_time")
    _refused({"time": ISO, "time_end": "2026-11-21T00:00:00Z", "quantity": "no2", "value": 1}, "bad_time")


@pytest.mark.parametrize(
    ("item", "missing"),
    [
        ({"quantity": "no2", "value": 1}, "time"),
        ({"time": ISO, "value": 1}, "quantity"),
        ({"time": ISO, "quantity": "no2"}, "value"),
        ({}, "time, quantity, value"),
    ],
)
def test_missing_fields(item: dict[str, object], missing: str) -> None:
    reason = _refused(item, "missing_field")
    assert missing in reason


@pytest.mark.parametrize("value", [True, False, "12.5", None, [1], {"v": 1}])
def test_non_number_value_is_refused(value: object) -> None:
    _refused({"time": ISO, "quantity": "no2", "value": value}, "bad_value")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400])
def test_non_finite_values_are_refused(literal: str) -> None:
    raw = ('{"time": "' + ISO + '", "quantity": "no2", "value": ' + literal + "}").encode()
    _refused(None, "non_finite", raw=raw)


def test_non_finite_after_conversion_is_refused() -> None:
    raw = ('{"time": "' + ISO + '", "quantity": "no2", "value": 1e308, "unit": "ppm"}').encode()
    _refused(None, "non_finite", raw=raw)


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("deck_angle", -6),
        ("deck_angle", 91),
        ("no2", -0.1),
        ("no2", 2000.5),
        ("humidity", 101),
        ("fill_level", -1),
        ("temperature", -51),
        ("temperature", 61),
        ("bridge_state", 4),
        ("bridge_state", -1),
        ("battery", 61),
        ("vessel_passage", -1),
    ],
)
def test_out_of_range(quantity: str, value: float) -> None:
    reason = _refused({"time": ISO, "quantity": quantity, "value": value}, "out_of_range")
    assert QUANTITIES[Quantity(quantity)].unit in reason


def test_out_of_range_is_judged_after_conversion() -> None:
    # 1100 ppb = 2103.75 µg/m³: above the 2000 µg/m³ limit although the raw number is not.
    _refused({"time": ISO, "quantity": "no2", "value": 1100, "unit": "ppb"}, "out_of_range")
    # 1.5 as a fraction is 150 %.
    _refused({"time": ISO, "quantity": "fill_level", "value": 1.5, "unit": "fraction"}, "out_of_range")
    # 400 K is 126.85 °C.
    _refused({"time": ISO, "quantity": "temperature", "value": 400, "unit": "K"}, "out_of_range")


@pytest.mark.parametrize(("quantity", "value"), [("bridge_state", 1.5), ("vessel_passage", 2.25)])
def test_fractional_integral_quantity_is_refused(quantity: str, value: float) -> None:
    reason = _refused({"time": ISO, "quantity": quantity, "value": value}, "out_of_range")
    assert "whole" in reason


def test_future_time_is_refused() -> None:
    ahead = (RECEIVED + timedelta(minutes=5, seconds=1)).isoformat()
    reason = _refused({"time": ahead, "quantity": "no2", "value": 5}, "future_time")
    assert "future" in reason


def test_future_limit_is_configurable() -> None:
    ahead = (RECEIVED + timedelta(minutes=4)).isoformat()
    envelope = _decode({"time": ahead, "quantity": "no2", "value": 5}, max_future_s=60)
    assert envelope.readings == []
    assert envelope.dead_letter is not None
    assert envelope.dead_letter.reason_code == "future_time"


def test_future_check_respects_offsets() -> None:
    # 11:09+01:00 is 10:09Z: 4 minutes after RECEIVED, so accepted.
    assert _one({"time": "2026-11-22T11:09:00+01:00", "quantity": "no2", "value": 1}).readings
    # 10:09 in New York is hours ahead: refused.
    _refused({"time": "2026-11-22T10:09:00-05:00", "quantity": "no2", "value": 1}, "future_time")


@pytest.mark.parametrize(
    ("raw", "what"),
    [(b"[]", "empty"), (b"42", "int"), (b'"no2=5"', "str"), (b"null", "NoneType"), (b"true", "bool")],
)
def test_bad_top_level_shape(raw: bytes, what: str) -> None:
    reason = _refused(None, "bad_shape", raw=raw)
    assert what in reason


def test_non_object_item_in_list() -> None:
    envelope = decode_message(
        TOPIC, b'[1, {"time": "%s", "quantity": "no2", "value": 3}]' % ISO.encode(), RECEIVED
    )
    assert [r.value for r in envelope.readings] == [3.0]
    assert envelope.dead_letter is not None
    assert [(r.item, r.code) for r in envelope.dead_letter.rejections] == [(0, "bad_shape")]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 1',  # truncated
        b'{"time": "2026-11-22T10:00:00Z", "quantity": "no\xff2", "value": 1}',  # invalid UTF-8
        b"\xff\xfe\xfd",
        b"",
        b"no2=5",
        b"{'time': 1}",
    ],
)
def test_bad_json(raw: bytes) -> None:
    _refused(None, "bad_json", raw=raw)


def test_payload_too_large() -> None:
    item = {"time": ISO, "quantity": "no2", "value": 1, "pad": "x" * MAX_PAYLOAD_BYTES}
    raw = json.dumps(item).encode()
    assert len(raw) > 256 * 1024
    reason = _refused(None, "payload_too_large", raw=raw)
    assert str(len(raw)) in reason


def test_payload_at_the_limit_is_decoded() -> None:
    head = json.dumps({"time": ISO, "quantity": "no2", "value": 1, "pad": ""}).encode()
    raw = head[:-2] + b"x" * (MAX_PAYLOAD_BYTES - len(head)) + b'"}'
    assert len(raw) == MAX_PAYLOAD_BYTES
    envelope = decode_message(TOPIC, raw, RECEIVED)
    assert envelope.dead_letter is None
    assert len(envelope.readings) == 1


@pytest.mark.parametrize(
    ("topic", "tenant"),
    [
        # the tenant level in place and an identifier: the dead letter is that tenant's
        ("pakhuis/v1/haarlem/native", "haarlem"),
        ("pakhuis/v1/haarlem/s1/native/extra", "haarlem"),
        ("pakhuis/v1/haarlem//native", "haarlem"),
        ("pakhuis/v1/haarlem/" + "s" * 65 + "/native", "haarlem"),
        # no tenant to go by
        ("pakhuis/v2/haarlem/s1/native", None),
        ("other/v1/haarlem/s1/native", None),
        ("pakhuis/v1//s1/native", None),
        ("pakhuis/v1/haar lem/s1/native", None),
        ("pakhuis/v1/-haarlem/s1/native", None),
        ("", None),
    ],
)
def test_bad_topic(topic: str, tenant: str | None) -> None:
    envelope = decode_message(
        topic, b'{"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 1}', RECEIVED
    )
    assert envelope.readings == []
    assert envelope.dead_letter is not None
    assert envelope.dead_letter.reason_code == "bad_topic"
    assert envelope.dead_letter.tenant == tenant
    assert envelope.dead_letter.topic == topic


@pytest.mark.parametrize("fmt", ["protobuf", "NATIVE", "", "json"])
def test_unknown_format(fmt: str) -> None:
    topic = f"pakhuis/v1/haarlem/s1/{fmt}"
    envelope = decode_message(
        topic, b'{"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 1}', RECEIVED
    )
    assert envelope.readings == []
    assert envelope.dead_letter is not None
    assert envelope.dead_letter.reason_code == "unknown_format"
    assert "native" in envelope.dead_letter.reason
    assert envelope.dead_letter.tenant == "haarlem"
    assert envelope.dead_letter.decoder == fmt


def test_mixed_list_keeps_good_items_and_lists_refused_indices() -> None:
    raw = json.dumps(
        [
            {"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 21.0},  # 0 ok
            {"time": "2026-11-22T10:01:00Z", "quantity": "no2", "value": -4},  # 1 out_of_range
            {"time": "2026-11-22T10:02:00", "quantity": "no2", "value": 22.0},  # 2 bad_time
            {"time": "2026-11-22T10:03:00Z", "quantity": "no2", "value": 10, "unit": "ppb"},  # 3 ok
            {"time": "2026-11-22T10:04:00Z", "quantity": "no2", "value": 1, "unit": "??"},  # 4 unknown_unit
            {"time": "2026-11-22T10:05:00Z", "quantity": "bridge_state", "value": 1.5},  # 5 out_of_range
            {"time": "2026-11-22T10:06:00Z", "quantity": "deck_angle", "value": 12.0},  # 6 ok
            {"quantity": "no2", "value": 1},  # 7 missing_field
        ]
    ).encode()
    envelope = decode_message(TOPIC, raw, RECEIVED)
    assert [(r.quantity.value, r.value) for r in envelope.readings] == [
        ("no2", 21.0),
        ("no2", pytest.approx(19.125)),
        ("deck_angle", 12.0),
    ]
    letter = envelope.dead_letter
    assert letter is not None
    assert [(r.item, r.code) for r in letter.rejections] == [
        (1, "out_of_range"),
        (2, "bad_time"),
        (4, "unknown_unit"),
        (5, "out_of_range"),
        (7, "missing_field"),
    ]
    assert letter.reason_code == "out_of_range"
    reason = letter.reason
    for index in (1, 2, 4, 5, 7):
        assert f"item {index}:" in reason
    for index in (0, 3, 6):
        assert f"item {index}:" not in reason
    # The dead letter keeps the whole message, byte for byte, so it can be replayed.
    assert letter.payload == raw
    assert letter.topic == TOPIC
    assert letter.tenant == "haarlem"
    assert letter.decoder == "native"
    assert letter.received == RECEIVED
    assert envelope.payload == raw


def test_single_object_refusal_has_no_item_index() -> None:
    envelope = _one({"time": ISO, "quantity": "no2", "value": -1})
    assert envelope.dead_letter is not None
    assert [r.item for r in envelope.dead_letter.rejections] == [None]
    assert not envelope.dead_letter.reason.startswith("item")


def test_dead_letter_keeps_exact_raw_bytes() -> None:
    raw = b'  {"time": "2026-11-22T10:00:00",\n "quantity": "no2",  "value": 1.50}  '
    envelope = decode_message(TOPIC, bytearray(raw), RECEIVED)  # type: ignore[arg-type]
    assert envelope.dead_letter is not None
    assert envelope.dead_letter.payload == raw
    assert type(envelope.dead_letter.payload) is bytes
    assert envelope.dead_letter.topic == TOPIC
    bad_utf8 = b'{"x": "\xc3\x28"}'
    letter = decode_message(TOPIC, bad_utf8, RECEIVED).dead_letter
    assert letter is not None and letter.payload == bad_utf8
    big = b"[" + b" " * MAX_PAYLOAD_BYTES + b"]"
    letter = decode_message(TOPIC, big, RECEIVED).dead_letter
    assert letter is not None and letter.payload == big
    letter = decode_message("bad/topic", b"\x00\x01", RECEIVED).dead_letter
    assert letter is not None and letter.payload == b"\x00\x01" and letter.topic == "bad/topic"


def test_all_good_has_no_dead_letter() -> None:
    envelope = _decode([{"time": ISO, "quantity": q.value, "value": 1} for q in Quantity])
    assert envelope.dead_letter is None
    assert {r.quantity for r in envelope.readings} == set(Quantity)


def test_registry_names_native() -> None:
    assert "native" in DECODERS


# -- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "value", "unit", "expected"),
    [
        (Quantity.NO2, 10.0, None, 10.0),
        (Quantity.NO2, 10.0, "ug/m3", 10.0),
        (Quantity.NO2, 10.0, "µg/m³", 10.0),
        (Quantity.NO2, 10.0, "μg/m3", 10.0),  # Greek mu
        (Quantity.NO2, 10.0, "UG/M3", 10.0),
        (Quantity.NO2, 10.0, "ug m-3", 10.0),
        (Quantity.NO2, 10.0, "ug/m^3", 10.0),
        (Quantity.NO2, 10.0, "ppb", 19.125),
        (Quantity.NO2, 1.0, "ppm", 1912.5),
        (Quantity.NO2, 0.02, "mg/m3", 20.0),
        (Quantity.PM25, 7.0, "µg/m³", 7.0),
        (Quantity.TEMPERATURE, 20.0, "°C", 20.0),
        (Quantity.TEMPERATURE, 20.0, "C", 20.0),
        (Quantity.TEMPERATURE, 20.0, "celsius", 20.0),
        (Quantity.TEMPERATURE, 98.6, "°F", 37.0),
        (Quantity.TEMPERATURE, -40.0, "F", -40.0),
        (Quantity.TEMPERATURE, 0.0, "K", -273.15),
        (Quantity.HUMIDITY, 55.0, "%RH", 55.0),
        (Quantity.HUMIDITY, 55.0, "percent", 55.0),
        (Quantity.FILL_LEVEL, 0.25, "fraction", 25.0),
        (Quantity.FILL_LEVEL, 25.0, "%", 25.0),
        (Quantity.SLUDGE_DEPTH, 3.0, "cm", 30.0),
        (Quantity.WATER_LEVEL, 0.5, "m", 500.0),
        (Quantity.WATER_LEVEL, 500.0, "mm", 500.0),
        (Quantity.BRIDGE_STATE, 2.0, "state", 2.0),
        (Quantity.DECK_ANGLE, 30.0, "°", 30.0),
        (Quantity.DECK_ANGLE, 30.0, "degrees", 30.0),
        (Quantity.VESSEL_PASSAGE, 1.0, "count", 1.0),
        (Quantity.BATTERY, 3300.0, "mV", 3.3),
        (Quantity.BATTERY, 3.3, "V", 3.3),
        (Quantity.BATTERY, 3.3, "volt", 3.3),
    ],
)
def test_to_canonical(quantity: Quantity, value: float, unit: str | None, expected: float) -> None:
    assert to_canonical(quantity, value, unit) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_no2_factor() -> None:
    assert NO2_PPB_TO_UGM3 == 1.9125
    assert 46.0055 / 24.055 == pytest.approx(NO2_PPB_TO_UGM3, rel=1e-4)


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        (Quantity.NO2, "ppt"),
        (Quantity.PM10, "ppb"),
        (Quantity.TEMPERATURE, "°R"),
        (Quantity.FILL_LEVEL, "l"),
        (Quantity.BATTERY, "mA"),
        (Quantity.DECK_ANGLE, "rad"),
        (Quantity.SLUDGE_DEPTH, "in"),
        (Quantity.HUMIDITY, "g/m3"),
    ],
)
def test_to_canonical_unknown_unit(quantity: Quantity, unit: str) -> None:
    with pytest.raises(UnknownUnit) as info:
        to_canonical(quantity, 1.0, unit)
    message = str(info.value)
    assert repr(unit) in message
    assert quantity.value in message
    assert QUANTITIES[quantity].unit in message


def test_canonical_unit_of_every_quantity_is_accepted() -> None:
    for quantity, entry in QUANTITIES.items():
        assert to_canonical(quantity, 1.5, entry.unit) == 1.5


def test_nan_passes_through_conversion() -> None:
    assert math.isnan(to_canonical(Quantity.NO2, float("nan"), "ppb"))


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("µg/m³", "ug/m3"),
        ("μg/m³", "ug/m3"),
        (" UG / M3 ", "ug/m3"),
        ("°C", "degc"),
        ("m^3", "m3"),
        ("m**3", "m3"),
    ],
)
def test_normalise_unit(unit: str, expected: str) -> None:
    assert normalise_unit(unit) == expected


# -- topics ------------------------------------------------------------------------------------


def test_parse_topic() -> None:
    assert parse_topic("pakhuis/v1/haarlem/no2-17/native") == TopicInfo("haarlem", "no2-17", "native")
    assert parse_topic("pakhuis/v1/a.b/c:d_e/senml") == TopicInfo("a.b", "c:d_e", "senml")
    assert parse_topic("pakhuis/v1/T1/" + "s" * 64 + "/native").sensor == "s" * 64


@pytest.mark.parametrize(
    "topic",
    [
        "pakhuis/v1/a/native",
        "pakhuis/v1/a/b/c/d",
        "pakhuis/v2/a/b/native",
        "Pakhuis/v1/a/b/native",
        "/pakhuis/v1/a/b",
        "pakhuis/v1/a b/c/native",
        "pakhuis/v1/a/_b/native",
        "pakhuis/v1/a/b#/native",
        "pakhuis/v1/+/b/native",
        "pakhuis/v1/a/" + "s" * 65 + "/native",
    ],
)
def test_parse_topic_refuses(topic: str) -> None:
    with pytest.raises(TopicError) as info:
        parse_topic(topic)
    assert "pakhuis/v1" in str(info.value) or "id" in str(info.value)


def test_reading_topic_round_trips() -> None:
    topic = reading_topic("haarlem", "no2-17")
    assert topic == "pakhuis/v1/haarlem/no2-17/native"
    assert parse_topic(topic) == TopicInfo("haarlem", "no2-17", "native")
