"""The API as served (uvicorn with pakhuis' server config) against real sockets: bodies over
the limit are cut off while they arrive, slow headers and slow bodies are cut at a deadline."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from api import create_app
from api.limits import ApiLimits
from pakhuis.cli.serving import QuietServer, server_config
from pakhuis.settings import load_settings
from pakhuis.store import Store
from tests.support import free_port, wait_for

pytestmark = pytest.mark.integration

DEADLINE_S = 1.0
MAX_BODY = 64 * 1024
INGEST_MAX_BODY = 16 * 1024


@dataclass
class Served:
    port: int

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


@pytest.fixture
def served(store: Store) -> Iterator[Served]:
    port = free_port()
    settings = load_settings(
        api_host="127.0.0.1",
        api_port=port,
        api_header_timeout_s=DEADLINE_S,
        api_body_timeout_s=DEADLINE_S,
        api_max_body_bytes=MAX_BODY,
        http_ingest_max_body_bytes=INGEST_MAX_BODY,
    )
    app = create_app(store, limits=ApiLimits.from_settings(settings))
    server = QuietServer(server_config(app, settings, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10, what="uvicorn started")
    yield Served(port)
    server.should_exit = True
    thread.join(timeout=10)


def _read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        size, _, rest = body.partition(b"\r\n")
        body = rest[: int(size, 16)]
    return status, json.loads(body)


def _post_head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n{extra}\r\n".encode()


def test_a_content_length_over_the_limit_is_refused_before_the_body(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(_post_head("/api/v1/cleanings", f"content-length: {100 * MAX_BODY}\r\n"))
        status, body = _status_and_body(_read_all(sock))
    assert status == 413
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "body_too_large"
    assert f"{MAX_BODY:,}" in str(error["message"])


def _stream_until_answered(sock: socket.socket, path: str, total: int) -> tuple[int, bytes]:
    """Send a chunked body of `total` bytes, stopping when the server answers; (sent, answer)."""
    sock.sendall(_post_head(path, "transfer-encoding: chunked\r\n"))
    chunk = b"x" * 4096
    sent = 0
    sock.setblocking(False)
    answer = b""
    while sent < total:
        try:
            answer += sock.recv(65536)
            break
        except BlockingIOError:
            pass
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            time.sleep(0.01)
            continue
        sent += len(chunk)
    sock.setblocking(True)
    try:
        return sent, answer + _read_all(sock)
    except ConnectionResetError:
        return sent, answer


@pytest.mark.parametrize(
    ("path", "limit"), [("/api/v1/cleanings", MAX_BODY), ("/api/v1/ingest/ttn", INGEST_MAX_BODY)]
)
def test_a_streamed_body_over_the_limit_is_cut_off_while_it_arrives(
    served: Served, path: str, limit: int
) -> None:
    planned = 256 * 1024 * 1024
    with served.connect() as sock:
        sent, answer = _stream_until_answered(sock, path, planned)
    status, body = _status_and_body(answer)
    assert status == 413, answer[:300]
    assert body["error"]["code"] == "body_too_large"  # type: ignore[index]
    assert b"connection: close" in answer.lower()
    # Answered long before the body ended (socket buffers hold some MiB on loopback).
    assert sent < planned // 4, sent


def test_ingest_bodies_under_their_limit_are_read(served: Served) -> None:
    uplink = json.dumps(
        {"end_device_ids": {"device_id": "d", "application_ids": {"application_id": "a"}}, "pad": "y" * 8000}
    ).encode()
    assert len(uplink) < INGEST_MAX_BODY
    with served.connect() as sock:
        sock.sendall(_post_head("/api/v1/ingest/ttn", f"content-length: {len(uplink)}\r\n") + uplink)
        sock.settimeout(10)
        status, body = _status_and_body(sock.recv(65536))
    # Past the limit and the parsing: refused only for the missing broker bridge.
    assert status == 503 and body["error"]["code"] == "http_ingest_unavailable"  # type: ignore[index]


def _time_until_closed(sock: socket.socket, trickle: bytes, every_s: float) -> tuple[float, bytes]:
    """Send `trickle` one byte per `every_s` until the server closes; (seconds, answer)."""
    started = time.monotonic()
    sock.settimeout(every_s)
    answer = b""
    for byte in trickle:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            got = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        answer += got
        if not got:
            break
        answer += _read_all(sock)
        break
    return time.monotonic() - started, answer


def test_slow_headers_are_cut_at_the_deadline(served: Served) -> None:
    with served.connect() as sock:
        took, answer = _time_until_closed(
            sock, b"GET /health HTTP/1.1\r\nhost: t\r\nx-slow: " + b"a" * 200, 0.1
        )
    assert took < DEADLINE_S + 1.5, took
    status, body = _status_and_body(answer)
    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_a_silent_connection_is_cut_at_the_header_deadline(served: Served) -> None:
    with served.connect() as sock:
        started = time.monotonic()
        answer = _read_all(sock)
    assert time.monotonic() - started < DEADLINE_S + 1.5
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_slow_body_is_cut_at_the_deadline(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(_post_head("/api/v1/cleanings", "content-length: 1000\r\n") + b'{"drain": ')
        took, answer = _time_until_closed(sock, b" " * 200, 0.1)
    assert took < DEADLINE_S + 1.5, took
    status, body = _status_and_body(answer)
    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_prompt_requests_on_a_kept_alive_connection_are_not_cut(served: Served) -> None:
    with served.connect() as sock:
        sock.settimeout(10)
        for _ in range(3):
            sock.sendall(b"GET /api/v1/sensors HTTP/1.1\r\nhost: t\r\n\r\n")
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            # Idle well within the deadline between requests; each request re-arms it.
            time.sleep(DEADLINE_S * 0.6)
