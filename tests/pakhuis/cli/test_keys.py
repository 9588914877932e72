"""`pakhuis keys create | list | revoke` and the embedded admin key (issue 14 part 1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pakhuis.access import Role
from pakhuis.access.keys import KeyVerifier
from pakhuis.cli import app
from pakhuis.cli.keys import admin_key_lines, embedded_admin_key
from pakhuis.errors import Unauthenticated
from pakhuis.store import Store

pytestmark = pytest.mark.integration


def test_create_list_revoke(store: Store, database_url: str) -> None:
    runner = CliRunner()
    env = {"PAKHUIS_DATABASE_URL": database_url}
    created = runner.invoke(
        app, ["keys", "create", "--role", "group", "--tenant", "demo", "--name", "balcony group"], env=env
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("pk_") and "shown only now" in created.stderr
    viewer = KeyVerifier(store).verify(key)
    assert (viewer.role, viewer.tenant) == (Role.GROUP, "demo")

    listed = runner.invoke(app, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert re.search(r"^1 +group +demo +balcony group +20\d\d-", listed.stdout, re.MULTILINE), listed.stdout
    assert key not in listed.stdout
    assert "1 keys, 1 in use" in listed.stdout

    key_id = key.split("_")[1]
    revoked = runner.invoke(app, ["keys", "revoke", key_id], env=env)
    assert revoked.exit_code == 0 and f"revoked key {key_id}" in revoked.stdout
    with pytest.raises(Unauthenticated):
        KeyVerifier(store).verify(key)
    assert "1 keys, 0 in use" in runner.invoke(app, ["keys", "list"], env=env).stdout
    missing = runner.invoke(app, ["keys", "revoke", "999999"], env=env)
    assert missing.exit_code == 1 and "no key 999999" in missing.stdout


def test_refused_keys_say_what_to_do(database_url: str) -> None:
    runner = CliRunner()
    env = {"PAKHUIS_DATABASE_URL": database_url}
    no_tenant = runner.invoke(app, ["keys", "create", "--role", "group"], env=env)
    assert no_tenant.exit_code == 1 and "--tenant" in no_tenant.stdout
    unknown = runner.invoke(app, ["keys", "create", "--role", "mayor"], env=env)
    assert unknown.exit_code == 1 and "group, planner, operator or admin" in unknown.stdout
    public = runner.invoke(app, ["keys", "create", "--role", "public"], env=env)
    assert public.exit_code == 1


def test_the_embedded_admin_key(store: Store, tmp_path: Path) -> None:
    first = embedded_admin_key(store, tmp_path / "data")
    assert first.new_key is not None and first.path == tmp_path / "data" / "admin.key"
    assert first.path.stat().st_mode & 0o777 == 0o600
    assert first.path.read_text().strip() == first.new_key
    assert KeyVerifier(store).verify(first.new_key).role is Role.ADMIN
    text = "\n".join(admin_key_lines(first, "http://127.0.0.1:8000/"))
    assert first.new_key in text and f"Authorization: Bearer $(cat {first.path})" in text
    # Later runs: the same key, only its place is said.
    again = embedded_admin_key(store, tmp_path / "data")
    assert again.new_key is None and first.new_key not in "\n".join(admin_key_lines(again, "x"))
    # A key this database does not know (revoked, or another database's): a new one replaces it.
    store.revoke_api_key(int(first.new_key.split("_")[1]))
    renewed = embedded_admin_key(store, tmp_path / "data")
    assert renewed.new_key is not None and renewed.new_key != first.new_key
    assert renewed.path.read_text().strip() == renewed.new_key
