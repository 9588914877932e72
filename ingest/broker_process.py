"""The embedded broker in a process of its own, for `pakhuis run`.

In one process the broker (amqtt, pure Python), the ingest's decoding and the runner's writing
share one GIL, and the broker — which every device waits on for its PUBACK — gets a fraction of
it. `pakhuis run` therefore starts the broker as a child (`python -m ingest.broker_process`); the
ingest reaches it over loopback TCP as before. The child gets its settings as one JSON line on
stdin (the ingest secret stays out of the process list) and then keeps reading stdin: when the
parent closes it (stop), the broker shuts down; if the parent dies (even by SIGKILL) the kernel
kills the child too (PR_SET_PDEATHSIG), which loses nothing — what it acknowledged is in its
journal, and the parent's next start opens the same journal.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ingest.broker import DeclaredSession, EmbeddedBroker
from pakhuis.errors import ServiceStartError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class BrokerProcessConfig:
    host: str
    port: int
    ingest_secret: str
    journal_dir: Path
    declared: tuple[DeclaredSession, ...]


class BrokerProcess:
    def __init__(self, config: BrokerProcessConfig) -> None:
        self.config = config
        self._proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout_s: float = 30.0) -> None:
        # Popen from the event loop's (main) thread: the child's death signal follows the thread
        # that forked it, and this one lives as long as `pakhuis run`.
        c = self.config
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.broker_process"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        settings = {
            "host": c.host,
            "port": c.port,
            "ingest_secret": c.ingest_secret,
            "journal_dir": str(c.journal_dir),
            "declared": [[d.client_id, list(d.topics)] for d in c.declared],
        }
        proc.stdin.write(json.dumps(settings).encode() + b"\n")
        proc.stdin.flush()
        try:
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout_s)
        except TimeoutError:
            await self.stop()
            raise ServiceStartError(
                f"The embedded MQTT broker did not start within {timeout_s:.0f} s."
            ) from None
        answer = json.loads(line or b'{"error": "the broker process exited", "hint": null}')
        if "error" in answer:
            await self.stop()
            raise ServiceStartError(answer["error"], hint=answer.get("hint"))

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    async def stop(self, timeout_s: float = 20.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.to_thread(proc.wait, timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the embedded MQTT broker did not stop within %.0f s; killing it", timeout_s)
            proc.kill()
            await asyncio.to_thread(proc.wait, 5)


# -- the child ------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the closed stdin still stops the broker when the parent goes


async def _serve(settings: dict[str, object]) -> int:
    declared = settings["declared"]
    assert isinstance(declared, list)
    broker = EmbeddedBroker(
        str(settings["host"]),
        int(str(settings["port"])),
        ingest_secret=str(settings["ingest_secret"]),
        declared=[DeclaredSession(client_id, tuple(topics)) for client_id, topics in declared],
        journal_dir=Path(str(settings["journal_dir"])),
    )
    try:
        await broker.start()
    except ServiceStartError as exc:
        print(json.dumps({"error": exc.message, "hint": exc.hint}), flush=True)
        return 1
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.to_thread(sys.stdin.buffer.read)  # until the parent closes our stdin
    await broker.stop()
    return 0


def main() -> int:
    _die_with_parent()
    # Ctrl-C (and a service manager's SIGTERM) reach the whole process group; the parent stops us
    # in its own order, ingest first, by closing our stdin — and if it dies, we die with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    settings = json.loads(sys.stdin.buffer.readline())
    return asyncio.run(_serve(settings))


if __name__ == "__main__":
    sys.exit(main())
