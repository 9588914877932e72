"""A seeded corpus of hostile MQTT messages: valid payloads of every format, and mutations of them.

No hypothesis: `random.Random(seed)` makes the same corpus every run, so a failure names a
message number that can be regenerated. Message i has its own phenomenon time, on one of
`SENSORS` sensors (a TTN uplink: on its own device, so no frame counter repeats), so readings
of different messages never share an identity and the expected database contents follow from
decoding each message on its own.

Mutations: JSON-level (a field replaced by a value of the wrong type, a NUL or a lone surrogate
in a string, huge or non-finite numbers, a key removed, deep nesting), byte-level (bits
flipped, truncated, invalid UTF-8 inserted, raw control characters, random bytes, empty,
oversized) and topic-level (control characters in tenant or sensor ids, a trailing newline,
over-long ids, unknown formats, malformed TTN and SensorThings topics).
"""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

BASE = datetime(2026, 10, 1, tzinfo=UTC)
FORMATS = ("native", "native_list", "senml", "ttn", "sta_datastream", "sta_observations", "sensorcommunity")
SENSORS = 1000
# Datastreams the test registers (SensorThings Observations must name a known Datastream).
DATASTREAMS = 20


def datastream_id(tenant: str, k: int) -> str:
    return f"{tenant}-ds{k}"


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _valid(fmt: str, tenant: str, i: int, rnd: random.Random) -> tuple[str, Any]:
    """(topic, JSON document) of a valid message of `fmt`; message i's sensor and time are its own."""
    t = BASE + timedelta(seconds=i)
    sensor = f"f{i % SENSORS}"
    if fmt == "native":
        doc: Any = {
            "time": _iso(t),
            "quantity": "no2",
            "value": round(rnd.uniform(0, 200), 2),
            "unit": "ug/m3",
        }
        return f"pakhuis/v1/{tenant}/{sensor}/native", doc
    if fmt == "native_list":
        doc = [
            {"time": _iso(t), "quantity": "pm10", "value": round(rnd.uniform(0, 90), 1)},
            {"time": _iso(t), "quantity": "temperature", "value": 12.5, "unit": "Cel"},
            {"time": _iso(t), "time_end": _iso(t + timedelta(days=28)), "quantity": "no2", "value": 31.5},
        ]
        return f"pakhuis/v1/{tenant}/{sensor}/native", doc
    if fmt == "senml":
        doc = [
            {
                "bn": f"urn:dev:pakhuis:{sensor}:",
                "bt": t.timestamp(),
                "n": "temperature",
                "u": "Cel",
                "v": 11.0,
            },
            {"n": "NO2", "u": "ppb", "v": 10, "t": 1},
            {"n": "humidity", "u": "%RH", "v": 55, "t": 2},
        ]
        return f"pakhuis/v1/{tenant}/{sensor}/senml", doc
    if fmt == "ttn":
        device = f"d{i}"  # its own device: no frame counter can repeat, whatever the mutations
        doc = {
            "end_device_ids": {"device_id": device, "application_ids": {"application_id": "kolken"}},
            "received_at": _iso(t),
            "uplink_message": {
                "f_port": 1,
                "f_cnt": i,
                "frm_payload": base64.b64encode(bytes([1, 2])).decode(),
                "decoded_payload": {"fill_pct": round(rnd.uniform(0, 100), 1), "battery_mv": 3600},
                "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-1"}, "rssi": -97, "snr": 7.5}],
            },
        }
        return f"v3/kolken@{tenant}/devices/{device}/up", doc
    if fmt == "sta_datastream":
        k = i % DATASTREAMS
        doc = {"phenomenonTime": _iso(t), "result": round(rnd.uniform(0, 100), 2), "resultTime": _iso(t)}
        return f"v1.1/Datastreams('{datastream_id(tenant, k)}')/Observations", doc
    if fmt == "sta_observations":
        k = i % DATASTREAMS
        doc = {"Datastream": {"@iot.id": datastream_id(tenant, k)}, "phenomenonTime": _iso(t), "result": 8}
        return "v1.1/Observations", doc
    body = {
        "software_version": "NRZ-2020-133",
        "sensordatavalues": [
            {"value_type": "P1", "value": f"{rnd.uniform(0, 50):.2f}"},
            {"value_type": "P2", "value": "7.5"},
            {"value_type": "samples", "value": "612345"},
        ],
    }
    doc = {"received": _iso(t), "pin": "1", "body": json.dumps(body)}
    return f"pakhuis/v1/{tenant}/{sensor}/sensorcommunity", doc


_WEIRD_VALUES: list[Any] = [
    None,
    True,
    "",
    "12.5",
    "no2\u0000",
    "x\ud800y",
    "\udfff",
    10**400,
    -(10**30),
    1e308,
    -0.0,
    [],
    {},
    [[[[[[[[[[1]]]]]]]]]],
    {"a": {"b": {"c": None}}},
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "2026-10-01T00:00:00",  # no offset
    "\x00\x01\x02",
    "é" * 300,
]


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if len(prefix) > 8:
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> None:
    for key in path[:-1]:
        doc = doc[key]
    if delete and isinstance(doc, dict):
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


