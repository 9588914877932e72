"""The embedded PostgreSQL never outlives the process that started it, however that process ends.

A killed process's guard stops its server; and if the guard is gone too, the next start finds
the server whose owner is dead (pgserver's handle list names only dead processes) and stops it
before starting a fresh one that it will stop in turn.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pakhuis.store import EmbeddedPostgres, pg_guard
from tests.support import REPO, wait_for

pytestmark = pytest.mark.integration

# Starts the embedded server, reports its postmaster and guard, then waits to be killed.
_OWNER = """
import sys, time
from pathlib import Path
from pakhuis.store import EmbeddedPostgres, pg_guard
server = EmbeddedPostgres(Path(sys.argv[1]))
server.start()
print(pg_guard.postmaster_pid(server.pgdata), server._guard.pid, flush=True)
time.sleep(600)
"""


def _killed_owner(data_dir: Path, *, kill_guard: bool) -> int:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(data_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    postmaster, guard = (int(part) for part in owner.stdout.readline().split())
    if kill_guard:
        os.kill(guard, signal.SIGKILL)
        wait_for(lambda: not pg_guard.alive(guard), 10, "the guard to die")
    owner.kill()
    owner.wait(10)
    return postmaster


def test_the_guard_stops_the_server_of_a_killed_process(tmp_path: Path) -> None:
    postmaster = _killed_owner(tmp_path, kill_guard=False)
    wait_for(lambda: not pg_guard.alive(postmaster), 30, "the killed owner's PostgreSQL to stop")


def test_a_start_stops_the_server_a_dead_process_left_running(tmp_path: Path) -> None:
    stale = _killed_owner(tmp_path, kill_guard=True)
    assert pg_guard.alive(stale), "nothing stale to clean up: the test proves nothing"
    server = EmbeddedPostgres(tmp_path)
    server.start()
    fresh = pg_guard.postmaster_pid(server.pgdata)
    try:
        assert not pg_guard.alive(stale)
        assert fresh is not None and fresh != stale
    finally:
        server.stop()
    assert fresh is not None and not pg_guard.alive(fresh)
