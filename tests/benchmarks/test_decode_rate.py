"""Decode throughput per wire format, in one process: `MessageDecoder.decode` on realistic traffic.

Workload: a simulated fleet (`sensors_sim.fleet.build_fleet`: air-quality sensors, drains,
bridges) ticking once a minute, every tick encoded by each format's own encoder
(`sensors_sim.formats`), 20,000 messages per format. Each message is decoded with its receive
time two seconds after the tick, by a decoder with a sensor directory (as `pakhuis ingest`
builds it) that knows the fleet's SensorThings Datastreams.

Baseline, measured in the same run on the same bytes: `json.loads` of every payload, the floor
every JSON decoder stands on. The ratio says which share of the bare parse rate survives routing,
field mapping, unit conversion, validation and building Readings. Best of three runs each.

    pytest tests/benchmarks/test_decode_rate.py -s      # prints the figures
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.decode import MessageDecoder
from ingest.directory import SensorDirectory
from sensors_sim.fleet import build_fleet
from sensors_sim.formats import datastreams_for, new_encoder

pytestmark = [pytest.mark.benchmark]

FORMATS = ("native", "senml", "ttn", "sta", "sensorcommunity")
MESSAGES = 20_000
REPEATS = 3
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
LAG = timedelta(seconds=2)  # receive time after the tick


@dataclass
class Workload:
    messages: dict[str, list[tuple[str, bytes, datetime]]]
    readings: dict[str, int]  # readings the encoders put in those messages
    directory: SensorDirectory


def _wire(fmt: str, topic_or_path: str, payload: bytes, headers: dict[str, str], received: datetime) -> Any:
    if fmt != "sensorcommunity":
        return topic_or_path, payload
    # What the HTTP push endpoint publishes (api/routers/http_ingest.py).
    wrapper = {"received": received.isoformat(), "pin": headers["X-Pin"], "body": payload.decode()}
    return f"pakhuis/v1/bench/{headers['X-Sensor']}/sensorcommunity", json.dumps(wrapper).encode()


@pytest.fixture(scope="module")
def workload() -> Workload:
    fleet = build_fleet(seed=11, tenant="bench", air=20, drains=20, bridges=5)
    encoders = {fmt: new_encoder(fmt) for fmt in FORMATS}
    messages: dict[str, list[tuple[str, bytes, datetime]]] = {fmt: [] for fmt in FORMATS}
    carried: dict[str, list[int]] = {fmt: [] for fmt in FORMATS}  # readings per message
    t = START
    while any(len(m) < MESSAGES for m in messages.values()):
        for emulator in fleet:
            tick = emulator.readings_at(t)
            if not tick:
                continue  # a simulated radio dropout
            for fmt, encoder in encoders.items():
                if len(messages[fmt]) >= MESSAGES:
                    continue
                for wire in encoder.encode(emulator.tenant, emulator.sensor_id, tick):
                    topic, payload = _wire(fmt, wire.topic_or_path, wire.payload, wire.headers, t + LAG)
                    messages[fmt].append((topic, payload, t + LAG))
                    carried[fmt].append(wire.readings)
        t += timedelta(minutes=1)
    for fmt in FORMATS:  # one tick may overshoot MESSAGES (STA, Sensor.Community: several per tick)
        del messages[fmt][MESSAGES:]
    readings = {fmt: sum(carried[fmt][:MESSAGES]) for fmt in FORMATS}
    streams = {d["id"]: dict(d) for d in datastreams_for(fleet)}
    directory = SensorDirectory(
        known_sensors=lambda keys: set(keys),
        tenant_policies=lambda: {},
        datastream=streams.get,
    )
    return Workload(messages, readings, directory)


def _best(run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


@pytest.mark.parametrize("fmt", FORMATS)
def test_decode_rate(fmt: str, workload: Workload, capsys: pytest.CaptureFixture[str]) -> None:
    messages = workload.messages[fmt]
    assert len(messages) == MESSAGES

    def decode_all() -> tuple[int, int, int]:
        decoder = MessageDecoder(directory=workload.directory)  # fresh TTN frame counters each run
        readings = dead = duplicates = 0
        for topic, payload, received in messages:
            envelope = decoder.decode(topic, payload, received)
            readings += len(envelope.readings)
            dead += envelope.dead_letter is not None
            duplicates += envelope.duplicates
        return readings, dead, duplicates

    def parse_all() -> int:
        parsed = 0
        for _topic, payload, _received in messages:
            json.loads(payload)
            parsed += 1
        return parsed

    decode_s, (readings, dead, duplicates) = _best(decode_all)
    parse_s, parsed = _best(parse_all)
    msg_rate = len(messages) / decode_s
    reading_rate = readings / decode_s
    baseline = parsed / parse_s
    with capsys.disabled():
        print(
            f"\n[benchmark] decode {fmt}: {reading_rate:,.0f} readings/s ({msg_rate:,.0f} msg/s); "
            f"baseline json.loads {baseline:,.0f} msg/s; ratio {msg_rate / baseline:.3f}× json.loads "
            f"({readings / len(messages):.2f} readings/message, {len(messages):,} messages)"
        )
    assert dead == 0 and duplicates == 0
    assert readings == workload.readings[fmt]
    assert reading_rate > 0 and msg_rate > 0 and baseline > 0
