"""Wiring of the API room: the app from settings, its uvicorn server, and a free-port check."""

from __future__ import annotations

import contextlib
import errno
import gc
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from pakhuis.cli import probes
from pakhuis.errors import ServiceStartError
from pakhuis.health import HealthBoard
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.bridge import MqttBridge

__all__ = ["QuietServer", "api_app", "api_server", "check_port_free", "server_config"]


def check_port_free(host: str, port: int, option: str) -> None:
    """Refuse to start on a taken port, naming the option that picks another."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ServiceStartError(
                    f"Port {host}:{port} is already in use.",
                    hint=f"Stop the program using it (for 1883 often a system Mosquitto: "
                    f"`systemctl stop mosquitto`), or pass {option} {port + 1}.",
                ) from exc
            raise


def _bridge(settings: Settings) -> MqttBridge:
    from api.bridge import MqttBridge

    # issue 11 part 4: its own login (one that may publish), unless none is configured.
    host, port, username, password = settings.bridge_endpoint()
    return MqttBridge(host, port, protocol=settings.mqtt_protocol, username=username, password=password)


def api_app(store: Store, settings: Settings, *, health: HealthBoard | None = None) -> FastAPI:
    from api import create_app
    from api.limits import ApiLimits
    from geo.plan import PlanConfig
    from pakhuis.access.privacy import PrivacyRules
    from pakhuis.access.tokens import OidcConfig

    bridge = _bridge(settings)
    if health is not None:
        probes.watch_bridge(health, bridge)
    return create_app(
        store,
        bridge=bridge,
        health_board=health,
        http_ingest_tenant=settings.http_ingest_tenant,
        plan_config=PlanConfig.from_settings(settings),
        limits=ApiLimits.from_settings(settings),
        # The deployment's pseudonym secret (generated into the data dir when unset).
        privacy=PrivacyRules.from_settings(settings),
        # OIDC bearer tokens beside API keys, when PAKHUIS_OIDC_ISSUER is set (issue 14).
        oidc=OidcConfig.from_settings(settings),
    )


def freeze_startup_objects() -> None:
    """Move everything imported and built so far out of the garbage collector's generations.

    It lives as long as the process; left in, every full collection -- which the 10,000 rows
    of one large answer trigger -- walks all of it: the API's latency tail (issue 12: latest
    p99 84 -> 53 ms with the same p50)."""
    gc.freeze()


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the command owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(store: Store, settings: Settings, *, health: HealthBoard | None = None) -> QuietServer:
    """The API served inside `pakhuis run`, beside the broker and runner on one event loop."""
    config = server_config(
        api_app(store, settings, health=health), settings, access_log=False, lifespan="off"
    )
    return QuietServer(config)


def server_config(app: FastAPI, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn settings for the API (issue 11 part 5): h11 with deadlines for headers and bodies,
    a keep-alive timeout, a bounded header size and a cap on concurrent connections; `options`
    adds or overrides uvicorn settings (e.g. lifespan="off" inside `pakhuis run`)."""
    from pakhuis.cli.http_deadlines import deadline_protocol

    values: dict[str, Any] = {
        "host": settings.api_host,
        "port": settings.api_port,
        "log_level": "warning",
        "http": deadline_protocol(
            header_timeout_s=settings.api_header_timeout_s, body_timeout_s=settings.api_body_timeout_s
        ),
        "timeout_keep_alive": settings.api_keep_alive_s,
        # h11's bound on a request line plus headers (its default, 16 KiB, stated here).
        "h11_max_incomplete_event_size": 16 * 1024,
        "limit_concurrency": settings.api_max_concurrency,
        **options,
    }
    return uvicorn.Config(app, **values)
