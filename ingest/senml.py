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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(slots=True)
class _Base:
    """The base fields in force: a record that sets one applies it to itself and those after it."""

    name: str = ""
    time: float = 0.0
    unit: str | None = None
    value: float = 0.0
    sum: float = 0.0


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    assert ctx.tenant is not None and ctx.sensor is not None
    pack = _pack(payload)
    if isinstance(pack, Rejection):
        return Decoded([], [pack])
    return Decoded.from_outcomes(_records(pack, ctx))


def _pack(payload: bytes) -> list[Any] | Rejection:
    """The pack's records; a single record object counts as a pack of one."""
    document = load_json(payload)
    if isinstance(document, Rejection):
        return document
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list) or not document:
        return Rejection("bad_shape", "a SenML pack must be a non-empty JSON array of records")
    return document


def _records(pack: list[Any], ctx: DecodeContext) -> Iterator[Reading | Rejection]:
    """One reading or refusal per record that carries a value (or is malformed), in pack order."""
    base = _Base()
    now = ctx.received.timestamp()
    for index, record in enumerate(pack):
        if not isinstance(record, dict):
            yield Rejection("bad_shape", f"record must be an object, got {type(record).__name__}", index)
            continue
        # Base fields first: they also apply to this record.
        refused = _apply_base(record, base, index)
        outcome = refused if refused is not None else _record(record, base, index, ctx, now)
        if outcome is not None:
            yield outcome


def _apply_base(record: dict[str, Any], base: _Base, index: int) -> Rejection | None:
    """Take the record's base fields into `base`, or refuse the record if one is malformed."""
    if "bver" in record:
        version = record["bver"]
        if not isinstance(version, int) or isinstance(version, bool) or version > _SUPPORTED_VERSION:
            return Rejection("bad_shape", f"unsupported SenML version {version!r}", index)
    problem = None
    if "bn" in record:
        if not isinstance(record["bn"], str):
            problem = "bn must be a string"
        else:
            base.name = record["bn"]
    for key in ("bt", "bv", "bs"):
        if key in record and _num(record[key]) is None:
            problem = f"{key} must be a number"
    if "bu" in record and record["bu"] is not None and not isinstance(record["bu"], str):
        problem = "bu must be a string"
    if problem:
        return Rejection("bad_shape", problem, index)
    base.time = _num_or(record, "bt", base.time)
    base.value = _num_or(record, "bv", base.value)
    base.sum = _num_or(record, "bs", base.sum)
    base.unit = record.get("bu", base.unit)
    return None


def _num_or(record: dict[str, Any], key: str, default: float) -> float:
    value = _num(record[key]) if key in record else None
    return default if value is None else value


def _record(
    record: dict[str, Any], base: _Base, index: int, ctx: DecodeContext, now: float
) -> Reading | Rejection | None:
    """The record's reading or refusal; None for a base-only record."""
    assert ctx.tenant is not None and ctx.sensor is not None
    measured = _measured(record, base, index)
    if measured is None or isinstance(measured, Rejection):
        return measured
    name, value = measured
    time = _time(record, base, index, now)
    if isinstance(time, Rejection):
        return time
    mapped = ctx.mappings.lookup(name) or ctx.mappings.lookup(_SEGMENT.split(name)[-1])
    if mapped is None:
        return Rejection("unknown_quantity", f"SenML name {name!r} maps to no quantity", index)
    quantity, table_unit = mapped
    unit = record.get("u", base.unit)
    if unit is not None and not isinstance(unit, str):
        return Rejection("unknown_unit", f"unit {unit!r} must be a string", index)
    metadata = None
    if "ut" in record and _num(record["ut"]) is not None:
        metadata = {"senml_update_time_s": record["ut"]}
    return build_reading(
        ctx,
        tenant=ctx.tenant,
        sensor=ctx.sensor,
        quantity=quantity,
        value=value,
        unit=unit if unit is not None else table_unit,
        time=time,
        source_format=FORMAT,
        item=index,
        metadata=metadata,
    )


def _measured(record: dict[str, Any], base: _Base, index: int) -> tuple[str, float] | Rejection | None:
    """The record's full name and value (base value or sum added); None if it has no value."""
    if not any(key in record for key in ("v", "vs", "vb", "vd", "s")):
        if "n" in record:
            return Rejection("missing_field", "record has a name but no value", index)
        return None  # a base-only record
    if any(key in record for key in ("vs", "vb", "vd")):
        return Rejection(
            "bad_value", "string, boolean and data values (vs, vb, vd) are not pakhuis quantities", index
        )
    if not isinstance(record.get("n", ""), str) or not (name := base.name + record.get("n", "")):
        return Rejection("missing_field", "record has no name (n or bn)", index)
    raw = record["v"] if "v" in record else record["s"]
    offset = base.value if "v" in record else base.sum
    value = _num(raw)
    if value is None:
        return Rejection("bad_value", f"{name} value {raw!r} is not a number", index)
    return name, offset + value


def _time(record: dict[str, Any], base: _Base, index: int, now: float) -> datetime | Rejection:
    """The record's time: base time plus `t`, relative to now when small (RFC 8428 4.5.3)."""
    t = record.get("t", 0.0)
    relative = _num(t)
    if relative is None:
        return Rejection("bad_time", f"t {t!r} is not a number", index)
    seconds = base.time + relative
    if abs(seconds) < _RELATIVE_LIMIT:
        seconds = now + seconds
    return epoch_time(seconds, "time", index)
