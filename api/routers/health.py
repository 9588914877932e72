"""Health: `/health` (every component), `/health/ready` (ready to serve), `/health/live` (up).

The command that runs the API registers its components on a `HealthBoard` (database, and where
this process has them: broker connection, ingest, stream runner); an app built without one
reports the database only. The probes run in a worker thread of their own, not the request
thread pool, so a flood of heavy reads cannot make the answer wait (or lie).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from pakhuis.health import HealthBoard, database_probe

router = APIRouter(tags=["health"])


class ComponentBody(BaseModel):
    """One component: its status, a detail, and figures of its own (backlog, last commit age)."""

    model_config = ConfigDict(extra="allow")
    status: Literal["ok", "degraded", "down"]
    detail: str


class HealthBody(BaseModel):
    # "down" only from /health/ready, when a component that readiness ignores is down.
    status: Literal["ok", "degraded", "down"]
    database: Literal["ok", "degraded", "down"] | None = None
    components: dict[str, ComponentBody]


def _board(request: Request) -> HealthBoard:
    board: HealthBoard | None = getattr(request.app.state, "health", None)
    if board is None:
        board = HealthBoard()
        board.register("database", database_probe(request.app.state.store))
        request.app.state.health = board
    return board


@router.get("/health", response_model=HealthBody, response_model_exclude_none=True)
async def health(request: Request) -> dict[str, object]:
    """Every component with its status; 503 in the common error shape when one is down (its
    message names the down component first, then every component with its status)."""
    report = await asyncio.to_thread(_board(request).check)
    failure = report.failure()
    if failure is not None:
        raise failure
    return report.to_dict()


@router.get("/health/ready", response_model=HealthBody, response_model_exclude_none=True)
async def ready(request: Request) -> dict[str, object]:
    """200 when this process can do its job (database and, where present, broker and runner)."""
    report = await asyncio.to_thread(_board(request).check)
    failure = report.failure(only_ready=True)
    if failure is not None:
        raise failure
    return report.to_dict()


@router.get("/health/live")
async def live() -> dict[str, str]:
    """200 while the process serves HTTP: for liveness probes, which must not restart a pod
    because a dependency is down."""
    return {"status": "live"}
