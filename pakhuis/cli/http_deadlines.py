"""uvicorn's h11 protocol with deadlines for a request's headers and for its body.

uvicorn times out idle keep-alive connections, but not a client that sends its headers or its
body a byte at a time (slowloris): each such connection is held forever. Here a connection
gets `header_timeout_s` for the headers (counted from connecting, or from the end of the
previous response, so keep-alive idling counts too) and `body_timeout_s` for the body (from
the end of the headers). Data arriving does not extend a deadline. When one passes before the
request is complete, the client gets a 408 in the API's error shape if no response has begun,
and the connection is closed; an app still reading the body sees a disconnect.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["deadline_protocol"]


def _timeout_response(what: str, seconds: float) -> bytes:
    body = json.dumps(
        {
            "error": {
                "status": 408,
                "code": "request_timeout",
                "message": f"the request's {what} did not arrive within {seconds:g} s",
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _DeadlineH11Protocol(H11Protocol):
    header_timeout_s: float
    body_timeout_s: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # "headers", "body" or None (request complete)

    def _arm(self, phase: str | None) -> None:
        if phase == self._phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            seconds = self.header_timeout_s if phase == "headers" else self.body_timeout_s
            self._deadline = self.loop.call_later(seconds, self._expired, phase, seconds)

    def _follow_state(self) -> None:
        # h11's view of the client: IDLE until a request's headers are complete, SEND_BODY
        # while its body arrives, DONE (or closed) once the whole request is in.
        state = self.conn.their_state
        if state is h11.IDLE:
            self._arm("headers")
        elif state is h11.SEND_BODY:
            self._arm("body")
        else:
            self._arm(None)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(None)
        super().connection_lost(exc)

    def _expired(self, phase: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            what = "headers" if phase == "headers" else "body"
            self.transport.write(_timeout_response(what, seconds))
        if self.cycle is not None and not self.cycle.response_complete:
            # The app's receive() returns http.disconnect; its late response is dropped.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


def deadline_protocol(*, header_timeout_s: float, body_timeout_s: float) -> type[asyncio.Protocol]:
    """An h11 protocol class for `uvicorn.Config(http=...)` with these deadlines."""
    return type(
        "DeadlineH11Protocol",
        (_DeadlineH11Protocol,),
        {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s},
    )
