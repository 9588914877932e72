"""The store: the one place SQL lives.

Writes are batched: readings are streamed with binary COPY into a per-connection temporary
staging table, then moved with `INSERT ... ON CONFLICT DO NOTHING`, so a batch that is written
twice (a redelivered MQTT message, a retried Kafka batch) stores nothing new. Sensors are
registered on first sight, latest values are upserted and dead letters appended, all in the
same transaction as the readings they travelled with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from pakhuis.alerts import Alert
from pakhuis.errors import StoreUnavailable
from pakhuis.quantities import QUANTITIES, Quantity
from pakhuis.reading import DeadLetter, Reading
from pakhuis.settings import redact_url
from pakhuis.store import alerting, planning, registers, rollups
from pakhuis.store.alerting import Crossing
from pakhuis.store.migrate import MigrationReport, migrate

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS staging_readings (
    tenant        text NOT NULL,
    sensor        text NOT NULL,
    kind          text NOT NULL,
    quantity_id   smallint NOT NULL,
    time          timestamptz NOT NULL,
    time_end      timestamptz,
    value         double precision NOT NULL,
    received      timestamptz NOT NULL,
    quality       text NOT NULL,
    source_format text NOT NULL,
    metadata      jsonb
) ON COMMIT DELETE ROWS
"""
_STAGING_TYPES = [
    "text",
    "text",
    "text",
    "int2",
    "timestamptz",
    "timestamptz",
    "float8",
    "timestamptz",
    "text",
    "text",
    "jsonb",
]

_REGISTER_SENSORS = """
INSERT INTO sensors (tenant, name, kind)
SELECT DISTINCT ON (r.tenant, r.sensor) r.tenant, r.sensor, r.kind FROM staging_readings r
-- Only unseen sensors reach the INSERT: ON CONFLICT alone would burn a sequence value per
-- known sensor per batch and exhaust the serial within months.
WHERE NOT EXISTS (SELECT 1 FROM sensors s WHERE s.tenant = r.tenant AND s.name = r.sensor)
ORDER BY r.tenant, r.sensor, r.kind
ON CONFLICT (tenant, name) DO NOTHING
"""

_INSERT_OBSERVATIONS = """
INSERT INTO observations
    (sensor_id, quantity_id, time, time_end, value, received, quality, source_format, metadata)
SELECT s.id, r.quantity_id, r.time, r.time_end, r.value, r.received,
       r.quality::quality_label, r.source_format, r.metadata
FROM staging_readings r
JOIN sensors s ON s.tenant = r.tenant AND s.name = r.sensor
ON CONFLICT ON CONSTRAINT observations_identity DO NOTHING
"""

# DISTINCT ON keeps one row per key, so the upsert never touches a row twice in one command;
# the WHERE keeps a late, older reading from overwriting a newer latest value.
_UPSERT_LATEST = """
INSERT INTO latest AS l (sensor_id, quantity_id, time, time_end, value, received, quality)
SELECT DISTINCT ON (s.id, r.quantity_id)
       s.id, r.quantity_id, r.time, r.time_end, r.value, r.received, r.quality::quality_label
FROM staging_readings r
JOIN sensors s ON s.tenant = r.tenant AND s.name = r.sensor
ORDER BY s.id, r.quantity_id, r.time DESC
ON CONFLICT (sensor_id, quantity_id) DO UPDATE
SET time = EXCLUDED.time, time_end = EXCLUDED.time_end, value = EXCLUDED.value,
    received = EXCLUDED.received, quality = EXCLUDED.quality
WHERE l.time <= EXCLUDED.time
"""

# What staleness needs: when each sensor last sent, and a moving average of its interval.
# A batch holding several readings of one sensor gives its mean spacing; a single reading
# gives the gap since the previous one.
_UPDATE_SENSOR_ACTIVITY = """
UPDATE sensors s SET
    typical_interval_s = CASE
        WHEN b.gap IS NULL OR b.gap <= 0 THEN s.typical_interval_s
        WHEN s.typical_interval_s IS NULL THEN b.gap
        ELSE 0.8 * s.typical_interval_s + 0.2 * b.gap END,
    last_time = greatest(s.last_time, b.tmax),
    last_received = greatest(s.last_received, b.rmax)
FROM (
    SELECT x.tenant, x.sensor, x.tmax, x.rmax,
           CASE WHEN x.n > 1 THEN extract(epoch FROM x.tmax - x.tmin) / (x.n - 1)
                WHEN p.last_time IS NOT NULL AND x.tmax > p.last_time
                THEN extract(epoch FROM x.tmax - p.last_time) END AS gap
    FROM (SELECT tenant, sensor, count(DISTINCT time) AS n, min(time) AS tmin, max(time) AS tmax,
                 max(received) AS rmax
          FROM staging_readings GROUP BY tenant, sensor) x
    JOIN sensors p ON p.tenant = x.tenant AND p.name = x.sensor
) b
WHERE s.tenant = b.tenant AND s.name = b.sensor
"""

