"""`pakhuis deadletter replay | purge`: refused messages through today's decoders after fixing
the cause, and retention (the running stream purges too, hourly; this is for cron or by hand)."""

from __future__ import annotations

from typing import Annotated

import typer

from pakhuis.cli import wiring
from pakhuis.cli.frame import command, console

__all__ = ["deadletter_app"]

deadletter_app = typer.Typer(
    help="Refused messages: replay them after fixing the cause, or purge old ones.", no_args_is_help=True
)


@deadletter_app.command("replay")
def deadletter_replay(
    reason: Annotated[str | None, typer.Option(help="Only dead letters with this reason code.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's dead letters.")] = None,
) -> None:
    """Re-run stored dead letters through the current decoders; store and remove those that pass."""
    from ingest.replay import replay_dead_letters

    with command() as ctx, ctx.store() as store:
        decoder = wiring.message_decoder(ctx.settings, store)
        report = replay_dead_letters(store, decoder, reason=reason, tenant=tenant)
    console.print(
        f"examined {report.examined:,} dead letters: {report.replayed:,} now pass and were removed "
        f"({report.readings:,} readings, {report.inserted:,} new), {report.still_refused:,} still refused"
    )


@deadletter_app.command("purge")
def deadletter_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Delete dead letters older than this (default PAKHUIS_DEADLETTER_RETENTION_DAYS)."
        ),
    ] = None,
) -> None:
    """Delete dead letters past their retention."""
    with command() as ctx, ctx.store() as store:
        days = older_than_days or ctx.settings.deadletter_retention_days
        removed = store.purge_dead_letters(retention_days=days)
    console.print(f"deleted {removed:,} dead letters received more than {days} days ago")
