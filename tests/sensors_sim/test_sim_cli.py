"""`pakhuis sim --format ...`: the command line over the simulators (HTTP formats need no broker)."""

from __future__ import annotations

import json
import re
import signal
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app

HttpReceiver = Any  # conftest.HttpReceiver: .posts, .status, .base_url


@pytest.fixture(autouse=True)
def keep_sigterm_handler() -> Iterator[None]:
    # `pakhuis sim` installs a SIGTERM handler; do not leave it on the test process.
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def _sim(*args: str) -> Any:
    return CliRunner().invoke(app, ["sim", "--interval", "0.1", "--duration", "0.3", *args])


def test_sensor_community_posts_to_the_api_port_by_default(
    receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", str(urlsplit(receiver.base_url).port))
    result = _sim("--format", "sensorcommunity", "--air", "2", "--drains", "1", "--bridges", "0")
    assert result.exit_code == 0, result.output
    assert f"→ {receiver.base_url}/" in result.output
    match = re.search(
        r"posted (\d+) sensorcommunity messages with (\d+) readings over (\d+) ticks", result.output
    )
    assert match is not None, result.output
    messages, readings, ticks = map(int, match.groups())
    assert ticks == 3
    assert messages == len(receiver.posts) > 0
    assert readings == sum(len(json.loads(body)["sensordatavalues"]) for _, _, body in receiver.posts)
    assert "0 unacknowledged" in result.output
    assert {path for path, _, _ in receiver.posts} == {"/v1/push-sensor-data/"}


def test_explicit_http_url(receiver: HttpReceiver) -> None:
    result = _sim(
        "--format",
        "sensorcommunity",
        "--air",
        "1",
        "--drains",
        "0",
        "--bridges",
        "0",
        "--http",
        receiver.base_url,
    )
    assert result.exit_code == 0, result.output
    assert receiver.posts


def test_unknown_format_says_which_exist() -> None:
    result = _sim("--format", "xml")
    assert result.exit_code == 1
    assert "unknown format 'xml'" in result.output
    assert "native|senml|ttn|sta|sensorcommunity" in result.output


def test_unreachable_receiver_says_what_to_do() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        result = _sim("--format", "sensorcommunity", "--http", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert "cannot reach HTTP receiver" in result.output and "start the API" in result.output
