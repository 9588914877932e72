"""SQL for dead letters: refused messages kept with their raw bytes and every reason, to replay.

`reason_code`/`reason` summarise a message; `details` lists each refusal (item, code, reason),
so a filter by reason matches any refusal in a message and counts count each refusal once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from pakhuis.errors import InvalidParameter
from pakhuis.pgtext import clean_text
from pakhuis.reading import DeadLetter, Rejection
from pakhuis.settings import Settings
from pakhuis.store.connection import Connected
from pakhuis.store.rows import fetch_all

# The settings' defaults, for callers that pass none (tests, replay); one source of truth.
DEFAULT_MAX_PAYLOAD_BYTES: int = Settings.model_fields["deadletter_max_payload_bytes"].default
DEFAULT_RETENTION_DAYS: int = Settings.model_fields["deadletter_retention_days"].default
MAX_DEAD_LETTER_PAGE = 1000
_MAX_PREVIEW_BYTES = 4096
# Retention deletes in slices so no transaction holds a lock on a million rows.
_PURGE_SLICE = 10_000

_INSERT = """
INSERT INTO deadletters (received, topic, tenant, decoder, payload, reason_code, reason, details,
                         payload_size, payload_truncated)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)
"""

# Either the summary code or the code of any one refusal in the message.
_REASON_MATCHES = """(%(reason)s::text IS NULL OR reason_code = %(reason)s
     OR details @> jsonb_build_array(jsonb_build_object('code', %(reason)s::text)))"""

_DEAD_LETTERS = f"""
SELECT id, received, topic, tenant, decoder, reason_code, reason, details,
       coalesce(payload_size, octet_length(payload)) AS payload_bytes, payload
FROM deadletters
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND {_REASON_MATCHES}
  AND (%(start)s::timestamptz IS NULL OR received >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR received < %(end)s)
ORDER BY received DESC, id DESC
LIMIT %(limit)s
"""

_FOR_REPLAY = f"""
SELECT id, received, topic, tenant, decoder, payload, reason_code FROM deadletters
WHERE id > %(after)s
  AND NOT payload_truncated  -- only the first bytes were kept: nothing to replay
  AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND {_REASON_MATCHES}
