"""Property tests for every payload decoder, through `MessageDecoder.decode` (ingest/decode.py).

Valid payloads come from the simulators' own encoders (`sensors_sim.formats`), which restate each
wire format independently of `ingest`. Four properties per format (native, senml, ttn, sta,
sensorcommunity), plus a deterministic mixed-traffic conservation run:

a. arbitrary bytes on the format's topic,
b. arbitrary JSON (random values, and random values in the format's own skeleton),
c. valid payloads, mutated (fields dropped or replaced, types changed, numbers made huge, NaN or
   negative, units and names and times replaced, bytes flipped, truncated or inserted),
d. valid payloads round-trip to the encoder's canonical values within the encoder's rounding.

a-c never raise; every envelope holds readings, a dead letter, or a duplicate count; a dead
letter keeps the exact raw bytes and topic with a reason and a reason code; every Reading is
valid (finite, in the quantity's plausible range, whole for integral quantities, UTC times,
time_end >= time, at most `max_future_s` ahead, flagged late exactly when older than
`late_after_s`). And every message is accounted for, counted as follows.

Accounting (what is counted per message, for a, b and c)
--------------------------------------------------------
An independent oracle (`_account`) reads the payload and says either "unusable as a whole" or
how many *measurement items* it holds and which of them are *skipped on purpose*:

============== ===================================== ==============================================
format         measurement items                     skipped on purpose (no reading, no refusal)
============== ===================================== ==============================================
native         the object (1) or each list element   nothing
senml          each pack record (a lone object = 1)  base-only records: an object with valid base
                                                     fields, no value (v, s, vs, vb, vd) and no n
ttn            each decoded_payload field            unmapped fields that are diagnostics
                                                     (mappings.json "ignored") or non-numeric
                                                     (string, object, list, null)
sta            the Observation (always 1)            nothing
sensorcommunity each sensordatavalues entry          unmapped value_types listed as "ignored"
============== ===================================== ==============================================

Unusable as a whole (not JSON, wrong shape, missing envelope fields, bad message-level time, a
TTN device_id that is not the topic's): no reading and exactly one refusal, for the message.

Otherwise, with M = items - skipped:
  M == 0  → no reading and exactly one refusal ("holds no measurement");
  M  > 0  → readings + refusals == M; in the list-shaped formats whose refusals carry an item
            index (native list, senml, sensorcommunity) those indices are distinct, in range and
            never a skipped item.
A TTN uplink whose frame counter was seen before is a duplicate: duplicates == 1, no reading, no
dead letter (only possible when one decoder sees several messages: the summary run).

Example counts: `PAKHUIS_HYPOTHESIS_EXAMPLES` (default 2,000; CI sets 10,000) per property,
scaled by `_WEIGHT` (see there). The summary run is a fixed 50,000 messages.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ingest.decode import MessageDecoder
from ingest.directory import SensorDirectory
from ingest.mappings import load_mappings
from pakhuis.quantities import QUANTITIES, Quantity
from pakhuis.reading import Envelope, Reading
from sensors_sim.formats import (
    NativeEncoder,
    SenmlEncoder,
    SensorCommunityEncoder,
    StaEncoder,
    TtnEncoder,
    datastream_id,
)
from sensors_sim.formats.senml import SAMPLE_LAG_S
from sensors_sim.formats.sta import PALMES_PERIOD, sta_topic
from sensors_sim.formats.ttn import NO2_UGM3_PER_PPB
from sensors_sim.wire import RANGES, UNITS, NativeReading, make_reading

# -- settings ----------------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("PAKHUIS_HYPOTHESIS_EXAMPLES", "2000"))

# Share of EXAMPLES each property runs: a Hypothesis example costs 0.5 ms on its own here, a
# structured JSON document 3-4 ms to generate, so the cheap properties run more. At CI's
# EXAMPLES=10,000 that is, per decoder, 4,000 bytes + 1,500 JSON + 6,000 mutated + 1,000
# round-trip = 12,500 messages; over the five decoders 62,500, of which 57,500 go through the
# conservation properties (a, b, c); plus the 50,000-message summary run.
_WEIGHT = {"bytes": 0.4, "json": 0.15, "mutated": 0.6, "roundtrip": 0.1}


def _settings(kind: str) -> settings:
    return settings(
        max_examples=max(1, round(EXAMPLES * _WEIGHT[kind])),
        deadline=None,
        database=None,  # nothing written into the work tree; failures print a reproduce blob
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- the fixed world: one tenant, one sensor, a directory that knows a few Datastreams -----------

RECEIVED = datetime(2026, 11, 22, 10, 5, 0, 123456, tzinfo=UTC)
TENANT = "demo"
SENSOR = "air-001"
MAX_FUTURE_S = 300.0
LATE_AFTER_S = 7 * 24 * 3600.0
MAPPINGS = load_mappings()
FORMAT_NAMES = ("native", "senml", "ttn", "sta", "sensorcommunity")

_DATASTREAMS: dict[str, dict[str, Any]] = {
    datastream_id(TENANT, SENSOR, quantity): {
        "id": datastream_id(TENANT, SENSOR, quantity),
        "tenant": TENANT,
        "sensor": SENSOR,
        "quantity": quantity,
        "unit": unit,
    }
    for quantity, unit in UNITS.items()
}
# A numeric id (`"Datastream@iot.id": 42`), one in a non-canonical unit, one of an unknown quantity.
_DATASTREAMS["42"] = {"id": "42", "tenant": TENANT, "sensor": "tube-42", "quantity": "no2", "unit": "ppb"}
_DATASTREAMS["pm1"] = {"id": "pm1", "tenant": TENANT, "sensor": "pm-1", "quantity": "pm1", "unit": None}

DIRECTORY = SensorDirectory(
    known_sensors=lambda keys: set(keys),
    tenant_policies=lambda: {},
    datastream=lambda ds_id: _DATASTREAMS.get(ds_id),
)


def new_decoder() -> MessageDecoder:
    """A decoder with fresh TTN frame counters (the mappings and directory are shared)."""
    return MessageDecoder(
        mappings=MAPPINGS, directory=DIRECTORY, max_future_s=MAX_FUTURE_S, late_after_s=LATE_AFTER_S
    )


SC_X_SENSOR = (
    SensorCommunityEncoder()
    .encode(TENANT, SENSOR, [make_reading(RECEIVED, "no2", 1.0)])[0]
    .headers["X-Sensor"]
)

TOPICS: dict[str, tuple[str, ...]] = {
    "native": (f"pakhuis/v1/{TENANT}/{SENSOR}/native",),
    "senml": (f"pakhuis/v1/{TENANT}/{SENSOR}/senml",),
    "ttn": (f"v3/pakhuis-sim@{TENANT}/devices/{SENSOR}/up",),
    "sta": (
        sta_topic(datastream_id(TENANT, SENSOR, "no2")),
        "v1.1/Observations",
        "v1.1/Datastreams(42)/Observations",
    ),
    "sensorcommunity": (f"pakhuis/v1/{TENANT}/{SC_X_SENSOR}/sensorcommunity",),
}

# -- vocabularies the generators draw from ------------------------------------------------------

FIELD_NAMES = (
    "time", "time_end", "quantity", "value", "unit",
    "bn", "bt", "bu", "bv", "bs", "bver", "n", "t", "u", "v", "s", "vs", "vb", "vd", "ut",
    "end_device_ids", "device_id", "uplink_message", "decoded_payload", "received_at", "f_cnt",
    "session_key_id", "rx_metadata", "gateway_ids", "gateway_id", "rssi", "snr",
    "phenomenonTime", "resultTime", "result", "Datastream@iot.id", "Datastream", "@iot.id",
    "received", "pin", "body", "sensordatavalues", "value_type", "software_version",
)  # fmt: skip
MEASUREMENT_NAMES = (
    "no2", "NO2", "no2_ppb", "no2_ppm", "urn:dev:pakhuis:air-001:no2", "urn:dev:x:", "pm10", "P1", "P2",
    "pm2.5", "SDS_P2", "temperature", "Temp", "humidity", "rh", "fill_level", "fill_ratio", "sludge_mm",
    "sludge_cm", "battery_mv", "batv", "bridge_state", "state", "deck_angle", "angle",
    "vessel_passage", "vessels", "samples", "rssi", "SNR", "signal", "interval", " no2 ", "ozone", "",
)  # fmt: skip
UNIT_STRINGS = (
    "ug/m3", "µg/m³", "ppb", "ppm", "mg/m3", "Cel", "degC", "°C", "degF", "F", "K", "kelvin", "%",
    "%RH", "/", "fraction", "ratio", "mm", "cm", "m", "V", "mV", "state", "count", "deg", "1", "",
    " ", "furlong",
)  # fmt: skip
TIME_STRINGS = (
    RECEIVED.isoformat(),
    "2026-11-22T10:00:00Z",
    "2026-11-22T10:00:00",  # naive
    "2026-11-22T11:00:00+01:00",
    "2026-11-22T12:00:00Z",  # too far ahead
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # in range, but not in UTC
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-10-25T00:00:00Z/2026-11-22T00:00:00Z",
    "2026-11-22T00:00:00Z/2026-10-25T00:00:00Z",  # ends before it starts
    "2026-11-22T10:00:00Z/",
    "now",
    "",
)
SPECIAL_VALUES: tuple[Any, ...] = (
    0, -0.0, -1, -1e-9, 1e-320, 2.5, 3.0000001, 61, -51, 2001, 5001, 1.9125,
    1e308, -1e308, math.inf, -math.inf, math.nan, 2**63, 2**64 + 1, 10**400, -(10**400),
    True, False, None, "12.5", "nan", "1e999", "", 42, "demo:air-001:no2", "42",
)  # fmt: skip

# -- hypothesis strategies ----------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(SPECIAL_VALUES),
    st.sampled_from(TIME_STRINGS),
    st.sampled_from(UNIT_STRINGS),
    st.sampled_from(MEASUREMENT_NAMES),
)
_keys = st.one_of(st.sampled_from(FIELD_NAMES), st.sampled_from(MEASUREMENT_NAMES), st.text(max_size=8))
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=8,
)
# Shallow values for the skeletons' fields: a tenth of the cost of `json_values`.
_shallow = _scalars | st.lists(_scalars, max_size=2) | st.dictionaries(_keys, _scalars, max_size=2)


def _skeleton(fmt: str) -> st.SearchStrategy[Any]:
    """Random values in the format's own shape, so the decoders get past their first checks."""
    v = _shallow
    times = st.sampled_from(TIME_STRINGS) | v
    names = st.sampled_from(MEASUREMENT_NAMES) | v
    units = st.sampled_from(UNIT_STRINGS) | v
    if fmt == "native":
        item = st.fixed_dictionaries(
            {}, optional={"time": times, "quantity": names, "value": v, "unit": units, "time_end": times}
        )
        return item | st.lists(item, max_size=6)
    if fmt == "senml":
        # Thirteen optional fields a record: scalars only, or this skeleton costs 10 ms an example.
        opt = dict.fromkeys(("bn", "n"), st.sampled_from(MEASUREMENT_NAMES) | _scalars)
        opt |= dict.fromkeys(("bu", "u"), st.sampled_from(UNIT_STRINGS) | _scalars)
        opt |= dict.fromkeys(("bt", "bv", "bs", "bver", "t", "v", "s", "vs", "vb", "vd", "ut"), _scalars)
        return st.lists(st.fixed_dictionaries({}, optional=opt), max_size=4)
    if fmt == "ttn":
        uplink = st.fixed_dictionaries(
            {"decoded_payload": st.dictionaries(names.filter(lambda n: isinstance(n, str)), v, max_size=6)},
            optional={"f_cnt": v, "received_at": times, "rx_metadata": v, "session_key_id": v},
        )
        return st.fixed_dictionaries(
            {
                "end_device_ids": st.fixed_dictionaries({"device_id": st.just(SENSOR) | v}),
                "uplink_message": uplink,
            },
            optional={"received_at": times},
        )
    if fmt == "sta":
        return st.fixed_dictionaries(
            {},
            optional={
                "result": v,
                "phenomenonTime": times,
                "resultTime": times,
                "Datastream@iot.id": st.sampled_from(sorted(_DATASTREAMS)) | v,
                "Datastream": st.fixed_dictionaries({"@iot.id": st.sampled_from(sorted(_DATASTREAMS)) | v}),
            },
        )
    assert fmt == "sensorcommunity"
    entry = st.fixed_dictionaries({}, optional={"value_type": names, "value": v})
    body = st.fixed_dictionaries(
        {"sensordatavalues": st.lists(entry, max_size=6) | v}, optional={"software_version": v}
    )
    return st.fixed_dictionaries({"received": times, "body": body.map(json.dumps) | v}, optional={"pin": v})


