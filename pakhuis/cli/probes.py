"""The health board of a command, fed by what it started (issue 11 part 3).

    board = probes.board(settings, stores.health)         # "database": a ping on its own pool
    probes.watch_ingest(board, settings, ingest)          # "broker", "ingest"
    probes.watch_runner(board, settings, runner, task)    # "runner"
    probes.watch_bridge(board, bridge)                    # "http_ingest" (not for readiness)

Each probe reads counters the component keeps (no locks, no I/O) except the database ping.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from pakhuis.health import ComponentHealth, HealthBoard, database_probe
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    from api.bridge import MqttBridge
    from ingest import MqttIngest
    from stream import LocalRunner

__all__ = ["board", "watch_bridge", "watch_ingest", "watch_runner"]


def _age(at: float | None) -> float | None:
    return None if at is None else round(time.time() - at, 1)


def board(settings: Settings, store: Store, *, database_ready: bool = True) -> HealthBoard:
    """A board with the database on it (`database_ready=False`: reported, but its outage does
    not make the process unready, as for an ingest that produces to Kafka)."""
    health = HealthBoard()
    health.register("database", database_probe(store), ready=database_ready)
    return health


def watch_ingest(health: HealthBoard, settings: Settings, ingest: MqttIngest) -> None:
    """`broker`: the MQTT connection; `ingest`: messages arriving and handed on (or retried)."""
    o = ingest.options
    where = f"{o.host}:{o.port} as {o.client_id}"

    def broker() -> ComponentHealth:
        if not ingest.network_thread_alive:
            return ComponentHealth(
                "down", f"the MQTT network thread stopped ({where})", hint="Restart the process."
            )
        if not ingest.connected:
            return ComponentHealth(
                "down",
                f"not connected to the MQTT broker at {where}; reconnecting",
                hint="Check that the broker runs and accepts this client.",
            )
        taken = _age(ingest.last_takeover_at)
        if taken is not None and taken < settings.health_stuck_after_s:
            return ComponentHealth(
                "degraded",
                f"another client took over this session {taken:.0f} s ago "
                f"({ingest.takeovers} times); reconnected to {where}",
                hint="Give each ingest its own PAKHUIS_MQTT_CLIENT_ID; see deploy/mosquitto/acl.",
            )
        window = settings.health_stuck_after_s
        lost = sum(1 for at in list(ingest.connection_losses) if time.time() - at < window)
        if lost >= 2:
            return ComponentHealth(
                "degraded",
                f"the connection to {where} was lost {lost} times in the last {window:.0f} s "
                "(another client using this client id? a broker restarting?)",
                hint="Give each ingest its own PAKHUIS_MQTT_CLIENT_ID; see deploy/mosquitto/.",
            )
        return ComponentHealth("ok", f"connected to {where}")

    def ingest_probe() -> ComponentHealth:
        redelivery = ingest.redelivery
        figures: dict[str, Any] = {
            "received": ingest.received,
            "last_message_age_s": _age(ingest.last_message_at),
            "backlog": redelivery.backlog,
            "retried": redelivery.stats.retried,
            "dead_lettered": redelivery.stats.given_up,
        }
        if redelivery.backlog == 0:
            return ComponentHealth("ok", "handing messages on", figures=figures)
        waited = redelivery.oldest_wait_s()
        detail = (
            f"{redelivery.backlog} messages waiting to be retried for {waited:.0f} s "
            f"(last error: {redelivery.stats.last_error})"
        )
        if waited > settings.health_stuck_after_s:
            return ComponentHealth(
                "down", detail, hint="See the log; the messages stay with the broker.", figures=figures
            )
        return ComponentHealth("degraded", detail, figures=figures)

    health.register("broker", broker)
    health.register("ingest", ingest_probe)


def watch_runner(
    health: HealthBoard, settings: Settings, runner: LocalRunner[Any], task: asyncio.Task[None]
) -> None:
    """`runner`: the stream runner runs, commits, and is not stuck behind its queue."""

    def probe() -> ComponentHealth:
        s = runner.stats
        figures: dict[str, Any] = {
            "queued": runner.queue_depth,
            "last_commit_age_s": _age(s.last_commit),
            "stored": s.stored,
            "messages": s.messages,
            "retries": s.retries,
        }
        if task.done():
            error = None if task.cancelled() else task.exception()
            why = f"{type(error).__name__}: {error}" if error else "it returned"
            return ComponentHealth(
                "down", f"the stream runner stopped ({why})", hint="Restart the process.", figures=figures
            )
        if s.last_error:
            return ComponentHealth("degraded", f"retrying a batch: {s.last_error}", figures=figures)
        queued, age = runner.queue_depth, figures["last_commit_age_s"]
        if queued and age is not None and age > settings.health_stuck_after_s:
            return ComponentHealth(
                "down", f"{queued} envelopes queued, no commit for {age:.0f} s", figures=figures
            )
        return ComponentHealth("ok", "committing", figures=figures)

    health.register("runner", probe)


def watch_bridge(health: HealthBoard, bridge: MqttBridge) -> None:
    """`http_ingest`: the API's MQTT bridge (reads do not need it: never fails readiness)."""

    def probe() -> ComponentHealth:
        state = bridge.state()
        if state == "idle":
            return ComponentHealth("ok", "connects on the first HTTP ingest request")
        if state == "connected":
            return ComponentHealth("ok", "connected to the broker")
        # Degraded, not down: reads are fine, and each ingest request answers 503 itself.
        return ComponentHealth("degraded", f"the MQTT bridge is {state}; HTTP ingest answers 503")

    health.register("http_ingest", probe, ready=False)
