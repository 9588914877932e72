"""Wiring of the API room: the app from settings, its uvicorn server, and a free-port check."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from pakhuis.errors import ServiceStartError
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.bridge import MqttBridge

__all__ = ["QuietServer", "api_app", "api_server", "check_port_free"]


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

    host, port, username, password = settings.mqtt_endpoint()
    return MqttBridge(host, port, protocol=settings.mqtt_protocol, username=username, password=password)


def api_app(store: Store, settings: Settings) -> FastAPI:
    from api import create_app
    from geo.plan import PlanConfig

    return create_app(
        store,
        bridge=_bridge(settings),
        http_ingest_tenant=settings.http_ingest_tenant,
        plan_config=PlanConfig.from_settings(settings),
    )


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the command owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(store: Store, settings: Settings) -> QuietServer:
    """The API served inside `pakhuis run`, beside the broker and runner on one event loop."""
    config = uvicorn.Config(
        api_app(store, settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    return QuietServer(config)
