"""The one table of who may call which route (issue 14 part 2), and the decision it implies.

Every route of the API is a row here: (method, path template as FastAPI has it) → `Access`.
The API refuses to start with a route that has no row (`api.auth.install_access`), so a new
route cannot go out unprotected by forgetting; a test walks the OpenAPI document as well.

Rules of the roles:
- `admin` may do everything;
- `planner` and `operator` do not imply each other (nor `group`);
- a `group` credential belongs to one tenant: on a route with a `tenant_parameter` it may act
  only when that path or query parameter names its own tenant;
- public routes need no credentials (what they show is up to the privacy rules);
- `device` routes are the HTTP ingest (TTN webhooks, Sensor.Community pushes): authenticated
  by the ingest's own rules (per-tenant secrets, device credentials), not by API keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pakhuis.access.roles import Role, Viewer
from pakhuis.errors import Forbidden, Unauthenticated

__all__ = [
    "DEVICE",
    "PUBLIC",
    "ROUTES",
    "Access",
    "RouteKey",
    "access_for",
    "authorize",
    "needs",
]

# (HTTP method, path template), e.g. ("PUT", "/api/v1/sensors/{tenant}/{sensor}").
RouteKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Access:
    """What a route requires: one of `roles` (admin always may), or nothing when public."""

    roles: frozenset[Role]
    # The path or query parameter that names the tenant a request acts on; a `group` viewer
    # may only name its own. None: the route is not about one tenant.
    tenant_parameter: str | None = None
    # Authenticated by the ingest itself (issue 14 part 3), not by API keys or tokens.
    device: bool = False

    @property
    def public(self) -> bool:
        return Role.PUBLIC in self.roles or self.device

    def describe(self) -> str:
        """Who may, for messages and the OpenAPI document: "planner or admin"."""
        if self.device:
            return "device (the ingest's own credentials)"
        if self.public:
            return "public"
        names = [role.value for role in Role if role in self.roles and role is not Role.ADMIN]
        scoped = f" (of the tenant in `{self.tenant_parameter}`)" if self.tenant_parameter else ""
        return " or ".join([*(f"{n}{scoped}" if n == "group" else n for n in names), "admin"])


PUBLIC = Access(frozenset({Role.PUBLIC}))
DEVICE = Access(frozenset(), device=True)


def needs(*roles: Role, tenant_parameter: str | None = None) -> Access:
    """A protected route: any of `roles`, or admin."""
    if tenant_parameter is not None and Role.GROUP not in roles:
        raise ValueError("a tenant parameter scopes group viewers: name Role.GROUP among the roles")
    return Access(frozenset(roles), tenant_parameter=tenant_parameter)


PLANNER = needs(Role.PLANNER)
OPERATOR = needs(Role.OPERATOR)

_TABLE: dict[RouteKey, Access] = {
    # Pages, documentation, health: for everyone (load balancers probe /health* anonymously).
    ("GET", "/"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/static/vendor"): PUBLIC,  # the mount: the documentation pages' vendored files
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/algorithms"): PUBLIC,  # the public algorithm register (issue 14 part 5)
    # Open data: the privacy rules decide what each viewer sees (issue 14 part 4).
    ("GET", "/api/v1/sensors"): PUBLIC,
    ("GET", "/api/v1/latest"): PUBLIC,
    ("GET", "/api/v1/observations"): PUBLIC,
    ("GET", "/api/v1/alerts"): PUBLIC,
    ("GET", "/api/v1/drains/{drain_id}"): PUBLIC,
    ("GET", "/api/v1/cells"): PUBLIC,
    ("GET", "/api/v1/coverage"): PUBLIC,  # where sensor data is thin (issue 14 part 5)
    # A group registers its own sensors (and links them to drains); admins any tenant's.
    ("PUT", "/api/v1/sensors/{tenant}/{sensor}"): needs(Role.GROUP, tenant_parameter="tenant"),
    # Raw payloads carry device ids, gateway ids and positions: never public.
    ("GET", "/api/v1/deadletter"): OPERATOR,
    ("GET", "/api/v1/deadletter/{letter_id}"): OPERATOR,
    ("GET", "/metrics"): OPERATOR,
    # The planner's work: work orders, the schedule, the day's routes.
    ("POST", "/api/v1/cleanings"): PLANNER,
    ("GET", "/api/v1/schedule"): PLANNER,
    ("POST", "/api/v1/routes"): PLANNER,
    ("GET", "/api/v1/routes"): PLANNER,
    # HTTP ingest: devices and their networks, with their own credentials (part 3).
    ("POST", "/api/v1/ingest/ttn"): DEVICE,
    ("POST", "/v1/push-sensor-data/"): DEVICE,
}

ROUTES: Mapping[RouteKey, Access] = MappingProxyType(_TABLE)


def access_for(method: str, path: str) -> Access | None:
    """The row of a route; HEAD is answered like GET (Starlette serves it from the GET route)."""
    return ROUTES.get(("GET" if method == "HEAD" else method, path))


def authorize(access: Access, viewer: Viewer, *, authenticated: bool, tenant: str | None) -> None:
    """Raise `Unauthenticated` (no credentials for a protected route) or `Forbidden` (the
    wrong role, or a group naming another tenant); return when the request may go on.

    `tenant` is the value of the route's tenant parameter in this request, if it has one."""
    if access.public:
        return
    if not authenticated:
        raise Unauthenticated(
            f"This needs credentials: {access.describe()}.",
            hint="Send `Authorization: Bearer <API key or OIDC token>` (`pakhuis keys create`).",
        )
    if viewer.role is Role.ADMIN:
        return
    if viewer.role not in access.roles:
        raise Forbidden(f"A {viewer.role.value} credential may not do this; it needs {access.describe()}.")
    if viewer.role is Role.GROUP and access.tenant_parameter is not None:
        if viewer.tenant is None or tenant != viewer.tenant:
            raise Forbidden(
                f"A group credential acts only on its own tenant ({viewer.tenant}); "
                f"`{access.tenant_parameter}` names {tenant!r}."
            )
