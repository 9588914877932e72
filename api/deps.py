"""Request dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from api.limits import ApiLimits
from api.shared_reads import SharedReads
from pakhuis.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_limits(request: Request) -> ApiLimits:
    limits: ApiLimits = request.app.state.limits
    return limits


def get_shared_reads(request: Request) -> SharedReads:
    shared: SharedReads = request.app.state.shared_reads
    return shared
