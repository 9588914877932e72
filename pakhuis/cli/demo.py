"""`pakhuis demo`: the demo city (south-east Delft) with weeks of simulated history, into the
database every other command uses; `--export DIR` writes its files instead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from pakhuis.cli.demo_city import DemoCity, export_demo_city, install_demo_city
from pakhuis.cli.frame import command, console
from pakhuis.cli.progress import FIRST_RUN_COMPILES, progress

__all__ = ["demo", "planner_hint"]


def planner_hint(city: DemoCity, roads: str) -> str:
    """The planner's next commands for the demo city, its depot and dump site filled in."""
    return (
        "next: pakhuis plan refit; pakhuis plan schedule --horizon 28d; "
        f"pakhuis plan routes --trucks 2 --depot {city.depot} --dump '{city.dump_sites}' --roads {roads}"
    )


def demo(
    replace: Annotated[bool, typer.Option(help="Replace another drain register the database holds.")] = False,
    export: Annotated[
        Path | None, typer.Option(help="Write the demo city's files to this folder instead.")
    ] = None,
) -> None:
    """Load the demo city: registers, zones, work orders, sensors linked to drains and their history."""
    city = DemoCity.bundled()
    now = datetime.now(UTC)
    if export is not None:
        for path in export_demo_city(export, now=now, city=city):
            console.print(f"wrote {path}")
        console.print(planner_hint(city, str(export / "roads.geojson")))
        return
    from geo.jobs import compute_indicators

    with command() as ctx, ctx.store() as store:
        with progress("Loading the demo city and writing its sensors' history"):
            report = install_demo_city(
                ctx.settings, store, now=now, other_register="replace" if replace else "refuse"
            )
        console.print(str(report))
        with progress(f"Computing the indicators ({FIRST_RUN_COMPILES})"):
            indicators = compute_indicators(store)
        console.print(str(indicators))
    console.print(planner_hint(city, str(city.file("roads.geojson"))))
