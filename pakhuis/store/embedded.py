"""Embedded PostgreSQL for the default mode: a real server (pgserver's binaries) under the data dir.

The cluster is kept between runs (`<data_dir>/pg`), listens only on a Unix socket, and is
stopped when the process that started it exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg

from pakhuis.errors import ServiceStartError

log = logging.getLogger(__name__)

DATABASE_NAME = "pakhuis"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: object | None = None
        self._uri: str | None = None

    def start(self) -> str:
        """Start (or reuse) the cluster and return a connection URI for the pakhuis database."""
        # Imported here: pgserver probes the platform on import, which a CLI --help need not pay.
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            import pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
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
