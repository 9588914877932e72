"""Stops the embedded PostgreSQL once the process that started it is gone, however it went.

`EmbeddedPostgres` runs this file as its own process (by path, so it imports nothing of pakhuis)
with a pipe from the parent on stdin. The pipe closes when the parent exits — also on SIGKILL,
where no atexit handler runs. The guard then fast-stops the postmaster it was started for
(SIGINT, what `pg_ctl stop -m fast` sends), unless another live process still holds a pgserver
handle on the cluster or the pid file already names another server. The helpers are shared with
`EmbeddedPostgres`, which stops a stale server the same way before it starts.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

# pgserver's list of the processes using a cluster (one "handle" each).
HANDLES_FILE = ".handle_pids.json"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: the signal check is all there is
    return state not in ("Z", "X")  # a zombie is dead, only not yet reaped


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def is_postmaster_of(pid: int, pgdata: Path) -> bool:
    """Whether `pid` is a postgres serving `pgdata` (a pid file may outlive a reboot; pids recur)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return alive(pid)
    return any(part.endswith(b"postgres") for part in cmdline[:1]) and str(pgdata).encode() in cmdline


def live_handles(pgdata: Path, excluding: set[int]) -> list[int]:
    try:
        pids = json.loads((pgdata / HANDLES_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [p for p in pids if isinstance(p, int) and p not in excluding and alive(p)]


def prune_handles(pgdata: Path) -> None:
    """Drop dead processes from pgserver's handle list: else it never stops the server again."""
    path = pgdata / HANDLES_FILE
    if path.exists():
        path.write_text(json.dumps(live_handles(pgdata, excluding=set())))


def fast_stop(pgdata: Path, pid: int, timeout_s: float = 60.0) -> bool:
    """Fast-stop the postmaster `pid` if it still serves `pgdata`; True once it is gone."""
    if postmaster_pid(pgdata) != pid or not alive(pid) or not is_postmaster_of(pid, pgdata):
        return True
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def main(argv: list[str]) -> int:
    pgdata, pid, parent = Path(argv[1]), int(argv[2]), int(argv[3])
    # Ctrl-C and a closing terminal reach the parent; the guard waits for the pipe instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sys.stdin.buffer.read()
    if live_handles(pgdata, excluding={parent, os.getpid()}):
        return 0
    stopped = fast_stop(pgdata, pid)
    prune_handles(pgdata)
    return 0 if stopped else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