_INSERT_DEADLETTER = """
INSERT INTO deadletters (received, topic, tenant, decoder, payload, reason_code, reason, details)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)
"""


@dataclass(frozen=True, slots=True)
class WriteResult:
    readings: int
    inserted: int
    dead_letters: int
    alerts: tuple[Alert, ...] = ()
    """Alerts the write changed: stale sensors that sent data again."""

    @property
    def duplicates(self) -> int:
        return self.readings - self.inserted


class Store:
    """PostgreSQL (+ TimescaleDB when present) behind typed methods; thread-safe via a pool."""

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        acquire_timeout_s: float = 5.0,
        reporting_timezone: str = "Europe/Amsterdam",
    ) -> None:
        self._conninfo = conninfo
        self._reporting_timezone = reporting_timezone
        self._rollup_mode: tuple[Literal["table", "continuous_aggregate"], str] | None = None
        # How long a caller waits for a connection before the store reports itself unavailable
        # (writers then back off and retry; the API answers 503 instead of hanging).
        self._acquire_timeout_s = acquire_timeout_s
        self._pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True},
            name="pakhuis-store",
        )

    # -- lifecycle -------------------------------------------------------------------------

    def open(self, timeout: float = 10.0) -> Store:
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailable(
                f"Cannot connect to PostgreSQL at {redact_url(self._conninfo)}.",
                hint="Check PAKHUIS_DATABASE_URL and that the server is running "
                "(deploy/scripts/start-postgres.sh starts a local one), or unset it to use "
                "the embedded database.",
            ) from exc
        return self

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection(timeout=self._acquire_timeout_s) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(
                f"The database at {redact_url(self._conninfo)} is unreachable: {type(exc).__name__}",
                hint="pakhuis retries writes with backoff; check the database server.",
            ) from exc

    def migrate(self) -> MigrationReport:
        with self._connection() as conn:
            report = migrate(conn, reporting_timezone=self._reporting_timezone)
        self._rollup_mode = None
        return report

    def rollup_mode(self) -> tuple[Literal["table", "continuous_aggregate"], str]:
        """How rollups are kept ("table": by us; "continuous_aggregate": by TimescaleDB) and the
        time zone of daily buckets, as recorded when the schema was created."""
        if self._rollup_mode is None:
            with self._connection() as conn:
                row = conn.execute("SELECT materialized, reporting_timezone FROM rollup_settings").fetchone()
            if row is None:
                raise StoreUnavailable(
                    "The database has no rollup settings.", hint="Run `pakhuis db migrate`."
                )
            mode: Literal["table", "continuous_aggregate"] = (
                "table" if row[0] == "table" else "continuous_aggregate"
            )
            self._rollup_mode = (mode, str(row[1]))
        return self._rollup_mode

    def has_timescaledb(self) -> bool:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
            ).fetchone()
        return bool(row and row[0])

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1")

    # -- writes ------------------------------------------------------------------------------

    def write_batch(
        self, readings: Sequence[Reading], dead_letters: Sequence[DeadLetter] = ()
    ) -> WriteResult:
        """Store readings (idempotently), update latest values and append dead letters.

        All in one transaction: either the whole batch is durable, or nothing is and the
        caller retries (and only then acknowledges the messages it came from).
        """
        inserted = 0
        recovered: list[int] = []
        mode, timezone = self.rollup_mode() if readings else ("table", "UTC")
        with self._connection() as conn, conn.transaction():
            if readings:
                conn.execute(_STAGING_DDL)
                with conn.cursor() as cur:
                    with cur.copy("COPY staging_readings FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(_STAGING_TYPES)
                        for r in readings:
                            copy.write_row(
                                (
                                    r.tenant,
                                    r.sensor,
                                    r.kind.value,
                                    QUANTITIES[r.quantity].id,
                                    r.time,
                                    r.time_end,
                                    r.value,
                                    r.received,
                                    r.quality.value,
                                    r.source_format,
                                    Jsonb(r.metadata) if r.metadata else None,
                                )
                            )
                    cur.execute(_REGISTER_SENSORS)
                    cur.execute(_INSERT_OBSERVATIONS)
                    inserted = cur.rowcount
                    cur.execute(_UPSERT_LATEST)
                    cur.execute(_UPDATE_SENSOR_ACTIVITY)
                    recovered = alerting.close_stale_for_batch(cur)
                    if mode == "table":
                        rollups.recompute_touched(cur, timezone)
                    else:
                        rollups.queue_late_refresh(
                            cur,
                            min(r.time for r in readings),
                            max(r.time for r in readings),
                            datetime.now(UTC),
                        )
                    # ON COMMIT DELETE ROWS empties staging; truncate anyway in case the
                    # connection is reused inside a longer transaction.
                    cur.execute("TRUNCATE staging_readings")
            if dead_letters:
                with conn.cursor() as cur:
                    cur.executemany(
                        _INSERT_DEADLETTER,
                        [
                            (
                                d.received,
                                d.topic,
                                d.tenant,
                                d.decoder,
                                d.payload,
                                d.reason_code,
                                d.reason,
                                json.dumps(
                                    [
                                        {"item": r.item, "code": r.code, "reason": r.reason}
                                        for r in d.rejections
                                    ]
                                ),
                            )
                            for d in dead_letters
                        ],
                    )
        alerts: list[Alert] = []
        if recovered:
            with self._connection() as conn:
                alerts = alerting.describe(conn, [(alert_id, "closed") for alert_id in recovered])
        return WriteResult(
            readings=len(readings), inserted=inserted, dead_letters=len(dead_letters), alerts=tuple(alerts)
        )

    def refresh_rollups(self) -> int:
        """Bring continuous aggregates up to date with queued late writes (no-op on plain
        PostgreSQL, whose rollup tables are kept current by every write). Run periodically."""
        if self.rollup_mode()[0] == "table":
            return 0
        with self._connection() as conn:
            return rollups.refresh_queued(conn)

    # -- alerts ------------------------------------------------------------------------------

    def open_above_alerts(self, keys: Sequence[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
        with self._connection() as conn:
            return alerting.open_above_keys(conn, keys)

    def apply_crossings(self, crossings: Sequence[Crossing]) -> list[Alert]:
        if not crossings:
            return []
        with self._connection() as conn:
            return alerting.apply_crossings(conn, crossings)

    def apply_hourly_mean_alerts(
        self, hours: Sequence[tuple[str, str, int, datetime]], thresholds: dict[int, float]
    ) -> list[Alert]:
        with self._connection() as conn:
            return alerting.apply_hourly_means(conn, hours, thresholds)

    def sweep_stale(self, now: datetime, factor: float) -> list[Alert]:
        with self._connection() as conn:
            return alerting.sweep_stale(conn, now, factor)

    def alerts(
        self, *, tenant: str | None = None, open_only: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT a.id, s.tenant, s.name AS sensor, q.name AS quantity, a.rule, a.threshold,
                          a.value, a.opened, a.closed, a.message
                   FROM alerts a JOIN sensors s ON s.id = a.sensor_id
                   LEFT JOIN quantities q ON q.id = a.quantity_id
                   WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
                     AND (NOT %(open_only)s OR a.closed IS NULL)
                   ORDER BY a.opened DESC, a.id DESC LIMIT %(limit)s""",
                {"tenant": tenant, "open_only": open_only, "limit": limit},
            )
            return cur.fetchall()

    # -- reads -------------------------------------------------------------------------------

    def sensors(self, tenant: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT s.tenant, s.name AS sensor, s.kind, s.lon, s.lat, s.metadata,
                          s.created,
                          coalesce(array_agg(q.name ORDER BY q.id)
                                   FILTER (WHERE q.name IS NOT NULL), '{}') AS quantities
                   FROM sensors s
                   LEFT JOIN latest l ON l.sensor_id = s.id
                   LEFT JOIN quantities q ON q.id = l.quantity_id
                   WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
                     AND (%(kind)s::text IS NULL OR s.kind = %(kind)s)
                   GROUP BY s.id ORDER BY s.tenant, s.name""",
                {"tenant": tenant, "kind": kind},
            )
            return cur.fetchall()

    def latest(self, tenant: str | None = None, quantity: Quantity | None = None) -> list[dict[str, Any]]:
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT s.tenant, s.name AS sensor, s.kind, q.name AS quantity, q.unit,
                          l.time, l.time_end, l.value, l.received, l.quality::text AS quality
                   FROM latest l
                   JOIN sensors s ON s.id = l.sensor_id
                   JOIN quantities q ON q.id = l.quantity_id
                   WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
                     AND (%(quantity)s::text IS NULL OR q.name = %(quantity)s)
                   ORDER BY s.tenant, s.name, q.id""",
                {"tenant": tenant, "quantity": quantity.value if quantity else None},
            )
            return cur.fetchall()

    def observations(
        self,
        *,
        tenant: str | None = None,
        sensor: str | None = None,
        quantity: Quantity | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Observations in time order; `start` inclusive, `end` exclusive."""
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT s.tenant, s.name AS sensor, q.name AS quantity, q.unit,
                          o.time, o.time_end, o.value, o.quality::text AS quality,
                          o.source_format, o.received, o.metadata
                   FROM observations o
                   JOIN sensors s ON s.id = o.sensor_id
                   JOIN quantities q ON q.id = o.quantity_id
                   WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
                     AND (%(sensor)s::text IS NULL OR s.name = %(sensor)s)
                     AND (%(quantity)s::text IS NULL OR q.name = %(quantity)s)
                     AND (%(start)s::timestamptz IS NULL OR o.time >= %(start)s)
                     AND (%(end)s::timestamptz IS NULL OR o.time < %(end)s)
                   ORDER BY o.time, s.tenant, s.name, q.id
                   LIMIT %(limit)s""",
                {
                    "tenant": tenant,
                    "sensor": sensor,
                    "quantity": quantity.value if quantity else None,
                    "start": start,
                    "end": end,
                    "limit": limit,
                },
            )
            return cur.fetchall()

    def count_observations(self, tenant: str | None = None) -> int:
        with self._connection() as conn:
            row = conn.execute(
                """SELECT count(*) FROM observations o JOIN sensors s ON s.id = o.sensor_id
                   WHERE %(tenant)s::text IS NULL OR s.tenant = %(tenant)s""",
                {"tenant": tenant},
            ).fetchone()
        return int(row[0]) if row else 0

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
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT id, received, topic, tenant, decoder, reason_code, reason, details,
                          octet_length(payload) AS payload_bytes, payload
                   FROM deadletters
                   WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
                     AND (%(reason)s::text IS NULL OR reason_code = %(reason)s
                          OR details @> jsonb_build_array(jsonb_build_object('code', %(reason)s::text)))
                     AND (%(start)s::timestamptz IS NULL OR received >= %(start)s)
                     AND (%(end)s::timestamptz IS NULL OR received < %(end)s)
                   ORDER BY received DESC, id DESC
                   LIMIT %(limit)s""",
                {"tenant": tenant, "reason": reason, "start": start, "end": end, "limit": limit},
            )
            return cur.fetchall()

    # -- registry: tenants, sensors, datastreams ------------------------------------------------

    def set_tenant_policy(self, tenant: str, policy: Literal["auto_register", "reject"]) -> None:
        with self._connection() as conn:
            conn.execute(
                """INSERT INTO tenants (name, policy) VALUES (%s, %s)
                   ON CONFLICT (name) DO UPDATE SET policy = EXCLUDED.policy""",
                (tenant, policy),
            )

    def tenant_policies(self) -> dict[str, str]:
        with self._connection() as conn:
            return {str(r[0]): str(r[1]) for r in conn.execute("SELECT name, policy FROM tenants")}

    def register_sensor(
        self,
        tenant: str,
        sensor: str,
        *,
        kind: str = "other",
        lon: float | None = None,
        lat: float | None = None,
        metadata: dict[str, Any] | None = None,
        expected_interval_s: float | None = None,
    ) -> None:
        with self._connection() as conn:
            conn.execute(
                """INSERT INTO sensors (tenant, name, kind, lon, lat, metadata, expected_interval_s)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (tenant, name) DO UPDATE SET kind = EXCLUDED.kind,
                       lon = coalesce(EXCLUDED.lon, sensors.lon), lat = coalesce(EXCLUDED.lat, sensors.lat),
                       metadata = sensors.metadata || EXCLUDED.metadata,
                       expected_interval_s =
                           coalesce(EXCLUDED.expected_interval_s, sensors.expected_interval_s)""",
                (tenant, sensor, kind, lon, lat, Jsonb(metadata or {}), expected_interval_s),
            )

    def known_sensors(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        with self._connection() as conn:
            rows = conn.execute(
                """SELECT s.tenant, s.name FROM sensors s
                   JOIN unnest(%s::text[], %s::text[]) AS k(tenant, name)
                     ON k.tenant = s.tenant AND k.name = s.name""",
                ([k[0] for k in keys], [k[1] for k in keys]),
            ).fetchall()
        return {(str(r[0]), str(r[1])) for r in rows}

    def register_datastream(
        self, datastream_id: str, tenant: str, sensor: str, quantity: Quantity, unit: str | None = None
    ) -> None:
        with self._connection() as conn:
            conn.execute(
                """INSERT INTO datastreams (id, tenant, sensor, quantity_id, unit) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, sensor = EXCLUDED.sensor,
                       quantity_id = EXCLUDED.quantity_id, unit = EXCLUDED.unit""",
                (datastream_id, tenant, sensor, QUANTITIES[quantity].id, unit),
            )

    def datastream(self, datastream_id: str) -> dict[str, Any] | None:
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT d.id, d.tenant, d.sensor, q.name AS quantity, d.unit
                   FROM datastreams d JOIN quantities q ON q.id = d.quantity_id WHERE d.id = %s""",
                (datastream_id,),
            )
            return cur.fetchone()

    # -- registers (drains, trees) and spatial indicators ----------------------------------------

    def replace_drains(self, rows: Iterable[registers.DrainRow], *, source: str, rejected: int = 0) -> int:
        with self._connection() as conn:
            return registers.replace_drains(conn, rows, source, rejected)

    def replace_trees(self, rows: Iterable[registers.TreeRow], *, source: str, rejected: int = 0) -> int:
        with self._connection() as conn:
            return registers.replace_trees(conn, rows, source, rejected)

    def drains_register(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return registers.fetch(conn, "SELECT id, source_id, lon, lat FROM drains ORDER BY id")

    def trees_register(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return registers.fetch(
                conn, "SELECT id, source_id, lon, lat, species, genus, leaf_class FROM trees ORDER BY id"
            )

    def register_loads(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return registers.fetch(
                conn, "SELECT register, source, rows, rejected, loaded FROM register_loads"
            )

    def replace_drain_indicators(self, rows: Iterable[Sequence[Any]]) -> int:
        with self._connection() as conn:
            return registers.replace_drain_indicators(conn, rows)

    def replace_cell_indicators(self, cell_size: float, rows: Iterable[Sequence[Any]]) -> int:
        with self._connection() as conn:
            return registers.replace_cells(conn, cell_size, rows)

    def drain(self, drain_id: int) -> dict[str, Any] | None:
        with self._connection() as conn:
            rows = registers.fetch(
                conn,
                """SELECT d.id, d.source_id, d.lon, d.lat, d.attributes, i.nearest_tree_m, i.nearest_tree_id,
                          i.nearest_leaf_class, i.trees_within_4m, i.trees_within_10m,
                          i.large_leaf_within_10m, i.leaf_load, i.computed
                   FROM drains d LEFT JOIN drain_indicators i ON i.drain_id = d.id WHERE d.id = %s""",
                (drain_id,),
            )
        return rows[0] if rows else None

    def cells(
        self,
        *,
        cell_size: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 50_000,
    ) -> list[dict[str, Any]]:
        """Cells of one size (default: the most recently computed), optionally within a WGS84 bbox."""
        with self._connection() as conn:
            return registers.fetch(
                conn,
                """WITH size AS (
                       SELECT coalesce(%(size)s::float8, (SELECT cell_size FROM cell_indicators
                                                          ORDER BY computed DESC LIMIT 1)) AS s)
                   SELECT c.cell_size, c.cell_x, c.cell_y, c.crs, c.geometry, c.drain_count, c.tree_count,
                          c.mean_leaf_load, c.share_drains_within_4m, c.computed
                   FROM cell_indicators c, size
                   WHERE c.cell_size = size.s
                     AND (%(bbox)s::float8[] IS NULL OR (c.max_lon >= (%(bbox)s::float8[])[1]
                          AND c.min_lon <= (%(bbox)s::float8[])[3] AND c.max_lat >= (%(bbox)s::float8[])[2]
                          AND c.min_lat <= (%(bbox)s::float8[])[4]))
                   ORDER BY c.cell_y, c.cell_x LIMIT %(limit)s""",
                {"size": cell_size, "bbox": list(bbox) if bbox else None, "limit": limit},
            )

    # -- drain-cleaning plan: zones, cleanings, fill model, route plans ---------------------------

    def replace_zones(self, kind: str, rows: Iterable[planning.ZoneRow], *, source: str) -> int:
        with self._connection() as conn:
            return planning.replace_zones(conn, kind, rows, source)

    def zones(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return registers.fetch(
                conn,
                """SELECT id, kind, name, source, buffer_m, geometry, loaded FROM zones
                   WHERE %(kind)s::text IS NULL OR kind = %(kind)s ORDER BY id""",
                {"kind": kind},
            )

    def add_cleanings(self, rows: Sequence[planning.CleaningRow], *, source: str) -> int:
        with self._connection() as conn:
            return planning.add_cleanings(conn, rows, source)

    def unknown_drain_keys(self, keys: Sequence[str]) -> list[str]:
        with self._connection() as conn:
            return planning.unknown_drain_keys(conn, keys)

    def cleanings(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return registers.fetch(
                conn,
                """SELECT id, drain_key, time, method, sludge_m3, source, recorded FROM cleanings
                   WHERE (%(since)s::timestamptz IS NULL OR time >= %(since)s)
                     AND (%(until)s::timestamptz IS NULL OR time < %(until)s)
                   ORDER BY time, id""",
                {"since": since, "until": until},
            )

    def drains_for_planning(self) -> list[dict[str, Any]]:
        """Every drain with its key (own id, else pakhuis' id), attributes and indicators."""
        with self._connection() as conn:
            return registers.fetch(
                conn,
                """SELECT d.id, coalesce(d.source_id, d.id::text) AS drain_key, d.lon, d.lat, d.attributes,
                          i.nearest_tree_m, i.trees_within_4m, i.trees_within_10m,
                          i.large_leaf_within_10m, i.leaf_load
                   FROM drains d LEFT JOIN drain_indicators i ON i.drain_id = d.id ORDER BY d.id""",
            )

    def drain_sensors(self, quantity: Quantity = Quantity.FILL_LEVEL) -> list[dict[str, Any]]:
        """Sensors that report `quantity` (with their position and metadata)."""
        with self._connection() as conn:
            return registers.fetch(
                conn,
                """SELECT s.id, s.tenant, s.name, s.kind, s.lon, s.lat, s.metadata FROM sensors s
                   WHERE EXISTS (SELECT 1 FROM latest l WHERE l.sensor_id = s.id AND l.quantity_id = %s)
                   ORDER BY s.id""",
                (QUANTITIES[quantity].id,),
            )

    def series(
        self, sensor_ids: Sequence[int], quantity: Quantity = Quantity.FILL_LEVEL
    ) -> dict[int, tuple[list[datetime], list[float]]]:
        """Time-ordered values of `quantity` per sensor id."""
        out: dict[int, tuple[list[datetime], list[float]]] = {}
        if not sensor_ids:
            return out
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(
                """SELECT sensor_id, time, value FROM observations
                   WHERE sensor_id = ANY(%s) AND quantity_id = %s ORDER BY sensor_id, time""",
                (list(sensor_ids), QUANTITIES[quantity].id),
            )
            for sensor_id, time, value in cur:
                times, values = out.setdefault(int(sensor_id), ([], []))
                times.append(time)
                values.append(float(value))
        return out

    def save_fill_model(
        self,
        version: str,
        description: dict[str, Any],
        seasonal: dict[str, Any],
        states: Iterable[Sequence[Any]],
    ) -> int:
        with self._connection() as conn:
            return planning.save_fill_model(conn, version, description, seasonal, states)

    def fill_model(self) -> dict[str, Any] | None:
        """The most recent fill model (the one the stored fill states come from)."""
        with self._connection() as conn:
            rows = registers.fetch(
                conn,
                "SELECT version, created, description, seasonal FROM fill_models "
                "ORDER BY created DESC LIMIT 1",
            )
        return rows[0] if rows else None

    def fill_states(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return registers.fetch(
                conn,
                f"SELECT {', '.join(planning.FILL_STATE_COLUMNS)}, computed "
                "FROM drain_fill_state ORDER BY drain_id",
            )

    def save_route_plan(
        self,
        plan_date: date,
        *,
        parameters: dict[str, Any],
        summary: dict[str, Any],
        geojson: dict[str, Any],
        csv: str,
        gpx: str,
    ) -> None:
        with self._connection() as conn:
            planning.save_route_plan(conn, plan_date, parameters, summary, geojson, csv, gpx)

    def route_plan(self, plan_date: date) -> dict[str, Any] | None:
        with self._connection() as conn:
            rows = registers.fetch(
                conn,
                "SELECT plan_date, created, parameters, summary, geojson, csv, gpx FROM route_plans "
                "WHERE plan_date = %s",
                (plan_date,),
            )
        return rows[0] if rows else None

    # -- dead letters: replay and counts -------------------------------------------------------

    def dead_letters_for_replay(
        self, *, reason: str | None = None, tenant: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                """SELECT id, received, topic, tenant, decoder, payload, reason_code FROM deadletters
                   WHERE id > %(after)s
                     AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
                     AND (%(reason)s::text IS NULL OR reason_code = %(reason)s
                          OR details @> jsonb_build_array(jsonb_build_object('code', %(reason)s::text)))
                   ORDER BY id LIMIT %(limit)s""",
                {"after": after_id, "tenant": tenant, "reason": reason, "limit": limit},
            )
            return cur.fetchall()

    def replace_dead_letters(self, ids: Sequence[int], readings: Sequence[Reading]) -> WriteResult:
        """Store the readings that replaying `ids` produced and remove those dead letters, together."""
        result = self.write_batch(readings)
        with self._connection() as conn:
            conn.execute("DELETE FROM deadletters WHERE id = ANY(%s)", (list(ids),))
        return result

    def dead_letter_counts(self) -> dict[str, int]:
        """Dead letters per reason code (every refusal in a message counts once)."""
        with self._connection() as conn:
            rows = conn.execute(
                """SELECT d->>'code', count(*) FROM deadletters, jsonb_array_elements(details) AS d
                   GROUP BY 1 ORDER BY 1"""
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    # -- rollups -----------------------------------------------------------------------------

    def rollup(
        self,
        *,
        bucket: Literal["1h", "1d"],
        tenant: str | None = None,
        sensor: str | None = None,
        quantity: Quantity | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Hourly or daily mean/min/max/count per sensor and quantity, in bucket order.

        `coverage` is the share of expected readings present: count × the sensor's expected
        (or learned) interval / the bucket's length, at most 1; None when the interval is unknown.
        """
        table = "observations_hourly" if bucket == "1h" else "observations_daily"
        _, timezone = self.rollup_mode()
        bucket_seconds = (
            "3600.0"
            if bucket == "1h"
            else "extract(epoch FROM ((r.bucket AT TIME ZONE %(tz)s + INTERVAL '1 day') "
            "AT TIME ZONE %(tz)s) - r.bucket)"
        )
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"""SELECT s.tenant, s.name AS sensor, q.name AS quantity, q.unit, r.bucket AS time,
                           r.mean, r.min, r.max, r.count,
                           -- least() skips NULLs: an unknown interval must stay unknown.
                           CASE WHEN i.interval_s IS NULL THEN NULL
                                ELSE least(1.0, r.count * i.interval_s / {bucket_seconds}) END AS coverage
                    FROM {table} r
                    JOIN sensors s ON s.id = r.sensor_id
                    CROSS JOIN LATERAL
                        (SELECT coalesce(s.expected_interval_s, s.typical_interval_s) AS interval_s) i
                    JOIN quantities q ON q.id = r.quantity_id
                    WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
                      AND (%(sensor)s::text IS NULL OR s.name = %(sensor)s)
                      AND (%(quantity)s::text IS NULL OR q.name = %(quantity)s)
                      AND (%(start)s::timestamptz IS NULL OR r.bucket >= %(start)s)
                      AND (%(end)s::timestamptz IS NULL OR r.bucket < %(end)s)
                    ORDER BY r.bucket, s.tenant, s.name, q.id
                    LIMIT %(limit)s""",
                {
                    "tenant": tenant,
                    "sensor": sensor,
                    "quantity": quantity.value if quantity else None,
                    "start": start,
                    "end": end,
                    "limit": limit,
                    "tz": timezone,
                },
            )
            return cur.fetchall()
