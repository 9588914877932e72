"""The embedded broker's journal: accepted QoS 1 messages on disk before their PUBACK.

Holding a publisher's PUBACK until the ingest has committed the message (broker_acks) makes every
publisher wait a whole batch write per in-flight window: with the client default of 20 that
caps a device far below what the broker can take. The journal moves that wait off the device's
path: a QoS 1 message is appended here and the file is fsynced (many messages per fsync), then
the PUBACK goes out; the message is *retired* once its delivery is done (the ingest committed it
and PUBACKed its copy). A start after a crash replays every record not retired into the ingest's
declared session, so a PUBACK still means the message will be stored: nothing acknowledged is
lost; a message replayed although committed is absorbed by the idempotent writes.

Records: b"A" seq topic payload (appended, fsynced before the PUBACK) and b"R" seq (retired; not
fsynced: a lost retirement only replays a stored message). Each record carries a CRC32, so a
torn tail from a crash ends the replay. The file is rotated into segments; a segment whose every
message was retired is deleted.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from pakhuis.errors import ServiceStartError

_APPEND, _RETIRE = b"A", b"R"
_HEAD = struct.Struct(">cQII")  # kind, seq, topic length, payload length
_CRC = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Journaled:
    seq: int
    topic: str
    payload: bytes


def _record(kind: bytes, seq: int, topic: bytes = b"", payload: bytes = b"") -> bytes:
    body = _HEAD.pack(kind, seq, len(topic), len(payload)) + topic + payload
    return body + _CRC.pack(zlib.crc32(body))


def _read_segment(data: bytes) -> tuple[list[Journaled], set[int]]:
    appended: list[Journaled] = []
    retired: set[int] = set()
    offset = 0
    while offset + _HEAD.size + _CRC.size <= len(data):
        kind, seq, topic_len, payload_len = _HEAD.unpack_from(data, offset)
        end = offset + _HEAD.size + topic_len + payload_len
        if end + _CRC.size > len(data) or _CRC.unpack_from(data, end)[0] != zlib.crc32(data[offset:end]):
            break  # a torn tail: what follows was never acknowledged
        if kind == _APPEND:
            topic = data[offset + _HEAD.size : offset + _HEAD.size + topic_len].decode()
            appended.append(Journaled(seq, topic, data[end - payload_len : end]))
        elif kind == _RETIRE:
            retired.add(seq)
        offset = end + _CRC.size
    return appended, retired


class AckJournal:
    def __init__(self, directory: Path, *, segment_bytes: int = 64 * 1024 * 1024, max_backlog: int = 20_000):
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_backlog = max_backlog
        self._seq = 0
        self._fd: int | None = None
        self._segment = 0
        self._written = 0
        self._live: dict[int, int] = {}  # seq not yet retired → its segment
        self._segment_live: dict[int, int] = {}
        self._waiting: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock: int | None = None

    def open(self) -> list[Journaled]:
        """Read what a previous run left (the messages to replay) and start a new segment."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        appended: list[tuple[int, Journaled]] = []
        retired: set[int] = set()
        for path in sorted(self.directory.glob("*.journal")):
            records, gone = _read_segment(path.read_bytes())
            appended += [(int(path.stem), record) for record in records]
            retired |= gone
        replay = [(segment, r) for segment, r in appended if r.seq not in retired]
        # Past every seq a surviving record names, so an old retirement never matches a new message.
        self._seq = max([r.seq for _, r in appended] + list(retired), default=0)
        for segment, record in replay:
            self._count(record.seq, segment)
        self._segment = max((int(p.stem) for p in self.directory.glob("*.journal")), default=0)
        for path in self.directory.glob("*.journal"):
            if int(path.stem) not in self._segment_live:
                path.unlink()
        self._rotate()
        return [record for _, record in replay]

    @property
    def backlog(self) -> int:
        return len(self._live)

    def has_room(self) -> bool:
        return len(self._live) < self.max_backlog

    async def append(self, topic: str, payload: bytes) -> int:
        """Write the message and return its seq once it is on disk (fsynced)."""
        self._seq += 1
        seq = self._seq
        self._write(_record(_APPEND, seq, topic.encode(), payload))
        self._count(seq, self._segment)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(done)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done
        return seq

    def retire(self, seq: int) -> None:
        segment = self._live.pop(seq, None)
        if segment is None:
            return
        self._write(_record(_RETIRE, seq))
        self._segment_live[segment] -= 1
        if self._segment_live[segment] == 0 and segment != self._segment:
            del self._segment_live[segment]
            (self.directory / f"{segment:08d}.journal").unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None

    # -- inside ---------------------------------------------------------------------------------

    def _take_lock(self) -> None:
        # Two brokers on one journal would replay and delete each other's records.
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ServiceStartError(
                f"The broker journal in {self.directory} is in use by another pakhuis run.",
                hint="Stop the other `pakhuis run`, or pass another --data-dir.",
            ) from None
        self._lock = fd

    def _count(self, seq: int, segment: int) -> None:
        self._live[seq] = segment
        self._segment_live[segment] = self._segment_live.get(segment, 0) + 1

    def _write(self, record: bytes) -> None:
        if self._fd is None:
            raise RuntimeError("the broker journal is not open")
        os.write(self._fd, record)
        self._written += len(record)

    def _rotate(self) -> None:
        # Only between fsyncs (in the flusher, or when opening): no fsync runs on the old file.
        old, self._fd = self._fd, None
        if old is not None:
            os.fsync(old)
            os.close(old)
            if self._segment_live.get(self._segment, 0) == 0:
                self._segment_live.pop(self._segment, None)
                (self.directory / f"{self._segment:08d}.journal").unlink(missing_ok=True)
        self._segment += 1
        path = self.directory / f"{self._segment:08d}.journal"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._written = 0

    async def _flush(self) -> None:
        # Group commit: one fdatasync covers every record written before it started.
        while self._waiting:
            batch, self._waiting = self._waiting, []
            failed: OSError | None = None
            try:
                if self._fd is not None:
                    await asyncio.to_thread(os.fdatasync, self._fd)
            except OSError as exc:
                failed = exc  # the appenders fall back to holding their PUBACKs
            for done in batch:
                if done.done():
                    continue
                if failed is None:
                    done.set_result(None)
                else:
                    done.set_exception(failed)
            if self._written >= self.segment_bytes:
                self._rotate()
