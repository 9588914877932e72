"""`pakhuis db migrate`: bring the schema up to date."""

from __future__ import annotations

import typer

from pakhuis.cli.frame import command, console

__all__ = ["db_app"]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (safe to run from several processes at once)."""
    with command() as ctx, ctx.store(migrate=False) as store:
        report = store.migrate()
    applied = ", ".join(report.applied) or "none"
    console.print(
        f"migrations applied: {len(report.applied)} ({applied}); already applied: {report.already}; "
        f"TimescaleDB: {'yes (hypertable)' if report.timescaledb else 'no (plain PostgreSQL tables)'}"
    )
