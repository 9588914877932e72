"""The CLI as a test drives it: in process, on the test's own database, no broker or Kafka."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("PAKHUIS_MQTT_URL", "PAKHUIS_KAFKA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", database_url)
    return CliRunner()