def _value_strategy(quantity: str) -> st.SearchStrategy[float]:
    low, high = RANGES[quantity]
    if QUANTITIES[Quantity(quantity)].integral:
        return st.integers(int(low), int(high)).map(float)
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# Sensor.Community carries only NO2, temperature and humidity (see its encoder's docstring).
_FORMAT_QUANTITIES = {fmt: tuple(UNITS) for fmt in FORMAT_NAMES} | {
    "sensorcommunity": ("no2", "temperature", "humidity")
}
# From 299 s ahead of the receive time (just inside max_future_s) to 30 days back (late).
_OFFSET_US = (-299_000_000, 30 * 86_400 * 1_000_000)


# Strategies are built once: Hypothesis validates every new strategy object, which costs more
# than drawing from it.
_VALUES = {q: _value_strategy(q) for q in UNITS}
_QUANTITY_SETS = {
    fmt: st.lists(st.sampled_from(_FORMAT_QUANTITIES[fmt]), min_size=1, unique=True) for fmt in FORMAT_NAMES
}
_OFFSETS = st.integers(*_OFFSET_US)


@st.composite
def _ticks(draw: st.DrawFn, fmt: str) -> list[NativeReading]:
    quantities = draw(_QUANTITY_SETS[fmt])
    t = RECEIVED - timedelta(microseconds=draw(_OFFSETS))
    return [make_reading(t, q, draw(_VALUES[q])) for q in quantities]


