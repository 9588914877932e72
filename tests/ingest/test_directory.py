"""The registry cache: tenant policies survive a database outage once they were read."""

from __future__ import annotations

import pytest

from ingest.directory import SensorDirectory
from pakhuis.errors import StoreUnavailable


def _directory(answers: list[dict[str, str] | None]) -> tuple[SensorDirectory, list[int]]:
    calls = [0]

    def tenant_policies() -> dict[str, str]:
        calls[0] += 1
        answer = answers.pop(0) if answers else None
        if answer is None:
            raise StoreUnavailable("database down")
        return answer

    directory = SensorDirectory(
        known_sensors=lambda keys: set(),
        tenant_policies=tenant_policies,
        datastream=lambda _id: None,
        ttl_s=0.0,
    )
    return directory, calls


def test_policies_last_read_are_used_while_the_database_is_down() -> None:
    directory, calls = _directory([{"t1": "reject"}, None, None])
    assert directory.policy("t1") == "reject"
    assert directory.policy("t1") == "reject"  # refresh failed: the last policies decide
    assert calls[0] == 2
    # and the next try waits (each one may cost the pool's timeout)
    assert directory.policy("t1") == "reject" and calls[0] == 2


def test_without_any_policies_read_the_outage_propagates() -> None:
    directory, _ = _directory([None])
    with pytest.raises(StoreUnavailable):
        directory.policy("t1")
