"""The native payload: one JSON object or a JSON list of objects.

    {"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 23.4, "unit": "ug/m3"}

`unit` is optional when the value is in the canonical unit; `time_end` (ISO-8601) marks an
interval observation such as a 4-weekly diffusion-tube mean. Each item is checked on its own:
a bad item is refused with a reason while the message's good items are still stored.
"""

from __future__ import annotations

from typing import Any

from ingest.build import build_reading, number, parse_time
from ingest.context import DecodeContext, Decoded
from ingest.jsondoc import load_json
from pakhuis.reading import Reading, Rejection

FORMAT = "native"


def _decode_item(
    obj: Any, item: int | None, ctx: DecodeContext, tenant: str, sensor: str
) -> Reading | Rejection:
    if not isinstance(obj, dict):
        return Rejection("bad_shape", f"expected a JSON object, got {type(obj).__name__}", item)
    missing = [key for key in ("time", "quantity", "value") if key not in obj]
    if missing:
        return Rejection("missing_field", f"missing field(s): {', '.join(missing)}", item)
    name = obj["quantity"]
    if not isinstance(name, str):
        return Rejection("unknown_quantity", f"quantity must be a name, got {name!r}", item)
    value = number(obj["value"], name, item)
    if isinstance(value, Rejection):
        return value
    unit = obj.get("unit")
    if unit is not None and not isinstance(unit, str):
        return Rejection("unknown_unit", f"unit {unit!r} must be a string", item)
    time = parse_time(obj["time"], "time", item)
    if isinstance(time, Rejection):
        return time
    time_end = None
    if obj.get("time_end") is not None:
        parsed_end = parse_time(obj["time_end"], "time_end", item)
        if isinstance(parsed_end, Rejection):
            return parsed_end
        time_end = parsed_end
    return build_reading(
        ctx,
        tenant=tenant,
        sensor=sensor,
        quantity=name,
        value=value,
        unit=unit,
        time=time,
        time_end=time_end,
        source_format=FORMAT,
        item=item,
    )


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    assert ctx.tenant is not None and ctx.sensor is not None  # the topic names them
    document = load_json(payload)
    if isinstance(document, Rejection):
        return Decoded([], [document])
    if isinstance(document, dict):
        items: list[Any] = [document]
        indexed = False
    elif isinstance(document, list):
        if not document:
            return Decoded([], [Rejection("bad_shape", "payload is an empty list")])
        items = document
        indexed = True
    else:
        return Decoded(
            [],
            [
                Rejection(
                    "bad_shape",
                    f"payload must be a JSON object or a list of objects, got {type(document).__name__}",
                )
            ],
        )
    return Decoded.from_outcomes(
        _decode_item(obj, index if indexed else None, ctx, ctx.tenant, ctx.sensor)
        for index, obj in enumerate(items)
    )
