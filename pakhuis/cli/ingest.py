"""`pakhuis ingest`: one ingest process, to Kafka when PAKHUIS_KAFKA_URL is set, else to the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pakhuis.cli import wiring
from pakhuis.cli.frame import command, console
from pakhuis.codec import KafkaTopics
from pakhuis.settings import Settings
from pakhuis.store import Store

__all__ = ["ingest"]

# One logger name for the whole command line (the log format shows it).
log = logging.getLogger("pakhuis")

# Seconds between the progress lines in the log.
_LOG_EVERY_S = 10.0


def ingest() -> None:
    """Run one ingest process against the broker and database given by settings."""
    with command() as ctx:
        settings = ctx.settings
        with ctx.store() as store:
            if settings.kafka_url is not None:
                asyncio.run(_run_ingest_to_kafka(settings, store))
            else:
                asyncio.run(_run_ingest(settings, store))


async def _run_ingest_to_kafka(settings: Settings, store: Store) -> None:
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
        wiring.mqtt_options(settings), handoff.submit, wiring.message_decoder(settings, store)
    )
    await asyncio.to_thread(client.start)
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


async def _run_ingest(settings: Settings, store: Store) -> None:
    from ingest import MqttIngest

    stop = wiring.stop_event()
    pipeline = wiring.pipeline(settings, store)
    runner = wiring.runner(settings, pipeline)
    runner_task = asyncio.create_task(runner.run())
    sweeper = asyncio.create_task(wiring.sweep_stale(settings, pipeline, stop))
    await asyncio.sleep(0)
    client = MqttIngest(
        wiring.mqtt_options(settings), runner.submit_threadsafe, wiring.message_decoder(settings, store)
    )
    await asyncio.to_thread(client.start)
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
    await asyncio.to_thread(client.stop)
    runner.stop()
    stop.set()
    await wiring.finish_runner(runner_task)
    await sweeper
