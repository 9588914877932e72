"""`pakhuis plan refit|schedule|routes`: drain cleaning — fill model, schedule with reasons, routes."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pakhuis.cli.frame import command, console
from pakhuis.cli.progress import FIRST_RUN_COMPILES, progress
from pakhuis.errors import InvalidParameter

if TYPE_CHECKING:
    from geo.jobs import DayRoutes, ScheduleResult

__all__ = ["plan_app"]

plan_app = typer.Typer(
    help="Drain cleaning: fill model, schedule with reasons, truck routes.", no_args_is_help=True
)


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
    from geo.jobs import refit
    from geo.plan import PlanConfig

    with command() as ctx:
        started = time.perf_counter()
        with ctx.store() as store, progress(f"Fitting the fill model ({FIRST_RUN_COMPILES})"):
            report = refit(store, PlanConfig.from_settings(ctx.settings), seed=seed)
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
    from geo.jobs import plan_schedule, write_schedule
    from geo.plan import PlanConfig

    with command() as ctx:
        start = _parse_date(from_date)
        days = _parse_horizon(horizon)
        with ctx.store() as store, progress(f"Scheduling {days} days from {start} ({FIRST_RUN_COMPILES})"):
            config = PlanConfig.from_settings(ctx.settings)
            result = plan_schedule(store, config, start, days, with_summary=summary)
        _print_due(result, start, days, limit)
        if result.summary is not None:
            _print_year(result.summary.as_dict())
        if out is not None:
            write_schedule(result, out)
            console.print(f"wrote {out}")


def _print_due(result: ScheduleResult, start: date, days: int, limit: int) -> None:
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


def _print_year(s: dict[str, Any]) -> None:
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


@plan_app.command("routes")
def plan_routes_command(
    on: Annotated[str | None, typer.Option("--date", help="The day (YYYY-MM-DD); today.")] = None,
    trucks: Annotated[
        int | None, typer.Option(min=1, max=100, help="Trucks, 1-100 (default PAKHUIS_PLAN_TRUCKS).")
    ] = None,
    roads: Annotated[Path | None, typer.Option(help="Road network line file for travel times.")] = None,
    depot: Annotated[str | None, typer.Option(help="Depot 'lon,lat'.")] = None,
    dump: Annotated[str | None, typer.Option(help="Dump sites 'lon,lat;lon,lat'.")] = None,
    tank: Annotated[float | None, typer.Option(help="Tank capacity (m³).")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Solver time limit (s).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write routes (.geojson, .csv or .gpx).")] = None,
) -> None:
    """Truck routes for the suction work due on a day (dump-site visits when the tank is full)."""
    from geo.jobs import plan_day_routes
    from geo.plan import PlanConfig, write_route_plan

    with command() as ctx:
        day = _parse_date(on)
        config = PlanConfig.from_settings(ctx.settings).overridden(depot=depot, dump_sites=dump, tank_m3=tank)
        started = time.perf_counter()
        with ctx.store() as store, progress(f"Planning the truck routes for {day} ({FIRST_RUN_COMPILES})"):
            routes = plan_day_routes(
                store, config, day, trucks=trucks, roads_file=roads, time_limit_s=time_limit
            )
        _print_routes(routes, day, time.perf_counter() - started)
        if out is not None:
            write_route_plan(routes.plan, out)
            console.print(f"wrote {out}")


def _print_routes(routes: DayRoutes, day: date, seconds: float) -> None:
    s = routes.summary
    console.print(
        f"{day}: {s['suction_due']:,} drains due for suction ({s['sweep_only']:,} sweep-only not routed, "
        f"{s['deferred']:,} deferred beyond today's capacity), "
        f"{s['served']:,} served by {s['trucks']} trucks, {len(s['unserved']):,} unserved; "
        f"{s['total_km']:.1f} km, {s['total_hours']:.1f} truck hours, dump visits {s['dump_visits']} "
        f"({seconds:.1f} s; {s['travel']})"
    )
    for item in s["unserved"][:10]:
        console.print(f"  unserved drain {item['drain']}: {item['reason']}")