def _json_mutation(doc: Any, rnd: random.Random) -> bytes:
    paths = list(_paths(doc))
    if paths:
        for _ in range(rnd.choice((1, 1, 1, 2, 3))):
            path = rnd.choice(paths)
            try:
                # a copy: the same list placed twice would let later mutations build a cycle
                _set(doc, path, copy.deepcopy(rnd.choice(_WEIRD_VALUES)), delete=rnd.random() < 0.2)
            except (KeyError, IndexError, TypeError):
                pass  # the path went away with an earlier mutation
            paths = list(_paths(doc))
            if not paths:
                break
    # json.dumps escapes NUL and lone surrogates (\u0000, \ud800): valid JSON PostgreSQL refuses.
    return json.dumps(doc, ensure_ascii=rnd.random() < 0.7).encode("utf-8", errors="surrogatepass")


def _byte_mutation(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.randrange(8)
    buf = bytearray(data)
    if kind == 0 and buf:  # flip bits
        for _ in range(rnd.randint(1, 8)):
            buf[rnd.randrange(len(buf))] ^= 1 << rnd.randrange(8)
    elif kind == 1:  # truncate
        del buf[rnd.randrange(len(buf) + 1) :]
    elif kind == 2:  # invalid UTF-8 / raw control characters inside
        at = rnd.randrange(len(buf) + 1)
        buf[at:at] = rnd.choice(
            [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\x01\x1f", b"\xf4\x90\x80\x80"]
        )
    elif kind == 3:  # random bytes
        return rnd.randbytes(rnd.randint(0, 64))
    elif kind == 4:  # empty
        return b""
    elif kind == 5:  # deep nesting
        depth = rnd.choice((100, 1000, 40_000))  # 40,000: 80 kB, over the dead-letter cap
        return b"[" * depth + b"]" * depth
    elif kind == 6:  # a huge number
        return b'{"time":"2026-10-01T00:00:00Z","quantity":"no2","value":1' + b"0" * 5000 + b"}"
    else:  # duplicate a slice
        if buf:
            a = rnd.randrange(len(buf))
            buf[a:a] = buf[a : a + rnd.randint(1, 40)]
    return bytes(buf)


def _topic_mutation(topic: str, tenant: str, i: int, rnd: random.Random) -> str:
    bad_id = rnd.choice(
        ["x\n", "a\tb", "a\x01", "\x7f", "a b", "-lead", "é", "x" * 65, "a/b".replace("/", ".") + "\r"]
    )
    kind = rnd.randrange(6)
    if kind == 0:
        return f"pakhuis/v1/{bad_id}/f{i % SENSORS}/native"
    if kind == 1:
        return f"pakhuis/v1/{tenant}/{bad_id}/native"
    if kind == 2:
        fmt = rnd.choice(["csv", "NATIVE", "", "senml\n"])
        return f"pakhuis/v1/{tenant}/f{i}/{fmt}"
    if kind == 3:
        return f"v3/kolken@{bad_id}/devices/d{i}/up"
    if kind == 4:
        return rnd.choice(["v1.1/Things", "v1.1/Datastreams(')/Observations", "v1.1/Observations/x"])
    return f"v3/kolken@{tenant}/devices/{bad_id}/up"


def generate(count: int, tenant: str, seed: int = 11) -> list[tuple[str, bytes, str]]:
    """`count` (topic, payload, kind) messages; kind says how it was made (valid / mutation)."""
    rnd = random.Random(seed)
    corpus: list[tuple[str, bytes, str]] = []
    mutate: dict[str, Callable[[str, Any, int], tuple[str, bytes]]] = {
        "valid": lambda topic, doc, i: (topic, json.dumps(doc).encode()),
        "json": lambda topic, doc, i: (topic, _json_mutation(doc, rnd)),
        "bytes": lambda topic, doc, i: (topic, _byte_mutation(json.dumps(doc).encode(), rnd)),
        "topic": lambda topic, doc, i: (_topic_mutation(topic, tenant, i, rnd), json.dumps(doc).encode()),
    }
    kinds = ["valid", "json", "bytes", "topic"]
    weights = [35, 35, 22, 8]
    for i in range(count):
        fmt = rnd.choice(FORMATS)
        topic, doc = _valid(fmt, tenant, i, rnd)
        kind = rnd.choices(kinds, weights)[0]
        topic, payload = mutate[kind](topic, doc, i)
        corpus.append((topic, payload, f"{fmt}:{kind}"))
    # A few oversized payloads (over the 256 KiB ingest limit, and over the dead-letter cap).
    for k in range(5):
        corpus[rnd.randrange(count)] = (
            f"pakhuis/v1/{tenant}/big{k}/native",
            b"[" + b"1," * 150_000 + b"1]",
            "big",
        )
    return corpus
