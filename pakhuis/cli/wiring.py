"""Wiring of the ingest and stream rooms from settings: MQTT options, decoder, pipeline, runner.

The rooms are imported inside the functions, so `pakhuis --help` does not pay for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pakhuis.errors import StoreUnavailable, StreamFailed
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    from ingest import MqttOptions
    from ingest.decode import MessageDecoder
    from stream import LocalRunner, PipelineOutcome, StreamPipeline

__all__ = [
    "finish_runner",
    "message_decoder",
    "mqtt_options",
    "pipeline",
    "runner",
    "stop_event",
    "sweep_stale",
]

# One logger name for the whole command line (the log format shows it).
log = logging.getLogger("pakhuis")


def mqtt_options(settings: Settings, *, protocol: str | None = None) -> MqttOptions:
    from ingest import MqttOptions

    host, port, username, password = settings.mqtt_endpoint()
    return MqttOptions(
        host=host,
        port=port,
        client_id=settings.mqtt_client_id,
        topics=tuple(settings.mqtt_subscriptions()),
        protocol=protocol or settings.mqtt_protocol,
        username=username,
        password=password,
        session_expiry_s=settings.mqtt_session_expiry_s,
        max_inflight=settings.mqtt_max_inflight,
        max_future_s=settings.max_future_s,
    )


def message_decoder(settings: Settings, store: Store) -> MessageDecoder:
    from ingest.decode import MessageDecoder
    from ingest.directory import SensorDirectory
    from ingest.mappings import load_mappings

    directory = SensorDirectory(
        known_sensors=store.known_sensors,
        tenant_policies=store.tenant_policies,
        datastream=store.datastream,
        default_policy=settings.unknown_sensor_policy,
    )
    return MessageDecoder(
        mappings=load_mappings(settings.mappings_file),
        directory=directory,
        max_future_s=settings.max_future_s,
        late_after_s=settings.late_after_s,
    )


def pipeline(settings: Settings, store: Store) -> StreamPipeline:
    from stream import StreamPipeline

    return StreamPipeline(
        store,
        alert_above=settings.alert_above,
        alert_hourly_mean_above=settings.alert_hourly_mean_above,
        stale_factor=settings.stale_factor,
        # issue 11 part 5: dead letters capped, and purged by the periodic sweep
        deadletter_max_payload_bytes=settings.deadletter_max_payload_bytes,
        deadletter_retention_days=settings.deadletter_retention_days,
    )


def _log_alerts(outcome: PipelineOutcome) -> None:
    for alert in outcome.alerts:
        log.warning(
            "alert %s: %s/%s %s — %s", alert.state, alert.tenant, alert.sensor, alert.rule, alert.message
        )


def runner(settings: Settings, stream_pipeline: StreamPipeline) -> LocalRunner[PipelineOutcome]:
    from stream import LocalRunner

    return LocalRunner(
        stream_pipeline,
        on_outcome=_log_alerts,
        max_readings=settings.batch_max_readings,
        max_seconds=settings.batch_max_seconds,
        # Half the broker's in-flight window, so one batch fills while the previous one is written.
        max_messages=max(1, settings.mqtt_max_inflight // 2),
        linger_s=settings.batch_linger_s,
    )


async def sweep_stale(settings: Settings, stream_pipeline: StreamPipeline, stop: asyncio.Event) -> None:
    """The embedded counterpart of the Faust leader timer: find sensors that went silent."""
    from stream.retry import call_with_retry

    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.stale_check_s)
        alerts = await call_with_retry(stream_pipeline.sweep, datetime.now(UTC), what="staleness sweep")
        for alert in alerts:
            log.warning("alert %s: %s/%s stale — %s", alert.state, alert.tenant, alert.sensor, alert.message)


async def finish_runner(runner_task: asyncio.Task[None]) -> None:
    """Wait for the stopped runner; an outage stays an outage, anything else is a bug."""
    try:
        await runner_task
    except StoreUnavailable:
        raise
    except Exception as exc:
        # A bug, not an outage: the failed batch was not acknowledged, so the broker keeps it.
        log.exception("the stream runner failed")
        raise StreamFailed(
            f"The stream runner stopped on an unexpected error: {exc.__class__.__name__}: {exc}",
            hint="Unacknowledged messages stay with the broker and are redelivered on restart; "
            "see the log above and report it.",
        ) from exc


def stop_event() -> asyncio.Event:
    """Set on SIGINT or SIGTERM: the command, not uvicorn, owns the signals."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
