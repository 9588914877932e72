"""HTTP ingest: The Things Stack webhooks and Sensor.Community pushes, bridged onto MQTT topics."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from api.bridge import MqttBridge
from pakhuis.errors import InvalidParameter, PakhuisError
from pakhuis.identifiers import IDENTIFIER_PATTERN, is_identifier

router = APIRouter(tags=["ingest"])


class HttpIngestUnavailable(PakhuisError):
    status = 503
    code = "http_ingest_unavailable"


def _bridge(request: Request) -> MqttBridge:
    bridge: MqttBridge | None = request.app.state.bridge
    if bridge is None:
        raise HttpIngestUnavailable("HTTP ingest is not configured on this API process (no MQTT bridge).")
    return bridge


async def _body(request: Request) -> bytes:
    # The body-limit middleware refuses a body over PAKHUIS_HTTP_INGEST_MAX_BODY_BYTES with
    # 413 while it is read, so what arrives here is within the limit.
    return await request.body()


# The bodies are read as bytes (dead letters keep them as sent); these document their shape.
_NAME = {"type": "string", "pattern": IDENTIFIER_PATTERN}
_TTN_UPLINK = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["end_device_ids"],
                    "properties": {
                        "end_device_ids": {
                            "type": "object",
                            "required": ["device_id", "application_ids"],
                            "properties": {
                                "device_id": _NAME,
                                "application_ids": {
                                    "type": "object",
                                    "required": ["application_id"],
                                    "properties": {"application_id": _NAME},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}
_SENSOR_COMMUNITY_PUSH = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"description": "the firmware's JSON, kept as sent"}}},
    }
}


def _identifier(value: object, what: str) -> str:
    # A JSON number (device_id: 0) is not a name either: the documented type is a string.
    if not isinstance(value, str) or not is_identifier(value):
        raise InvalidParameter(f"{what} {value!r} must be 1-64 letters, digits or . _ : -")
    return value


@router.post("/api/v1/ingest/ttn", status_code=202, openapi_extra=_TTN_UPLINK)
async def ttn_webhook(
    request: Request,
    tenant: Annotated[
        str | None,
        Query(pattern=IDENTIFIER_PATTERN, description="TTN tenant (default: the API's HTTP ingest tenant)"),
    ] = None,
) -> JSONResponse:
    """The Things Stack v3 webhook (uplink message): published to v3/{app}@{tenant}/devices/{device}/up."""
    body = await _body(request)
    try:
        doc = json.loads(body)
        ids = doc["end_device_ids"]
        device, application = ids["device_id"], ids["application_ids"]["application_id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameter(
            "expected a TTN v3 uplink with end_device_ids.device_id and application_ids.application_id"
        ) from exc
    tenant = _identifier(tenant or request.app.state.http_ingest_tenant, "tenant")
    application = _identifier(application, "application")
    topic = f"v3/{application}@{tenant}/devices/{_identifier(device, 'device')}/up"
    # The body as sent: dead letters keep the original bytes. In a thread: the broker may share
    # this event loop (embedded mode) and must run while we wait for its acknowledgement.
    await asyncio.to_thread(_bridge(request).publish, topic, body)
    return JSONResponse({"accepted": True, "topic": topic}, status_code=202)


@router.post("/v1/push-sensor-data/", status_code=201, openapi_extra=_SENSOR_COMMUNITY_PUSH)
async def sensor_community_push(
    request: Request,
    x_sensor: Annotated[str, Header(pattern=IDENTIFIER_PATTERN, description="e.g. esp8266-12345678")],
    x_pin: Annotated[str, Header(description="1 = particulate matter, 7 = temperature/humidity, …")],
) -> JSONResponse:
    """Sensor.Community (luftdaten) push API; the sender's firmware needs no change but the URL."""
    body = await _body(request)
    sensor = _identifier(x_sensor, "X-Sensor")
    tenant = request.app.state.http_ingest_tenant
    wrapper = {
        "received": datetime.now(UTC).isoformat(),
        "pin": x_pin,
        "body": body.decode("utf-8", errors="surrogateescape"),
    }
    topic = f"pakhuis/v1/{tenant}/{sensor}/sensorcommunity"
    await asyncio.to_thread(
        _bridge(request).publish, topic, json.dumps(wrapper).encode("utf-8", errors="surrogatepass")
    )
    return JSONResponse({"accepted": True, "topic": topic}, status_code=201)
