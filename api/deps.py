"""Request dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from api.limits import ApiLimits
from pakhuis.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_limits(request: Request) -> ApiLimits:
    limits: ApiLimits = request.app.state.limits
    return limits
