"""The Things Stack v3 uplinks: MQTT `v3/{application}@{tenant}/devices/{device}/up`, or the same
JSON over the HTTP webhook (`POST /api/v1/ingest/ttn`, bridged onto that topic).

Fields used: `end_device_ids.device_id` (must match the topic), `received_at` (the reading time),
`uplink_message.decoded_payload` (each field mapped to a quantity through the application's
profile, then the general name table; diagnostic fields are skipped, anything else unmapped is
refused so a fixed mapping can replay it), `uplink_message.f_cnt` (a repeated counter is a
duplicate uplink: counted, not stored again; a jump is a gap: counted as lost uplinks), and the
gateways of `rx_metadata`, kept as reading metadata.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.build import build_reading, number, parse_time
from ingest.context import DecodeContext, Decoded
from ingest.jsondoc import load_json
from pakhuis.reading import Reading, Rejection

FORMAT = "ttn"


@dataclass(slots=True)
class CounterStats:
    duplicates: int = 0
    gaps: int = 0
    lost_uplinks: int = 0


class FrameCounters:
    """The last frame counters seen per device (bounded), to spot repeated and missing uplinks.

    Per ingest process: with several processes behind a shared subscription a repeat may reach
    another process; the store's (sensor, quantity, time) identity still stores an exact
    repeat once.
    """

    def __init__(self, capacity: int = 100_000, window: int = 64) -> None:
        self._seen: OrderedDict[tuple[str, str], tuple[int, set[int]]] = OrderedDict()
        self._capacity = capacity
        self._window = window
        self._lock = threading.Lock()
        self.stats = CounterStats()

    def check(self, tenant: str, device: str, f_cnt: int, session: str = "") -> bool:
        """True for a new uplink, False for a repeat. A new session (rejoin) restarts the counter."""
        key = (tenant, f"{device}\x00{session}")
        with self._lock:
            last, recent = self._seen.get(key, (None, set()))
            if f_cnt in recent:
                self.stats.duplicates += 1
                return False
            if last is not None and f_cnt > last + 1:
                self.stats.gaps += 1
                self.stats.lost_uplinks += f_cnt - last - 1
            recent = {c for c in recent if c > f_cnt - self._window} | {f_cnt}
            # A counter far below the last one: the device rejoined and restarted at 0.
            newest = f_cnt if last is None or f_cnt > last or last - f_cnt > self._window else last
            self._seen[key] = (newest, recent)
            self._seen.move_to_end(key)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
        return True


def _gateways(uplink: dict[str, Any]) -> list[dict[str, Any]]:
    result = []
    raw = uplink.get("rx_metadata")
    for gw in raw if isinstance(raw, list) else []:
        if not isinstance(gw, dict):
            continue
        raw_ids = gw.get("gateway_ids")
        ids: dict[str, Any] = raw_ids if isinstance(raw_ids, dict) else {}
        entry = {"gateway_id": ids.get("gateway_id"), "rssi": gw.get("rssi"), "snr": gw.get("snr")}
        result.append({k: v for k, v in entry.items() if v is not None})
    return result


@dataclass(frozen=True, slots=True)
class _Uplink:
    """The parts of a well-formed uplink that its readings are made from."""

    device: str
    time: datetime
    f_cnt: int
    session: str  # the LoRaWAN session key id; "" when absent
    fields: dict[str, Any]  # uplink_message.decoded_payload
    gateways: list[dict[str, Any]]


def decode(payload: bytes, ctx: DecodeContext, counters: FrameCounters | None = None) -> Decoded:
    assert ctx.tenant is not None and ctx.sensor is not None
    application = ctx.topic.split("/")[1].split("@")[0] if ctx.topic.startswith("v3/") else None
    uplink = _uplink(payload, ctx)
    if isinstance(uplink, Rejection):
        return Decoded([], [uplink])
    if counters is not None and not counters.check(ctx.tenant, uplink.device, uplink.f_cnt, uplink.session):
        return Decoded([], [], duplicates=1)
    decoded = Decoded.from_outcomes(_field_readings(uplink, application, ctx))
    if not decoded.readings and not decoded.rejections:
        return Decoded([], [Rejection("missing_field", "decoded_payload holds no measurement")])
    return decoded


def _uplink(payload: bytes, ctx: DecodeContext) -> _Uplink | Rejection:
    """The uplink's device, time, counter and payload fields, or why the whole message is refused."""
    document = load_json(payload)
    if isinstance(document, Rejection):
        return document
    if not isinstance(document, dict):
        return Rejection("bad_shape", "a TTN uplink must be a JSON object")
    ids = document.get("end_device_ids")
    device = ids.get("device_id") if isinstance(ids, dict) else None
    if not isinstance(device, str):
        return Rejection("missing_field", "end_device_ids.device_id is missing")
    if device != ctx.sensor:
        return Rejection(
            "bad_shape", f"device_id {device!r} does not match the topic's device {ctx.sensor!r}"
        )
    uplink = document.get("uplink_message")
    if not isinstance(uplink, dict):
        return Rejection("missing_field", "uplink_message is missing")
    fields = uplink.get("decoded_payload")
    if not isinstance(fields, dict):
        return Rejection(
            "missing_field", "uplink_message.decoded_payload is missing (set a payload formatter in TTN)"
        )
    time = parse_time(document.get("received_at", uplink.get("received_at")), "received_at", None)
    if isinstance(time, Rejection):
        return time
    f_cnt = uplink.get("f_cnt", 0)
    if isinstance(f_cnt, bool) or not isinstance(f_cnt, int):
        return Rejection("bad_shape", f"f_cnt {f_cnt!r} is not an integer")
    session = uplink.get("session_key_id")
    return _Uplink(
        device=device,
        time=time,
        f_cnt=f_cnt,
        session=session if isinstance(session, str) else "",
        fields=fields,
        gateways=_gateways(uplink),
    )


def _field_readings(
    uplink: _Uplink, application: str | None, ctx: DecodeContext
) -> Iterator[Reading | Rejection]:
    """A reading or refusal per measurement field of the decoded payload, in payload order."""
    assert ctx.tenant is not None
    metadata: dict[str, Any] = {"f_cnt": uplink.f_cnt, "gateways": uplink.gateways}
    if application:
        metadata["application"] = application
    for field_name, raw in uplink.fields.items():
        mapped = ctx.mappings.lookup(field_name, profile=application)
        if mapped is None:
            if (
                field_name.lower() in ctx.mappings.ignored
                or isinstance(raw, str | dict | list)
                or raw is None
            ):
                continue  # diagnostics and non-numeric fields carry no measurement
            yield Rejection(
                "unmapped_field",
                f"decoded_payload field {field_name!r} maps to no quantity (add it to the profile)",
            )
            continue
        quantity, unit = mapped
        value = number(raw, field_name, None)
        if isinstance(value, Rejection):
            yield value
            continue
        yield build_reading(
            ctx,
            tenant=ctx.tenant,
            sensor=uplink.device,
            quantity=quantity,
            value=value,
            unit=unit,
            time=uplink.time,
            source_format=FORMAT,
            metadata=metadata,
        )
