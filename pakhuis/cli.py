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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import uvicorn
from rich.console import Console

from pakhuis.codec import KafkaTopics
from pakhuis.errors import (
    ConfigurationError,
    InvalidParameter,
    PakhuisError,
    ServiceStartError,
    StoreUnavailable,
    StreamFailed,
)
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
deadletter_app = typer.Typer(
    help="Refused messages: replay them after fixing the cause.", no_args_is_help=True
)
app.add_typer(deadletter_app, name="deadletter")
sensors_app = typer.Typer(help="The sensor register.", no_args_is_help=True)
app.add_typer(sensors_app, name="sensors")
tenants_app = typer.Typer(help="Tenants and their policy for unregistered sensors.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
datastreams_app = typer.Typer(
    help="SensorThings Datastreams (which sensor and quantity).", no_args_is_help=True
)
app.add_typer(datastreams_app, name="datastreams")
load_app = typer.Typer(help="Load the city's registers (drains, trees) from files.", no_args_is_help=True)
app.add_typer(load_app, name="load")
geo_app = typer.Typer(help="Spatial indicators from the registers.", no_args_is_help=True)
app.add_typer(geo_app, name="geo")
plan_app = typer.Typer(
    help="Drain cleaning: fill model, schedule with reasons, truck routes.", no_args_is_help=True
)
app.add_typer(plan_app, name="plan")

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


def _message_decoder(settings: Settings, store: Store) -> Any:
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


def _bridge(settings: Settings, *, protocol: str | None = None) -> Any:
    from api.bridge import MqttBridge

    host, port, username, password = settings.mqtt_endpoint()
    return MqttBridge(
        host, port, protocol=protocol or settings.mqtt_protocol, username=username, password=password
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


def _api_server(store: Store, settings: Settings) -> _QuietServer:
    config = uvicorn.Config(
        _api_app(store, settings),
        host=settings.api_host,
        port=settings.api_port,
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


def _fail(exc: PakhuisError) -> NoReturn:
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
    ingest = MqttIngest(_mqtt_options(settings), runner.submit_threadsafe, _message_decoder(settings, store))
    await asyncio.to_thread(ingest.start)
    server = _api_server(store, settings)
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
        with _open_store(settings) as store:
            if settings.kafka_url is not None:
                asyncio.run(_run_ingest_to_kafka(settings, store))
            else:
                asyncio.run(_run_ingest(settings, store))
    except PakhuisError as exc:
        _fail(exc)


async def _run_ingest_to_kafka(settings: Settings, store: Store) -> None:
    from ingest import MqttIngest
    from ingest.kafka import KafkaHandoff, ensure_topics

    bootstrap = settings.kafka_bootstrap()
    assert bootstrap is not None
    stop = _stop_event()
    topics = KafkaTopics(settings.kafka_prefix)
    await asyncio.to_thread(ensure_topics, bootstrap, settings.kafka_partitions, topics)
    handoff = KafkaHandoff(bootstrap, client_id=settings.mqtt_client_id, topics=topics)
    handoff.start()
    client = MqttIngest(_mqtt_options(settings), handoff.submit, _message_decoder(settings, store))
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
    client = MqttIngest(_mqtt_options(settings), runner.submit_threadsafe, _message_decoder(settings, store))
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
                    _api_app(store, settings),
                    host=settings.api_host,
                    port=settings.api_port,
                    log_level="warning",
                )
            ).run()
    except PakhuisError as exc:
        _fail(exc)


def _api_app(store: Store, settings: Settings) -> Any:
    from api import create_app
    from geo.planning import PlanConfig

    return create_app(
        store,
        bridge=_bridge(settings),
        http_ingest_tenant=settings.http_ingest_tenant,
        plan_config=PlanConfig.from_settings(settings),
    )


@app.command()
def sim(
    air: Annotated[int, typer.Option(help="Number of air-quality sensors.")] = 5,
    drains: Annotated[int, typer.Option(help="Number of drain fill sensors.")] = 5,
    bridges: Annotated[int, typer.Option(help="Number of bridge sensors.")] = 2,
    interval: Annotated[float, typer.Option(help="Seconds between readings of one sensor.")] = 5.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same sensors and values.")] = 1,
    tenant: Annotated[str, typer.Option(help="Tenant in the topics.")] = "demo",
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="Wire format: native, senml, ttn, sta or sensorcommunity (posted over HTTP).",
        ),
    ] = "native",
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="URL",
            help="Receiver of HTTP formats (default http://127.0.0.1:PAKHUIS_API_PORT).",
        ),
    ] = None,
) -> None:
    """Publish simulated sensor readings to the broker (or HTTP API) given by settings."""
    from sensors_sim import (
        FORMATS,
        SimulatorConnectionError,
        build_fleet,
        datastreams_for,
        new_encoder,
        run_simulation,
    )

    if fmt not in FORMATS:
        _fail(ConfigurationError(f"unknown format {fmt!r}", hint=f"Use --format {'|'.join(FORMATS)}."))
    try:
        settings = load_settings()
    except PakhuisError as exc:
        _fail(exc)
    _configure_logging(settings)
    host, port = settings.mqtt_endpoint()[:2]
    http_base = http or f"http://127.0.0.1:{settings.api_port}"
    fleet = build_fleet(seed, tenant=tenant, air=air, drains=drains, bridges=bridges)
    encoder = new_encoder(fmt)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    target = f"{http_base}/" if encoder.kind == "http" else f"mqtt://{host}:{port}"
    console.print(f"simulating {len(fleet)} sensors in {fmt} format → {target} every {interval:g} s")
    if fmt == "sta":
        streams = datastreams_for(fleet)
        console.print(
            f"  the receiver must know {len(streams):,} SensorThings Datastreams, ids tenant:sensor:quantity "
            f"(`pakhuis datastreams register {tenant}:<sensor>:<quantity> {tenant} <sensor> <quantity>`)"
        )
    try:
        result = run_simulation(
            host,
            port,
            fleet,
            interval_s=interval,
            duration_s=duration,
            stop_event=stop,
            fmt=encoder,
            http_base=http_base,
        )
    except KeyboardInterrupt:
        stop.set()
        return
    except SimulatorConnectionError as exc:
        _fail(ServiceStartError(str(exc)))
    except ValueError as exc:
        _fail(ConfigurationError(str(exc), hint="Check the options of `pakhuis sim --help`."))
    sent = "posted" if encoder.kind == "http" else "published"
    console.print(
        f"{sent} {result.messages:,} {fmt} messages with {result.readings:,} readings over {result.ticks:,} "
        f"ticks ({result.dropouts:,} simulated dropouts, {result.unencoded:,} readings not in this format, "
        f"{result.unacknowledged:,} unacknowledged, {result.rejected:,} rejected)"
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


@deadletter_app.command("replay")
def deadletter_replay(
    reason: Annotated[str | None, typer.Option(help="Only dead letters with this reason code.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's dead letters.")] = None,
) -> None:
    """Re-run stored dead letters through the current decoders; store and remove those that pass."""
    from ingest.replay import replay_dead_letters

    try:
        settings = load_settings()
        _configure_logging(settings)
        with _open_store(settings) as store:
            report = replay_dead_letters(
                store, _message_decoder(settings, store), reason=reason, tenant=tenant
            )
    except PakhuisError as exc:
        _fail(exc)
    console.print(
        f"examined {report.examined:,} dead letters: {report.replayed:,} now pass and were removed "
        f"({report.readings:,} readings, {report.inserted:,} new), {report.still_refused:,} still refused"
    )


@sensors_app.command("register")
def sensors_register(
    tenant: str,
    sensor: str,
    kind: Annotated[str, typer.Option(help="air, drain, bridge or other")] = "other",
    lon: Annotated[float | None, typer.Option(help="WGS84 longitude")] = None,
    lat: Annotated[float | None, typer.Option(help="WGS84 latitude")] = None,
    expected_interval: Annotated[
        float | None, typer.Option(help="Seconds between readings (staleness).")
    ] = None,
) -> None:
    """Register (or update) a sensor, so tenants that refuse unregistered sensors accept it."""
    try:
        settings = load_settings()
        _configure_logging(settings)
        with _open_store(settings) as store:
            store.register_sensor(
                tenant, sensor, kind=kind, lon=lon, lat=lat, expected_interval_s=expected_interval
            )
    except PakhuisError as exc:
        _fail(exc)
    console.print(f"registered sensor {tenant}/{sensor} ({kind})")


@tenants_app.command("policy")
def tenants_policy(
    tenant: str,
    policy: Annotated[str, typer.Argument(help="auto_register or reject")],
) -> None:
    """Set what happens to readings from unregistered sensors of a tenant."""
    if policy not in ("auto_register", "reject"):
        _fail(ConfigurationError(f"unknown policy {policy!r}", hint="Use auto_register or reject."))
    try:
        settings = load_settings()
        _configure_logging(settings)
        with _open_store(settings) as store:
            store.set_tenant_policy(tenant, policy)  # type: ignore[arg-type]
    except PakhuisError as exc:
        _fail(exc)
    console.print(
        f"tenant {tenant}: unregistered sensors are {'refused' if policy == 'reject' else 'registered'}"
    )


@datastreams_app.command("register")
def datastreams_register(
    datastream_id: str,
    tenant: str,
    sensor: str,
    quantity: str,
    unit: Annotated[str | None, typer.Option(help="Unit of the results, if not the canonical one.")] = None,
) -> None:
    """Say which tenant, sensor and quantity a SensorThings Datastream's Observations are."""
    from pakhuis.quantities import parse_quantity

    parsed = parse_quantity(quantity)
    if parsed is None:
        _fail(
            ConfigurationError(f"unknown quantity {quantity!r}", hint="See the quantity table in the README.")
        )
    try:
        settings = load_settings()
        _configure_logging(settings)
        with _open_store(settings) as store:
            store.register_datastream(datastream_id, tenant, sensor, parsed, unit)
    except PakhuisError as exc:
        _fail(exc)
    console.print(f"Datastream {datastream_id} → {tenant}/{sensor} {quantity}{f' in {unit}' if unit else ''}")


_XY_HELP = "Column with x (or easting); auto-detected when not given."


@load_app.command("drains")
def load_drains(
    file: Path,
    x: Annotated[str | None, typer.Option(help=_XY_HELP)] = None,
    y: Annotated[str | None, typer.Option(help="Column with y (or northing).")] = None,
    lon: Annotated[str | None, typer.Option(help="Column with WGS84 longitude.")] = None,
    lat: Annotated[str | None, typer.Option(help="Column with WGS84 latitude.")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of x/y, e.g. EPSG:28992 (CSV only).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the drain's own id.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file (GeoPackage).")] = None,
) -> None:
    """Replace the drain register with the points in FILE (GeoJSON, GeoPackage, Shapefile, CSV)."""
    from geo.registers import read_points

    try:
        settings = load_settings()
        _configure_logging(settings)
        started = time.perf_counter()
        result = read_points(
            file, x=x, y=y, lon=lon, lat=lat, crs=crs, id_column=id_column, layer=layer, keep_attributes=True
        )
        frame = result.frame
        # The row's other columns are kept (district/buurt codes feed the fill model).
        attributes = frame["attributes"] if "attributes" in frame else [{}] * len(frame)
        rows = (
            (None if source_id is None else str(source_id), float(point.x), float(point.y), dict(attrs or {}))
            for source_id, point, attrs in zip(frame["id"], frame.geometry, attributes, strict=True)
        )
        with _open_store(settings) as store:
            count = store.replace_drains(rows, source=str(file), rejected=len(result.rejected))
    except PakhuisError as exc:
        _fail(exc)
    _report_rejected(result.rejected)
    console.print(result.summary())
    console.print(f"drains: {count:,} stored in {time.perf_counter() - started:.1f} s")


@load_app.command("trees")
def load_trees(
    file: Path,
    x: Annotated[str | None, typer.Option(help=_XY_HELP)] = None,
    y: Annotated[str | None, typer.Option(help="Column with y (or northing).")] = None,
    lon: Annotated[str | None, typer.Option(help="Column with WGS84 longitude.")] = None,
    lat: Annotated[str | None, typer.Option(help="Column with WGS84 latitude.")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of x/y, e.g. EPSG:28992 (CSV only).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the tree's own id.")] = None,
    species_column: Annotated[str | None, typer.Option(help="Column with species or genus names.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file (GeoPackage).")] = None,
) -> None:
    """Replace the tree register with FILE; species are mapped to leaf classes (large, small, needle)."""
    from geo.registers import read_trees

    try:
        settings = load_settings()
        _configure_logging(settings)
        started = time.perf_counter()
        result = read_trees(
            file,
            x=x,
            y=y,
            lon=lon,
            lat=lat,
            crs=crs,
            id_column=id_column,
            species_column=species_column,
            layer=layer,
        )
        frame = result.frame
        rows = (
            (
                None if source_id is None else str(source_id),
                float(point.x),
                float(point.y),
                species if isinstance(species, str) else None,
                genus if isinstance(genus, str) else None,
                str(leaf_class),
            )
            for source_id, point, species, genus, leaf_class in zip(
                frame["id"],
                frame.geometry,
                frame["species"],
                frame["genus"],
                frame["leaf_class"],
                strict=True,
            )
        )
        with _open_store(settings) as store:
            count = store.replace_trees(rows, source=str(file), rejected=len(result.rejected))
    except PakhuisError as exc:
        _fail(exc)
    _report_rejected(result.rejected)
    console.print(result.summary())
    console.print(f"trees: {count:,} stored in {time.perf_counter() - started:.1f} s")


def _report_rejected(rejected: Any) -> None:
    if len(rejected):
        for reason, count in rejected["reason"].value_counts().items():
            console.print(f"  rejected {count:,}: {reason}")


@geo_app.command("indicators")
def geo_indicators(
    cell: Annotated[float, typer.Option(help="Cell size in metres.")] = 100.0,
    out: Annotated[
        Path | None, typer.Option(help="Also write drains with indicators (.gpkg, .geojson, .csv).")
    ] = None,
) -> None:
    """Compute drain↔tree indicators and per-cell indicators from the stored registers."""
    from geo.pipeline import compute_and_store

    try:
        settings = load_settings()
        _configure_logging(settings)
        with _open_store(settings) as store:
            report = compute_and_store(store, cell_size=cell, out=out)
    except PakhuisError as exc:
        _fail(exc)
    console.print(str(report))


@load_app.command("zones")
def load_zones(
    file: Path,
    kind: Annotated[str, typer.Option(help="shopping, bus_stop, main_road, school or construction.")],
    buffer: Annotated[
        float | None, typer.Option(help="Buffer in metres (default per kind for points and lines).")
    ] = None,
    name_column: Annotated[str | None, typer.Option(help="Column with the zone's name.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file (GeoPackage).")] = None,
) -> None:
    """Replace the zones of one KIND with FILE (polygons, or points/lines buffered into areas)."""
    from geo.zones import read_zones

    try:
        settings = load_settings()
        _configure_logging(settings)
        loaded = read_zones(file, kind, buffer_m=buffer, name_column=name_column, layer=layer)
        with _open_store(settings) as store:
            count = store.replace_zones(loaded.kind, loaded.rows, source=str(file))
    except PakhuisError as exc:
        _fail(exc)
    console.print(loaded.summary())
    threshold = settings.plan_thresholds.get(kind, settings.plan_thresholds.get("default", 60.0))
    multiplier = settings.plan_rate_multipliers.get(kind)
    console.print(
        f"zones: {count:,} {kind} stored; threshold {threshold:g} %"
        + (f", fill-rate ×{multiplier:g}" if multiplier else "")
    )


@load_app.command("cleanings")
def load_cleanings(file: Path) -> None:
    """Record cleanings (work orders) from a CSV: drain, time, method, sludge_m3."""
    from geo.workorders import WorkOrderError, read_work_orders

    try:
        settings = load_settings()
        _configure_logging(settings)
        orders = read_work_orders(file)
        with _open_store(settings) as store:
            unknown = store.unknown_drain_keys([o.drain for o in orders])
            if unknown:
                raise WorkOrderError(
                    f"{len(unknown)} drain(s) not in the register: {', '.join(unknown[:10])}",
                    hint="use the drain's id from the register (`pakhuis load drains`), nothing was recorded",
                )
            added = store.add_cleanings([o.row() for o in orders], source=str(file))
    except PakhuisError as exc:
        _fail(exc)
    console.print(
        f"cleanings: {added:,} recorded, {len(orders) - added:,} already known; "
        "the drains' fill restarts from 0 % (run `pakhuis plan refit` to update the model)"
    )


def _plan_config(settings: Settings, **overrides: Any) -> Any:
    from dataclasses import replace

    from geo.planning import PlanConfig

    config = PlanConfig.from_settings(settings)
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def _parse_horizon(text: str) -> int:
    value = text.strip().lower()
    try:
        if value.endswith("w"):
            return int(value[:-1]) * 7
        return int(value[:-1] if value.endswith("d") else value)
    except ValueError:
        raise InvalidParameter(f"cannot read horizon {text!r}", hint="e.g. 28d or 4w") from None


def _parse_date(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"cannot read date {text!r}", hint="use YYYY-MM-DD") from None


@plan_app.command("refit")
def plan_refit(seed: Annotated[int, typer.Option(help="Seed of the cross-validation.")] = 0) -> None:
    """Fit fill rates from the drain sensors and the environment model for every drain."""
    from geo.planning import refit

    try:
        settings = load_settings()
        _configure_logging(settings)
        started = time.perf_counter()
        with _open_store(settings) as store:
            report = refit(store, _plan_config(settings), seed=seed)
    except PakhuisError as exc:
        _fail(exc)
    console.print(str(report))
    console.print(f"fill state stored for {report.drains:,} drains in {time.perf_counter() - started:.1f} s")


@plan_app.command("schedule")
def plan_schedule_command(
    from_date: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD); today.")] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead: 28d, 4w, ...")] = "28d",
    out: Annotated[Path | None, typer.Option(help="Write the list (.csv or .geojson).")] = None,
    summary: Annotated[bool, typer.Option(help="Also the coming year against the yearly round.")] = True,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 20,
) -> None:
    """Drains due within the horizon: due date, fill, sludge, method and why."""
    from geo.planning import plan_schedule

    try:
        settings = load_settings()
        _configure_logging(settings)
        start = _parse_date(from_date)
        days = _parse_horizon(horizon)
        with _open_store(settings) as store:
            result = plan_schedule(store, _plan_config(settings), start, days, with_summary=summary)
    except PakhuisError as exc:
        _fail(exc)
    due = result.due
    methods = ", ".join(f"{k} {v:,}" for k, v in sorted(result.schedule.counts_by_method().items()))
    console.print(
        f"{len(due):,} of {result.schedule.considered:,} drains due "
        f"{start} .. {start + timedelta(days=days - 1)} "
        f"({methods or 'none'}); model {result.model['version']}; "
        f"{due['sludge_m3'].sum():.2f} m³ sludge expected"
    )
    for record in result.records()[:limit]:
        console.print(
            f"  {record['due']}  drain {record['drain']:>8}  {record['method']:<7} {record['reason']}"
        )
    if len(due) > limit:
        console.print(f"  ... {len(due) - limit:,} more (--out FILE for all)")
    if result.summary is not None:
        s = result.summary.as_dict()
        dyn, fixed = s["dynamic"], s["fixed_yearly"]
        console.print(
            f"coming year ({s['drains']:,} drains): dynamic {dyn['cleanings']:,} cleanings "
            f"({dyn['sweeps']:,} by sweeping), {dyn['drains_over_threshold']:,} drains ever over threshold, "
            f"{dyn['truck_hours']:,.0f} truck hours | fixed yearly round {fixed['cleanings']:,} cleanings, "
            f"{fixed['drains_over_threshold']:,} drains over threshold "
            f"({fixed['drain_days_over_threshold']:,.0f} drain-days), {fixed['truck_hours']:,.0f} truck hours"
        )
        if "dynamic_second_year" in s:
            second = s["dynamic_second_year"]
            console.print(
                f"second year (backlog cleared): dynamic {second['cleanings']:,} cleanings, "
                f"{second['truck_hours']:,.0f} truck hours, {second['sludge_m3']:,.1f} m³ sludge"
            )
    if out is not None:
        _write_schedule(result, out)
        console.print(f"wrote {out}")


