"""The one path from decoded fields to a canonical Reading: unit conversion, then validation.

Every decoder ends here, so all formats convert and validate identically; a decoder only
has to find the fields in its own format.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.context import DecodeContext
from ingest.units import UnknownUnit, to_canonical
from ingest.validate import check_time, check_value
from pakhuis.pgtext import clean_json
from pakhuis.quantities import QUANTITIES, Quantity, parse_quantity
from pakhuis.reading import Reading, Rejection

_ISO_8601_CHARS = re.compile(r"[0-9TtWZz:+.,\- ]{4,40}")


def parse_time(text: Any, field: str, item: int | None) -> datetime | Rejection:
    """An ISO-8601 date-time with an offset, as UTC; naive or malformed times are refused."""
    if not isinstance(text, str):
        return Rejection("bad_time", f"{field} must be an ISO-8601 string, got {type(text).__name__}", item)
    text = text.strip()
    try:
        # fromisoformat takes any character as the date/time separator and ignores a trailing
        # NUL: only ISO-8601 characters may make a time.
        value = datetime.fromisoformat(text) if _ISO_8601_CHARS.fullmatch(text) else None
    except ValueError:
        value = None
    if value is None:
        return Rejection("bad_time", f"{field} {text!r} is not an ISO-8601 date-time", item)
    if value.tzinfo is None:
        return Rejection(
            "bad_time",
            f"{field} {text!r} has no UTC offset; add 'Z' or e.g. '+01:00' so it is unambiguous",
            item,
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return Rejection("bad_time", f"{field} {text!r} lies outside years 1-9999 in UTC", item)


def epoch_time(seconds: float, field: str, item: int | None) -> datetime | Rejection:
    if not math.isfinite(seconds):
        return Rejection("bad_time", f"{field} {seconds} is not a finite time", item)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return Rejection("bad_time", f"{field} {seconds:g} is not a representable time", item)


def number(raw: Any, what: str, item: int | None) -> float | Rejection:
    """A JSON number (bool excluded: `true` for a value is a firmware bug, not 1)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return Rejection("bad_value", f"{what} value {raw!r} is not a number", item)
    try:
        return float(raw)
    except OverflowError:
        return float("inf")


def build_reading(
    ctx: DecodeContext,
    *,
    tenant: str,
    sensor: str,
    quantity: Quantity | str,
    value: float,
    unit: str | None,
    time: datetime,
    source_format: str,
    item: int | None = None,
    time_end: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> Reading | Rejection:
    if isinstance(quantity, str):
        parsed = parse_quantity(quantity)
        if parsed is None:
            known = ", ".join(q.value for q in Quantity)
            return Rejection("unknown_quantity", f"unknown quantity {quantity!r}; known: {known}", item)
        quantity = parsed
    try:
        canonical = to_canonical(quantity, value, unit)
    except UnknownUnit as exc:
        return Rejection("unknown_unit", str(exc), item)
    except OverflowError:
        canonical = float("inf")
    if time_end is not None and time_end < time:
        return Rejection("bad_time", "the interval ends before it starts", item)
    problem = check_value(quantity, canonical, item) or check_time(time, ctx.received, ctx.max_future_s, item)
    if problem is not None:
        return problem
    if QUANTITIES[quantity].integral:
        canonical = float(round(canonical))
    if ctx.received - time > timedelta(seconds=ctx.late_after_s):
        # Late data is kept (a sensor that was offline catches up) but marked as such.
        metadata = {**(metadata or {}), "late": True}
    if metadata:
        # Metadata quotes the payload (a gateway id, a resultTime): cleaned for jsonb.
        metadata = clean_json(metadata)
    return Reading(
        tenant=tenant,
        sensor=sensor,
        quantity=quantity,
        value=canonical,
        time=time,
        received=ctx.received,
        source_format=source_format,
        time_end=time_end,
        metadata=metadata or None,
    )
