"""Embedded PostgreSQL for the default mode: a real server (pgserver's binaries) under the data dir.

The cluster is kept between runs (`<data_dir>/pg`), listens only on a Unix socket, and is
stopped when the process that started it exits — also when it is killed: a guard process
(pg_guard.py) holds a pipe from this one and fast-stops the server when the pipe closes. A start
that finds a server left behind by a dead process (and pgserver's list of handles naming only
dead ones) stops that server first, so it never serves a cluster nobody will stop.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import psycopg

from pakhuis.errors import ServiceStartError
from pakhuis.store import pg_guard

log = logging.getLogger(__name__)

DATABASE_NAME = "pakhuis"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: object | None = None
        self._uri: str | None = None
        self._guard: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start (or reuse) the cluster and return a connection URI for the pakhuis database."""
        # Imported here: pgserver probes the platform on import, which a CLI --help need not pay.
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            import pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._stop_stale_server()
        try:
            server = pgserver.get_server(self.pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        except (OSError, RuntimeError, AssertionError) as exc:
            log_file = self.pgdata / "log"
            raise ServiceStartError(
                f"Could not start the embedded PostgreSQL in {self.pgdata}: {exc}",
                hint=f"See {log_file}; if another pakhuis uses this data dir, stop it or pass "
                "another --data-dir; or set PAKHUIS_DATABASE_URL to use an external server.",
            ) from exc
        self._server = server
        postmaster_pid = server.get_pid()
        if postmaster_pid is not None:
            self._start_guard(postmaster_pid)
        admin_uri = server.get_uri("postgres")
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        self._uri = server.get_uri(DATABASE_NAME)
        log.info("embedded PostgreSQL ready in %s", self.pgdata)
        return self._uri

    @property
    def uri(self) -> str:
        if self._uri is None:
            raise ServiceStartError("The embedded PostgreSQL has not been started.")
        return self._uri

    def admin_uri(self) -> str:
        if self._server is None:
            raise ServiceStartError("The embedded PostgreSQL has not been started.")
        return str(self._server.get_uri("postgres"))  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None
        if self._guard is not None:
            # The server is down (or in use by another process): the guard only checks and exits.
            guard, self._guard = self._guard, None
            if guard.stdin is not None:
                guard.stdin.close()
            try:
                guard.wait(30)
            except subprocess.TimeoutExpired:
                log.warning("the PostgreSQL guard (pid %d) did not exit", guard.pid)

    def _stop_stale_server(self) -> None:
        """Stop a server whose starting process died (SIGKILL, power loss of a container)."""
        if not self.pgdata.exists():
            return
        pg_guard.prune_handles(self.pgdata)
        pid = pg_guard.postmaster_pid(self.pgdata)
        if pid is None or not pg_guard.alive(pid) or pg_guard.live_handles(self.pgdata, {os.getpid()}):
            return
        log.warning("stopping the PostgreSQL (pid %d) a dead process left running in %s", pid, self.pgdata)
        if not pg_guard.fast_stop(self.pgdata, pid):
            raise ServiceStartError(
                f"A PostgreSQL left running in {self.pgdata} (pid {pid}) did not stop.",
                hint=f"Stop it (`kill -INT {pid}`) and start again.",
            )

    def _start_guard(self, postmaster_pid: int) -> None:
        # Started after the server, so the postmaster does not inherit the pipe; its own session,
        # so a signal to the process group (Ctrl-C, kill -- -pgid) does not stop it early.
        self._guard = subprocess.Popen(
            [sys.executable, pg_guard.__file__, str(self.pgdata), str(postmaster_pid), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
