"""Parameter types shared by the routers."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, WithJsonSchema

__all__ = ["ISO_DATETIME_PATTERN", "IsoDatetime"]

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
