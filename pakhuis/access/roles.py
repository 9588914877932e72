"""The roles of pakhuis and the viewer of a request.

- `public`: anonymous; open data only, through the privacy rules;
- `group`: a citizen measurement group: its own tenant's sensors, raw data, exact locations,
  device credentials;
- `planner`: registers, zones, work orders, schedule, routes;
- `operator`: the live feed, alerts and their acknowledgement, bridges;
- `admin`: everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Role", "Viewer"]


class Role(StrEnum):
    PUBLIC = "public"
    GROUP = "group"
    PLANNER = "planner"
    OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a role, the tenant a `group` credential belongs to, and the credential's
    subject (an API key's id, a token's `sub`) for the audit trail."""

    role: Role = Role.PUBLIC
    tenant: str | None = None
    subject: str = "anonymous"

    @classmethod
    def public(cls) -> Viewer:
        return cls()

    def sees_exact(self, tenant: str) -> bool:
        """Whether this viewer may see `tenant`'s sensors as they are (exact places, hardware
        ids, raw payloads): the tenant's own group, and admins."""
        return self.role is Role.ADMIN or (self.role is Role.GROUP and self.tenant == tenant)
