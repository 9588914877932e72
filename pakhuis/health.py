"""The component health board: what `/health` reports, one probe per running component.

The command that starts the components (broker connection, ingest, stream runner, database)
registers a probe for each; a probe answers ok, degraded (working, but retrying or behind) or
down (not doing its job) with a detail a person can act on. The API turns the board into
`GET /health` (503 when a component is down), `/health/ready` and `/health/live`.

    board = HealthBoard()
    board.register("database", database_probe(store))
    report = board.check()            # every probe, a raising probe counts as down
    report.status, report.down()      # "ok" | "degraded" | "down", names of the down ones
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pakhuis.errors import PakhuisError, StoreUnavailable

__all__ = [
    "ComponentDown",
    "ComponentHealth",
    "HealthBoard",
    "HealthReport",
    "Probe",
    "Status",
    "database_probe",
]

log = logging.getLogger(__name__)

Status = Literal["ok", "degraded", "down"]
_RANK: dict[Status, int] = {"ok": 0, "degraded": 1, "down": 2}


class ComponentDown(PakhuisError):
    """A component the service needs is not doing its job (the database has its own error)."""

    status = 503
    code = "component_down"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    status: Status
    detail: str = ""
    # What to do about it (shown as the error's hint when the component is down).
    hint: str | None = None
    # Figures worth a glance: last message age, backlog, last commit age, counts.
    figures: dict[str, float | int | str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"status": self.status, "detail": self.detail}
        if self.figures:
            body.update(self.figures)
        return body


Probe = Callable[[], ComponentHealth]


@dataclass(frozen=True, slots=True)
class HealthReport:
    components: dict[str, ComponentHealth]
    # Components whose being down makes the process not ready to serve.
    readiness: frozenset[str]

    @property
    def status(self) -> Status:
        worst: Status = "ok"
        for health in self.components.values():
            if _RANK[health.status] > _RANK[worst]:
                worst = health.status
        return worst

    def down(self, *, only_ready: bool = False) -> list[str]:
        return [
            name
            for name, health in self.components.items()
            if health.status == "down" and (not only_ready or name in self.readiness)
        ]

    def summary(self) -> str:
        """'database: down (...); broker: ok; ...' — every component, for logs and 503 messages."""
        parts = []
        for name, health in self.components.items():
            detail = f" ({health.detail})" if health.detail and health.status != "ok" else ""
            parts.append(f"{name}: {health.status}{detail}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"status": self.status}
        if "database" in self.components:
            # Kept from the first /health shape, which callers (compose health checks) read.
            body["database"] = self.components["database"].status
        body["components"] = {name: health.to_dict() for name, health in self.components.items()}
        return body

    def failure(self, *, only_ready: bool = False) -> PakhuisError | None:
        """The error a 503 answer carries, or None when nothing (that counts) is down.

        A down database keeps its own error (code store_unavailable, its message and hint), as
        every other endpoint answers during an outage."""
        down = self.down(only_ready=only_ready)
        if not down:
            return None
        first = self.components[down[0]]
        message = f"{down[0]} is down: {first.detail}. All components: {self.summary()}"
        if down[0] == "database":
            return StoreUnavailable(message, hint=first.hint)
        return ComponentDown(message, hint=first.hint)


class HealthBoard:
    """Probes by component name; thread-safe (components register from the command's wiring)."""

    def __init__(self) -> None:
        self._probes: dict[str, tuple[Probe, bool]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, probe: Probe, *, ready: bool = True) -> None:
        """Add (or replace) a component; `ready=False`: its being down does not fail readiness."""
        with self._lock:
            self._probes[name] = (probe, ready)

    def __contains__(self, name: object) -> bool:
        return name in self._probes

    def check(self) -> HealthReport:
        with self._lock:
            probes = dict(self._probes)
        components: dict[str, ComponentHealth] = {}
        for name, (probe, _ready) in probes.items():
            components[name] = _run(name, probe)
        readiness = frozenset(name for name, (_probe, ready) in probes.items() if ready)
        return HealthReport(components, readiness)


def _run(name: str, probe: Probe) -> ComponentHealth:
    try:
        return probe()
    except PakhuisError as exc:
        return ComponentHealth("down", exc.message, hint=exc.hint)
    except Exception as exc:  # a broken probe must not break /health; it reports the component down
        log.exception("health probe %s failed", name)
        return ComponentHealth("down", f"the health probe failed: {exc.__class__.__name__}: {exc}")


class _Pingable(Protocol):
    """What the database probe needs of a store."""

    def ping(self) -> None: ...


def database_probe(store: _Pingable) -> Probe:
    """The database answers a query (through the pool the probe was given)."""

    def probe() -> ComponentHealth:
        try:
            store.ping()
        except StoreUnavailable as exc:
            return ComponentHealth("down", exc.message, hint=exc.hint)
        return ComponentHealth("ok", "answers")

    return probe
