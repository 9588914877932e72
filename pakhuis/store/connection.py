"""The store's connections, and the one place database errors become pakhuis errors.

Every query runs inside `Connected._connection()`, so callers (the stream, the API, the CLI)
meet only the project's own errors, never the driver's:

- `StoreUnavailable`: the database cannot be reached or used right now (connection refused
  or lost, server shutting down, no pooled connection within the wait, a deadlock or
  serialization failure): retry later, nothing was stored.
- `StoreRejected`: the database refused the request itself (a CHECK or unique constraint, a
  value PostgreSQL cannot hold such as a NUL byte in text, a statement it cannot run):
  retrying the same data gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from pakhuis.errors import StoreRejected, StoreUnavailable
from pakhuis.settings import redact_url

RollupMode = Literal["table", "continuous_aggregate"]


def refusal_reason(exc: psycopg.Error) -> str:
    """'<error class>: <first line of the message>', as dead letters record a refusal."""
    text = str(exc)
    return f"{exc.__class__.__name__}: {text.splitlines()[0] if text else 'no detail'}"


@contextmanager
def translated_errors(conninfo: str) -> Iterator[None]:
    """Turn the driver's and the pool's errors raised inside the block into pakhuis errors."""
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StoreUnavailable(
            f"The database at {redact_url(conninfo)} is unreachable: {type(exc).__name__}",
            hint="pakhuis retries writes with backoff; check the database server.",
        ) from exc
    except psycopg.DatabaseError as exc:
        # Every other error the database reports is a refusal: the stream dead-letters the
        # message rather than retrying it forever (e.g. TimescaleDB refusing a write into a
        # compressed chunk is "feature not supported", not a data error).
        data = isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
        raise StoreRejected(refusal_reason(exc), data=data) from exc


class Connected:
    """A connection pool and what the store knows about the schema behind it.

    The query sets (one per aggregate) derive from this; `Store` puts them together.
    """

    def __init__(
        self, pool: ConnectionPool, conninfo: str, *, acquire_timeout_s: float, reporting_timezone: str
    ) -> None:
        self._pool = pool
        self._conninfo = conninfo
        # How long a caller waits for a connection before the store reports itself unavailable
        # (writers then back off and retry; the API answers 503 instead of hanging).
        self._acquire_timeout_s = acquire_timeout_s
        self._reporting_timezone = reporting_timezone
        self._rollup_mode: tuple[RollupMode, str] | None = None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with (
            translated_errors(self._conninfo),
            self._pool.connection(timeout=self._acquire_timeout_s) as conn,
        ):
            yield conn

    def rollup_mode(self) -> tuple[RollupMode, str]:
        """How rollups are kept ("table": by us; "continuous_aggregate": by TimescaleDB) and the
        time zone of daily buckets, as recorded when the schema was created."""
        if self._rollup_mode is None:
            with self._connection() as conn:
                row = conn.execute("SELECT materialized, reporting_timezone FROM rollup_settings").fetchone()
            if row is None:
                raise StoreUnavailable(
                    "The database has no rollup settings.", hint="Run `pakhuis db migrate`."
                )
            mode: RollupMode = "table" if row[0] == "table" else "continuous_aggregate"
            self._rollup_mode = (mode, str(row[1]))
        return self._rollup_mode
