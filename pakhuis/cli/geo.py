"""`pakhuis geo indicators`: drain↔tree and per-cell indicators from the stored registers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pakhuis.cli.frame import command, console

__all__ = ["geo_app"]

geo_app = typer.Typer(help="Spatial indicators from the registers.", no_args_is_help=True)


@geo_app.command("indicators")
def geo_indicators(
    cell: Annotated[float, typer.Option(help="Cell size in metres.")] = 100.0,
    out: Annotated[
        Path | None, typer.Option(help="Also write drains with indicators (.gpkg, .geojson, .csv).")
    ] = None,
) -> None:
    """Compute drain↔tree indicators and per-cell indicators from the stored registers."""
    from geo.jobs import compute_indicators

    with command() as ctx, ctx.store() as store:
        report = compute_indicators(store, cell_size=cell, out=out)
    console.print(str(report))
