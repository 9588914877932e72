"""`pakhuis run` as a user starts it (no PAKHUIS_* settings: broker and database embedded),
and the way into its embedded PostgreSQL, for the ingest tests that need the whole service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO, free_port


def start_run(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The process and the port of its embedded MQTT broker."""
    mqtt_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "pakhuis", "run", "--data-dir", str(data_dir)]
    cmd += ["--api-port", str(free_port()), "--mqtt-port", str(mqtt_port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, mqtt_port


def embedded_url(pgdata: Path) -> str:
    """The running embedded PostgreSQL of a `pakhuis run`, over its Unix socket."""
    socket_dir = (pgdata / "postmaster.pid").read_text().split("\n")[4]
    return f"postgresql://postgres@/pakhuis?host={socket_dir}"
