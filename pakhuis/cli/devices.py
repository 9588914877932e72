"""`pakhuis devices add | list | remove`: one MQTT login per device (issue 14 part 3).

The login is `<tenant>/<sensor>` with a random password printed once; only its Mosquitto-format
hash is kept. The broker learns of a change when `pakhuis mqtt export-auth` writes its files
again and it reloads them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pakhuis.access.devices import issue_device_login
from pakhuis.cli.frame import command, console
from pakhuis.errors import NotFound

__all__ = ["devices_app"]

devices_app = typer.Typer(
    help="MQTT device logins: add (password shown once), list, remove.", no_args_is_help=True
)

_TENANT = Annotated[str, typer.Argument(help="The tenant the device belongs to (e.g. demo).")]
_SENSOR = Annotated[str, typer.Argument(help="The sensor id it publishes as (its topic's {sensor}).")]
_RELOAD = "Run `pakhuis mqtt export-auth DIR` and reload Mosquitto (kill -HUP) for the broker to know."


@devices_app.command("add")
def devices_add(tenant: _TENANT, sensor: _SENSOR) -> None:
    """Create a device's MQTT login and print its password once: only its hash is kept."""
    with command() as ctx, ctx.store() as store:
        issued = issue_device_login(store, tenant, sensor)
    login = issued.login
    # The password on stdout alone (for `$(pakhuis devices add …)`), what it is on stderr.
    typer.echo(issued.password)
    typer.echo(
        f"created MQTT login {login.username} (user name and client id) for {login.topic_filter}. "
        f"The password is shown only now. {_RELOAD}",
        err=True,
    )


@devices_app.command("list")
def devices_list() -> None:
    """Every device login: user name (= client id), tenant, sensor, topics, created."""
    with command() as ctx, ctx.store() as store:
        rows = store.device_logins()
    table = [("login", "tenant", "sensor", "may publish", "created")]
    for row in rows:
        table.append(
            (
                row.username,
                row.tenant,
                row.sensor,
                f"pakhuis/v1/{row.tenant}/{row.sensor}/#",
                row.created.strftime("%Y-%m-%d %H:%M"),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    typer.echo(f"{len(rows)} device logins")


@devices_app.command("remove")
def devices_remove(tenant: _TENANT, sensor: _SENSOR) -> None:
    """Remove a device's MQTT login."""
    with command() as ctx, ctx.store() as store:
        if not store.delete_device_login(tenant, sensor):
            raise NotFound(
                f"device {tenant}/{sensor} has no MQTT login", hint="`pakhuis devices list` shows them."
            )
    console.print(f"removed MQTT login {tenant}/{sensor}. {_RELOAD}", markup=False)
