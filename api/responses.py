"""The error responses of the OpenAPI document, declared once for every operation.

Routers are included with `responses=COMMON_ERRORS`; a route adds what only it can answer
with `error_responses(404)` etc. Declaring 422 here also keeps FastAPI from documenting its
own validation-error body, which this API never sends (validation failures are 400s).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["COMMON_ERRORS", "ErrorBody", "error_responses"]


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    hint: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_DESCRIPTIONS = {
    400: "A parameter or the body is invalid; the message names it.",
    404: "No such resource.",
    409: "The server is not ready for this yet (a setting, a register or a model is missing); "
    "the hint says what to do.",
    413: "The request body is over the limit (PAKHUIS_API_MAX_BODY_BYTES; HTTP ingest: "
    "PAKHUIS_HTTP_INGEST_MAX_BODY_BYTES).",
    422: "The database refused a value it cannot hold.",
    500: "An internal error (the message shows nothing secret).",
    503: "A service this needs (the database; for HTTP ingest the broker) is unavailable; retry later.",
}

COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: _error(_DESCRIPTIONS[status]) for status in (400, 413, 422, 500, 503)
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The route-specific error responses (the common ones are declared per router)."""
    return {status: _error(_DESCRIPTIONS[status]) for status in statuses}
