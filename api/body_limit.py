"""Request bodies bounded while they are read, for every endpoint (a pure ASGI middleware).

A Content-Length over the limit is refused before a byte of the body is read; a streamed
(chunked) body is counted as it arrives and refused the moment it passes the limit, so no body
is ever buffered beyond it. The refusal is a 413 in the common error shape with
`Connection: close`, so the server does not go on reading (and discarding) the rest.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from api.limits import ApiLimits
from pakhuis.errors import PakhuisError

__all__ = ["BodyLimit", "BodyTooLarge"]


class BodyTooLarge(PakhuisError):
    status = 413
    code = "body_too_large"


def _too_large(limit: int, size: int | None) -> BodyTooLarge:
    got = f"{size:,} bytes" if size is not None else "more bytes"
    return BodyTooLarge(
        f"the request body is {got}; the limit here is {limit:,} bytes",
        hint="send less per request (split a list of items into several requests)",
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser has refused it already; counting still applies
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, limits: ApiLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, _too_large(limit, declared))
            return

        received = 0
        overflow: BodyTooLarge | None = None
        refused = False
        started = False  # a response begun before the overflow cannot be replaced

        async def counted_receive() -> Message:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow = _too_large(limit, None)
                    raise overflow
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refused, started
            if overflow is None or started:
                started = started or message["type"] == "http.response.start"
                await send(message)
            elif not refused:
                # Whatever the app made of the failed read (FastAPI turns an error while
                # parsing a body into a 400), the answer is the 413.
                refused = True
                await _refuse(scope, receive, send, overflow)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if overflow is None:
                raise
        if overflow is not None and not refused and not started:
            await _refuse(scope, receive, send, overflow)


async def _refuse(scope: Scope, receive: Receive, send: Send, error: BodyTooLarge) -> None:
    response = error_response(error.status, error.code, error.message, error.hint)
    response.headers["connection"] = "close"
    await response(scope, receive, send)