TICKS = {fmt: _ticks(fmt) for fmt in FORMAT_NAMES}


def random_tick(rnd: random.Random, fmt: str) -> list[NativeReading]:
    """`ticks` from a seeded Random (mutation property, summary run); a tenth of the values and
    times sit on the edges of their ranges."""
    pool = _FORMAT_QUANTITIES[fmt]
    offset = rnd.choice(_OFFSET_US) if rnd.random() < 0.1 else rnd.randint(*_OFFSET_US)
    t = RECEIVED - timedelta(microseconds=offset)
    readings = []
    for q in rnd.sample(pool, rnd.randint(1, len(pool))):
        low, high = RANGES[q]
        integral = QUANTITIES[Quantity(q)].integral
        if rnd.random() < 0.1:
            value = rnd.choice((low, high))
        else:
            value = float(rnd.randint(int(low), int(high))) if integral else rnd.uniform(low, high)
        readings.append(make_reading(t, q, value))
    return readings


# -- valid messages from the encoders -----------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    quantity: Quantity
    value: float
    time: datetime
    time_end: datetime | None = None


@dataclass
class Message:
    """A valid message: its topic, its JSON document and what it must decode to."""

    fmt: str
    topic: str
    doc: Any
    expected: list[Expected]
    tenant: str = TENANT
    sensor: str = SENSOR

    def payload(self) -> bytes:
        return serialise(self.fmt, self.doc)


def serialise(fmt: str, doc: Any) -> bytes:
    if fmt == "sensorcommunity" and isinstance(doc, dict) and isinstance(doc.get("body"), dict | list):
        doc = {**doc, "body": json.dumps(doc["body"])}
    return json.dumps(doc).encode("utf-8")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def messages_for(
    fmt: str, tick: Sequence[NativeReading], *, variant: int = 0, ttn: TtnEncoder | None = None
) -> list[Message]:
    """The messages the format's encoder sends for `tick`; `variant` picks among equivalent forms
    (STA: topic, `Datastream@iot.id` or nested `Datastream`, instant or interval; TTN: how many
    uplinks the session sent before)."""
    canonical = [Expected(Quantity(r["quantity"]), r["value"], _time(r["time"])) for r in tick]
    if fmt == "native":
        [wire] = NativeEncoder().encode(TENANT, SENSOR, tick)
        return [Message(fmt, wire.topic_or_path, json.loads(wire.payload), canonical)]
    if fmt == "senml":
        [wire] = SenmlEncoder().encode(TENANT, SENSOR, tick)
        lagged = [
            Expected(e.quantity, e.value, e.time - timedelta(seconds=SAMPLE_LAG_S.get(e.quantity.value, 0)))
            for e in canonical
        ]
        return [Message(fmt, wire.topic_or_path, json.loads(wire.payload), lagged)]
    if fmt == "ttn":
        encoder = ttn if ttn is not None else TtnEncoder()
        for _ in range(variant % 3):  # earlier uplinks of the session: f_cnt > 0
            encoder.encode(TENANT, SENSOR, tick)
        [wire] = encoder.encode(TENANT, SENSOR, tick)
        return [Message(fmt, wire.topic_or_path, json.loads(wire.payload), canonical)]
    if fmt == "sta":
        interval = variant % 2 == 1
        wires = StaEncoder(interval=interval).encode(TENANT, SENSOR, tick)
        out = []
        for wire, e in zip(wires, canonical, strict=True):
            doc = json.loads(wire.payload)
            topic = wire.topic_or_path
            ds_id = datastream_id(TENANT, SENSOR, e.quantity.value)
            if variant // 2 % 3 == 1:
                topic, doc = "v1.1/Observations", {"Datastream@iot.id": ds_id, **doc}
            elif variant // 2 % 3 == 2:
                topic, doc = "v1.1/Observations", {**doc, "Datastream": {"@iot.id": ds_id}}
            if interval and e.quantity is Quantity.NO2:
                e = Expected(e.quantity, e.value, e.time - PALMES_PERIOD, e.time)
            out.append(Message(fmt, topic, doc, [e]))
        return out
    assert fmt == "sensorcommunity"
    by_type = {"NO2": Quantity.NO2, "temperature": Quantity.TEMPERATURE, "humidity": Quantity.HUMIDITY}
    values = {e.quantity: e.value for e in canonical}
    out = []
    for wire in SensorCommunityEncoder().encode(TENANT, SENSOR, tick):
        body = json.loads(wire.payload)
        expected = [
            Expected(by_type[entry["value_type"]], values[by_type[entry["value_type"]]], RECEIVED)
            for entry in body["sensordatavalues"]
        ]
        # The HTTP bridge's wrapper (api/routers/http_ingest.py), published on the X-Sensor's topic.
        doc = {"received": RECEIVED.isoformat(), "pin": wire.headers["X-Pin"], "body": body}
        topic = f"pakhuis/v1/{TENANT}/{wire.headers['X-Sensor']}/sensorcommunity"
        out.append(Message(fmt, topic, doc, expected, sensor=wire.headers["X-Sensor"]))
    return out


