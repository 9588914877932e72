"""One JSON error shape for every failure: {"error": {"status", "code", "message", "hint"?}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pakhuis.errors import PakhuisError

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
    return error_response(exc.status, exc.code, exc.message, exc.hint)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p not in ("query", "path", "body"))
        problems.append(f"{where}: {error['msg']}")
    return error_response(400, "invalid_parameter", "; ".join(problems) or "invalid request")


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no resource at {request.url.path}"
    return error_response(exc.status_code, code, message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PakhuisError, _pakhuis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
