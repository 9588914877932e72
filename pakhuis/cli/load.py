"""`pakhuis load drains|trees|zones|cleanings`: the city's registers from files, via geo.jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pakhuis.cli.frame import command, console
from pakhuis.cli.progress import progress

__all__ = ["load_app"]

load_app = typer.Typer(help="Load the city's registers (drains, trees) from files.", no_args_is_help=True)

_XY_HELP = "Column with x (or easting); auto-detected when not given."
_Y_HELP = "Column with y (or northing)."
_LON_HELP = "Column with WGS84 longitude."
_LAT_HELP = "Column with WGS84 latitude."
_CRS_HELP = "CRS of x/y, e.g. EPSG:28992 (CSV only)."
_LAYER_HELP = "Layer of a multi-layer file (GeoPackage)."
_REPLACE_HELP = (
    "Replace the register even when FILE holds fewer than half as many points, or lines or "
    "polygons (refused without it: the old register is kept)."
)


@load_app.command("drains")
def load_drains(
    file: Path,
    x: Annotated[str | None, typer.Option(help=_XY_HELP)] = None,
    y: Annotated[str | None, typer.Option(help=_Y_HELP)] = None,
    lon: Annotated[str | None, typer.Option(help=_LON_HELP)] = None,
    lat: Annotated[str | None, typer.Option(help=_LAT_HELP)] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the drain's own id.")] = None,
    layer: Annotated[str | None, typer.Option(help=_LAYER_HELP)] = None,
    replace: Annotated[bool, typer.Option("--replace", help=_REPLACE_HELP)] = False,
) -> None:
    """Replace the drain register with the points in FILE (GeoJSON, GeoPackage, Shapefile, CSV).

    A FILE with fewer than half as many drains as the register, or of lines or polygons, is
    refused unless --replace is given."""
    from geo.jobs import load_drains
    from geo.registers import ReadOptions

    with command() as ctx:
        options = ReadOptions(x=x, y=y, lon=lon, lat=lat, crs=crs, id_column=id_column, layer=layer)
        with ctx.store() as store, progress(f"Loading the drain register from {file}"):
            report = load_drains(store, file, options, replace_anyway=replace)
    console.print(str(report))


@load_app.command("trees")
def load_trees(
    file: Path,
    x: Annotated[str | None, typer.Option(help=_XY_HELP)] = None,
    y: Annotated[str | None, typer.Option(help=_Y_HELP)] = None,
    lon: Annotated[str | None, typer.Option(help=_LON_HELP)] = None,
    lat: Annotated[str | None, typer.Option(help=_LAT_HELP)] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the tree's own id.")] = None,
    species_column: Annotated[str | None, typer.Option(help="Column with species or genus names.")] = None,
    layer: Annotated[str | None, typer.Option(help=_LAYER_HELP)] = None,
    replace: Annotated[bool, typer.Option("--replace", help=_REPLACE_HELP)] = False,
) -> None:
    """Replace the tree register with FILE; species are mapped to leaf classes (large, small, needle).

    Refused like `load drains` unless --replace is given."""
    from geo.jobs import load_trees
    from geo.registers import ReadOptions

    with command() as ctx:
        options = ReadOptions(
            x=x, y=y, lon=lon, lat=lat, crs=crs, id_column=id_column, species_column=species_column,
            layer=layer,
        )
        with ctx.store() as store, progress(f"Loading the tree register from {file}"):
            report = load_trees(store, file, options, replace_anyway=replace)
    console.print(str(report))


@load_app.command("zones")
def load_zones(
    file: Path,
    kind: Annotated[str, typer.Option(help="shopping, bus_stop, main_road, school or construction.")],
    buffer: Annotated[
        float | None, typer.Option(help="Buffer in metres (default per kind for points and lines).")
    ] = None,
    name_column: Annotated[str | None, typer.Option(help="Column with the zone's name.")] = None,
    layer: Annotated[str | None, typer.Option(help=_LAYER_HELP)] = None,
) -> None:
    """Replace the zones of one KIND with FILE (polygons, or points/lines buffered into areas)."""
    from geo.jobs import load_zones
    from geo.plan import PlanConfig

    with command() as ctx, ctx.store() as store, progress(f"Loading the {kind} zones from {file}"):
        config = PlanConfig.from_settings(ctx.settings)
        report = load_zones(store, file, kind, config, buffer_m=buffer, name_column=name_column, layer=layer)
    console.print(str(report))


@load_app.command("cleanings")
def load_cleanings(file: Path) -> None:
    """Record cleanings (work orders) from a CSV: drain, time, method, sludge_m3."""
    from geo.jobs import load_cleanings

    with command() as ctx, ctx.store() as store, progress(f"Loading the cleanings from {file}"):
        report = load_cleanings(store, file)
    console.print(str(report))
