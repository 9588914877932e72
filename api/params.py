"""Parameter types shared by the routers."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BeforeValidator, WithJsonSchema

__all__ = ["ISO_DATETIME_PATTERN", "IsoDatetime", "IsoDatetimeOrDate", "instant"]

# A date, "T", a time and an offset ("Z" or ±hh:mm): what the documentation promises.
ISO_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
_ISO = re.compile(ISO_DATETIME_PATTERN.removeprefix("^").removesuffix("$"))


def _iso_only(value: Any) -> Any:
    # Pydantic would also take "0" or "1700000000" as a Unix time; a timestamp parameter here
    # is ISO 8601 with an offset, nothing else.
    if isinstance(value, str) and not _ISO.fullmatch(value):
        raise ValueError("expected ISO 8601 with an offset, e.g. 2026-11-22T10:00:00Z")
    return value


IsoDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_only),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": ISO_DATETIME_PATTERN}),
]


ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_DATE = re.compile(ISO_DATE_PATTERN.removeprefix("^").removesuffix("$"))


def _iso_or_date(value: Any) -> Any:
    if isinstance(value, str) and _DATE.fullmatch(value):
        return date.fromisoformat(value)  # a ValueError (not a real day) is the client's 400
    return _iso_only(value)


# A bound in time: ISO 8601 with an offset, or a plain date meaning local midnight in the
# reporting time zone (`instant` turns it into that moment).
IsoDatetimeOrDate = Annotated[
    AwareDatetime | date,
    BeforeValidator(_iso_or_date),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "pattern": ISO_DATETIME_PATTERN},
                {"type": "string", "format": "date", "pattern": ISO_DATE_PATTERN},
            ]
        }
    ),
]


def instant(value: datetime | date | None, timezone: str) -> datetime | None:
    """`value` as a moment: a datetime as it is, a date as its midnight in `timezone`."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), ZoneInfo(timezone))
