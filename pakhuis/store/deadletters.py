"""SQL for dead letters: refused messages kept with their raw bytes and every reason, to replay.

`reason_code`/`reason` summarise a message; `details` lists each refusal (item, code, reason),
so a filter by reason matches any refusal in a message and counts count each refusal once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from pakhuis.reading import DeadLetter
from pakhuis.store.connection import Connected
from pakhuis.store.rows import fetch_all

_INSERT = """
INSERT INTO deadletters (received, topic, tenant, decoder, payload, reason_code, reason, details)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)
"""

# Either the summary code or the code of any one refusal in the message.
_REASON_MATCHES = """(%(reason)s::text IS NULL OR reason_code = %(reason)s
     OR details @> jsonb_build_array(jsonb_build_object('code', %(reason)s::text)))"""

_DEAD_LETTERS = f"""
SELECT id, received, topic, tenant, decoder, reason_code, reason, details,
       octet_length(payload) AS payload_bytes, payload
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
  AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND {_REASON_MATCHES}
ORDER BY id LIMIT %(limit)s
"""


def insert_dead_letters(cur: psycopg.Cursor[Any], letters: Sequence[DeadLetter]) -> None:
    """Append dead letters (inside the write that carries them)."""
    cur.executemany(
        _INSERT,
        [
            (
                d.received,
                d.topic,
                d.tenant,
                d.decoder,
                d.payload,
                d.reason_code,
                d.reason,
                json.dumps([{"item": r.item, "code": r.code, "reason": r.reason} for r in d.rejections]),
            )
            for d in letters
        ],
    )


def delete_dead_letters(conn: psycopg.Connection[Any], ids: Sequence[int]) -> None:
    conn.execute("DELETE FROM deadletters WHERE id = ANY(%s)", (list(ids),))


class DeadLetterQueries(Connected):
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
