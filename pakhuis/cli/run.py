"""`pakhuis run`: everything embedded — broker (a child process), stream runner, PostgreSQL, API."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pakhuis.cli import probes, wiring
from pakhuis.cli.frame import Stores, command, console
from pakhuis.cli.keys import AdminKey, admin_key_lines, embedded_admin_key
from pakhuis.cli.serving import QuietServer, api_server, check_port_free, freeze_startup_objects
from pakhuis.errors import ServiceStartError
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    from ingest import MqttIngest
    from ingest.broker_process import BrokerProcess
    from stream import LocalRunner, PipelineOutcome, RunnerStats

__all__ = ["run"]

# One logger name for the whole command line (the log format shows it).
log = logging.getLogger("pakhuis")


def run(
    simulate: Annotated[bool, typer.Option(help="Also run simulated air, drain and bridge sensors.")] = False,
    api_port: Annotated[int, typer.Option(help="Port of the API and page.")] = 8000,
    mqtt_port: Annotated[int, typer.Option(help="Port of the embedded MQTT broker.")] = 1883,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the embedded database lives (kept between runs); default PAKHUIS_DATA_DIR, "
            "else the per-user data folder.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface the broker and API listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the simulated sensors.")] = 1,
    sim_interval: Annotated[float, typer.Option(help="Seconds between simulated readings.")] = 5.0,
) -> None:
    """Run everything embedded: MQTT broker, stream runner, PostgreSQL and the API."""
    with command(
        {"api_host": "--host", "mqtt_bind_host": "--host"},
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
    ) as ctx:
        settings = ctx.settings
        if simulate:
            from pakhuis.cli.demo_city import DemoCity, with_demo_plan

            settings = with_demo_plan(settings, DemoCity.bundled())
        check_port_free(settings.api_host, settings.api_port, "--api-port")
        check_port_free(settings.mqtt_bind_host, settings.mqtt_port, "--mqtt-port")
        simulation = _Simulation(seed, sim_interval) if simulate else None
        # issue 11 part 3: a pool per role, so API reads cannot starve the ingest or the stream.
        with ctx.stores("stream", "ingest", "api", "health") as stores:
            asyncio.run(_run_embedded(settings, stores, simulation))


@dataclass(frozen=True, slots=True)
class _Simulation:
    seed: int
    interval_s: float


@dataclass(slots=True)
class _Services:
    """What `pakhuis run` started, so it can stop it in reverse order."""

    broker: BrokerProcess
    runner: LocalRunner[PipelineOutcome]
    runner_task: asyncio.Task[None]
    sweeper: asyncio.Task[None]
    ingest: MqttIngest
    server: QuietServer
    server_task: asyncio.Task[None]
    sim_stop: threading.Event
    sim_thread: threading.Thread | None


async def _run_embedded(settings: Settings, stores: Stores, simulation: _Simulation | None) -> None:
    stop = wiring.stop_event()
    # issue 14: writes need a key; the first run makes the admin's and says how to use it.
    admin = embedded_admin_key(stores.api, settings.data_dir)
    services = await _start(settings, stores, stop, simulation)
    _print_banner(settings, simulation, admin)
    await _report_until(stop, services)
    broker_died = not services.broker.running
    await _stop(services, stop)
    s = services.runner.stats
    console.print(
        f"\nstopped: {s.stored} readings stored, {s.duplicates} duplicates, "
        f"{s.dead_letters} dead letters, {s.messages} messages"
    )
    if broker_died:
        raise ServiceStartError(
            "The embedded MQTT broker process stopped unexpectedly.",
            hint="See its log lines above; what it acknowledged is in its journal and is replayed "
            "on the next start.",
        )


async def _start(
    settings: Settings, stores: Stores, stop: asyncio.Event, simulation: _Simulation | None
) -> _Services:
    from ingest import MqttIngest
    from ingest.broker import DeclaredSession
    from ingest.broker_process import BrokerProcess, BrokerProcessConfig

    # The in-process ingest's credential for this run: only it may use the reserved client id.
    secret = secrets.token_urlsafe(32)
    ingest_options = dataclasses.replace(wiring.mqtt_options(settings), password=secret)
    # The broker runs as a child process, so decoding and writing here do not share its GIL.
    broker = BrokerProcess(
        BrokerProcessConfig(
            settings.mqtt_bind_host,
            settings.mqtt_port,
            ingest_secret=secret,
            # A device's PUBACK waits for the fsync here, not for the commit; replayed after a crash.
            journal_dir=(settings.data_dir / "broker-journal").resolve(),
            # Subscribed before the listener opens, so nothing resent after a crash meets no subscriber.
            declared=(DeclaredSession(ingest_options.client_id, ingest_options.topics),),
        )
    )
    await broker.start()
    health = probes.board(settings, stores.health)
    pipeline = wiring.pipeline(settings, stores.stream)
    runner = wiring.runner(settings, pipeline)
    runner_task = asyncio.create_task(runner.run())
    probes.watch_runner(health, settings, runner, runner_task)
    sweeper = asyncio.create_task(wiring.sweep_stale(settings, pipeline, stop))
    await asyncio.sleep(0)
    ingest = MqttIngest(
        ingest_options, runner.submit_threadsafe, wiring.message_decoder(settings, stores.ingest)
    )
    await asyncio.to_thread(ingest.start)
    probes.watch_ingest(health, settings, ingest)
    server = api_server(stores.api, settings, health=health)
    freeze_startup_objects()
    server_task = asyncio.create_task(server.serve())
    sim_stop = threading.Event()
    sim_thread = None if simulation is None else _start_simulation(settings, stores, simulation, sim_stop)
    return _Services(broker, runner, runner_task, sweeper, ingest, server, server_task, sim_stop, sim_thread)


def _print_banner(settings: Settings, simulation: _Simulation | None, admin: AdminKey) -> None:
    host, port = settings.mqtt_endpoint()[:2]
    console.print(f"pakhuis is running (data in {settings.data_dir.resolve()})")
    console.print(f"  API and page   http://{settings.api_host}:{settings.api_port}/  (docs: /docs)")
    console.print(f"  MQTT broker    mqtt://{host}:{port}  topics pakhuis/v1/{{tenant}}/{{sensor}}/native")
    if simulation is not None:
        console.print(
            "  simulators     the demo city (Delft): fill sensors on drains, air sensors, a bridge; "
            f"its history is written first, then readings every {simulation.interval_s:g} s "
            f"(seed {simulation.seed})"
        )
    for line in admin_key_lines(admin, f"http://{settings.api_host}:{settings.api_port}/"):
        console.print(line, markup=False)
    console.print("  stop with Ctrl-C")


async def _stop(services: _Services, stop: asyncio.Event) -> None:
    """Stop the producers first (simulators, API, MQTT), then drain the runner, then the broker."""
    services.sim_stop.set()
    if services.sim_thread is not None:
        await asyncio.to_thread(services.sim_thread.join, 10)
    services.server.should_exit = True
    await services.server_task
    await asyncio.to_thread(services.ingest.stop)
    services.runner.stop()
    stop.set()
    try:
        await wiring.finish_runner(services.runner_task)
    finally:
        await services.sweeper
        await services.broker.stop()


def _live_line(s: RunnerStats) -> str:
    return (
        f"readings stored {s.stored:,} · duplicates {s.duplicates:,} · "
        f"dead letters {s.dead_letters:,} · messages {s.messages:,}"
        + (f" · retrying: {s.last_error}" if s.last_error else "")
    )


async def _report_until(stop: asyncio.Event, services: _Services) -> None:
    """A one-line live count of what was stored, until a signal (or the API or runner dies)."""
    tty = sys.stdout.isatty()
    last_print = 0.0
    while (
        not stop.is_set()
        and not services.server_task.done()
        and not services.runner_task.done()
        and services.broker.running
    ):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        line = _live_line(services.runner.stats)
        if tty:
            console.file.write("\r" + line.ljust(100))
            console.file.flush()
        elif time.monotonic() - last_print >= 5.0:
            console.print(line)
            last_print = time.monotonic()


def _start_simulation(
    settings: Settings, stores: Stores, simulation: _Simulation, stop: threading.Event
) -> threading.Thread:
    """The demo city's sensors: install the city and its history (`demo_city`), then publish
    live from where the history ends; the indicators are computed beside them."""
    from pakhuis.cli.demo import planner_hint
    from pakhuis.cli.demo_city import DemoCity, install_demo_city
    from sensors_sim import SimulationParams, run_simulation

    host, port = settings.mqtt_endpoint()[:2]

    def target() -> None:
        try:
            city = DemoCity.bundled()
            installed = install_demo_city(
                settings,
                stores.stream,
                now=datetime.now(UTC),
                other_register="keep",
                seed=simulation.seed,
                city=city,
            )
            console.print(f"\n{installed}\n  {planner_hint(city, str(city.file('roads.geojson')))}")
            if installed.registers != "kept (your own registers)":
                threading.Thread(
                    target=_indicators, args=(stores.stream,), name="indicators", daemon=True
                ).start()
            params = SimulationParams(host=host, port=port, interval_s=simulation.interval_s)
            run_simulation(installed.fleet, params, stop_event=stop)
        except Exception:  # a simulator crash is logged and must not take the warehouse down
            log.exception("simulator stopped")

    thread = threading.Thread(target=target, name="simulators", daemon=True)
    thread.start()
    return thread


def _indicators(store: Store) -> None:
    """The demo city's drain and cell indicators (the first run compiles the kernels)."""
    from geo.jobs import compute_indicators

    try:
        report = compute_indicators(store)
    except Exception:  # derived data for the page and the API; logged, the run goes on
        log.exception("computing the demo city's indicators failed")
        return
    console.print(f"\n{report}")
