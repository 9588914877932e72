"""`pakhuis tenants policy`: what a tenant does with readings from sensors it has not registered;
`pakhuis tenants kind`: whether its sensors are personal (a citizen group) or the city's."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from pakhuis.access.privacy import TENANT_KINDS, TenantKind
from pakhuis.cli.frame import command, console
from pakhuis.errors import ConfigurationError

__all__ = ["tenants_app"]

tenants_app = typer.Typer(
    help="Tenants: their policy for unregistered sensors, and their kind (group or city).",
    no_args_is_help=True,
)


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


def _kind(text: str) -> TenantKind:
    for kind in TENANT_KINDS:
        if text == kind:
            return kind
    raise ConfigurationError(
        f"unknown tenant kind {text!r}",
        hint="Use group (a citizen measurement group: personal sensors) or city (the city's own).",
    )


@tenants_app.command("kind")
def tenants_kind(
    tenant: str,
    kind: Annotated[str, typer.Argument(help="group or city")],
) -> None:
    """Declare a tenant a citizen measurement group (public answers show its sensors under
    pseudonyms, at coarsened places) or the city (its sensors are public as they are)."""
    with command() as ctx:
        checked = _kind(kind)
        with ctx.store() as store:
            store.set_tenant_kind(tenant, checked)
    if checked == "group":
        console.print(f"tenant {tenant}: a citizen group; the public sees pseudonyms and coarsened places")
    else:
        console.print(f"tenant {tenant}: the city's own sensors; the public sees them as they are")
