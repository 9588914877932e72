"""`pakhuis tenants kind`: a tenant declared a citizen group or the city, in process against a
fresh database; its policy for unregistered sensors stays its own setting."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app
from pakhuis.store import Store

pytestmark = pytest.mark.integration


def test_kinds_are_declared_and_kept_apart_from_policies(cli: CliRunner, database_url: str) -> None:
    city = cli.invoke(app, ["tenants", "kind", "gemeente", "city"])
    assert city.exit_code == 0, city.output
    assert "tenant gemeente: the city's own sensors; the public sees them as they are" in city.output
    group = cli.invoke(app, ["tenants", "kind", "buren", "group"])
    assert "tenant buren: a citizen group; the public sees pseudonyms and coarsened places" in group.output
    assert cli.invoke(app, ["tenants", "policy", "buren", "reject"]).exit_code == 0
    with Store(database_url) as store:
        assert store.tenant_kinds() == {"gemeente": "city", "buren": "group"}
        # A tenant declared for its kind alone has no policy of its own: the default applies.
        assert store.tenant_policies() == {"buren": "reject"}
        store.set_tenant_policy("gemeente", "auto_register")
        store.set_tenant_kind("buren", "city")
        assert store.tenant_kinds() == {"gemeente": "city", "buren": "city"}
        assert store.tenant_policies() == {"buren": "reject", "gemeente": "auto_register"}


def test_an_unknown_kind_is_refused_with_the_ones_there_are(cli: CliRunner) -> None:
    result = cli.invoke(app, ["tenants", "kind", "buren", "citizens"])
    assert result.exit_code != 0
    assert "unknown tenant kind 'citizens'" in result.output and "group" in result.output
