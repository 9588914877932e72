"""A JSON array written a chunk of rows at a time, for pages served from plain row tuples.

Pydantic validation of 10,000 response models costs more memory and time than the rows
themselves; the listings that page by keyset encode their rows here, in the same shape
(timestamps as ISO 8601 with `Z` for UTC, as Pydantic writes them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

__all__ = ["json_array_chunks"]

_ROWS_PER_CHUNK = 500


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def json_array_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """`[row, row, …]` as UTF-8 chunks of a few hundred rows each."""
    yield b"["
    parts: list[str] = []
    first = True
    for row in rows:
        text = json.dumps(row, default=_default, separators=(",", ":"), allow_nan=False)
        parts.append(text if first else "," + text)
        first = False
        if len(parts) >= _ROWS_PER_CHUNK:
            yield "".join(parts).encode("utf-8")
            parts.clear()
    yield ("".join(parts) + "]").encode("utf-8")
