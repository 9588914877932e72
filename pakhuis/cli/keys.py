"""`pakhuis keys create | list | revoke`: API keys (issue 14 part 1), and the embedded admin key
that the first `pakhuis run` leaves in the data dir (`admin.key`, readable by its owner only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from pakhuis.access import Role
from pakhuis.access.keys import KeyVerifier, issue_key
from pakhuis.cli.frame import command, console
from pakhuis.errors import ConfigurationError, NotFound, Unauthenticated
from pakhuis.store import Store

__all__ = ["ADMIN_KEY_FILE", "AdminKey", "embedded_admin_key", "keys_app"]

ADMIN_KEY_FILE = "admin.key"

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


def _role(text: str) -> Role:
    for role in Role:
        if text == role.value and role is not Role.PUBLIC:
            return role
    raise ConfigurationError(
        f"unknown role {text!r}", hint="Use group, planner, operator or admin (see `pakhuis keys --help`)."
    )


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="group, planner, operator or admin.")],
    tenant: Annotated[
        str | None, typer.Option(help="The tenant a group key belongs to (required for group keys).")
    ] = None,
    name: Annotated[str, typer.Option(help="Who or what the key is for, for `pakhuis keys list`.")] = "",
) -> None:
    """Create an API key and print it once: only its hash is kept."""
    with command() as ctx:
        checked = _role(role)
        with ctx.store() as store:
            issued = issue_key(store, checked, tenant=tenant, name=name)
    # The key on stdout alone (for `$(pakhuis keys create …)`), what it is on stderr.
    typer.echo(issued.key)
    scope = f" of tenant {issued.tenant}" if issued.tenant else ""
    typer.echo(
        f"created key {issued.id}: {issued.role.value}{scope}. It is shown only now; send it as "
        "`Authorization: Bearer <key>`.",
        err=True,
    )


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, tenant, name, created, last used (to the minute), revoked."""
    with command() as ctx, ctx.store() as store:
        rows = store.api_keys()
    table = [("id", "role", "tenant", "name", "created", "last used", "revoked")]
    for row in rows:
        table.append(
            (
                str(row.id),
                row.role,
                row.tenant or "-",
                row.name or "-",
                _when(row.created),
                _when(row.last_used),
                _when(row.revoked),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    typer.echo(f"{len(rows)} keys, {sum(1 for r in rows if r.revoked is None)} in use")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (`pakhuis keys list`).")]) -> None:
    """Revoke a key: from now on it is refused (401). It stays listed."""
    with command() as ctx, ctx.store() as store:
        if not store.revoke_api_key(key_id):
            raise NotFound(f"no key {key_id}", hint="`pakhuis keys list` shows the ids.")
    console.print(f"revoked key {key_id}")


@dataclass(frozen=True, slots=True)
class AdminKey:
    path: Path
    # The key itself only when it was just created (printed once); else None.
    new_key: str | None


def embedded_admin_key(store: Store, data_dir: Path) -> AdminKey:
    """The admin key of an embedded installation, kept in `<data_dir>/admin.key` (mode 0600):
    created on the first run, and again when the file's key no longer works (the database was
    replaced, or the key revoked)."""
    path = data_dir / ADMIN_KEY_FILE
    if path.is_file():
        try:
            KeyVerifier(store).verify(path.read_text(encoding="ascii").strip())
            return AdminKey(path, None)
        except (Unauthenticated, UnicodeDecodeError):
            pass  # replaced below: the file's key is not (or no longer) one of this database's
    issued = issue_key(store, Role.ADMIN, name="embedded admin (pakhuis run)")
    data_dir.mkdir(parents=True, exist_ok=True)
    # Created owner-only from the start (no moment in which others could read it).
    descriptor = os.open(path.with_suffix(".key.new"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(issued.key + "\n")
    os.chmod(path.with_suffix(".key.new"), 0o600)
    os.replace(path.with_suffix(".key.new"), path)
    return AdminKey(path, issued.key)


def admin_key_lines(admin: AdminKey, api_url: str) -> list[str]:
    """What `pakhuis run` says about its admin key: the key once, later only where it is."""
    if admin.new_key is None:
        return [f"  admin key      in {admin.path} (writes need it: Authorization: Bearer …)"]
    return [
        f"  admin key      {admin.new_key}",
        f"                 shown once; kept in {admin.path} (owner-only). Writes need it, e.g.",
        f'                 curl -H "Authorization: Bearer $(cat {admin.path})" {api_url}api/v1/schedule',
    ]