# -- mutations (driven by a random.Random: hypothesis' st.randoms() or the summary's seed) --------


def random_json(rnd: random.Random, depth: int = 0) -> Any:
    r = rnd.random()
    if depth < 3 and r < 0.12:
        return [random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    if depth < 3 and r < 0.24:
        return {_random_key(rnd): random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 3))}
    pick = rnd.randrange(8)
    if pick == 0:
        return rnd.choice(SPECIAL_VALUES)
    if pick == 1:
        return rnd.randint(-(10**6), 10**6)
    if pick == 2:
        return rnd.uniform(-1e4, 1e4)
    if pick == 3:
        return rnd.choice(TIME_STRINGS)
    if pick == 4:
        return rnd.choice(UNIT_STRINGS)
    if pick == 5:
        return rnd.choice(MEASUREMENT_NAMES)
    if pick == 6:
        return "".join(chr(rnd.choice((rnd.randint(32, 126), rnd.randint(0, 0x10FFFF)))) for _ in range(4))
    return rnd.choice((None, True, False, [], {}))


def _random_key(rnd: random.Random) -> str:
    return rnd.choice((rnd.choice(FIELD_NAMES), rnd.choice(MEASUREMENT_NAMES), str(rnd.randint(0, 9))))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*prefix, index))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


# Where the measurements are: half of the mutations land below these.
_FOCUS = {
    "native": (),
    "senml": (),
    "ttn": ("uplink_message", "decoded_payload"),
    "sta": (),
    "sensorcommunity": ("body", "sensordatavalues"),
}


def _retyped(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return rnd.choice((str(value), [value], {"value": value}, value is not None))
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return rnd.choice((len(value), [value], None))
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return rnd.choice((0, "", []))


def mutate_doc(fmt: str, doc: Any, rnd: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 4)):
        paths = list(_paths(doc))
        focus = [p for p in paths if p[: len(_FOCUS[fmt])] == _FOCUS[fmt] and len(p) > len(_FOCUS[fmt])]
        path = rnd.choice(focus if focus and rnd.random() < 0.5 else paths)
        node = _get(doc, path)
        op = rnd.randrange(9)
        if op == 0 and isinstance(node, dict):  # add a field
            node[_random_key(rnd)] = random_json(rnd)
            continue
        if op == 1 and isinstance(node, list) and node:  # repeat an item
            node.insert(rnd.randrange(len(node) + 1), copy.deepcopy(rnd.choice(node)))
            continue
        if not path:
            doc = rnd.choice((random_json(rnd), [doc], {"payload": doc}, _retyped(doc, rnd)))
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        if op <= 2:  # drop
            del parent[key]
        elif op == 3:
            parent[key] = random_json(rnd)
        elif op == 4:
            parent[key] = _retyped(node, rnd)
        elif op == 5:
            parent[key] = rnd.choice(SPECIAL_VALUES)
        elif op == 6:
            parent[key] = rnd.choice(UNIT_STRINGS) if rnd.random() < 0.5 else rnd.choice(TIME_STRINGS)
        elif op == 7:
            parent[key] = rnd.choice(MEASUREMENT_NAMES)
        elif isinstance(parent, dict) and isinstance(key, str):  # rename the field
            parent[rnd.choice(MEASUREMENT_NAMES + FIELD_NAMES)] = parent.pop(key)
    return doc


