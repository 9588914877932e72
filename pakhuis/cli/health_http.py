"""`/health`, `/health/ready` and `/health/live` of a process that serves no API (`pakhuis
ingest`), on PAKHUIS_HEALTH_PORT, so an orchestrator can probe it and a person can read it.

The same bodies as the API's: every component on 200, the common error shape on 503. A plain
threaded HTTP server (stdlib): the ingest needs no web framework for three GETs.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pakhuis.health import HealthBoard

__all__ = ["HealthServer"]


class HealthServer:
    def __init__(self, board: HealthBoard, host: str, port: int) -> None:
        handler = type("_BoundHandler", (_Handler,), {"board": board})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    board: HealthBoard

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health/live":
            self._send(HTTPStatus.OK, {"status": "live"})
            return
        if path not in ("/health", "/health/ready"):
            self._send(HTTPStatus.NOT_FOUND, {"error": {"status": 404, "code": "not_found", "message": path}})
            return
        report = self.board.check()
        failure = report.failure(only_ready=path == "/health/ready")
        if failure is None:
            self._send(HTTPStatus.OK, report.to_dict())
        else:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": failure.to_dict() | {"status": 503}})

    def _send(self, status: HTTPStatus, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Probes every few seconds would drown the log; failures show in /health itself.
        return
