"""SenML (RFC 8428, JSON) on `pakhuis/v1/{tenant}/{sensor}/senml`.

A pack is a JSON array of records. Base fields (`bn`, `bt`, `bu`, `bv`, `bs`, `bver`) apply to
the records that follow until changed; a record's name is `bn + n`, its time `bt + t`, its value
`bv + v` (or `bs + s` for a sum), its unit `u` or else `bu`. Times below 2**28 are relative to
now (section 4.5.3). The quantity is found from the full name, or else its last `:`/`/`
segment, through the name table (so `no2`, `NO2` and `urn:dev:x:no2` all map). String, boolean
and data values (`vs`, `vb`, `vd`) carry no pakhuis quantity and are refused.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from ingest.build import build_reading, epoch_time
from ingest.context import DecodeContext, Decoded
from ingest.jsondoc import load_json
from pakhuis.reading import Reading, Rejection

FORMAT = "senml"
_RELATIVE_LIMIT = 2**28
_SUPPORTED_VERSION = 10
_SEGMENT = re.compile(r"[:/]")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    assert ctx.tenant is not None and ctx.sensor is not None
    document = load_json(payload)
    if isinstance(document, Rejection):
        return Decoded([], [document])
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list) or not document:
        return Decoded([], [Rejection("bad_shape", "a SenML pack must be a non-empty JSON array of records")])
    readings: list[Reading] = []
    rejections: list[Rejection] = []
    base_name, base_time, base_unit, base_value, base_sum = "", 0.0, None, 0.0, 0.0
    now = ctx.received.timestamp()
    for index, record in enumerate(document):
        if not isinstance(record, dict):
            rejections.append(
                Rejection("bad_shape", f"record must be an object, got {type(record).__name__}", index)
            )
            continue
        # Base fields first: they also apply to this record.
        if "bver" in record:
            version = record["bver"]
            if not isinstance(version, int) or isinstance(version, bool) or version > _SUPPORTED_VERSION:
                rejections.append(Rejection("bad_shape", f"unsupported SenML version {version!r}", index))
                continue
        problem = None
        if "bn" in record:
            if not isinstance(record["bn"], str):
                problem = "bn must be a string"
            else:
                base_name = record["bn"]
        for key in ("bt", "bv", "bs"):
            if key in record and _num(record[key]) is None:
                problem = f"{key} must be a number"
        if "bu" in record and record["bu"] is not None and not isinstance(record["bu"], str):
            problem = "bu must be a string"
        if problem:
            rejections.append(Rejection("bad_shape", problem, index))
            continue
        base_time = _num(record["bt"]) if "bt" in record else base_time  # type: ignore[assignment]
        base_value = _num(record["bv"]) if "bv" in record else base_value  # type: ignore[assignment]
        base_sum = _num(record["bs"]) if "bs" in record else base_sum  # type: ignore[assignment]
        base_unit = record.get("bu", base_unit)
        has_value = any(key in record for key in ("v", "vs", "vb", "vd", "s"))
        if not has_value:
            if "n" in record:
                rejections.append(Rejection("missing_field", "record has a name but no value", index))
            continue  # a base-only record
        if any(key in record for key in ("vs", "vb", "vd")):
            rejections.append(
                Rejection(
                    "bad_value",
                    "string, boolean and data values (vs, vb, vd) are not pakhuis quantities",
                    index,
                )
            )
            continue
        if not isinstance(record.get("n", ""), str) or not (name := base_name + record.get("n", "")):
            rejections.append(Rejection("missing_field", "record has no name (n or bn)", index))
            continue
        raw = record["v"] if "v" in record else record["s"]
        offset = base_value if "v" in record else base_sum
        value = _num(raw)
        if value is None:
            rejections.append(Rejection("bad_value", f"{name} value {raw!r} is not a number", index))
            continue
        t = record.get("t", 0.0)
        if _num(t) is None:
            rejections.append(Rejection("bad_time", f"t {t!r} is not a number", index))
            continue
        seconds = base_time + _num(t)  # type: ignore[operator]
        if abs(seconds) < _RELATIVE_LIMIT:
            seconds = now + seconds
        time = epoch_time(seconds, "time", index)
        if isinstance(time, Rejection):
            rejections.append(time)
            continue
        mapped = ctx.mappings.lookup(name) or ctx.mappings.lookup(_SEGMENT.split(name)[-1])
        if mapped is None:
            rejections.append(
                Rejection("unknown_quantity", f"SenML name {name!r} maps to no quantity", index)
            )
            continue
        quantity, table_unit = mapped
        unit = record.get("u", base_unit)
        if unit is not None and not isinstance(unit, str):
            rejections.append(Rejection("unknown_unit", f"unit {unit!r} must be a string", index))
            continue
        metadata = None
        if "ut" in record and _num(record["ut"]) is not None:
            metadata = {"senml_update_time_s": record["ut"]}
        outcome = build_reading(
            ctx,
            tenant=ctx.tenant,
            sensor=ctx.sensor,
            quantity=quantity,
            value=offset + value,
            unit=unit if unit is not None else table_unit,
            time=time + timedelta(0),
            source_format=FORMAT,
            item=index,
            metadata=metadata,
        )
        (rejections if isinstance(outcome, Rejection) else readings).append(outcome)  # type: ignore[arg-type]
    return Decoded(readings, rejections)
