"""`pakhuis run` as a subprocess, as a user starts it: no PAKHUIS_* settings, everything embedded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pakhuis.store import pg_guard
from tests.support import REPO, wait_for


class EmbeddedRun:
    def __init__(
        self, data_dir: Path, api_port: int, mqtt_port: int, log: Path, settings: dict[str, str] | None = None
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
        env["PYTHONPATH"] = str(REPO)
        env.update(settings or {})  # PAKHUIS_* settings the caller chose
        cmd = [sys.executable, "-m", "pakhuis", "run", "--data-dir", str(data_dir)]
        cmd += ["--api-port", str(api_port), "--mqtt-port", str(mqtt_port)]
        self.pgdata = data_dir / "pg"
        self.log = log
        with log.open("ab") as out:
            start = out.tell()
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        self._log_start = start

    def _output(self) -> str:
        with self.log.open("rb") as f:
            f.seek(self._log_start)
            return f.read().decode(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        def running() -> bool:
            assert self.proc.poll() is None, self._output()[-3000:]
            return "pakhuis is running" in self._output()

        wait_for(running, timeout, "pakhuis run to start")

    def postmaster(self) -> int | None:
        return pg_guard.postmaster_pid(self.pgdata)

    def database_url(self) -> str:
        """The running embedded PostgreSQL, through the socket its pid file names."""
        socket_dir = (self.pgdata / "postmaster.pid").read_text().split("\n")[4]
        return f"postgresql://postgres@/pakhuis?host={socket_dir}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        assert code == 0, self._output()[-3000:]