ORDER BY id LIMIT %(limit)s
"""


def insert_dead_letters(
    cur: psycopg.Cursor[Any],
    letters: Sequence[DeadLetter],
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> None:
    """Append dead letters (inside the write that carries them), payloads cut to the cap."""
    cur.executemany(_INSERT, [_row(letter.capped(max_payload_bytes)) for letter in letters])


def _row(d: DeadLetter) -> tuple[Any, ...]:
    # DeadLetter and Rejection clean their texts when made; cleaned again here as the last
    # defence, because a refusal that cannot be written would stop the writer.
    details = [
        {"item": r.item, "code": clean_text(r.code), "reason": clean_text(r.reason)} for r in d.rejections
    ]
    return (
        d.received,
        clean_text(d.topic),
        d.tenant,
        clean_text(d.decoder),
        d.payload,
        clean_text(d.reason_code),
        clean_text(d.reason),
        json.dumps(details),
        d.original_size if d.truncated else None,
        d.truncated,
    )


def unstorable_letter(letter: DeadLetter, reason: str) -> DeadLetter:
    """What is kept of a dead letter the database refused as it was: its raw bytes, its time,
    and a generic reason (the refusal's own words are cleaned down to ASCII)."""
    why = reason.encode("ascii", errors="backslashreplace").decode("ascii")
    return DeadLetter(
        topic=letter.topic.encode("ascii", errors="backslashreplace").decode("ascii"),
        payload=letter.payload,
        decoder="unknown",
        rejections=(
            Rejection("unstorable", f"this message's refusal could not be stored as it was ({why})"),
        ),
        received=letter.received,
        payload_size=letter.payload_size,
    )


def purge_dead_letters_before(conn: psycopg.Connection[Any], cutoff: datetime) -> int:
    """Delete dead letters received before `cutoff`, a slice per transaction; returns how many."""
    removed = 0
    while True:
        cur = conn.execute(
            """DELETE FROM deadletters WHERE id IN (
                   SELECT id FROM deadletters WHERE received < %s ORDER BY received LIMIT %s)""",
            (cutoff, _PURGE_SLICE),
        )
        removed += cur.rowcount
        if cur.rowcount < _PURGE_SLICE:
            return removed


def delete_dead_letters(conn: psycopg.Connection[Any], ids: Sequence[int]) -> None:
    conn.execute("DELETE FROM deadletters WHERE id = ANY(%s)", (list(ids),))


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    """One page of dead letters, newest first; `next_after_id` continues after it (None: last)."""

    rows: list[dict[str, Any]]
    next_after_id: int | None


def _page_sql(*, with_payload: bool, preview_bytes: int) -> str:
    extra = ""
    if with_payload:
        extra += ", payload"
    if preview_bytes:
        # substring of a bytea reads only the TOAST chunks it needs, not the whole value
        extra += f", substring(payload FROM 1 FOR {int(preview_bytes)}) AS payload_preview"
    return f"""
SELECT id, received, topic, tenant, decoder, reason_code, reason, details,
       coalesce(payload_size, octet_length(payload)) AS payload_bytes,
       octet_length(payload) AS payload_stored_bytes, payload_truncated{extra}
FROM deadletters
WHERE (%(after)s::bigint IS NULL OR id < %(after)s)
  AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND {_REASON_MATCHES}
  AND (%(start)s::timestamptz IS NULL OR received >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR received < %(end)s)
ORDER BY id DESC
LIMIT %(limit)s
"""


class DeadLetterQueries(Connected):
    def list_dead_letters(
        self,
        *,
        tenant: str | None = None,
        after_id: int | None = None,
        limit: int,
        with_payload: bool = False,
        reason: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        preview_bytes: int = 0,
    ) -> DeadLetterPage:
        """A page of dead letters by id, newest first, after `after_id` (the previous page's
        `next_after_id`). One page in memory at most; the payload only when asked for."""
        if not 1 <= limit <= MAX_DEAD_LETTER_PAGE:
            raise InvalidParameter(f"limit must be 1..{MAX_DEAD_LETTER_PAGE}, got {limit}")
        if not 0 <= preview_bytes <= _MAX_PREVIEW_BYTES:
            raise InvalidParameter(f"preview_bytes must be 0..{_MAX_PREVIEW_BYTES}, got {preview_bytes}")
        params = {
            "after": after_id,
            "tenant": tenant,
            "reason": reason,
            "start": start,
            "end": end,
            "limit": limit + 1,  # one more than asked: is there a next page?
        }
        with self._connection() as conn:
            rows = fetch_all(conn, _page_sql(with_payload=with_payload, preview_bytes=preview_bytes), params)
        more = len(rows) > limit
        rows = rows[:limit]
        for row in rows:
            for key in ("payload", "payload_preview"):
                if key in row:
                    row[key] = bytes(row[key])
        return DeadLetterPage(rows, int(rows[-1]["id"]) if more else None)

    def purge_dead_letters(
        self, *, retention_days: float = DEFAULT_RETENTION_DAYS, now: datetime | None = None
    ) -> int:
        """Delete dead letters received more than `retention_days` before `now`; how many went."""
        cutoff = (now or datetime.now().astimezone()) - timedelta(days=retention_days)
        with self._connection() as conn:
            return purge_dead_letters_before(conn, cutoff)

    def dead_letters(
        self,
        *,
        tenant: str | None = None,
        reason: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Dead letters, newest first; `reason` matches the code of any refusal in a message."""
        params = {"tenant": tenant, "reason": reason, "start": start, "end": end, "limit": limit}
        with self._connection() as conn:
            return fetch_all(conn, _DEAD_LETTERS, params)

    def dead_letters_for_replay(
        self, *, reason: str | None = None, tenant: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        params = {"after": after_id, "tenant": tenant, "reason": reason, "limit": limit}
        with self._connection() as conn:
            return fetch_all(conn, _FOR_REPLAY, params)

    def dead_letter_counts(self) -> dict[str, int]:
        """Dead letters per reason code (every refusal in a message counts once)."""
        with self._connection() as conn:
            rows = conn.execute(
                """SELECT d->>'code', count(*) FROM deadletters, jsonb_array_elements(details) AS d
                   GROUP BY 1 ORDER BY 1"""
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}
