"""What a tenant, sensor, application or device name may be, for parameters and documents.

Names match as a whole (`pakhuis.pgtext.is_identifier`, a `fullmatch`): Python's `$` also
matches before a trailing newline, so `"demo\n"` passed and became a look-alike tenant.
`IDENTIFIER_PATTERN` is the same rule for OpenAPI / Pydantic (whose `$` is the end of text).
Control characters are named separately, so a refusal can say which character it was (a NUL
would otherwise reach PostgreSQL, which refuses NUL in text).
"""

from __future__ import annotations

import re

from pakhuis.pgtext import is_identifier

__all__ = ["IDENTIFIER_PATTERN", "control_character", "is_identifier"]

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
# C0 controls, DEL and the C1 controls: never part of a name, a code or a reason text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character(value: str) -> str | None:
    """The first control character in `value` as "U+000A", or None when there is none."""
    found = _CONTROL.search(value)
    return None if found is None else f"U+{ord(found[0]):04X}"
