"""Wire-format encoders: each output parses as its format and carries the native values.

The formats are restated here from their public specifications, independently of
`sensors_sim.formats`: units, conversion factors, topics and field names below are the
test's own, so a wrong constant in an encoder fails here instead of agreeing with itself.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sensors_sim import ENCODERS, Emulator, Encoder, WireMessage, build_fleet, datastreams_for, new_encoder
from sensors_sim.emulator import EmulatorBase
from sensors_sim.formats import StaEncoder, TtnEncoder, sensor_community_ids
from sensors_sim.wire import NativeReading

NativeChecker = Callable[[bytes], list[dict[str, object]]]
Tick = tuple[Emulator, datetime, list[NativeReading]]

START = datetime(2024, 10, 7, 6, 0, tzinfo=UTC)  # a Monday morning: traffic, bridge openings
TENANT = "zaanstad"


def _ticks(seed: int = 5, n: int = 40, step: timedelta = timedelta(minutes=3)) -> list[Tick]:
    fleet = build_fleet(seed, tenant=TENANT, air=2, drains=2, bridges=1)
    out: list[Tick] = []
    for k in range(n):
        t = START + k * step
        for e in fleet:
            readings = e.readings_at(t)
            if readings:
                out.append((e, t, readings))
    return out


@pytest.fixture(scope="module")
def ticks() -> list[Tick]:
    return _ticks()


def _values(readings: list[NativeReading]) -> dict[str, float]:
    return {r["quantity"]: r["value"] for r in readings}


def _parse_iso(text: str) -> datetime:
    assert text.endswith("Z"), text
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def _strict_json(payload: bytes) -> Any:
    def no_constants(name: str) -> float:
        raise AssertionError(f"non-JSON constant {name} in payload")

    return json.loads(payload.decode("utf-8"), parse_constant=no_constants)


def _encode_all(fmt: str, ticks: list[Tick]) -> list[tuple[Tick, list[WireMessage]]]:
    encoder = new_encoder(fmt)
    return [(tick, encoder.encode(tick[0].tenant, tick[0].sensor_id, tick[2])) for tick in ticks]


# -- registry ---------------------------------------------------------------------------------


def test_registry_has_every_format() -> None:
    assert set(ENCODERS) == {"native", "senml", "ttn", "sta", "sensorcommunity"}
    for name, encoder in ENCODERS.items():
        assert isinstance(encoder, Encoder)
        assert encoder.name == name
        assert encoder.kind == ("http" if name == "sensorcommunity" else "mqtt")
        fresh = new_encoder(name)
        assert fresh is not encoder and type(fresh) is type(encoder)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown wire format 'csv'.*senml"):
        new_encoder("csv")


def test_emulators_declare_what_they_send(ticks: list[Tick]) -> None:
    for e, _t, readings in ticks:
        assert isinstance(e, EmulatorBase)
        assert tuple(r["quantity"] for r in readings) == e.quantities


@pytest.mark.parametrize("fmt", sorted(ENCODERS))
def test_empty_tick_encodes_to_nothing(fmt: str) -> None:
    assert new_encoder(fmt).encode(TENANT, "air-001", []) == []


@pytest.mark.parametrize("fmt", sorted(ENCODERS))
def test_deterministic_by_seed(fmt: str) -> None:
    def wire(seed: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
        return [
            (m.kind, m.topic_or_path, m.payload, m.headers)
            for _tick, messages in _encode_all(fmt, _ticks(seed, n=10))
            for m in messages
        ]

    first = wire(5)
    assert first, "the fleet must send something"
    assert wire(5) == first
    assert wire(6) != first


# -- native -----------------------------------------------------------------------------------


def test_native_is_the_wire_module_format(ticks: list[Tick], native_checker: NativeChecker) -> None:
    for (e, _t, readings), messages in _encode_all("native", ticks):
        (m,) = messages
        assert (m.kind, m.topic_or_path, m.headers, m.readings) == ("mqtt", e.topic, {}, len(readings))
        assert m.topic_or_path == f"pakhuis/v1/{TENANT}/{e.sensor_id}/native"
        assert native_checker(m.payload) == readings


# -- SenML (RFC 8428) -------------------------------------------------------------------------

# quantity → (SenML unit or None, SenML value → canonical value)
SENML_SPEC: dict[str, tuple[str | None, Callable[[float], float]]] = {
    "no2": ("ug/m3", lambda v: v),
    "temperature": ("Cel", lambda v: v),
    "humidity": ("%RH", lambda v: v),
    "fill_level": ("%", lambda v: v),
    "sludge_depth": ("m", lambda v: v * 1000.0),
    "battery": ("V", lambda v: v),
    "bridge_state": (None, lambda v: v),
    "deck_angle": ("deg", lambda v: v),
    "vessel_passage": ("count", lambda v: v),
}
SENML_LABELS = {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}
SENML_NAME = re.compile(r"^[A-Za-z0-9][-:./_A-Za-z0-9]*$")


def _resolve_senml(pack: Any) -> list[dict[str, Any]]:
    """RFC 8428 section 4.6 resolution, for the fields these packs may use."""
    assert isinstance(pack, list) and pack
    base_name, base_time, out = "", 0.0, []
    for record in pack:
        assert isinstance(record, dict) and set(record) <= SENML_LABELS, record
        assert record.get("bver", 10) == 10
        base_name = record.get("bn", base_name)
        base_time = record.get("bt", base_time)
        value_fields = [k for k in ("v", "vs", "vb", "vd") if k in record]
        assert value_fields == ["v"], record
        assert isinstance(record["v"], int | float) and not isinstance(record["v"], bool)
        name = base_name + record.get("n", "")
        assert SENML_NAME.match(name), name
        t = base_time + record.get("t", 0)
        assert t >= 2**28, "resolved time must be absolute"
        out.append({"n": name, "u": record.get("u"), "v": record["v"], "t": t})
    return out


def test_senml_packs(ticks: list[Tick]) -> None:
    negative_t_per_kind: dict[str, bool] = {}
    for (e, t, readings), messages in _encode_all("senml", ticks):
        (m,) = messages
        assert m.kind == "mqtt" and m.headers == {} and m.readings == len(readings)
        assert m.topic_or_path == f"pakhuis/v1/{TENANT}/{e.sensor_id}/senml"
        pack = _strict_json(m.payload)
        base = pack[0]
        assert base["bn"] == f"urn:dev:pakhuis:{e.sensor_id}:"
        assert base["bt"] == t.timestamp()
        assert all(not k.startswith("b") for record in pack[1:] for k in record), "base fields only once"

        native = _values(readings)
        resolved = _resolve_senml(pack)
        assert len(resolved) == len(native)
        relative = [record.get("t", 0) for record in pack]
        for record, rel in zip(resolved, relative, strict=True):
            prefix = f"urn:dev:pakhuis:{e.sensor_id}:"
            assert record["n"].startswith(prefix)
            quantity = record["n"][len(prefix) :]
            unit, to_canonical = SENML_SPEC[quantity]
            assert record["u"] == unit
            assert to_canonical(record["v"]) == pytest.approx(native[quantity], rel=1e-12, abs=1e-9)
            # Relative times stay within the minute before the tick and add up to it.
            assert -60 <= rel <= 0
            assert datetime.fromtimestamp(record["t"], UTC) == t + timedelta(seconds=rel)
        assert relative[0] == 0, "the base record is at the tick time itself"
        if len(pack) > 1:
            negative_t_per_kind[e.sensor_id.split("-")[0]] = any(rel < 0 for rel in relative)
    assert negative_t_per_kind == {"air": True, "drain": True, "bridge": True}


def test_senml_times_of_a_quantity_increase_even_with_fast_ticks() -> None:
    seen: dict[str, float] = {}
    for _tick, (m,) in _encode_all("senml", _ticks(n=30, step=timedelta(seconds=5))):
        for record in _resolve_senml(_strict_json(m.payload)):
            assert record["t"] > seen.get(record["n"], 0.0), record
            seen[record["n"]] = record["t"]


def test_senml_fractional_tick_time() -> None:
    t = datetime(2024, 3, 5, 8, 0, 0, 250000, tzinfo=UTC)
    reading: NativeReading = {
        "time": "2024-03-05T08:00:00.250000Z",
        "quantity": "no2",
        "value": 41.5,
        "unit": "ug/m3",
    }
    (m,) = new_encoder("senml").encode(TENANT, "air-001", [reading])
    (record,) = _resolve_senml(_strict_json(m.payload))
    assert record["t"] == pytest.approx(t.timestamp(), abs=1e-6)


# -- TTN v3 -----------------------------------------------------------------------------------

PPB_TO_UGM3 = 1.9125  # NO2 at 20 °C, 1013.25 hPa
TTN_TOPIC = re.compile(r"^v3/(?P<app>[^/@]+)@(?P<tenant>[^/]+)/devices/(?P<device>[^/]+)/up$")
# decoded_payload field → (canonical quantity, field value → canonical value, tolerance)
TTN_SPEC: dict[str, tuple[str, Callable[[float], float], float]] = {
    "no2_ppb": ("no2", lambda v: v * PPB_TO_UGM3, 0.005 * PPB_TO_UGM3 + 1e-9),
    "temperature": ("temperature", lambda v: v, 0.005 + 1e-9),
    "humidity": ("humidity", lambda v: v, 0.005 + 1e-9),
    "fill_level": ("fill_level", lambda v: v, 0.005 + 1e-9),
    "sludge_mm": ("sludge_depth", lambda v: v, 0.05 + 1e-9),
    "battery_mv": ("battery", lambda v: v / 1000.0, 0.0005 + 1e-9),
    "bridge_state": ("bridge_state", lambda v: v, 0.0),
    "deck_angle": ("deck_angle", lambda v: v, 0.005 + 1e-9),
    "vessel_passage": ("vessel_passage", lambda v: v, 0.0),
}
INTEGER_FIELDS = {"battery_mv", "bridge_state", "vessel_passage"}


def test_ttn_uplinks(ticks: list[Tick]) -> None:
    f_cnts: dict[str, list[int]] = {}
    sessions: dict[str, set[str]] = {}
    dev_euis: dict[str, str] = {}
    for (e, t, readings), messages in _encode_all("ttn", ticks):
        (m,) = messages
        assert m.kind == "mqtt" and m.readings == len(readings)
        match = TTN_TOPIC.match(m.topic_or_path)
        assert match is not None, m.topic_or_path
        assert match.groupdict() == {"app": "pakhuis-sim", "tenant": TENANT, "device": e.sensor_id}

        body = _strict_json(m.payload)
        ids = body["end_device_ids"]
        assert ids["device_id"] == e.sensor_id
        assert ids["application_ids"] == {"application_id": "pakhuis-sim"}
        assert re.fullmatch(r"[0-9A-F]{16}", ids["dev_eui"])
        assert dev_euis.setdefault(e.sensor_id, ids["dev_eui"]) == ids["dev_eui"]
        assert _parse_iso(body["received_at"]) == t

        up = body["uplink_message"]
        assert up["f_port"] == 1
        # The Things Stack leaves out zero-valued fields: no f_cnt means frame 0.
        f_cnts.setdefault(e.sensor_id, []).append(up.get("f_cnt", 0))
        sessions.setdefault(e.sensor_id, set()).add(up["session_key_id"])
        assert _parse_iso(up["received_at"]) == t
        (rx,) = up["rx_metadata"]
        assert isinstance(rx["gateway_ids"]["gateway_id"], str) and rx["gateway_ids"]["gateway_id"]
        assert -130 <= rx["rssi"] < 0 and isinstance(rx["rssi"], int)
        assert -20 <= rx["snr"] <= 15
        assert _parse_iso(rx["time"]) == t
        assert up["settings"]["data_rate"]["lora"]["spreading_factor"] in range(7, 13)
        assert up["settings"]["frequency"].isdigit()

        decoded = up["decoded_payload"]
        native = _values(readings)
        assert {TTN_SPEC[f][0] for f in decoded} == set(native)
        for field, value in decoded.items():
            quantity, to_canonical, tolerance = TTN_SPEC[field]
            if field in INTEGER_FIELDS:
                assert isinstance(value, int) and not isinstance(value, bool), (field, value)
            assert abs(to_canonical(value) - native[quantity]) <= tolerance, (field, value, native[quantity])

        # frm_payload: per field a one-byte code and a big-endian int32 of value × 100.
        raw = base64.b64decode(up["frm_payload"], validate=True)
        assert len(raw) == 5 * len(decoded)
        raw_values = [struct.unpack(">Bi", raw[i : i + 5])[1] / 100 for i in range(0, len(raw), 5)]
        assert raw_values == pytest.approx(list(decoded.values()), abs=0.006)
        assert len({raw[i] for i in range(0, len(raw), 5)}) == len(decoded)

    assert len(set(dev_euis.values())) == len(dev_euis), "every device has its own DevEUI"
    for sensor, counts in f_cnts.items():
        assert counts == list(range(len(counts))), (sensor, counts)
        assert len(sessions[sensor]) == 1


def test_ttn_frame_counters_are_per_device_and_per_encoder(ticks: list[Tick]) -> None:
    e, _t, readings = ticks[0]
    encoder = TtnEncoder()
    counts = [
        _strict_json(encoder.encode(TENANT, e.sensor_id, readings)[0].payload)["uplink_message"].get(
            "f_cnt", 0
        )
        for _ in range(3)
    ]
    assert counts == [0, 1, 2]
    other = _strict_json(encoder.encode(TENANT, "air-999", readings)[0].payload)["uplink_message"]
    assert "f_cnt" not in other  # a new device starts its own session at frame 0
    fresh = _strict_json(encoder.fresh().encode(TENANT, e.sensor_id, readings)[0].payload)["uplink_message"]
    assert "f_cnt" not in fresh


def test_ttn_application_is_configurable(ticks: list[Tick]) -> None:
    e, _t, readings = ticks[0]
    (m,) = TtnEncoder("city-drains").encode(TENANT, e.sensor_id, readings)
    assert m.topic_or_path == f"v3/city-drains@{TENANT}/devices/{e.sensor_id}/up"
    body = _strict_json(m.payload)
    assert body["end_device_ids"]["application_ids"]["application_id"] == "city-drains"


# -- OGC SensorThings API ---------------------------------------------------------------------

STA_TOPIC = re.compile(r"^v1\.1/Datastreams\('(?P<id>[^']+)'\)/Observations$")
CANONICAL_UNITS = {
    "no2": "ug/m3",
    "temperature": "degC",
    "humidity": "%",
    "fill_level": "%",
    "sludge_depth": "mm",
    "bridge_state": "state",
    "deck_angle": "deg",
    "vessel_passage": "count",
    "battery": "V",
}


def test_sta_observations(ticks: list[Tick]) -> None:
    fleet = sorted({id(e): e for e, _t, _r in ticks}.values(), key=lambda e: e.sensor_id)
    registered = {d["id"]: d for d in datastreams_for(fleet)}
    used: set[str] = set()
    for (e, t, readings), messages in _encode_all("sta", ticks):
        assert len(messages) == len(readings), "one Observation per reading"
        for m, reading in zip(messages, readings, strict=True):
            assert m.kind == "mqtt" and m.readings == 1 and m.headers == {}
            match = STA_TOPIC.match(m.topic_or_path)
            assert match is not None, m.topic_or_path
            ds = match["id"]
            assert ds == f"{TENANT}:{e.sensor_id}:{reading['quantity']}"
            assert registered[ds] == {
                "id": ds,
                "tenant": TENANT,
                "sensor": e.sensor_id,
                "quantity": reading["quantity"],
                "unit": CANONICAL_UNITS[reading["quantity"]],
            }
            used.add(ds)
            body = _strict_json(m.payload)
            assert set(body) == {"phenomenonTime", "resultTime", "result"}
            assert _parse_iso(body["phenomenonTime"]) == t
            assert _parse_iso(body["resultTime"]) == t
            assert body["result"] == reading["value"]
    assert used == set(registered), "every registered Datastream is used and nothing else"


def test_datastreams_for_lists_every_quantity_once() -> None:
    fleet = build_fleet(3, tenant="demo", air=2, drains=1, bridges=1)
    streams = datastreams_for(fleet)
    assert len(streams) == 2 * 4 + 3 + 3
    assert len({s["id"] for s in streams}) == len(streams)
    assert {
        "id": "demo:air-001:no2",
        "tenant": "demo",
        "sensor": "air-001",
        "quantity": "no2",
        "unit": "ug/m3",
    } in (streams)
    # Asking does not advance the emulators.
    again = build_fleet(3, tenant="demo", air=2, drains=1, bridges=1)
    assert [e.readings_at(START) for e in fleet] == [e.readings_at(START) for e in again]


def test_datastreams_for_refuses_objects_without_quantities() -> None:
    class Bare:
        tenant, sensor_id = "demo", "x-1"

    with pytest.raises(TypeError, match="quantities"):
        datastreams_for([Bare()])


def test_sta_interval_phenomenon_time_for_tube_means(ticks: list[Tick]) -> None:
    encoder = StaEncoder(interval=True)
    for e, t, readings in ticks[:20]:
        for m, reading in zip(encoder.encode(TENANT, e.sensor_id, readings), readings, strict=True):
            body = _strict_json(m.payload)
            assert _parse_iso(body["resultTime"]) == t
            if reading["quantity"] == "no2":
                start, end = body["phenomenonTime"].split("/")
                assert _parse_iso(end) == t
                assert _parse_iso(start) == t - timedelta(days=28)
            else:
                assert _parse_iso(body["phenomenonTime"]) == t
    assert encoder.fresh().interval is True
    week = StaEncoder(interval=True, period=timedelta(days=7), interval_quantities=["no2", "temperature"])
    e, t, readings = next(tick for tick in ticks if tick[0].sensor_id.startswith("air"))
    intervals = [
        _strict_json(m.payload)["phenomenonTime"] for m in week.encode(TENANT, e.sensor_id, readings)
    ]
    assert [("/" in p) for p in intervals] == [True, True, False, False]
    assert intervals[1].split("/")[0] == (t - timedelta(days=7)).isoformat().replace("+00:00", "Z")


# -- Sensor.Community -------------------------------------------------------------------------

PIN_VALUE_TYPES = {
    "1": {"NO2": "no2", "P1": "pm10", "P2": "pm25"},
    "7": {"temperature": "temperature", "humidity": "humidity"},
}


def test_sensor_community_pushes(ticks: list[Tick]) -> None:
    x_sensors: dict[str, str] = {}
    for (e, _t, readings), messages in _encode_all("sensorcommunity", ticks):
        native = _values(readings)
        if not e.sensor_id.startswith("air"):
            assert messages == [], "drains and bridges have no Sensor.Community form"
            continue
        assert [m.headers["X-Pin"] for m in messages] == ["1", "7"]
        carried = set()
        for m in messages:
            assert m.kind == "http" and m.topic_or_path == "/v1/push-sensor-data/"
            assert m.headers["Content-Type"] == "application/json"
            assert re.fullmatch(r"esp8266-\d{1,8}", m.headers["X-Sensor"])
            assert x_sensors.setdefault(e.sensor_id, m.headers["X-Sensor"]) == m.headers["X-Sensor"]
            body = _strict_json(m.payload)
            assert set(body) == {"software_version", "sensordatavalues"}
            assert body["software_version"] == "NRZ-2020-133"
            assert "timestamp" not in m.payload.decode()
            assert m.readings == len(body["sensordatavalues"])
            for item in body["sensordatavalues"]:
                assert set(item) == {"value_type", "value"}
                assert isinstance(item["value"], str) and re.fullmatch(r"-?\d+\.\d\d", item["value"])
                quantity = PIN_VALUE_TYPES[m.headers["X-Pin"]][item["value_type"]]
                assert math.isclose(float(item["value"]), native[quantity], abs_tol=0.005 + 1e-9)
                carried.add(quantity)
        assert carried == {"no2", "temperature", "humidity"}
        assert sum(m.readings for m in messages) == len(readings) - 1  # battery is not sent
    assert len(set(x_sensors.values())) == len(x_sensors) == 2


def test_sensor_community_ids_map_back_to_sensors() -> None:
    fleet = build_fleet(5, tenant=TENANT, air=3, drains=2, bridges=1)
    table = sensor_community_ids(fleet)
    assert [row["sensor"] for row in table] == ["air-001", "air-002", "air-003"]
    for row, e in zip(table, fleet, strict=False):
        assert row["tenant"] == TENANT
        assert row["x_sensor"] == f"esp8266-{row['chip_id']}"
        (m, _) = new_encoder("sensorcommunity").encode(TENANT, e.sensor_id, e.readings_at(START))
        assert m.headers["X-Sensor"] == row["x_sensor"]
    other_tenant = sensor_community_ids(build_fleet(5, tenant="elders", air=1, drains=0, bridges=0))
    assert other_tenant[0]["x_sensor"] != table[0]["x_sensor"]
