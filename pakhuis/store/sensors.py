"""SQL for the sensor registry: tenants (their policy and kind), sensors, SensorThings datastreams.

Sensors are registered on first sight by a write (`register_staged_sensors`), and every write keeps
their activity (last reading, learned interval) current for the staleness rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from pakhuis.quantities import QUANTITIES, Quantity
from pakhuis.store.connection import Connected
from pakhuis.store.rows import fetch_all, fetch_one

if TYPE_CHECKING:
    from pakhuis.access.privacy import TenantKind

_REGISTER_STAGED = """
INSERT INTO sensors (tenant, name, kind)
SELECT DISTINCT ON (r.tenant, r.sensor) r.tenant, r.sensor, r.kind FROM staging_readings r
-- Only unseen sensors reach the INSERT: ON CONFLICT alone would burn a sequence value per
-- known sensor per batch and exhaust the serial within months.
WHERE NOT EXISTS (SELECT 1 FROM sensors s WHERE s.tenant = r.tenant AND s.name = r.sensor)
ORDER BY r.tenant, r.sensor, r.kind
ON CONFLICT (tenant, name) DO NOTHING
"""

# What staleness needs: when each sensor last sent, and a moving average of its interval.
# A batch holding several readings of one sensor gives its mean spacing; a single reading
# gives the gap since the previous one.
_RECORD_STAGED_ACTIVITY = """
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

_SENSORS = """
SELECT s.tenant, s.name AS sensor, s.kind, s.lon, s.lat, s.metadata, s.created,
       coalesce(array_agg(q.name ORDER BY q.id) FILTER (WHERE q.name IS NOT NULL), '{}') AS quantities
FROM sensors s
LEFT JOIN latest l ON l.sensor_id = s.id
LEFT JOIN quantities q ON q.id = l.quantity_id
WHERE (%(tenant)s::text IS NULL OR s.tenant = %(tenant)s)
  AND (%(kind)s::text IS NULL OR s.kind = %(kind)s)
GROUP BY s.id ORDER BY s.tenant, s.name
"""

_REGISTER_SENSOR = """
INSERT INTO sensors (tenant, name, kind, lon, lat, metadata, expected_interval_s)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (tenant, name) DO UPDATE SET kind = EXCLUDED.kind,
    lon = coalesce(EXCLUDED.lon, sensors.lon), lat = coalesce(EXCLUDED.lat, sensors.lat),
    metadata = sensors.metadata || EXCLUDED.metadata,
    expected_interval_s = coalesce(EXCLUDED.expected_interval_s, sensors.expected_interval_s)
"""


def register_staged_sensors(cur: psycopg.Cursor[Any]) -> None:
    """Inside a write: register the sensors of staging_readings not seen before."""
    cur.execute(_REGISTER_STAGED)


def record_staged_activity(cur: psycopg.Cursor[Any]) -> None:
    """Inside a write: when the staged sensors last sent, and how often they send."""
    cur.execute(_RECORD_STAGED_ACTIVITY)


class SensorQueries(Connected):
    def set_tenant_policy(self, tenant: str, policy: Literal["auto_register", "reject"]) -> None:
        with self._connection() as conn:
            conn.execute(
                """INSERT INTO tenants (name, policy) VALUES (%s, %s)
                   ON CONFLICT (name) DO UPDATE SET policy = EXCLUDED.policy""",
                (tenant, policy),
            )

    def tenant_policies(self) -> dict[str, str]:
        with self._connection() as conn:
            rows = conn.execute("SELECT name, policy FROM tenants WHERE policy IS NOT NULL")
            return {str(r[0]): str(r[1]) for r in rows}

    def set_tenant_kind(self, tenant: str, kind: TenantKind) -> None:
        """Declare a tenant a citizen measurement `group` (personal sensors) or the `city`."""
        with self._connection() as conn:
            conn.execute(
                """INSERT INTO tenants (name, kind) VALUES (%s, %s)
                   ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind""",
                (tenant, kind),
            )

    def tenant_kinds(self) -> dict[str, str]:
        """Tenant → its declared kind; a tenant missing here takes the deployment's default."""
        with self._connection() as conn:
            rows = conn.execute("SELECT name, kind FROM tenants WHERE kind IS NOT NULL")
            return {str(r[0]): str(r[1]) for r in rows}

    def sensor_keys(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """(tenant, sensor) of every sensor (of `tenant`): what a pseudonym is resolved against."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT tenant, name FROM sensors WHERE %(tenant)s::text IS NULL OR tenant = %(tenant)s",
                {"tenant": tenant},
            ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

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
                _REGISTER_SENSOR,
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

    def sensors(self, tenant: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(conn, _SENSORS, {"tenant": tenant, "kind": kind})

    def last_reading_times(self, tenant: str) -> dict[str, Any]:
        """Sensor name → the time of its latest reading (None before the first) for `tenant`."""
        with self._connection() as conn:
            rows = conn.execute("SELECT name, last_time FROM sensors WHERE tenant = %s", (tenant,)).fetchall()
        return {str(name): last for name, last in rows}

    def drain_sensors(self, quantity: Quantity = Quantity.FILL_LEVEL) -> list[dict[str, Any]]:
        """Sensors that report `quantity` (with their position and metadata)."""
        with self._connection() as conn:
            return fetch_all(
                conn,
                """SELECT s.id, s.tenant, s.name, s.kind, s.lon, s.lat, s.metadata FROM sensors s
                   WHERE EXISTS (SELECT 1 FROM latest l WHERE l.sensor_id = s.id AND l.quantity_id = %s)
                   ORDER BY s.id""",
                (QUANTITIES[quantity].id,),
            )

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
        with self._connection() as conn:
            return fetch_one(
                conn,
                """SELECT d.id, d.tenant, d.sensor, q.name AS quantity, d.unit
                   FROM datastreams d JOIN quantities q ON q.id = d.quantity_id WHERE d.id = %s""",
                (datastream_id,),
            )
