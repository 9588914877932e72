"""`pakhuis api`: the HTTP API against the database given by settings (start several)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from pakhuis.cli import probes
from pakhuis.cli.frame import command, console
from pakhuis.cli.serving import api_app, check_port_free, freeze_startup_objects, server_config

__all__ = ["api"]


def api(
    port: Annotated[int | None, typer.Option(help="Port (default PAKHUIS_API_PORT or 8000).")] = None,
    host: Annotated[
        str | None, typer.Option(help="Interface (default PAKHUIS_API_HOST or 127.0.0.1).")
    ] = None,
) -> None:
    """Serve the HTTP API against the database given by settings."""
    with command({"api_port": "--port", "api_host": "--host"}, api_port=port, api_host=host) as ctx:
        settings = ctx.settings
        check_port_free(settings.api_host, settings.api_port, "--port")
        # issue 11 part 3: reads on their own pool; /health pings on another, so a busy API
        # pool does not read as a database outage.
        with ctx.stores("api", "health") as stores:
            console.print(
                f"API on http://{settings.api_host}:{settings.api_port}/ ({settings.describe()['database']})"
            )
            health = probes.board(settings, stores.health)
            app = api_app(stores.api, settings, health=health)
            freeze_startup_objects()
            uvicorn.Server(server_config(app, settings)).run()
