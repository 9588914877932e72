"""`pakhuis sensors register`: the sensor register."""

from __future__ import annotations

from typing import Annotated

import typer

from pakhuis.cli.frame import command, console
from pakhuis.errors import InvalidParameter

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
    """Register (or update) a sensor, so tenants that refuse unregistered sensors accept it."""
    with command() as ctx, ctx.store() as store:
        if drain is not None and not store.has_drain(drain):
            from geo.jobs.sensor_links import SENSOR_LINK_M

            raise InvalidParameter(
                f"--drain {drain}: the drain register has no drain with that id.",
                hint="Load the register first (`pakhuis load drains FILE`) and give a drain's own id "
                "(`GET /api/v1/drains/{id}` shows it), or leave --drain out and give --lon/--lat "
                f"within {SENSOR_LINK_M:g} m of the drain.",
            )
        store.register_sensor(
            tenant,
            sensor,
            kind="drain" if drain is not None and kind == "other" else kind,
            lon=lon,
            lat=lat,
            metadata={"drain": drain} if drain is not None else None,
            expected_interval_s=expected_interval,
        )
    linked = f", measuring drain {drain}" if drain is not None else ""
    console.print(f"registered sensor {tenant}/{sensor} ({kind if drain is None else 'drain'}{linked})")
