"""`pakhuis sensors register`: the sensor register."""

from __future__ import annotations

from typing import Annotated

import typer

from pakhuis.cli.frame import command, console

__all__ = ["sensors_app"]

sensors_app = typer.Typer(help="The sensor register.", no_args_is_help=True)


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
    drain: Annotated[
        str | None,
        typer.Option(help="The drain this (fill) sensor measures: its id in the drain register."),
    ] = None,
) -> None:
    """Register (or update) a sensor, so tenants that refuse unregistered sensors accept it; a fill
    sensor measures the drain --drain names, or the nearest one to --lon/--lat (reported)."""
    from geo.jobs import register_sensor

    with command() as ctx, ctx.store() as store:
        registration = register_sensor(
            store,
            tenant,
            sensor,
            kind=kind,
            lon=lon,
            lat=lat,
            drain=drain,
            expected_interval_s=expected_interval,
        )
    console.print(str(registration))
