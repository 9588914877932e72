"""Keyset pages: a `cursor` parameter and the `Link: <…>; rel="next"` header.

A cursor is the sort key of a page's last row, written plainly: dead letters continue below an
id ("1234"), observations after (time in µs since 1970 UTC, tenant, sensor, quantity id), as
"1764151200000000~haarlem~no2-1~3". The documented pattern matches exactly the cursors that
decode, so a cursor is either well-formed or a 400 naming `cursor`. Clients follow the next
link (the same query with `cursor` set) rather than building one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import Request

from pakhuis.store.readings import ObservationKey

__all__ = [
    "CURSOR_DESCRIPTION",
    "DEAD_LETTER_CURSOR",
    "OBSERVATION_CURSOR",
    "dead_letter_cursor",
    "next_link",
    "observation_cursor",
    "parse_dead_letter_cursor",
    "parse_observation_cursor",
]

CURSOR_DESCRIPTION = 'from the `Link: <…>; rel="next"` header of the previous page'
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
# Microseconds: 16 digits reach the year 2286; quantity ids are small integers.
OBSERVATION_CURSOR = rf"^[0-9]{{1,16}}~{_NAME}~{_NAME}~[0-9]{{1,4}}$"
DEAD_LETTER_CURSOR = r"^[1-9][0-9]{0,17}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def observation_cursor(key: ObservationKey) -> str:
    micros = (key.time - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}~{key.tenant}~{key.sensor}~{key.quantity_id}"


def parse_observation_cursor(cursor: str) -> ObservationKey:
    # The route's pattern has checked the shape already; this splits it.
    micros, tenant, sensor, quantity_id = cursor.split("~")
    time = _EPOCH + timedelta(microseconds=int(micros))
    return ObservationKey(time=time, tenant=tenant, sensor=sensor, quantity_id=int(quantity_id))


def dead_letter_cursor(after_id: int) -> str:
    return str(after_id)


def parse_dead_letter_cursor(cursor: str) -> int:
    # At most 18 digits (the pattern): always within a bigint id.
    return int(cursor)


def next_link(request: Request, cursor: str) -> str:
    """The `Link` header value for the page after this one: this request with `cursor` set."""
    return f'<{request.url.include_query_params(cursor=cursor)}>; rel="next"'
