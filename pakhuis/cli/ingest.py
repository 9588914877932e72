"""`pakhuis ingest`: one ingest process, to Kafka when PAKHUIS_KAFKA_URL is set, else to the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pakhuis.cli import probes, wiring
from pakhuis.cli.frame import Stores, command, console
from pakhuis.cli.health_http import HealthServer
from pakhuis.codec import KafkaTopics
from pakhuis.health import HealthBoard
from pakhuis.settings import Settings

__all__ = ["ingest"]

# One logger name for the whole command line (the log format shows it).
log = logging.getLogger("pakhuis")

# Seconds between the progress lines in the log.
_LOG_EVERY_S = 10.0


def ingest() -> None:
    """Run one ingest process against the broker and database given by settings."""
    with command() as ctx:
        settings = ctx.settings
        if settings.kafka_url is not None:
            with ctx.stores("ingest", "health") as stores:
                asyncio.run(_run_ingest_to_kafka(settings, stores))
        else:
            # issue 11 part 3: the decoder's lookups and the stream's writes have separate pools.
            with ctx.stores("stream", "ingest", "health") as stores:
                asyncio.run(_run_ingest(settings, stores))


async def _run_ingest_to_kafka(settings: Settings, stores: Stores) -> None:
    from ingest import MqttIngest
    from ingest.kafka import KafkaHandoff, ensure_topics

    bootstrap = settings.kafka_bootstrap()
    assert bootstrap is not None
    stop = wiring.stop_event()
    topics = KafkaTopics(settings.kafka_prefix)
    await asyncio.to_thread(ensure_topics, bootstrap, settings.kafka_partitions, topics)
    handoff = KafkaHandoff(bootstrap, client_id=settings.mqtt_client_id, topics=topics)
    handoff.start()
    client = MqttIngest(
        wiring.mqtt_options(settings), handoff.submit, wiring.message_decoder(settings, stores.ingest)
    )
    await asyncio.to_thread(client.start)
    # The database only serves registry lookups here (kept from the last read while it is
    # down), so its outage does not make this process unready.
    health = probes.board(settings, stores.health, database_ready=False)
    probes.watch_ingest(health, settings, client)
    server = _serve_health(settings, health)
    described = settings.describe()
    console.print(f"ingest {settings.mqtt_client_id}: {described['mqtt']} → Kafka {described['kafka']}")
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _LOG_EVERY_S)
        log.info(
            "%d messages received, %d Kafka deliveries (%d retried)",
            client.received,
            handoff.delivered,
            handoff.failed,
        )
    await asyncio.to_thread(client.stop)
    await asyncio.to_thread(handoff.stop)
    if server is not None:
        server.stop()


def _serve_health(settings: Settings, health: HealthBoard) -> HealthServer | None:
    """/health of this process on PAKHUIS_HEALTH_PORT, if set (it serves no API)."""
    if settings.health_port is None:
        return None
    server = HealthServer(health, settings.api_host, settings.health_port).start()
    console.print(f"health on http://{settings.api_host}:{server.port}/health")
    return server


async def _run_ingest(settings: Settings, stores: Stores) -> None:
    from ingest import MqttIngest

    stop = wiring.stop_event()
    health = probes.board(settings, stores.health)
    pipeline = wiring.pipeline(settings, stores.stream)
    runner = wiring.runner(settings, pipeline)
    runner_task = asyncio.create_task(runner.run())
    probes.watch_runner(health, settings, runner, runner_task)
    sweeper = asyncio.create_task(wiring.sweep_stale(settings, pipeline, stop))
    await asyncio.sleep(0)
    client = MqttIngest(
        wiring.mqtt_options(settings),
        runner.submit_threadsafe,
        wiring.message_decoder(settings, stores.ingest),
    )
    await asyncio.to_thread(client.start)
    probes.watch_ingest(health, settings, client)
    server = _serve_health(settings, health)
    described = settings.describe()
    console.print(
        f"ingest {settings.mqtt_client_id}: {described['mqtt']} → {described['database']}", soft_wrap=True
    )
    while not stop.is_set() and not runner_task.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _LOG_EVERY_S)
        s = runner.stats
        log.info(
            "stored %d readings (%d duplicates, %d dead letters) from %d messages",
            s.stored,
            s.duplicates,
            s.dead_letters,
            s.messages,
        )
        report = await asyncio.to_thread(health.check)
        if report.status != "ok":
            # No HTTP here: the log is where this process tells the truth about itself.
            log.warning("health %s: %s", report.status, report.summary())
    await asyncio.to_thread(client.stop)
    runner.stop()
    stop.set()
    try:
        await wiring.finish_runner(runner_task)
        await sweeper
    finally:
        if server is not None:
            server.stop()
