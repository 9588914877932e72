"""The `pakhuis` command: the composition root, the one module that wires the rooms together.

Every command reads settings at start-up (never at import), prints what it did in numbers,
and turns a `PakhuisError` into a message plus what to do next (exit code 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

from pakhuis.codec import KafkaTopics
from pakhuis.errors import ConfigurationError, PakhuisError, ServiceStartError, StoreUnavailable, StreamFailed
from pakhuis.settings import Settings, load_settings
from pakhuis.store import EmbeddedPostgres, Store

app = typer.Typer(
    help="pakhuis — the city's sensor data warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
stream_app = typer.Typer(help="Distributed stream processing (Faust on Kafka).", no_args_is_help=True)
app.add_typer(stream_app, name="stream")
kafka_app = typer.Typer(help="A local Kafka for development.", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")

console = Console(highlight=False, soft_wrap=True)
log = logging.getLogger("pakhuis")


# -- shared wiring ---------------------------------------------------------------------------


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # amqtt logs every connection and packet at INFO.
    for noisy in ("amqtt", "transitions", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def _open_store(settings: Settings) -> Iterator[Store]:
    """An open, migrated store: external when PAKHUIS_DATABASE_URL is set, else embedded."""
    embedded: EmbeddedPostgres | None = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        uri = embedded.start()
    else:
        uri = settings.database_url.get_secret_value()
    store = Store(uri, reporting_timezone=settings.reporting_timezone).open()
    try:
        store.migrate()
        yield store
    finally:
        store.close()
        if embedded is not None:
            embedded.stop()


def _check_port_free(host: str, port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ServiceStartError(
                    f"Port {host}:{port} is already in use.",
                    hint=f"Stop the program using it (for 1883 often a system Mosquitto: "
                    f"`systemctl stop mosquitto`), or pass {option} {port + 1}.",
                ) from exc
            raise


def _mqtt_options(settings: Settings, *, protocol: str | None = None) -> Any:
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


def _pipeline(settings: Settings, store: Store) -> Any:
    from stream import StreamPipeline

    return StreamPipeline(
        store,
        alert_above=settings.alert_above,
        alert_hourly_mean_above=settings.alert_hourly_mean_above,
        stale_factor=settings.stale_factor,
    )


def _log_alerts(outcome: Any) -> None:
    for alert in outcome.alerts:
        log.warning(
            "alert %s: %s/%s %s — %s", alert.state, alert.tenant, alert.sensor, alert.rule, alert.message
        )


async def _sweep_stale(settings: Settings, pipeline: Any, stop: asyncio.Event) -> None:
    """The embedded counterpart of the Faust leader timer: find sensors that went silent."""
    from stream.retry import call_with_retry

    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.stale_check_s)
        alerts = await call_with_retry(pipeline.sweep, datetime.now(UTC), what="staleness sweep")
        for alert in alerts:
            log.warning("alert %s: %s/%s stale — %s", alert.state, alert.tenant, alert.sensor, alert.message)


def _runner(settings: Settings, store: Store, pipeline: Any) -> Any:
    from stream import LocalRunner

    return LocalRunner(
        pipeline,
        on_outcome=_log_alerts,
        max_readings=settings.batch_max_readings,
        max_seconds=settings.batch_max_seconds,
        # Half the broker's in-flight window, so one batch fills while the previous one is written.
        max_messages=max(1, settings.mqtt_max_inflight // 2),
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the command owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _api_server(store: Store, host: str, port: int) -> _QuietServer:
    from api import create_app

    config = uvicorn.Config(
        create_app(store),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    return _QuietServer(config)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _fail(exc: PakhuisError) -> None:
    console.print(f"[bold red]error:[/] {exc.message}")
    if exc.hint:
        console.print(f"[yellow]what to do:[/] {exc.hint}")
    raise typer.Exit(1)


# -- commands ----------------------------------------------------------------------------------


@app.command()
def run(
    simulate: Annotated[bool, typer.Option(help="Also run simulated air, drain and bridge sensors.")] = False,
    api_port: Annotated[int, typer.Option(help="Port of the API and page.")] = 8000,
    mqtt_port: Annotated[int, typer.Option(help="Port of the embedded MQTT broker.")] = 1883,
    data_dir: Annotated[
        Path, typer.Option(help="Where the embedded database lives (kept between runs).")
    ] = Path(".pakhuis"),
    host: Annotated[str, typer.Option(help="Interface the broker and API listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the simulated sensors.")] = 1,
    sim_interval: Annotated[float, typer.Option(help="Seconds between simulated readings.")] = 5.0,
) -> None:
    """Run everything embedded: MQTT broker, stream runner, PostgreSQL and the API."""
    try:
        settings = load_settings(
            api_port=api_port,
            mqtt_port=mqtt_port,
            data_dir=data_dir,
            api_host=host,
            mqtt_bind_host=host,
            database_url="",
            mqtt_url="",
            # The embedded broker (amqtt) speaks MQTT 3.1.1 only.
            mqtt_protocol="3.1.1",
            mqtt_client_id="pakhuis-ingest-embedded",
        )
        _configure_logging(settings)
        _check_port_free(settings.api_host, settings.api_port, "--api-port")
        _check_port_free(settings.mqtt_bind_host, settings.mqtt_port, "--mqtt-port")
        with _open_store(settings) as store:
            asyncio.run(_run_embedded(settings, store, simulate, seed, sim_interval))
    except PakhuisError as exc:
        _fail(exc)


async def _run_embedded(
    settings: Settings, store: Store, simulate: bool, seed: int, sim_interval: float
) -> None:
    from ingest import EmbeddedBroker, MqttIngest

    stop = _stop_event()
    broker = EmbeddedBroker(settings.mqtt_bind_host, settings.mqtt_port)
    await broker.start()
    pipeline = _pipeline(settings, store)
    runner = _runner(settings, store, pipeline)
    runner_task = asyncio.create_task(runner.run())
    sweeper = asyncio.create_task(_sweep_stale(settings, pipeline, stop))
    await asyncio.sleep(0)
    ingest = MqttIngest(_mqtt_options(settings), runner.submit_threadsafe)
    await asyncio.to_thread(ingest.start)
    server = _api_server(store, settings.api_host, settings.api_port)
    server_task = asyncio.create_task(server.serve())
    sim_stop = threading.Event()
    sim_thread = _start_simulation(settings, seed, sim_interval, sim_stop) if simulate else None

    host, port = settings.mqtt_endpoint()[:2]
    console.print(f"pakhuis is running (data in {settings.data_dir.resolve()})")
    console.print(f"  API and page   http://{settings.api_host}:{settings.api_port}/  (docs: /docs)")
    console.print(f"  MQTT broker    mqtt://{host}:{port}  topics pakhuis/v1/{{tenant}}/{{sensor}}/native")
    if simulate:
        console.print(
            f"  simulators     air, drain and bridge sensors every {sim_interval:g} s (seed {seed})"
        )
    console.print("  stop with Ctrl-C")
    await _report_until(stop, runner, server_task, runner_task)

    sim_stop.set()
    if sim_thread is not None:
        await asyncio.to_thread(sim_thread.join, 10)
    server.should_exit = True
    await server_task
    await asyncio.to_thread(ingest.stop)
    runner.stop()
    stop.set()
    try:
        await _finish_runner(runner_task)
    finally:
        await sweeper
        await broker.stop()
    s = runner.stats
    console.print(
        f"\nstopped: {s.stored} readings stored, {s.duplicates} duplicates, "
        f"{s.dead_letters} dead letters, {s.messages} messages"
    )


async def _report_until(
    stop: asyncio.Event, runner: Any, server_task: asyncio.Task[None], runner_task: asyncio.Task[None]
) -> None:
    """A one-line live count of what was stored, until a signal (or the API or runner dies)."""
    tty = sys.stdout.isatty()
    last_print = 0.0
    while not stop.is_set() and not server_task.done() and not runner_task.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        s = runner.stats
        line = (
            f"readings stored {s.stored:,} · duplicates {s.duplicates:,} · "
            f"dead letters {s.dead_letters:,} · messages {s.messages:,}"
            + (f" · retrying: {s.last_error}" if s.last_error else "")
        )
        if tty:
            console.file.write("\r" + line.ljust(100))
            console.file.flush()
        elif time.monotonic() - last_print >= 5.0:
            console.print(line)
            last_print = time.monotonic()


def _start_simulation(
    settings: Settings, seed: int, interval: float, stop: threading.Event
) -> threading.Thread:
    from sensors_sim import build_fleet, run_simulation

    host, port = settings.mqtt_endpoint()[:2]
    fleet = build_fleet(seed, tenant="demo", air=6, drains=6, bridges=2)

    def target() -> None:
        try:
            run_simulation(host, port, fleet, interval_s=interval, duration_s=None, stop_event=stop)
        except Exception:  # a simulator crash is logged and must not take the warehouse down
            log.exception("simulator stopped")

    thread = threading.Thread(target=target, name="simulators", daemon=True)
    thread.start()
    return thread


@app.command()
def ingest() -> None:
    """Run one ingest process against the broker and database given by settings."""
    try:
        settings = load_settings()
        _configure_logging(settings)
        if settings.kafka_url is not None:
            asyncio.run(_run_ingest_to_kafka(settings))
            return
        with _open_store(settings) as store:
            asyncio.run(_run_ingest(settings, store))
    except PakhuisError as exc:
        _fail(exc)


async def _run_ingest_to_kafka(settings: Settings) -> None:
    from ingest import MqttIngest
    from ingest.kafka import KafkaHandoff, ensure_topics

    bootstrap = settings.kafka_bootstrap()
    assert bootstrap is not None
    stop = _stop_event()
    topics = KafkaTopics(settings.kafka_prefix)
    await asyncio.to_thread(ensure_topics, bootstrap, settings.kafka_partitions, topics)
    handoff = KafkaHandoff(bootstrap, client_id=settings.mqtt_client_id, topics=topics)
    handoff.start()
    client = MqttIngest(_mqtt_options(settings), handoff.submit)
    await asyncio.to_thread(client.start)
    described = settings.describe()
    console.print(f"ingest {settings.mqtt_client_id}: {described['mqtt']} → Kafka {described['kafka']}")
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 10.0)
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

    stop = _stop_event()
    pipeline = _pipeline(settings, store)
    runner = _runner(settings, store, pipeline)
    runner_task = asyncio.create_task(runner.run())
    sweeper = asyncio.create_task(_sweep_stale(settings, pipeline, stop))
    await asyncio.sleep(0)
    client = MqttIngest(_mqtt_options(settings), runner.submit_threadsafe)
    await asyncio.to_thread(client.start)
    described = settings.describe()
    console.print(
        f"ingest {settings.mqtt_client_id}: {described['mqtt']} → {described['database']}", soft_wrap=True
    )
    while not stop.is_set() and not runner_task.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 10.0)
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
    await _finish_runner(runner_task)
    await sweeper


async def _finish_runner(runner_task: asyncio.Task[None]) -> None:
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


@app.command()
def api(
    port: Annotated[int | None, typer.Option(help="Port (default PAKHUIS_API_PORT or 8000).")] = None,
    host: Annotated[
        str | None, typer.Option(help="Interface (default PAKHUIS_API_HOST or 127.0.0.1).")
    ] = None,
) -> None:
    """Serve the HTTP API against the database given by settings."""
    try:
        settings = load_settings(api_port=port, api_host=host)
        _configure_logging(settings)
        _check_port_free(settings.api_host, settings.api_port, "--port")
        with _open_store(settings) as store:
            console.print(
                f"API on http://{settings.api_host}:{settings.api_port}/ ({settings.describe()['database']})"
            )
            uvicorn.Server(
                uvicorn.Config(
                    _api_app(store),
                    host=settings.api_host,
                    port=settings.api_port,
                    log_level="warning",
                )
            ).run()
    except PakhuisError as exc:
        _fail(exc)


def _api_app(store: Store) -> Any:
    from api import create_app

    return create_app(store)


@app.command()
def sim(
    air: Annotated[int, typer.Option(help="Number of air-quality sensors.")] = 5,
    drains: Annotated[int, typer.Option(help="Number of drain fill sensors.")] = 5,
    bridges: Annotated[int, typer.Option(help="Number of bridge sensors.")] = 2,
    interval: Annotated[float, typer.Option(help="Seconds between readings of one sensor.")] = 5.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same sensors and values.")] = 1,
    tenant: Annotated[str, typer.Option(help="Tenant in the topics.")] = "demo",
) -> None:
    """Publish simulated sensor readings to the broker given by settings."""
    from sensors_sim import build_fleet, run_simulation

    try:
        settings = load_settings()
    except PakhuisError as exc:
        _fail(exc)
    _configure_logging(settings)
    host, port = settings.mqtt_endpoint()[:2]
    fleet = build_fleet(seed, tenant=tenant, air=air, drains=drains, bridges=bridges)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"simulating {len(fleet)} sensors → mqtt://{host}:{port} every {interval:g} s")
    try:
        result = run_simulation(host, port, fleet, interval_s=interval, duration_s=duration, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
        return
    console.print(
        f"published {result.messages:,} messages with {result.readings:,} readings over {result.ticks:,} "
        f"ticks ({result.dropouts:,} simulated dropouts, {result.unacknowledged:,} unacknowledged)"
    )


@stream_app.command("worker")
def stream_worker(
    worker_id: Annotated[str | None, typer.Option("--id", help="Worker name (default: host-pid).")] = None,
) -> None:
    """Run a Faust stream worker on Kafka (start several; they split the partitions)."""
    try:
        settings = load_settings()
        _configure_logging(settings)
        bootstrap = settings.kafka_bootstrap()
        if bootstrap is None:
            raise ConfigurationError(
                "A stream worker needs Kafka, but PAKHUIS_KAFKA_URL is not set.",
                hint="Set PAKHUIS_KAFKA_URL=127.0.0.1:9092 (start one with `pakhuis kafka up`), "
                "or use `pakhuis run` for the embedded mode without Kafka.",
            )
        import faust

        from ingest.kafka import ensure_topics
        from stream.faust_app import create_faust_app

        name = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        topics = KafkaTopics(settings.kafka_prefix)
        ensure_topics(bootstrap, settings.kafka_partitions, topics)
        datadir = (settings.data_dir / "faust" / name).resolve()
        datadir.mkdir(parents=True, exist_ok=True)
        with _open_store(settings) as store:
            app = create_faust_app(
                _pipeline(settings, store),
                bootstrap=bootstrap,
                partitions=settings.kafka_partitions,
                datadir=datadir,
                topics=topics,
                batch_max_readings=settings.batch_max_readings,
                batch_max_seconds=settings.stream_max_wait_s,
                stale_check_s=settings.stale_check_s,
            )
            described = settings.describe()
            console.print(f"stream worker {name}: Kafka {described['kafka']} → {described['database']}")
            level = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error"}[
                settings.log_level
            ]
            faust.Worker(app, loglevel=level, quiet=True).execute_from_commandline()
    except PakhuisError as exc:
        _fail(exc)


def _kafka_script() -> Path:
    script = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "kafka.sh"
    if not script.is_file():
        raise ServiceStartError(
            "deploy/kafka/kafka.sh is not next to this installation.",
            hint="Run `pakhuis kafka` from a source checkout (pip install -e .).",
        )
    return script


@kafka_app.command("up")
def kafka_up() -> None:
    """Start a local single-node Kafka (KRaft) from Apache Kafka's Maven artifacts."""
    try:
        raise typer.Exit(subprocess.call(["bash", str(_kafka_script()), "up"]))
    except PakhuisError as exc:
        _fail(exc)


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the local Kafka."""
    try:
        raise typer.Exit(subprocess.call(["bash", str(_kafka_script()), "down"]))
    except PakhuisError as exc:
        _fail(exc)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (safe to run from several processes at once)."""
    try:
        settings = load_settings()
        _configure_logging(settings)
        embedded = None
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            uri = embedded.start()
        else:
            uri = settings.database_url.get_secret_value()
        try:
            with Store(uri, reporting_timezone=settings.reporting_timezone) as store:
                report = store.migrate()
        finally:
            if embedded is not None:
                embedded.stop()
    except PakhuisError as exc:
        _fail(exc)
    applied = ", ".join(report.applied) or "none"
    console.print(
        f"migrations applied: {len(report.applied)} ({applied}); already applied: {report.already}; "
        f"TimescaleDB: {'yes (hypertable)' if report.timescaledb else 'no (plain PostgreSQL tables)'}"
    )


def main() -> None:
    app()
