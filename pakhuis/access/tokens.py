"""OpenID Connect bearer tokens (issue 14 part 1), verified against the issuer's JWKS.

A token is accepted when it is signed with RS256 or ES256 by a key of the issuer's JWK set
(found by its `kid`), its `iss` is the configured issuer, its `aud` holds the configured
audience, and it has not expired. Never `none`, never an HMAC algorithm (with a public key as
the "secret" anyone could sign). The pakhuis role and, for group tokens, the tenant come from
configurable claims. The keys come from PAKHUIS_OIDC_JWKS_URL, else from the `jwks_uri` of
the issuer's discovery document, fetched on first use and cached (PyJWKClient: the set for 5
minutes; an unknown `kid` forces at most one refetch per 30 s, so forged tokens cannot make
us hammer the issuer).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from pakhuis.access.roles import Role, Viewer
from pakhuis.errors import ConfigurationError, PakhuisError, Unauthenticated
from pakhuis.identifiers import is_identifier
from pakhuis.settings import Settings

__all__ = ["ALLOWED_ALGORITHMS", "IssuerUnavailable", "OidcConfig", "TokenVerifier"]

ALLOWED_ALGORITHMS = ("RS256", "ES256")
# Clock difference between the issuer and us that is still tolerated for exp/nbf/iat.
_LEEWAY_S = 30
_FETCH_TIMEOUT_S = 5.0


class IssuerUnavailable(PakhuisError):
    """The issuer's discovery document or key set cannot be fetched: not the caller's fault."""

    status = 503
    code = "oidc_unavailable"


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str | None = None
    role_claim: str = "pakhuis_role"
    tenant_claim: str = "pakhuis_tenant"

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration, or None when PAKHUIS_OIDC_ISSUER is unset (API keys only)."""
        if settings.oidc_issuer is None:
            return None
        if settings.oidc_audience is None:
            raise ConfigurationError(
                "PAKHUIS_OIDC_ISSUER is set but PAKHUIS_OIDC_AUDIENCE is not.",
                hint="Set PAKHUIS_OIDC_AUDIENCE to the client id (the `aud`) the issuer puts in "
                "tokens meant for pakhuis: without it a token for any other application would do.",
            )
        for name, url in (("ISSUER", settings.oidc_issuer), ("JWKS_URL", settings.oidc_jwks_url)):
            if url is not None and not url.startswith(("https://", "http://")):
                raise ConfigurationError(
                    f"PAKHUIS_OIDC_{name} must be an http(s) URL, not {url!r}.",
                    hint="e.g. https://login.example.org/realms/city",
                )
        return cls(
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_jwks_url,
            settings.oidc_role_claim,
            settings.oidc_tenant_claim,
        )


def _refused(why: str) -> Unauthenticated:
    return Unauthenticated(
        f"The bearer token is not valid: {why}.",
        hint="Get a fresh token from the city's identity provider, or use an API key.",
    )


class TokenVerifier:
    """Verifies OIDC bearer tokens; the JWKS client is made on first use (discovery included)."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def verify(self, token: str) -> Viewer:
        """The viewer the token stands for; `Unauthenticated` when it does not verify,
        `IssuerUnavailable` when the issuer's keys cannot be fetched."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _refused("not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise _refused(f"algorithm {algorithm!r} is not accepted (only {', '.join(ALLOWED_ALGORITHMS)})")
        try:
            signing_key = self._jwks().get_signing_key_from_jwt(token)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:
            # Unreachable, or what it serves is no usable key set: the issuer's trouble.
            raise IssuerUnavailable(
                "The identity provider's signing keys cannot be fetched right now.",
                hint="Retry later; API keys keep working.",
            ) from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise _refused("no key of the issuer has its key id") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=[algorithm],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _refused("it has expired") from None
        except jwt.InvalidAudienceError:
            raise _refused("it is meant for another audience") from None
        except jwt.InvalidIssuerError:
            raise _refused("another issuer made it") from None
        except jwt.InvalidTokenError as exc:
            raise _refused(type(exc).__name__) from None
        return self._viewer(claims)

    def _viewer(self, claims: dict[str, Any]) -> Viewer:
        subject = f"oidc:{claims['sub']}"
        role_value = claims.get(self.config.role_claim)
        try:
            role = Role(role_value) if isinstance(role_value, str) else Role.PUBLIC
        except ValueError:
            # A valid token without a pakhuis role is someone the city knows who may only read
            # what the public may (403 on anything more).
            role = Role.PUBLIC
        tenant = claims.get(self.config.tenant_claim)
        if role is Role.GROUP:
            if not isinstance(tenant, str) or not is_identifier(tenant):
                raise _refused(
                    f"a group token must name its tenant in the claim {self.config.tenant_claim!r}"
                )
            return Viewer(role, tenant, subject)
        return Viewer(role, None, subject)

    def _jwks(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self.config.jwks_url or self._discovered_jwks_url()
                self._client = jwt.PyJWKClient(
                    url, lifespan=300, timeout=_FETCH_TIMEOUT_S, cooldown_duration=30
                )
            return self._client

    def _discovered_jwks_url(self) -> str:
        """The `jwks_uri` of the issuer's discovery document (OpenID Connect Discovery 1.0)."""
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_S) as response:
                document = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise IssuerUnavailable(
                f"The identity provider's discovery document ({url}) cannot be read.",
                hint="Retry later, or set PAKHUIS_OIDC_JWKS_URL.",
            ) from exc
        if not isinstance(document, dict):
            document = {}
        jwks_uri = document.get("jwks_uri")
        if document.get("issuer") != self.config.issuer or not isinstance(jwks_uri, str):
            raise IssuerUnavailable(
                f"The discovery document at {url} does not describe the issuer {self.config.issuer}.",
                hint="Check PAKHUIS_OIDC_ISSUER (exactly the tokens' `iss`), or set PAKHUIS_OIDC_JWKS_URL.",
            )
        return jwks_uri
