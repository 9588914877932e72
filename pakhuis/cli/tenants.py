"""`pakhuis tenants policy`: what a tenant does with readings from sensors it has not registered."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from pakhuis.cli.frame import command, console
from pakhuis.errors import ConfigurationError

__all__ = ["tenants_app"]

tenants_app = typer.Typer(help="Tenants and their policy for unregistered sensors.", no_args_is_help=True)


def _policy(text: str) -> Literal["auto_register", "reject"]:
    if text == "auto_register":
        return "auto_register"
    if text == "reject":
        return "reject"
    raise ConfigurationError(f"unknown policy {text!r}", hint="Use auto_register or reject.")


@tenants_app.command("policy")
def tenants_policy(
    tenant: str,
    policy: Annotated[str, typer.Argument(help="auto_register or reject")],
) -> None:
    """Set what happens to readings from unregistered sensors of a tenant."""
    with command() as ctx:
        checked = _policy(policy)
        with ctx.store() as store:
            store.set_tenant_policy(tenant, checked)
    console.print(
        f"tenant {tenant}: unregistered sensors are {'refused' if policy == 'reject' else 'registered'}"
    )
