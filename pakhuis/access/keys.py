"""API keys (issue 14 part 1): `pk_<id>_<secret>`, shown once, stored as the SHA-256 of the
secret, revocable, with their last use.

The secret is 32 random bytes, so a plain SHA-256 is enough (there is nothing to guess that a
slow hash would protect, unlike a password); the comparison is constant-time. The id in the key
finds its row without scanning every hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pakhuis.access.roles import Role, Viewer
from pakhuis.errors import InvalidParameter, Unauthenticated
from pakhuis.identifiers import is_identifier

__all__ = ["KEY_PREFIX", "IssuedKey", "KeyRecord", "KeyStore", "KeyVerifier", "issue_key", "looks_like_key"]

KEY_PREFIX = "pk_"
# pk_<id>_<secret>: the secret is token_urlsafe (letters, digits, - and _).
_KEY = re.compile(r"^pk_([1-9][0-9]{0,18})_([A-Za-z0-9_-]{43})$")
# Last use is written at most this often per key and process: a busy key costs no write per request.
TOUCH_INTERVAL_S = 60.0


class KeyRecord(Protocol):
    """A stored key (`pakhuis.store.access.ApiKeyRow`)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def secret_sha256(self) -> bytes: ...
    @property
    def revoked(self) -> datetime | None: ...


class KeyStore(Protocol):
    """What keys need of the store (`pakhuis.store.access.AccessQueries`)."""

    def insert_api_key(self, role: str, tenant: str | None, name: str, secret_sha256: bytes) -> int: ...

    def api_key(self, key_id: int) -> KeyRecord | None: ...

    def touch_api_key(self, key_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: int
    role: Role
    tenant: str | None
    # The only time the key exists in the clear: show it once, never store or log it.
    key: str


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def issue_key(store: KeyStore, role: Role, *, tenant: str | None = None, name: str = "") -> IssuedKey:
    """A new key for `role`; a group key belongs to `tenant`, the other roles to none."""
    if role is Role.PUBLIC:
        raise InvalidParameter("The public needs no key.", hint="Use group, planner, operator or admin.")
    if role is Role.GROUP and tenant is None:
        raise InvalidParameter(
            "A group key belongs to one tenant.", hint="Name it: --tenant TENANT (e.g. --tenant demo)."
        )
    if role is not Role.GROUP and tenant is not None:
        raise InvalidParameter(
            f"Only group keys belong to a tenant; a {role.value} key acts on every tenant.",
            hint="Leave out --tenant, or create a group key.",
        )
    if tenant is not None and not is_identifier(tenant):
        raise InvalidParameter(f"tenant {tenant!r} must be 1-64 letters, digits or . _ : -")
    secret = secrets.token_urlsafe(32)
    key_id = store.insert_api_key(role.value, tenant, name, _digest(secret))
    return IssuedKey(key_id, role, tenant, f"{KEY_PREFIX}{key_id}_{secret}")


def looks_like_key(credential: str) -> bool:
    """Whether a bearer credential is meant as an API key (rather than an OIDC token)."""
    return credential.startswith(KEY_PREFIX)


class KeyVerifier:
    """Checks API keys against the store and records their last use (at most once a minute per
    key in this process, so a busy client costs one read, not a read and a write, per request)."""

    def __init__(self, store: KeyStore, *, touch_interval_s: float = TOUCH_INTERVAL_S) -> None:
        self._store = store
        self._touch_interval_s = touch_interval_s
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    def verify(self, credential: str) -> Viewer:
        """The viewer a valid key stands for; `Unauthenticated` for anything else (malformed,
        unknown, wrong secret, revoked), with one message: a caller learns nothing of which."""
        match = _KEY.match(credential)
        record = None if match is None else self._store.api_key(int(match[1]))
        if (
            match is None
            or record is None
            or not hmac.compare_digest(record.secret_sha256, _digest(match[2]))
            or record.revoked is not None
        ):
            raise Unauthenticated(
                "The API key is not valid (unknown, mistyped or revoked).",
                hint="Create one with `pakhuis keys create`; `pakhuis keys list` shows which are revoked.",
            )
        self._touch(record.id)
        return Viewer(Role(record.role), record.tenant, f"key:{record.id}")

    def _touch(self, key_id: int) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < self._touch_interval_s:
                return
            self._touched[key_id] = now
        self._store.touch_api_key(key_id)
