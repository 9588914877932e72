"""One exception hierarchy for the whole project.

Every error carries an HTTP status, a stable machine-readable code and a message that is safe
to show a user (no secrets, no stack traces); the API turns them into one JSON error shape and
the CLI prints the message plus what to do next.
"""

from __future__ import annotations


class PakhuisError(Exception):
    """Base error: `status` for HTTP, `code` stable across releases, `message` safe to show."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"status": self.status, "code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class ConfigurationError(PakhuisError):
    """Settings are missing or invalid; raised at start-up, never at import time."""

    status = 500
    code = "configuration_error"


class InvalidParameter(PakhuisError):
    status = 400
    code = "invalid_parameter"


class NotFound(PakhuisError):
    status = 404
    code = "not_found"


class Unauthenticated(PakhuisError):
    """No credentials where a route needs them, or credentials that do not verify (unknown,
    revoked, expired, wrongly signed). The message never says which part of a key was wrong."""

    status = 401
    code = "unauthenticated"


class Forbidden(PakhuisError):
    """Verified credentials whose role (or tenant) does not allow this request."""

    status = 403
    code = "forbidden"


class StoreUnavailable(PakhuisError):
    """The database cannot be reached; callers retry with backoff, nothing is dropped."""

    status = 503
    code = "store_unavailable"


class StoreRejected(PakhuisError):
    """The database refused what it was asked to store or run (a constraint, a value it cannot
    hold): retrying will not help. The stream dead-letters the message, with `reason`.

    `reason` names the refusal as "<database error class>: <first line of its message>". Data
    the database refuses is the caller's (422); a statement it cannot run at all is ours (500).
    """

    status = 422
    code = "store_rejected"

    def __init__(self, reason: str, *, data: bool = True, hint: str | None = None) -> None:
        super().__init__(f"The database refused the request: {reason}", hint=hint)
        self.reason = reason
        if not data:
            self.status = 500


class ServiceStartError(PakhuisError):
    """A local service (broker, database, API) could not be started, e.g. its port is taken."""

    status = 500
    code = "service_start_failed"


class StreamFailed(PakhuisError):
    """The stream runner stopped on an error that retrying cannot fix (a bug, not an outage)."""

    status = 500
    code = "stream_failed"
