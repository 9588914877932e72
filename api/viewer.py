"""The viewer of a request, for routes that answer differently per role (the privacy rules).

The authentication layer (`api.auth`) puts the verified `Viewer` on `request.state.viewer`
before any route runs; a request it has not seen (no credentials) is the public.
"""

from __future__ import annotations

from fastapi import Request

from pakhuis.access import Viewer

__all__ = ["get_viewer"]


def get_viewer(request: Request) -> Viewer:
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else Viewer.public()
