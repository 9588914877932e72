"""Text PostgreSQL can store: what it refuses in `text` and `jsonb`, and how to clean it away.

PostgreSQL refuses a NUL character in `text` (and `\\u0000` in `jsonb`), and anything that is
not valid UTF-8; Python strings can also hold lone surrogates (from `\\ud800` in JSON or
`surrogateescape`), which do not encode to UTF-8 at all. Texts a person reads (refusal reasons,
topics of dead letters) are cleaned: NUL and other C0 control characters but tab and newline
become `\\x00`-style escapes, lone surrogates become U+FFFD. Identifiers (tenant, sensor) are
never cleaned, because a cleaned id would be a different sensor: they are refused instead
(see `is_identifier`).
"""

from __future__ import annotations

import math
import re
from typing import Any

# NUL and the C0 controls except tab/newline/carriage return, DEL, and lone surrogates.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Tenant and sensor ids end up in URLs, file names and SQL parameters: keep them plain.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# jsonb nests at most this deep in what we write; deeper values are replaced by a note.
_MAX_DEPTH = 32


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\ufffd" if "\ud800" <= char <= "\udfff" else f"\\x{ord(char):02x}"


def clean_text(text: str) -> str:
    """`text` without what PostgreSQL refuses (escaped, so a reader still sees it was there)."""
    # The common case (nothing to clean) costs one regex scan and no copy.
    return _UNSTORABLE.sub(_escape, text) if _UNSTORABLE.search(text) else text


def clean_json(value: Any, depth: int = 0) -> Any:
    """A JSON-able value whose strings (keys included) are cleaned for `jsonb`."""
    if isinstance(value, str):
        return clean_text(value)
    if depth >= _MAX_DEPTH and isinstance(value, dict | list | tuple):
        return "(nested too deep)"
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # jsonb has no NaN or infinity
    return value


def is_identifier(value: object) -> bool:
    """A tenant or sensor id: 1-64 letters, digits or . _ : -, starting with a letter or digit
    (the whole string: a trailing newline is not an identifier)."""
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def storable_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    """Raw bytes as `bytea` takes them (a `str` payload is encoded, lone surrogates kept)."""
    if isinstance(data, str):
        return data.encode("utf-8", errors="surrogatepass")
    return bytes(data)
