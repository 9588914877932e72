"""Sensor.Community (luftdaten) push: `POST /v1/push-sensor-data/` with headers `X-Sensor` and
`X-Pin` and a body `{"software_version": …, "sensordatavalues": [{"value_type": "P1",
"value": "12.3"}, …]}` (values are strings; there is no timestamp).

The HTTP endpoint bridges the push onto MQTT as `pakhuis/v1/{tenant}/{X-Sensor}/sensorcommunity`
wrapped with the headers and its receive time, so the time is when the city received it:
`{"received": "<ISO-8601>", "pin": "1", "body": "<the body as sent>"}`. Value types map through
the name table (P1 → pm10, P2 → pm25, temperature, humidity, NO2 …); diagnostics (samples,
signal …) are skipped; any other type is refused as unmapped.
"""

from __future__ import annotations

import math

from ingest.build import build_reading, parse_time
from ingest.context import DecodeContext, Decoded
from ingest.jsondoc import load_json
from pakhuis.reading import Reading, Rejection

FORMAT = "sensorcommunity"


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    assert ctx.tenant is not None and ctx.sensor is not None
    wrapper = load_json(payload)
    if isinstance(wrapper, Rejection):
        return Decoded([], [wrapper])
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("body"), str):
        return Decoded(
            [], [Rejection("bad_shape", "expected the HTTP bridge's wrapper {received, pin, body}")]
        )
    time = parse_time(wrapper.get("received"), "received", None)
    if isinstance(time, Rejection):
        return Decoded([], [time])
    body = load_json(wrapper["body"].encode("utf-8", errors="surrogatepass"))
    if isinstance(body, Rejection):
        return Decoded([], [body])
    values = body.get("sensordatavalues") if isinstance(body, dict) else None
    if not isinstance(values, list):
        return Decoded([], [Rejection("missing_field", "sensordatavalues is missing or not a list")])
    metadata = {"pin": str(wrapper.get("pin")), "software_version": body.get("software_version")}
    readings: list[Reading] = []
    rejections: list[Rejection] = []
    for index, entry in enumerate(values):
        if not isinstance(entry, dict) or not isinstance(entry.get("value_type"), str):
            rejections.append(Rejection("bad_shape", "each value needs a value_type", index))
            continue
        value_type = entry["value_type"]
        mapped = ctx.mappings.lookup(value_type)
        if mapped is None:
            if value_type.lower() not in ctx.mappings.ignored:
                rejections.append(
                    Rejection("unmapped_field", f"value_type {value_type!r} maps to no quantity", index)
                )
            continue
        raw = entry.get("value")
        try:
            value = (
                float(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else math.nan
            )
        except (ValueError, OverflowError):
            rejections.append(Rejection("bad_value", f"{value_type} value {raw!r} is not a number", index))
            continue
        if math.isnan(value) and not (isinstance(raw, str) and raw.strip().lower() == "nan"):
            rejections.append(Rejection("bad_value", f"{value_type} value {raw!r} is not a number", index))
            continue
        quantity, unit = mapped
        outcome = build_reading(
            ctx,
            tenant=ctx.tenant,
            sensor=ctx.sensor,
            quantity=quantity,
            value=value,
            unit=unit,
            time=time,
            source_format=FORMAT,
            item=index,
            metadata=metadata,
        )
        if isinstance(outcome, Rejection):
            rejections.append(outcome)
        else:
            readings.append(outcome)
    if not readings and not rejections:
        rejections.append(Rejection("missing_field", "the push holds no measurement"))
    return Decoded(readings, rejections)
