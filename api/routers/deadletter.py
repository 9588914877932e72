from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from api.deps import get_limits, get_store
from api.limits import ApiLimits
from api.pagination import (
    CURSOR_DESCRIPTION,
    DEAD_LETTER_CURSOR,
    dead_letter_cursor,
    next_link,
    parse_dead_letter_cursor,
)
from api.params import IsoDatetime
from api.privacy import Disclosure, get_disclosure
from api.responses import error_responses
from api.viewer import get_viewer
from pakhuis.access import Role, Viewer
from pakhuis.errors import NotFound
from pakhuis.identifiers import IDENTIFIER_PATTERN
from pakhuis.store import Store
from pakhuis.store.deadletters import MAX_DEAD_LETTER_PAGE

router = APIRouter(tags=["dead letters"])

_PREVIEW_BYTES = 2048
# With raw payloads (each up to the dead-letter cap, 64 KiB) a page holds fewer letters.
_MAX_PAGE_WITH_PAYLOAD = 100
_NEXT_LINK = {
    "Link": {
        "description": 'rel="next": the page after this one (absent on the last page)',
        "schema": {"type": "string"},
    }
}


class Refusal(BaseModel):
    item: int | None
    code: str
    reason: str


class DeadLetterOut(BaseModel):
    id: int
    received: datetime
    topic: str
    tenant: str | None
    decoder: str
    reason_code: str
    reason: str
    details: list[Refusal]
    payload_bytes: int
    payload_stored_bytes: int
    payload_truncated: bool
    # The start of the bytes; empty for viewers other than admins (see `_out`).
    payload_preview: str
    # Only with ?payload=true and from /deadletter/{id}, and only for admins: the stored bytes, base64.
    payload_base64: str | None = None


def _sees_raw(viewer: Viewer) -> bool:
    # Raw payloads carry DevEUIs, gateway ids and device and gateway positions (issue 14 part 4):
    # operators see why a message was refused and its size, admins also its bytes.
    return viewer.role is Role.ADMIN


def _out(row: dict[str, Any], raw: bool, disclosure: Disclosure) -> dict[str, Any]:
    if not raw:
        # A citizen group's sensor appears by its pseudonym, as in every other answer.
        row = disclosure.dead_letter(row)
    preview: bytes = row.pop("payload_preview")
    row["payload_preview"] = preview.decode("utf-8", errors="replace") if raw else ""
    payload: bytes | None = row.pop("payload", None)
    if payload is not None and raw:
        row["payload_base64"] = base64.b64encode(payload).decode("ascii")
    return row


@router.get("/deadletter", response_model=list[DeadLetterOut], responses={200: {"headers": _NEXT_LINK}})
def dead_letters(
    request: Request,
    response: Response,
    store: Annotated[Store, Depends(get_store)],
    limits: Annotated[ApiLimits, Depends(get_limits)],
    viewer: Annotated[Viewer, Depends(get_viewer)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    reason: Annotated[
        str | None, Query(pattern=IDENTIFIER_PATTERN, description="a reason code, e.g. out_of_range")
    ] = None,
    start: Annotated[IsoDatetime | None, Query(description="inclusive, ISO-8601 with offset")] = None,
    end: Annotated[IsoDatetime | None, Query(description="exclusive, ISO-8601 with offset")] = None,
    limit: Annotated[
        int, Query(ge=1, le=10_000, description="letters per page; at most 1,000 (100 with payload)")
    ] = 100,
    cursor: Annotated[str | None, Query(pattern=DEAD_LETTER_CURSOR, description=CURSOR_DESCRIPTION)] = None,
    payload: Annotated[
        bool, Query(description="include each letter's stored bytes (base64; admins only)")
    ] = False,
) -> list[dict[str, Any]]:
    """Refused messages, newest first, a page at a time (the `Link` header continues), with why
    they were refused and, for admins, the start of their bytes; the bytes themselves only when
    asked."""
    raw = _sees_raw(viewer)
    payload = payload and raw
    cap = _MAX_PAGE_WITH_PAYLOAD if payload else MAX_DEAD_LETTER_PAGE
    page = store.list_dead_letters(
        tenant=tenant,
        reason=reason,
        start=start,
        end=end,
        after_id=parse_dead_letter_cursor(cursor) if cursor is not None else None,
        limit=min(limit, cap, limits.page_max_rows),
        with_payload=payload,
        preview_bytes=_PREVIEW_BYTES,
    )
    if page.next_after_id is not None:
        response.headers["Link"] = next_link(request, dead_letter_cursor(page.next_after_id))
    return [_out(row, raw, disclosure) for row in page.rows]


@router.get("/deadletter/{letter_id}", response_model=DeadLetterOut, responses=error_responses(404))
def dead_letter(
    store: Annotated[Store, Depends(get_store)],
    viewer: Annotated[Viewer, Depends(get_viewer)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    letter_id: Annotated[int, Path(ge=1, le=2**63 - 2)],
) -> dict[str, Any]:
    """One dead letter with (for admins) its stored bytes (base64), e.g. to replay it by hand."""
    raw = _sees_raw(viewer)
    # The id-descending keyset read, started just above this id, is an index lookup.
    page = store.list_dead_letters(
        after_id=letter_id + 1, limit=1, with_payload=raw, preview_bytes=_PREVIEW_BYTES
    )
    if not page.rows or page.rows[0]["id"] != letter_id:
        raise NotFound(f"no dead letter with id {letter_id}")
    return _out(page.rows[0], raw, disclosure)
