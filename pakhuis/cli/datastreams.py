"""`pakhuis datastreams register`: which tenant, sensor and quantity a SensorThings Datastream is."""

from __future__ import annotations

from typing import Annotated

import typer

from pakhuis.cli.frame import command, console
from pakhuis.errors import ConfigurationError
from pakhuis.quantities import parse_quantity

__all__ = ["datastreams_app"]

datastreams_app = typer.Typer(
    help="SensorThings Datastreams (which sensor and quantity).", no_args_is_help=True
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
    with command() as ctx:
        parsed = parse_quantity(quantity)
        if parsed is None:
            raise ConfigurationError(
                f"unknown quantity {quantity!r}", hint="See the quantity table in the README."
            )
        with ctx.store() as store:
            store.register_datastream(datastream_id, tenant, sensor, parsed, unit)
    console.print(f"Datastream {datastream_id} → {tenant}/{sensor} {quantity}{f' in {unit}' if unit else ''}")
