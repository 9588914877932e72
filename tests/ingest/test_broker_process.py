"""`pakhuis run`'s broker as a child process: it starts (or says why not), keeps what it
acknowledged across a restart (its journal), and never outlives its parent."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.broker import DeclaredSession
from ingest.broker_process import BrokerProcess, BrokerProcessConfig
from pakhuis.errors import ServiceStartError
from pakhuis.store import pg_guard
from tests.ingest.test_broker_acks import INGEST_ID, SECRET, TOPIC, _eventually, _ingest, _publisher
from tests.support import REPO, free_port, wait_for

pytestmark = pytest.mark.integration


def _config(port: int, journal: Path) -> BrokerProcessConfig:
    return BrokerProcessConfig("127.0.0.1", port, SECRET, journal, (DeclaredSession(INGEST_ID, (TOPIC,)),))


def test_acknowledged_messages_survive_a_restart_of_the_broker_process(tmp_path: Path) -> None:
    port = free_port()
    broker = BrokerProcess(_config(port, tmp_path / "journal"))
    asyncio.run(broker.start())
    assert broker.running
    pub = _publisher(port)
    mid = pub.client.publish(TOPIC, b"kept", qos=1).mid
    assert _eventually(lambda: mid in pub.acked)  # journaled: the ingest is not even connected
    pub.close()
    asyncio.run(broker.stop())
    assert not broker.running

    again = BrokerProcess(_config(port, tmp_path / "journal"))
    asyncio.run(again.start())
    try:
        ingest = _ingest(port)
        assert _eventually(lambda: [m.payload for m in ingest.messages] == [b"kept"])
        ingest.close()
    finally:
        asyncio.run(again.stop())


def test_a_broker_that_cannot_start_says_why(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = BrokerProcess(_config(taken.getsockname()[1], tmp_path / "journal"))
        with pytest.raises(ServiceStartError, match="already in use"):
            asyncio.run(broker.start())
    assert not broker.running


_PARENT = """
import asyncio, sys, time
from pathlib import Path
from ingest.broker import DeclaredSession
from ingest.broker_process import BrokerProcess, BrokerProcessConfig
async def main():
    broker = BrokerProcess(BrokerProcessConfig("127.0.0.1", int(sys.argv[1]), "s", Path(sys.argv[2]), ()))
    await broker.start()
    print(broker._proc.pid, flush=True)
    time.sleep(600)
asyncio.run(main())
"""


def test_the_broker_process_dies_with_its_parent(tmp_path: Path) -> None:
    port = free_port()
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(port), str(tmp_path / "journal")],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert pg_guard.alive(child)
    parent.kill()
    parent.wait(10)
    wait_for(lambda: not pg_guard.alive(child), 10, "the broker process to die with its parent")
    # Its port and journal are free for the next start right away.
    started = time.monotonic()
    broker = BrokerProcess(_config(port, tmp_path / "journal"))
    asyncio.run(broker.start())
    asyncio.run(broker.stop())
    assert time.monotonic() - started < 30
