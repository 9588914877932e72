"""Who may do what (issue 14): roles and the viewer of a request (`roles`), the one table of
what every route and topic requires (`policy`), credentials (`keys`, `tokens`), and the privacy
rules every public answer goes through (`privacy`)."""

from pakhuis.access.roles import Role, Viewer

__all__ = ["Role", "Viewer"]
