"""`pakhuis sim`: simulated sensors publishing to the broker (or posting to the HTTP API)."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from pakhuis.cli.frame import command, console
from pakhuis.errors import ConfigurationError, ServiceStartError

if TYPE_CHECKING:
    from sensors_sim import Emulator

__all__ = ["sim"]


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
        SimulationParams,
        SimulatorConnectionError,
        build_fleet,
        new_encoder,
        run_simulation,
    )

    with command() as ctx:
        if fmt not in FORMATS:
            raise ConfigurationError(f"unknown format {fmt!r}", hint=f"Use --format {'|'.join(FORMATS)}.")
        settings = ctx.settings
        host, port = settings.mqtt_endpoint()[:2]
        http_base = http or f"http://127.0.0.1:{settings.api_port}"
        fleet = build_fleet(seed, tenant=tenant, air=air, drains=drains, bridges=bridges)
        encoder = new_encoder(fmt)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        target = f"{http_base}/" if encoder.kind == "http" else f"mqtt://{host}:{port}"
        console.print(f"simulating {len(fleet)} sensors in {fmt} format → {target} every {interval:g} s")
        if fmt == "sta":
            _print_datastreams_needed(fleet, tenant)
        try:
            params = SimulationParams(
                host=host,
                port=port,
                interval_s=interval,
                duration_s=duration,
                fmt=encoder,
                http_base=http_base,
            )
            result = run_simulation(fleet, params, stop_event=stop)
        except KeyboardInterrupt:
            stop.set()
            return
        except SimulatorConnectionError as exc:
            raise ServiceStartError(str(exc)) from exc
        except ValueError as exc:
            raise ConfigurationError(str(exc), hint="Check the options of `pakhuis sim --help`.") from exc
    sent = "posted" if encoder.kind == "http" else "published"
    console.print(
        f"{sent} {result.messages:,} {fmt} messages with {result.readings:,} readings over {result.ticks:,} "
        f"ticks ({result.dropouts:,} simulated dropouts, {result.unencoded:,} readings not in this format, "
        f"{result.unacknowledged:,} unacknowledged, {result.rejected:,} rejected)"
    )


def _print_datastreams_needed(fleet: list[Emulator], tenant: str) -> None:
    from sensors_sim import datastreams_for

    streams = datastreams_for(fleet)
    console.print(
        f"  the receiver must know {len(streams):,} SensorThings Datastreams, ids tenant:sensor:quantity "
        f"(`pakhuis datastreams register {tenant}:<sensor>:<quantity> {tenant} <sensor> <quantity>`)"
    )
