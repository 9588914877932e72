"""Versioned SQL migrations: `migrations/NNNN_name.sql`, applied once each, in order.

Each file runs in its own transaction and is recorded with a checksum in `schema_migrations`;
an edited, already-applied file is refused rather than silently diverging. A transaction-level
advisory lock lets several processes start at once and migrate exactly once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from pakhuis.errors import PakhuisError
from pakhuis.quantities import QUANTITIES

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# An arbitrary constant shared by every pakhuis process: "the migration lock".
_ADVISORY_LOCK_ID = 0x70616B68


class MigrationError(PakhuisError):
    code = "migration_error"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationReport:
    applied: tuple[str, ...]
    already: int
    timescaledb: bool


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("pakhuis.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def migrate(
    conn: psycopg.Connection[Any], *, reporting_timezone: str = "Europe/Amsterdam"
) -> MigrationReport:
    """Bring the schema up to date and sync the quantity vocabulary into `quantities`.

    `reporting_timezone` fixes where daily rollup buckets start, for migrations that create them.
    """
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_ID,))
        conn.execute("SELECT set_config('pakhuis.reporting_timezone', %s, true)", (reporting_timezone,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            int(row[0]): str(row[1])
            for row in conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        }
        for migration in available_migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"Migration {migration.version:04d}_{migration.name} was edited after it "
                        "was applied to this database.",
                        hint="Add a new migration file instead of changing an applied one.",
                    )
                continue
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied.append(f"{migration.version:04d}_{migration.name}")
        _sync_quantities(conn)
        timescale = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
        ).fetchone()
    return MigrationReport(
        applied=tuple(applied),
        already=len(done),
        timescaledb=bool(timescale and timescale[0]),
    )


def _sync_quantities(conn: psycopg.Connection[Any]) -> None:
    # The Python vocabulary is the source of truth; ids are stable, so this is an upsert.
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO quantities (id, name, unit, description, minimum, maximum, kind)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit,
                   description = EXCLUDED.description, minimum = EXCLUDED.minimum,
                   maximum = EXCLUDED.maximum, kind = EXCLUDED.kind""",
            [
                (s.id, s.quantity.value, s.unit, s.description, s.minimum, s.maximum, s.kind.value)
                for s in QUANTITIES.values()
            ],
        )
