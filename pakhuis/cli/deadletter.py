"""`pakhuis deadletter replay`: refused messages through today's decoders, after fixing the cause."""

from __future__ import annotations

from typing import Annotated

import typer

from pakhuis.cli import wiring
from pakhuis.cli.frame import command, console

__all__ = ["deadletter_app"]

deadletter_app = typer.Typer(
    help="Refused messages: replay them after fixing the cause.", no_args_is_help=True
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
