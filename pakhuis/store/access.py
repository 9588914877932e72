"""SQL for API keys (issue 14 part 1): issue, look up, list, revoke, record their last use.

Only the SHA-256 of a key's secret is stored; `pakhuis.access.keys` makes and checks keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pakhuis.store.connection import Connected
from pakhuis.store.rows import fetch_all, fetch_one

__all__ = ["AccessQueries", "ApiKeyRow"]


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: int
    role: str
    tenant: str | None
    name: str
    secret_sha256: bytes
    created: datetime
    last_used: datetime | None
    revoked: datetime | None


_COLUMNS = "id, role, tenant, name, secret_sha256, created, last_used, revoked"


def _row(values: dict[str, Any]) -> ApiKeyRow:
    values["secret_sha256"] = bytes(values["secret_sha256"])
    return ApiKeyRow(**values)


class AccessQueries(Connected):
    def insert_api_key(self, role: str, tenant: str | None, name: str, secret_sha256: bytes) -> int:
        """Store a new key's hash; returns its id (the `<id>` of `pk_<id>_<secret>`)."""
        with self._connection() as conn:
            row = conn.execute(
                """INSERT INTO api_keys (role, tenant, name, secret_sha256)
                   VALUES (%s, %s, %s, %s) RETURNING id""",
                (role, tenant, name, secret_sha256),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def api_key(self, key_id: int) -> ApiKeyRow | None:
        with self._connection() as conn:
            row = fetch_one(conn, f"SELECT {_COLUMNS} FROM api_keys WHERE id = %s", (key_id,))
        return None if row is None else _row(row)

    def api_keys(self) -> list[ApiKeyRow]:
        with self._connection() as conn:
            rows = fetch_all(conn, f"SELECT {_COLUMNS} FROM api_keys ORDER BY id")
        return [_row(row) for row in rows]

    def revoke_api_key(self, key_id: int) -> bool:
        """Revoke a key (from now on it is refused); False when there is no such key. Revoking
        twice keeps the first time."""
        with self._connection() as conn:
            row = conn.execute(
                "UPDATE api_keys SET revoked = coalesce(revoked, now()) WHERE id = %s RETURNING id",
                (key_id,),
            ).fetchone()
        return row is not None

    def touch_api_key(self, key_id: int) -> None:
        """Record that a key was just used (callers do so at most once a minute per key)."""
        with self._connection() as conn:
            conn.execute("UPDATE api_keys SET last_used = now() WHERE id = %s", (key_id,))
