"""The API's resource bounds (body sizes, page size) as a plain value, defaults from settings.

Every default is the default of the matching `Settings` field, read from the field itself, so
the API built in a test and the one `pakhuis run` serves cannot disagree about a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pakhuis.settings import Settings

__all__ = ["HTTP_INGEST_PATHS", "ApiLimits"]

# Bodies of HTTP ingest (TTN webhooks, Sensor.Community pushes) get the ingest limit.
HTTP_INGEST_PATHS = ("/api/v1/ingest/", "/v1/push-sensor-data/")


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ApiLimits:
    max_body_bytes: int = _default("api_max_body_bytes")
    http_ingest_max_body_bytes: int = _default("http_ingest_max_body_bytes")
    page_max_rows: int = _default("api_page_max_rows")

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            max_body_bytes=settings.api_max_body_bytes,
            http_ingest_max_body_bytes=settings.http_ingest_max_body_bytes,
            page_max_rows=settings.api_page_max_rows,
        )

    def body_limit(self, path: str) -> int:
        """The most bytes a request body to `path` may have."""
        if path.startswith(HTTP_INGEST_PATHS):
            return self.http_ingest_max_body_bytes
        return self.max_body_bytes
