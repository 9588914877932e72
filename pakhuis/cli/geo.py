"""`pakhuis geo indicators`: drain↔tree and per-cell indicators from the stored registers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from pakhuis.cli.frame import command, console
from pakhuis.cli.progress import FIRST_RUN_COMPILES, progress

__all__ = ["geo_app"]

geo_app = typer.Typer(help="Spatial indicators from the registers.", no_args_is_help=True)


def _positive_metres(value: float) -> float:
    # typer's `min` cannot say "greater than 0"; a refused value is a usage error naming the flag.
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value:g} is not a positive number of metres, e.g. --cell 100")
    return value


@geo_app.command("indicators")
def geo_indicators(
    cell: Annotated[
        float, typer.Option(callback=_positive_metres, help="Cell size in metres (> 0).")
    ] = 100.0,
    out: Annotated[
        Path | None, typer.Option(help="Also write drains with indicators (.gpkg, .geojson, .csv).")
    ] = None,
) -> None:
    """Compute drain↔tree indicators and per-cell indicators from the stored registers."""
    from geo.jobs import compute_indicators

    with command() as ctx, ctx.store() as store:
        # One step, kernels included: compute_indicators checks the registers before it
        # compiles, so an empty register is reported at once, not after the compilation.
        with progress(f"Computing the indicators ({FIRST_RUN_COMPILES})"):
            report = compute_indicators(store, cell_size=cell, out=out)
    console.print(str(report))