def mutate_bytes(payload: bytes, rnd: random.Random) -> bytes:
    data = bytearray(payload)
    op = rnd.randrange(4)
    if op == 0 and data:  # flip bytes
        for _ in range(rnd.randint(1, 3)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif op == 1:  # truncate
        del data[rnd.randint(0, len(data)) :]
    elif op == 2:  # insert
        at = rnd.randint(0, len(data))
        data[at:at] = rnd.choice((b",", b"}", b"]", b'"', b"\\", b"\xff", b"\x00", b"1e999", b"-", b"null"))
    else:  # a digit run where a number was
        text = bytes(data).replace(b"1", b"1" + b"0" * rnd.randint(1, 400), 1)
        data = bytearray(text)
    return bytes(data)


def mutated_payload(message: Message, rnd: random.Random) -> bytes:
    doc = message.doc
    if rnd.random() < 0.9:
        doc = mutate_doc(message.fmt, doc, rnd)
    if (
        message.fmt == "sensorcommunity"
        and isinstance(doc, dict)
        and isinstance(doc.get("body"), dict | list)
    ):
        body = json.dumps(doc["body"]).encode()
        if rnd.random() < 0.1:
            body = mutate_bytes(body, rnd)
        doc = {**doc, "body": body.decode("utf-8", errors="surrogateescape")}
    payload = serialise(message.fmt, doc)
    if rnd.random() < 0.15:
        payload = mutate_bytes(payload, rnd)
    return payload


# -- the accounting oracle -------------------------------------------------------------------------

_UNUSABLE = object()


def _loads(payload: bytes | str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, too many digits
        return _UNUSABLE


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _valid_time(text: Any) -> bool:
    """An ISO-8601 date-time with an offset that exists in UTC, written only in ISO-8601's own
    characters (fromisoformat alone also takes e.g. '10:05:00.123456]+00:00' or a trailing NUL)."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    if not 4 <= len(text) <= 40 or not set(text) <= set("0123456789TtWZz:+.,- "):
        return False
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            return False
        value.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


@dataclass(frozen=True)
class Accounting:
    items: int | None  # None: the message is unusable as a whole
    skipped: frozenset[int] = frozenset()
    indexed: bool = False  # refusals carry the item's index


def _account(fmt: str, topic: str, payload: bytes) -> Accounting:
    doc = _loads(payload)
    if doc is _UNUSABLE:
        return Accounting(None)
    return {
        "native": _account_native,
        "senml": _account_senml,
        "ttn": _account_ttn,
        "sta": _account_sta,
        "sensorcommunity": _account_sensorcommunity,
    }[fmt](topic, doc)


def _account_native(topic: str, doc: Any) -> Accounting:
    if isinstance(doc, dict):
        return Accounting(1)
    if isinstance(doc, list) and doc:
        return Accounting(len(doc), indexed=True)
    return Accounting(None)


def _senml_base_ok(record: dict[str, Any]) -> bool:
    if "bver" in record and not (_is_number(record["bver"]) and isinstance(record["bver"], int)):
        return False
    if "bver" in record and record["bver"] > 10:
        return False
    if "bn" in record and not isinstance(record["bn"], str):
        return False
    if any(key in record and not _is_number(record[key]) for key in ("bt", "bv", "bs")):
        return False
    return not ("bu" in record and record["bu"] is not None and not isinstance(record["bu"], str))


def _account_senml(topic: str, doc: Any) -> Accounting:
    records = [doc] if isinstance(doc, dict) else doc
    if not isinstance(records, list) or not records:
        return Accounting(None)
    skipped = frozenset(
        i
        for i, r in enumerate(records)
        if isinstance(r, dict)
        and not any(key in r for key in ("v", "s", "vs", "vb", "vd"))
        and "n" not in r
        and _senml_base_ok(r)
    )
    return Accounting(len(records), skipped, indexed=True)


def _account_ttn(topic: str, doc: Any) -> Accounting:
    device = topic.split("/")[3]
    application = topic.split("/")[1].split("@")[0]
    ids = doc.get("end_device_ids") if isinstance(doc, dict) else None
    if not isinstance(ids, dict) or ids.get("device_id") != device:
        return Accounting(None)
    uplink = doc.get("uplink_message")
    if not isinstance(uplink, dict) or not isinstance(uplink.get("decoded_payload"), dict):
        return Accounting(None)
    if not _valid_time(doc.get("received_at", uplink.get("received_at"))):
        return Accounting(None)
    f_cnt = uplink.get("f_cnt", 0)
    if not (_is_number(f_cnt) and isinstance(f_cnt, int)):
        return Accounting(None)
    fields = uplink["decoded_payload"]
    skipped = frozenset(
        i
        for i, (name, value) in enumerate(fields.items())
        if MAPPINGS.lookup(name, profile=application) is None
        and (name.lower() in MAPPINGS.ignored or value is None or isinstance(value, str | dict | list))
    )
    return Accounting(len(fields), skipped)


def _account_sta(topic: str, doc: Any) -> Accounting:
    return Accounting(1)  # one Observation: stored or refused, nothing else


def _account_sensorcommunity(topic: str, doc: Any) -> Accounting:
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("body"), str)
        or not _valid_time(doc.get("received"))
    ):
        return Accounting(None)
    body = _loads(doc["body"].encode("utf-8", errors="surrogatepass"))
    values = body.get("sensordatavalues") if isinstance(body, dict) else None
    if not isinstance(values, list):
        return Accounting(None)
    skipped = frozenset(
        i
        for i, entry in enumerate(values)
        if isinstance(entry, dict)
        and isinstance(entry.get("value_type"), str)
        and MAPPINGS.lookup(entry["value_type"]) is None
        and entry["value_type"].lower() in MAPPINGS.ignored
    )
    return Accounting(len(values), skipped, indexed=True)


# -- the checks ------------------------------------------------------------------------------------


def check_reading(fmt: str, topic: str, reading: Reading) -> None:
    spec = QUANTITIES[reading.quantity]
    assert isinstance(reading.quantity, Quantity)
    assert math.isfinite(reading.value), reading
    assert spec.minimum <= reading.value <= spec.maximum, reading
    if spec.integral:
        assert reading.value == round(reading.value), reading
    for t in (reading.time, reading.received, reading.time_end):
        assert t is None or (t.tzinfo is not None and t.utcoffset() == timedelta(0)), reading
    assert reading.time_end is None or reading.time_end >= reading.time, reading
    assert reading.received == RECEIVED
    assert reading.time - RECEIVED <= timedelta(seconds=MAX_FUTURE_S), reading
    late = RECEIVED - reading.time > timedelta(seconds=LATE_AFTER_S)
    assert bool((reading.metadata or {}).get("late")) == late, reading
    assert reading.source_format == fmt
    if fmt == "sta":
        assert (reading.tenant, reading.sensor) in {(d["tenant"], d["sensor"]) for d in _DATASTREAMS.values()}
    else:
        tenant = TENANT
        sensor = topic.split("/")[3]
        assert (reading.tenant, reading.sensor) == (tenant, sensor), reading


def check_envelope(fmt: str, topic: str, payload: bytes, envelope: Envelope) -> None:
    assert envelope.topic == topic
    assert envelope.payload == payload
    assert envelope.readings or envelope.dead_letter is not None or envelope.duplicates > 0
    dead = envelope.dead_letter
    if dead is not None:
        assert type(dead.payload) is bytes and dead.payload == payload
        assert dead.topic == topic
        assert dead.decoder == fmt
        assert dead.received == RECEIVED
        assert dead.rejections
        assert dead.reason.strip() and dead.reason_code
        assert all(r.code and r.reason.strip() for r in dead.rejections)
    for reading in envelope.readings:
        check_reading(fmt, topic, reading)


def check_conservation(fmt: str, topic: str, payload: bytes, envelope: Envelope) -> None:
    refusals = list(envelope.dead_letter.rejections) if envelope.dead_letter is not None else []
    readings = len(envelope.readings)
    if envelope.duplicates:
        assert fmt == "ttn" and envelope.duplicates == 1 and readings == 0 and not refusals, envelope
        return
    accounting = _account(fmt, topic, payload)
    context = f"{accounting}; {readings} readings; refusals {[(r.code, r.item) for r in refusals]}"
    if accounting.items is None:
        assert readings == 0 and len(refusals) == 1, f"whole message unusable: {context}"
        return
    measured = accounting.items - len(accounting.skipped)
    if measured == 0:
        assert readings == 0 and len(refusals) == 1, f"no measurement in it: {context}"
        return
    assert readings + len(refusals) == measured, context
    if accounting.indexed:
        items = [r.item for r in refusals if r.item is not None]
        assert len(items) == len(refusals), f"a refusal names no item: {context}"
        assert len(set(items)) == len(items), context
        assert all(0 <= i < accounting.items and i not in accounting.skipped for i in items), context


def decode_and_check(fmt: str, topic: str, payload: bytes, decoder: MessageDecoder | None = None) -> Envelope:
    envelope = (decoder or new_decoder()).decode(topic, payload, RECEIVED)
    check_envelope(fmt, topic, payload, envelope)
    check_conservation(fmt, topic, payload, envelope)
    return envelope


# -- a. arbitrary bytes ----------------------------------------------------------------------------

_json_ish = st.text(alphabet='{}[]":,0123456789.-eE ntrufalsNIy\\', max_size=60).map(str.encode)
_BYTES = st.binary(max_size=400) | _json_ish
_TOPIC_CHOICE = {fmt: st.sampled_from(TOPICS[fmt]) for fmt in FORMAT_NAMES}
_DOCUMENTS = {fmt: json_values | _skeleton(fmt) for fmt in FORMAT_NAMES}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@_settings("bytes")
@given(data=st.data())
def test_arbitrary_bytes_never_raise_and_are_accounted_for(fmt: str, data: st.DataObject) -> None:
    topic = data.draw(_TOPIC_CHOICE[fmt])
    payload = data.draw(_BYTES)
    decode_and_check(fmt, topic, payload)


# -- b. arbitrary JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@_settings("json")
@given(data=st.data())
def test_arbitrary_json_never_raises_and_is_accounted_for(fmt: str, data: st.DataObject) -> None:
    topic = data.draw(_TOPIC_CHOICE[fmt])
    document = data.draw(_DOCUMENTS[fmt])
    decode_and_check(fmt, topic, json.dumps(document).encode("utf-8"))


# -- c. mutated valid payloads -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@_settings("mutated")
@given(seed=st.integers(0, 2**64 - 1))
def test_mutated_payloads_conserve_every_item(fmt: str, seed: int) -> None:
    # The seed drives the tick, the variant and the mutations: Hypothesis draws one number per
    # example (st.randoms() or drawn ticks cost 3-7 ms an example); a failure prints the payload.
    rnd = random.Random(seed)
    message = rnd.choice(messages_for(fmt, random_tick(rnd, fmt), variant=rnd.randint(0, 5)))
    payload = mutated_payload(message, rnd)
    note(f"topic {message.topic}\npayload {payload!r}")
    decode_and_check(fmt, message.topic, payload)


# -- d. valid payloads round-trip ------------------------------------------------------------------

# How far the encoders round canonical values (see each encoder's docstring); 0 = exact.
_ROUNDING: dict[str, dict[str, float]] = {
    "native": {},
    "sta": {},
    "senml": {},  # sludge depth goes through metres: float error only
    "ttn": {
        "no2": 0.005 * NO2_UGM3_PER_PPB,
        "temperature": 0.005,
        "humidity": 0.005,
        "fill_level": 0.005,
        "deck_angle": 0.005,
        "sludge_depth": 0.05,
        "battery": 0.0005,
    },
    "sensorcommunity": {"no2": 0.005, "temperature": 0.005, "humidity": 0.005},
}


def check_round_trip(message: Message, envelope: Envelope) -> None:
    assert envelope.dead_letter is None, envelope.dead_letter.reason
    assert envelope.duplicates == 0
    assert len(envelope.readings) == len(message.expected)
    got = {r.quantity: r for r in envelope.readings}
    assert len(got) == len(envelope.readings)
    for e in message.expected:
        r = got[e.quantity]
        tolerance = _ROUNDING[message.fmt].get(e.quantity.value, 0.0) + 1e-9 * max(1.0, abs(e.value))
        assert abs(r.value - e.value) <= tolerance, (e, r)
        # SenML's bt is float seconds: allow its microsecond rounding.
        slack = timedelta(microseconds=2 if message.fmt == "senml" else 0)
        assert abs(r.time - e.time) <= slack, (e, r)
        assert r.time_end == e.time_end, (e, r)
        assert (r.tenant, r.sensor) == (message.tenant, message.sensor)
        assert r.source_format == message.fmt


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@_settings("roundtrip")
@given(data=st.data())
def test_valid_payloads_round_trip(fmt: str, data: st.DataObject) -> None:
    tick = data.draw(TICKS[fmt], label="tick")
    messages = messages_for(fmt, tick, variant=data.draw(st.integers(0, 5), label="variant"))
    decoder = new_decoder()
    for message in messages:
        payload = message.payload()
        envelope = decoder.decode(message.topic, payload, RECEIVED)
        check_envelope(fmt, message.topic, payload, envelope)
        check_round_trip(message, envelope)


def test_ttn_repeat_is_a_duplicate_and_a_new_session_is_not() -> None:
    tick = [make_reading(RECEIVED - timedelta(minutes=1), "no2", 20.0)]
    [message] = messages_for("ttn", tick, variant=1)
    decoder = new_decoder()
    first = decoder.decode(message.topic, message.payload(), RECEIVED)
    again = decoder.decode(message.topic, message.payload(), RECEIVED)
    assert len(first.readings) == 1 and first.dead_letter is None
    assert again.readings == [] and again.dead_letter is None and again.duplicates == 1
    rejoined = copy.deepcopy(message.doc)
    rejoined["uplink_message"]["session_key_id"] = "bmV3IHNlc3Npb24="
    after_rejoin = decoder.decode(message.topic, serialise("ttn", rejoined), RECEIVED)
    assert len(after_rejoin.readings) == 1 and after_rejoin.duplicates == 0


# -- inputs the properties found that made a decoder raise (each a source bug) -------------------


def _ttn_doc(**uplink: Any) -> dict[str, Any]:
    return {
        "end_device_ids": {"device_id": SENSOR},
        "received_at": "2026-11-22T10:00:00Z",
        "uplink_message": {"decoded_payload": {"no2": 20}, **uplink},
    }


def _sc_doc(received: str = "2026-11-22T10:00:00Z", value: str = '"20.5"') -> bytes:
    body = '{"sensordatavalues":[{"value_type":"NO2","value":' + value + "}]}"
    return json.dumps({"received": received, "pin": "1", "body": body}).encode()


_DIGITS = b"1" * 5000  # a JSON integer longer than Python's int-string limit (4,300 digits)
_HUGE_INT = "1" + "0" * 400  # fits that limit, but not in a float

N, S, T, A, C = (TOPICS[f][0] for f in FORMAT_NAMES)
_Y1 = "0001-01-01T00:00:00+01:00"  # a valid ISO-8601 time whose UTC form is before year 1
_Y9999 = "9999-12-31T23:59:59-01:00"  # ... or after year 9999

FOUND: list[Any] = [
    # ingest/jsondoc.py load_json catches JSONDecodeError, not the plain ValueError json.loads
    # raises for an integer of more than 4,300 digits (sys.int_info.default_max_str_digits).
    pytest.param("native", N, _DIGITS, {"bad_json"}, id="json-int-digits-native"),
    pytest.param("senml", S, b"[" + _DIGITS + b"]", {"bad_json"}, id="json-int-digits-senml"),
    pytest.param("ttn", T, _DIGITS, {"bad_json"}, id="json-int-digits-ttn"),
    pytest.param("sta", A, b'{"result":' + _DIGITS + b"}", {"bad_json"}, id="json-int-digits-sta"),
    pytest.param(
        "sensorcommunity", C, _sc_doc(value=_DIGITS.decode()), {"bad_json"}, id="json-int-digits-sc-body"
    ),
    # ingest/build.py parse_time: astimezone(UTC) of such a time raises OverflowError ("date value
    # out of range") instead of giving a bad_time refusal.
    pytest.param(
        "native", N, json.dumps({"time": _Y1, "quantity": "no2", "value": 1}).encode(), {"bad_time"},
        id="time-year-1-native",
    ),
    pytest.param(
        "native", N, json.dumps({"time": "2026-11-22T10:00:00Z", "time_end": _Y9999, "quantity": "no2",
                                 "value": 1}).encode(),
        {"bad_time"}, id="time-end-year-9999-native",
    ),
    pytest.param(
        "ttn", T, json.dumps({**_ttn_doc(), "received_at": _Y1}).encode(), {"bad_time"}, id="time-year-1-ttn"
    ),
    pytest.param(
        "sta", A, json.dumps({"result": 1, "phenomenonTime": _Y1}).encode(), {"bad_time"},
        id="time-year-1-sta",
    ),
    pytest.param(
        "sensorcommunity", C, _sc_doc(received=_Y9999), {"bad_time"}, id="time-year-9999-sensorcommunity"
    ),
    # ingest/senml.py: `base_name + (record.get("n") or "")` runs before n is checked to be a string.
    pytest.param("senml", S, b'[{"n":5,"v":1}]', {"missing_field", "bad_shape"}, id="senml-n-int"),
    pytest.param("senml", S, b'[{"n":["no2"],"v":1}]', {"missing_field", "bad_shape"}, id="senml-n-list"),
    # ingest/senml.py: `_num(t)` maps a huge integer t to inf, but then `float(t)` is called again.
    pytest.param(
        "senml", S, ('[{"n":"no2","v":1,"t":' + _HUGE_INT + "}]").encode(), {"bad_time"},
        id="senml-t-huge-int",
    ),
    # ingest/sensorcommunity.py: float() of a huge JSON integer raises OverflowError; only
    # ValueError is caught.
    pytest.param(
        "sensorcommunity", C, _sc_doc(value=_HUGE_INT), {"bad_value", "non_finite", "out_of_range"},
        id="sensorcommunity-value-huge-int",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "topic", "payload", "codes"), FOUND)
def test_found_inputs_are_refused_not_raised(fmt: str, topic: str, payload: bytes, codes: set[str]) -> None:
    envelope = decode_and_check(fmt, topic, payload)
    assert envelope.readings == []
    assert envelope.dead_letter is not None
    assert {r.code for r in envelope.dead_letter.rejections} <= codes, envelope.dead_letter.reason


@pytest.mark.parametrize("rx_metadata", [5, 1.5, True], ids=["int", "float", "bool"])
def test_found_ttn_bad_rx_metadata_keeps_the_reading(rx_metadata: Any) -> None:
    """ingest/ttn.py `_gateways`: `for gw in uplink.get("rx_metadata") or []` iterates a number.

    rx_metadata is radio metadata, not a measurement: a bad one must not lose the reading."""
    payload = json.dumps(_ttn_doc(rx_metadata=rx_metadata)).encode()
    envelope = decode_and_check("ttn", TOPICS["ttn"][0], payload)
    assert [r.quantity for r in envelope.readings] == [Quantity.NO2]
    assert envelope.dead_letter is None


# -- the mixed-traffic conservation run ----------------------------------------------------------

SUMMARY_MESSAGES = 50_000


@dataclass
class Tally:
    messages_in: int = 0
    readings_only: int = 0
    with_dead_letter: int = 0
    partial: int = 0  # readings and a dead letter
    duplicates_only: int = 0
    readings: int = 0
    refusals: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    raised: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


def _summary_message(
    rnd: random.Random, fmt: str, ttn: dict[str, TtnEncoder], sent_ttn: list[tuple[str, bytes]]
) -> tuple[str, str, bytes]:
    """(kind, topic, payload): valid 40 %, mutated 40 %, garbage 20 %; and TTN repeats.

    A repeat is one of the last ten valid uplinks again (as gateways and webhook retries send
    them), well inside the frame-counter window. Valid and mutated uplinks come from encoders
    with different LoRaWAN sessions, so a mutated frame counter never stands in for a rejoin of
    the valid session."""
    r = rnd.random()
    if fmt == "ttn" and sent_ttn and r < 0.05:
        topic, payload = rnd.choice(sent_ttn[-10:])
        return "repeat", topic, payload
    if r < 0.2:
        topic = rnd.choice(TOPICS[fmt])
        if rnd.random() < 0.5:
            return "garbage", topic, rnd.randbytes(rnd.randint(0, 200))
        return "garbage", topic, json.dumps(random_json(rnd)).encode()
    valid = r < 0.6
    encoder = ttn["valid" if valid else "mutated"]
    message = rnd.choice(messages_for(fmt, random_tick(rnd, fmt), variant=rnd.randint(0, 5), ttn=encoder))
    if valid:
        if fmt == "ttn":
            sent_ttn.append((message.topic, message.payload()))
        return "valid", message.topic, message.payload()
    return "mutated", message.topic, mutated_payload(message, rnd)


def run_summary(seed: int, count: int) -> Tally:
    rnd = random.Random(seed)
    decoder = new_decoder()  # one decoder for all: TTN frame counters see the repeats
    ttn = {"valid": TtnEncoder(), "mutated": TtnEncoder()}
    sent_ttn: list[tuple[str, bytes]] = []
    tally = Tally()
    for _ in range(count):
        fmt = rnd.choice(FORMAT_NAMES)
        kind, topic, payload = _summary_message(rnd, fmt, ttn, sent_ttn)
        tally.messages_in += 1
        tally.kinds[kind] += 1
        try:
            envelope = decoder.decode(topic, payload, RECEIVED)
        except Exception as exc:  # noqa: BLE001 - the run counts every exception, then fails on any
            tally.raised[f"{fmt}: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            continue
        try:
            check_envelope(fmt, topic, payload, envelope)
            check_conservation(fmt, topic, payload, envelope)
            if kind == "valid":
                assert envelope.dead_letter is None and envelope.readings, "a valid message was refused"
            if kind == "repeat":
                assert envelope.duplicates == 1, "a repeated uplink was not counted as a duplicate"
        except AssertionError as exc:
            if len(tally.violations) < 20:
                tally.violations.append(f"{fmt} {kind} {topic} {payload[:200]!r}: {exc}")
        refusals = envelope.dead_letter.rejections if envelope.dead_letter is not None else ()
        tally.readings += len(envelope.readings)
        tally.refusals += len(refusals)
        if envelope.duplicates and not envelope.readings and envelope.dead_letter is None:
            tally.duplicates_only += 1
        elif envelope.dead_letter is not None:
            tally.with_dead_letter += 1
            tally.partial += bool(envelope.readings)
        elif envelope.readings:
            tally.readings_only += 1
    return tally


def test_conservation_summary(capsys: pytest.CaptureFixture[str]) -> None:
    tally = run_summary(seed=20261122, count=SUMMARY_MESSAGES)
    with capsys.disabled():
        print(
            f"\n[conservation] {tally.messages_in:,} messages ({dict(tally.kinds)}): "
            f"{tally.readings_only:,} readings only, {tally.with_dead_letter:,} with a dead letter "
            f"({tally.partial:,} of them partly stored), {tally.duplicates_only:,} duplicates only; "
            f"{tally.readings:,} readings, {tally.refusals:,} refusals; "
            f"raised {sum(tally.raised.values()):,}"
        )
    assert not tally.raised, "decoders raised:\n" + "\n".join(
        f"{n:6,} × {what}" for what, n in tally.raised.most_common()
    )
    assert not tally.violations, "\n".join(tally.violations)
    assert tally.messages_in == SUMMARY_MESSAGES
    assert tally.messages_in == tally.readings_only + tally.with_dead_letter + tally.duplicates_only
    assert tally.duplicates_only > 0 and tally.partial > 0 and tally.readings_only > 0