def _write_schedule(result: Any, out: Path) -> None:
    import json

    records = result.records()
    suffix = out.suffix.lower()
    if suffix == ".csv":
        import csv

        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]) if records else ["drain"])
            writer.writeheader()
            writer.writerows(records)
    elif suffix in (".geojson", ".json"):
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": r,
            }
            for r in records
        ]
        out.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    else:
        _fail(ConfigurationError(f"cannot write {out.suffix!r} files", hint="use .csv or .geojson"))


@plan_app.command("routes")
def plan_routes_command(
    on: Annotated[str | None, typer.Option("--date", help="The day (YYYY-MM-DD); today.")] = None,
    trucks: Annotated[int | None, typer.Option(help="Trucks (default PAKHUIS_PLAN_TRUCKS).")] = None,
    roads: Annotated[Path | None, typer.Option(help="Road network line file for travel times.")] = None,
    depot: Annotated[str | None, typer.Option(help="Depot 'lon,lat'.")] = None,
    dump: Annotated[str | None, typer.Option(help="Dump sites 'lon,lat;lon,lat'.")] = None,
    tank: Annotated[float | None, typer.Option(help="Tank capacity (m³).")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Solver time limit (s).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write routes (.geojson, .csv or .gpx).")] = None,
) -> None:
    """Truck routes for the suction work due on a day (dump-site visits when the tank is full)."""
    from geo.planning import plan_day_routes

    try:
        settings = load_settings()
        _configure_logging(settings)
        day = _parse_date(on)
        config = _plan_config(settings, depot=depot, dump_sites=dump, tank_m3=tank)
        started = time.perf_counter()
        with _open_store(settings) as store:
            routes = plan_day_routes(
                store, config, day, trucks=trucks, roads_file=roads, time_limit_s=time_limit
            )
    except PakhuisError as exc:
        _fail(exc)
    s = routes.summary
    console.print(
        f"{day}: {s['suction_due']:,} drains due for suction ({s['sweep_only']:,} sweep-only not routed, "
        f"{s['deferred']:,} deferred beyond today's capacity), "
        f"{s['served']:,} served by {s['trucks']} trucks, {len(s['unserved']):,} unserved; "
        f"{s['total_km']:.1f} km, {s['total_hours']:.1f} truck hours, dump visits {s['dump_visits']} "
        f"({time.perf_counter() - started:.1f} s; {s['travel']})"
    )
    for item in s["unserved"][:10]:
        console.print(f"  unserved drain {item['drain']}: {item['reason']}")
    if out is not None:
        suffix = out.suffix.lower()
        if suffix == ".geojson":
            import json

            out.write_text(json.dumps(routes.plan.to_geojson()), encoding="utf-8")
        elif suffix == ".csv":
            out.write_text(routes.plan.to_csv(), encoding="utf-8")
        elif suffix == ".gpx":
            out.write_text(routes.plan.to_gpx(), encoding="utf-8")
        else:
            _fail(ConfigurationError(f"cannot write {out.suffix!r} files", hint="use .geojson, .csv or .gpx"))
        console.print(f"wrote {out}")


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
