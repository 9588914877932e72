"""HTTP API: FastAPI app factory, one router per resource, one JSON error shape."""

from api.app import create_app

__all__ = ["create_app"]
