"""Who is asking, and may they (issue 14 parts 1-2): authentication and the access table.

`enforce_access` is a dependency of the whole app (every API route runs it first): it reads
`Authorization: Bearer <credential>` (an API key `pk_…` or an OIDC JWT), puts the verified
`Viewer` on `request.state.viewer` (`api.viewer.get_viewer` reads it) and checks the route's row
of `pakhuis.access.policy.ROUTES`: 401 without (or with bad) credentials where the route needs
them, 403 for the wrong role or another tenant. Credentials that are sent must verify, on
public routes too: a client with a broken key hears so at once instead of silently seeing the
public's view. Device routes (HTTP ingest) are left to the ingest's own credentials.

`install_access` refuses to build an app with a route the table does not name, and documents
401/403 and the bearer scheme in the OpenAPI document of the routes that can answer them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount

from pakhuis.access import Viewer
from pakhuis.access.keys import KeyVerifier, looks_like_key
from pakhuis.access.policy import Access, access_for, authorize
from pakhuis.access.tokens import TokenVerifier
from pakhuis.errors import ConfigurationError, Forbidden, Unauthenticated

__all__ = ["Authenticator", "enforce_access", "install_access"]

# The 401s carry `WWW-Authenticate: Bearer realm="pakhuis"` (api.errors).
_SCHEME = "bearer"
_ERROR_401 = (
    "Credentials are needed and were not sent, or do not verify (unknown, revoked or "
    "expired): send `Authorization: Bearer <API key or OIDC token>`."
)
_ERROR_401_PUBLIC = (
    "Credentials were sent and do not verify (unknown, revoked or expired); this route needs "
    "none, but credentials that are sent must be valid."
)
_ERROR_403 = "The credentials' role (or, for a group, its tenant) does not allow this."


class Authenticator:
    """API keys always; OIDC tokens when an issuer is configured."""

    def __init__(self, keys: KeyVerifier, tokens: TokenVerifier | None = None) -> None:
        self._keys = keys
        self._tokens = tokens

    def viewer(self, credential: str) -> Viewer:
        """The viewer of a bearer credential, or `Unauthenticated`."""
        if looks_like_key(credential):
            return self._keys.verify(credential)
        if self._tokens is None:
            raise Unauthenticated(
                "The bearer credential is not an API key (pk_…), and this server accepts no "
                "OIDC tokens (PAKHUIS_OIDC_ISSUER is unset).",
                hint="Create a key with `pakhuis keys create`.",
            )
        return self._tokens.verify(credential)


def bearer_credential(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer …` header; None when there is no header."""
    if authorization is None:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != _SCHEME or not credential:
        raise Unauthenticated(
            "The Authorization header must be `Bearer <API key or OIDC token>`.",
            hint='e.g. curl -H "Authorization: Bearer $(cat ~/.local/share/pakhuis/admin.key)" …',
        )
    return credential


def _route_access(request: Request) -> Access:
    # The matched route is the router's own APIRoute (its path without the include prefix):
    # install_access mapped each one to its row under the path the app serves it at.
    route = request.scope.get("route")
    by_route: dict[tuple[int, str], tuple[object, Access]] = request.app.state.access_by_route
    found = by_route.get((id(route), "GET" if request.method == "HEAD" else request.method))
    if found is None:
        # install_access makes this unreachable; if it is reached, refuse rather than serve.
        raise Forbidden("This route has no access rule.")
    return found[1]


def _tenant_named(request: Request, access: Access) -> str | None:
    if access.tenant_parameter is None:
        return None
    name = access.tenant_parameter
    value = request.path_params.get(name)
    return str(value) if value is not None else request.query_params.get(name)


async def enforce_access(request: Request) -> None:
    """Authenticate the request and apply its route's access rule (see the module)."""
    access = _route_access(request)
    if access.device:
        return
    credential = bearer_credential(request.headers.get("authorization"))
    if credential is None:
        viewer = Viewer.public()
    else:
        authenticator: Authenticator = request.app.state.authenticator
        # A key is a database read and a token may need the issuer's keys: not on the loop.
        viewer = await run_in_threadpool(authenticator.viewer, credential)
    request.state.viewer = viewer
    authorize(access, viewer, authenticated=credential is not None, tenant=_tenant_named(request, access))


def _rows(app: FastAPI) -> tuple[dict[tuple[int, str], tuple[object, Access]], list[str]]:
    """Each served route's row, keyed by its route object (kept alive beside the row, so its id
    stays its own) and method, and what is wrong."""
    by_route: dict[tuple[int, str], tuple[object, Access]] = {}
    problems: list[str] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        methods = ["GET"] if isinstance(route, Mount) else sorted(set(context.methods or {"GET"}) - {"HEAD"})
        for method in methods:
            access = access_for(method, path)
            if access is None:
                problems.append(f"{method} {path}: not in pakhuis/access/policy.py")
            elif isinstance(route, APIRoute):
                if not any(dep.dependency is enforce_access for dep in context.dependencies):
                    problems.append(f"{method} {path}: does not run api.auth.enforce_access")
                elif by_route.setdefault((id(route), method), (route, access))[1] != access:
                    problems.append(f"{method} {path}: one route served at two paths with different rules")
            elif not access.public:
                # Only API routes run the dependency: anything else can only be public.
                problems.append(f"{method} {path}: not an API route, so it can only be public")
    return by_route, problems


def _document(schema: dict[str, Any]) -> None:
    """401 and 403 on the operations that can answer them, and the bearer scheme."""
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            access = access_for(method.upper(), path)
            if access is None or access.device:
                continue
            responses = operation.setdefault("responses", {})
            text = _ERROR_401_PUBLIC if access.public else _ERROR_401
            responses["401"] = {"description": text, "content": error_body}
            if not access.public:
                responses["403"] = {"description": _ERROR_403, "content": error_body}
                operation["security"] = [{_SCHEME: []}]
                needs = f"Needs: {access.describe()}."
                operation["description"] = f"{operation.get('description', '')}\n\n{needs}".strip()
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`pakhuis keys create`; `pk_…`) or an OIDC access token.",
    }


def _with_access_documented(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI regenerates the document when routes change: document each new one once.
        schema = generate()
        if _SCHEME not in schema.get("components", {}).get("securitySchemes", {}):
            _document(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_access(app: FastAPI, authenticator: Authenticator) -> None:
    """Check every route against the table (fail fast) and document 401/403. Call it last,
    once every route is added; the app must run `enforce_access` as a dependency."""
    by_route, problems = _rows(app)
    if problems:
        raise ConfigurationError(
            "Routes without a (usable) access rule: " + "; ".join(problems),
            hint="Declare each route's role in pakhuis/access/policy.py (ROUTES).",
        )
    app.state.access_by_route = by_route
    app.state.authenticator = authenticator
    _with_access_documented(app)
