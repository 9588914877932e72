"""Strict parameters for every route: no control characters in any path or query parameter.

A NUL in `tenant`, `sensor` or `reason` used to reach PostgreSQL (which refuses NUL in text)
and came back as a 500; a newline made a look-alike tenant. This app-wide dependency refuses
both with a 400 that names the parameter, before any route or the store sees the value.
"""

from __future__ import annotations

from fastapi import Request

from pakhuis.errors import InvalidParameter
from pakhuis.identifiers import control_character

__all__ = ["refuse_control_characters"]


async def refuse_control_characters(request: Request) -> None:
    # async: no I/O here, so it runs inline rather than in the thread pool.
    pairs = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in pairs:
        for text in (name, str(value)):
            found = control_character(text)
            if found is not None:
                raise InvalidParameter(
                    f"parameter {name!r} contains the control character {found}",
                    hint="names, codes and reasons are printable text; remove the character",
                )
