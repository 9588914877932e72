"""What ingest needs to know from the registry: known sensors, tenant policies, Datastreams.

Backed by the store, cached briefly (5 s for answers that may change by registration), so a
message costs no database round trip in the common case and a newly registered sensor or
Datastream is picked up within seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from ingest.context import Datastream
from pakhuis.errors import StoreUnavailable
from pakhuis.quantities import parse_quantity
from pakhuis.reading import Reading, Rejection

log = logging.getLogger(__name__)

Policy = Literal["auto_register", "reject"]
# While the database is down, tenant policies are asked for again this often (each try may
# wait for the pool's timeout).
_RETRY_POLICIES_S = 30.0


class SensorDirectory:
    def __init__(
        self,
        *,
        known_sensors: Callable[[Sequence[tuple[str, str]]], set[tuple[str, str]]],
        tenant_policies: Callable[[], dict[str, str]],
        datastream: Callable[[str], dict[str, Any] | None],
        default_policy: Policy = "auto_register",
        ttl_s: float = 5.0,
    ) -> None:
        self._known_sensors = known_sensors
        self._tenant_policies = tenant_policies
        self._datastream = datastream
        self._default_policy = default_policy
        self._ttl_s = ttl_s
        self._known: set[tuple[str, str]] = set()
        self._unknown_until: dict[tuple[str, str], float] = {}
        self._policies: dict[str, str] = {}
        self._policies_until = 0.0
        self._policies_loaded = False
        self._streams: dict[str, tuple[float, Datastream | None]] = {}
        self._lock = threading.Lock()

    def policy(self, tenant: str) -> str:
        now = time.monotonic()
        with self._lock:
            refresh = now >= self._policies_until
            if refresh and self._policies_loaded:
                # The others go on with the policies last read while this thread refreshes them.
                self._policies_until = now + self._ttl_s
        if refresh:
            self._refresh_policies()
        with self._lock:
            return self._policies.get(tenant, self._default_policy)

    def _refresh_policies(self) -> None:
        try:
            policies = self._tenant_policies()
        except StoreUnavailable:
            if not self._policies_loaded:
                raise  # nothing to decide with yet: the message waits for the database
            # Decide with the policies last read (a policy change waits for the database):
            # ingest to Kafka must not stop while PostgreSQL is down; ask again in a while.
            log.warning("tenant policies not refreshed (database unavailable); using the last ones")
            with self._lock:
                self._policies_until = time.monotonic() + max(self._ttl_s, _RETRY_POLICIES_S)
            return
        with self._lock:
            self._policies = policies
            self._policies_loaded = True
            self._policies_until = time.monotonic() + self._ttl_s

    def is_known(self, tenant: str, sensor: str) -> bool:
        key = (tenant, sensor)
        now = time.monotonic()
        with self._lock:
            if key in self._known:
                return True
            if self._unknown_until.get(key, 0.0) > now:
                return False
        found = key in self._known_sensors([key])
        with self._lock:
            if found:
                self._known.add(key)
            else:
                self._unknown_until[key] = now + self._ttl_s
        return found

    def refuse_unregistered(self, readings: list[Reading]) -> tuple[list[Reading], list[Rejection]]:
        """Split off readings of unregistered sensors of tenants that refuse those."""
        kept: list[Reading] = []
        refused: list[Rejection] = []
        for reading in readings:
            if self.policy(reading.tenant) == "reject" and not self.is_known(reading.tenant, reading.sensor):
                refused.append(
                    Rejection(
                        "unknown_sensor",
                        f"sensor {reading.sensor!r} is not registered and tenant {reading.tenant!r} refuses "
                        f"unregistered sensors (pakhuis sensors register {reading.tenant} {reading.sensor})",
                    )
                )
            else:
                kept.append(reading)
        return kept, refused

    def datastream(self, datastream_id: str) -> Datastream | None:
        now = time.monotonic()
        with self._lock:
            cached = self._streams.get(datastream_id)
            if cached is not None and (cached[1] is not None or cached[0] > now):
                return cached[1]
        row = self._datastream(datastream_id)
        stream = None
        if row is not None:
            quantity = parse_quantity(row["quantity"])
            if quantity is not None:
                stream = Datastream(row["id"], row["tenant"], row["sensor"], quantity, row["unit"])
        with self._lock:
            self._streams[datastream_id] = (now + self._ttl_s, stream)
        return stream
