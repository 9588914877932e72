"""`pakhuis deadletter purge` in process against a fresh database: retention from the setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app
from pakhuis.reading import DeadLetter, Rejection
from pakhuis.store import Store

pytestmark = pytest.mark.integration


def _letters(age_days: float, count: int) -> list[DeadLetter]:
    received = datetime.now(UTC) - timedelta(days=age_days)
    return [
        DeadLetter("pakhuis/v1/d/s/native", b"{}", "native", (Rejection("bad_json", "r"),), received, "d")
        for _ in range(count)
    ]


def test_purge_uses_the_retention_setting_or_the_option(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PAKHUIS_MQTT_URL", "PAKHUIS_KAFKA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", database_url)
    monkeypatch.setenv("PAKHUIS_DEADLETTER_RETENTION_DAYS", "10")
    with Store(database_url) as store:
        store.write_batch([], _letters(40, 3) + _letters(15, 2) + _letters(0.5, 1))
    result = CliRunner().invoke(app, ["deadletter", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 5 dead letters received more than 10 days ago" in result.output
    result = CliRunner().invoke(app, ["deadletter", "purge", "--older-than-days", "1"])
    assert "deleted 0 dead letters" in result.output
    with Store(database_url) as store:
        assert len(store.list_dead_letters(limit=10).rows) == 1
