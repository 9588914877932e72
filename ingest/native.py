"""The native payload: one JSON object or a JSON list of objects.

    {"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": 23.4, "unit": "ug/m3"}

`unit` is optional when the value is in the canonical unit; `time_end` (ISO-8601) marks an
interval observation such as a 4-weekly diffusion-tube mean. Each item is checked on its own:
a bad item is refused with a reason while the message's good items are still stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.topics import TopicInfo
from ingest.units import UnknownUnit, to_canonical
from ingest.validate import check_time, check_value
from pakhuis.quantities import QUANTITIES, Quantity, parse_quantity
from pakhuis.reading import Reading, Rejection

FORMAT = "native"


@dataclass(frozen=True, slots=True)
class Decoded:
    readings: list[Reading]
    rejections: list[Rejection]


def parse_time(text: Any, field: str, item: int | None) -> datetime | Rejection:
    if not isinstance(text, str):
        return Rejection("bad_time", f"{field} must be an ISO-8601 string, got {type(text).__name__}", item)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return Rejection("bad_time", f"{field} {text!r} is not an ISO-8601 date-time", item)
    if value.tzinfo is None:
        return Rejection(
            "bad_time",
            f"{field} {text!r} has no UTC offset; add 'Z' or e.g. '+01:00' so it is unambiguous",
            item,
        )
    return value.astimezone(UTC)


def _decode_item(
    obj: Any, item: int | None, topic: TopicInfo, received: datetime, max_future_s: float
) -> Reading | Rejection:
    if not isinstance(obj, dict):
        return Rejection("bad_shape", f"expected a JSON object, got {type(obj).__name__}", item)
    missing = [key for key in ("time", "quantity", "value") if key not in obj]
    if missing:
        return Rejection("missing_field", f"missing field(s): {', '.join(missing)}", item)
    name = obj["quantity"]
    quantity = parse_quantity(name) if isinstance(name, str) else None
    if quantity is None:
        known = ", ".join(q.value for q in Quantity)
        return Rejection("unknown_quantity", f"unknown quantity {name!r}; known: {known}", item)
    raw_value = obj["value"]
    # bool is an int in Python; a sensor sending true/false for a number is a bug, not a 1.
    if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
        return Rejection("bad_value", f"{quantity.value} value {raw_value!r} is not a number", item)
    unit = obj.get("unit")
    if unit is not None and not isinstance(unit, str):
        return Rejection("unknown_unit", f"unit {unit!r} must be a string", item)
    try:
        value = to_canonical(quantity, float(raw_value), unit)
    except UnknownUnit as exc:
        return Rejection("unknown_unit", str(exc), item)
    except OverflowError:
        value = float("inf")
    time = parse_time(obj["time"], "time", item)
    if isinstance(time, Rejection):
        return time
    time_end: datetime | None = None
    if obj.get("time_end") is not None:
        parsed_end = parse_time(obj["time_end"], "time_end", item)
        if isinstance(parsed_end, Rejection):
            return parsed_end
        if parsed_end < time:
            return Rejection("bad_time", "time_end lies before time", item)
        time_end = parsed_end
    problem = check_value(quantity, value, item) or check_time(time, received, max_future_s, item)
    if problem is not None:
        return problem
    if QUANTITIES[quantity].integral:
        value = float(round(value))
    return Reading(
        tenant=topic.tenant,
        sensor=topic.sensor,
        quantity=quantity,
        value=value,
        time=time,
        received=received,
        source_format=FORMAT,
        time_end=time_end,
    )


def decode(payload: bytes, topic: TopicInfo, received: datetime, max_future_s: float) -> Decoded:
    try:
        document = json.loads(payload)
    except UnicodeDecodeError:
        return Decoded([], [Rejection("bad_json", "payload is not UTF-8 text")])
    except json.JSONDecodeError as exc:
        return Decoded([], [Rejection("bad_json", f"payload is not valid JSON: {exc}")])
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
    readings: list[Reading] = []
    rejections: list[Rejection] = []
    for index, obj in enumerate(items):
        outcome = _decode_item(obj, index if indexed else None, topic, received, max_future_s)
        if isinstance(outcome, Rejection):
            rejections.append(outcome)
        else:
            readings.append(outcome)
    return Decoded(readings, rejections)
