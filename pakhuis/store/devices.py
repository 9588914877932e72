"""SQL for MQTT device logins (issue 14 part 3): add, list, look up, remove.

Only the Mosquitto-format hash of a device's password is stored; `pakhuis.access.devices` makes
the password, its hash and the login's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pakhuis.store.connection import Connected
from pakhuis.store.rows import fetch_all, fetch_one

__all__ = ["DeviceLoginRow", "DeviceQueries"]


@dataclass(frozen=True, slots=True)
class DeviceLoginRow:
    id: int
    tenant: str
    sensor: str
    username: str
    password_hash: str
    created: datetime


_COLUMNS = "id, tenant, sensor, username, password_hash, created"


class DeviceQueries(Connected):
    def insert_device_login(self, tenant: str, sensor: str, username: str, password_hash: str) -> int | None:
        """Store a new device login; its id, or None when the device already has one (the
        existing login and its password stay as they are)."""
        with self._connection() as conn:
            row = conn.execute(
                """INSERT INTO mqtt_devices (tenant, sensor, username, password_hash)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT DO NOTHING RETURNING id""",
                (tenant, sensor, username, password_hash),
            ).fetchone()
        return None if row is None else int(row[0])

    def device_login(self, tenant: str, sensor: str) -> DeviceLoginRow | None:
        with self._connection() as conn:
            row = fetch_one(
                conn,
                f"SELECT {_COLUMNS} FROM mqtt_devices WHERE tenant = %s AND sensor = %s",
                (tenant, sensor),
            )
        return None if row is None else DeviceLoginRow(**row)

    def device_logins(self) -> list[DeviceLoginRow]:
        with self._connection() as conn:
            rows = fetch_all(conn, f"SELECT {_COLUMNS} FROM mqtt_devices ORDER BY tenant, sensor")
        return [DeviceLoginRow(**row) for row in rows]

    def delete_device_login(self, tenant: str, sensor: str) -> bool:
        """Remove a device's login; False when it has none. The broker refuses it once the
        auth files are exported again and reloaded."""
        with self._connection() as conn:
            row = conn.execute(
                "DELETE FROM mqtt_devices WHERE tenant = %s AND sensor = %s RETURNING id", (tenant, sensor)
            ).fetchone()
        return row is not None
