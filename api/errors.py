"""One JSON error shape for every failure: {"error": {"status", "code", "message", "hint"?}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pakhuis.errors import PakhuisError, Unauthenticated

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    body: dict[str, object] = {"status": status, "code": code, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse({"error": body}, status_code=status)


async def _pakhuis_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PakhuisError)
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    response = error_response(exc.status, exc.code, exc.message, exc.hint)
    if isinstance(exc, Unauthenticated):
        # RFC 9110: a 401 names the scheme that would work.
        response.headers["WWW-Authenticate"] = 'Bearer realm="pakhuis"'
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p not in ("query", "path", "body"))
        problems.append(f"{where}: {error['msg']}")
    return error_response(400, "invalid_parameter", "; ".join(problems) or "invalid request")


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no resource at {request.url.path}"
    response = error_response(exc.status_code, code, message)
    # e.g. the `Allow` header of a 405, which clients (and RFC 9110) expect.
    response.headers.update(exc.headers or {})
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's server-error middleware logs the traceback and calls this for the reply: the
    # documented JSON shape, nothing of the exception shown to the client.
    return error_response(500, "internal_error", "internal error; the server log has the details")


class NotConfigured(PakhuisError):
    """A setting this request needs is not set; the hint names it."""

    status = 409
    code = "not_configured"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PakhuisError, _pakhuis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
