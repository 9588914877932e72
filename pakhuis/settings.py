"""Typed settings, read from the environment (prefix `PAKHUIS_`) when an app is built.

Nothing here runs at import time: commands and app factories call `load_settings()`, which
validates everything at start-up and turns a validation failure into a `ConfigurationError`
whose message names the variable. Secrets (passwords in URLs) are `SecretStr` and only ever
printed redacted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from pakhuis.errors import ConfigurationError


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, safe to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAKHUIS_", extra="ignore", frozen=True)

    # External services. Unset means embedded: pakhuis starts its own broker / database.
    database_url: SecretStr | None = None
    mqtt_url: SecretStr | None = None
    kafka_url: SecretStr | None = None

    data_dir: Path = Path(".pakhuis")

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)

    # Embedded broker: where it listens (loopback unless told otherwise).
    mqtt_bind_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, ge=1, le=65535)
    # MQTT 5 against Mosquitto/EMQX; the embedded broker (amqtt) only speaks 3.1.1.
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_client_id: str = "pakhuis-ingest"
    mqtt_topics: list[str] = ["pakhuis/v1/+/+/+"]
    mqtt_session_expiry_s: int = Field(7 * 24 * 3600, ge=0)
    # Unacknowledged messages the broker may have in flight to one ingest process (MQTT 5
    # Receive Maximum): bounds memory and keeps well clear of 16-bit message-id exhaustion.
    mqtt_max_inflight: int = Field(1000, ge=1, le=65535)

    batch_max_readings: int = Field(5000, ge=1)
    batch_max_seconds: float = Field(1.0, gt=0)
    max_future_s: float = Field(300.0, ge=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url", "mqtt_url", "kafka_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = urlsplit(value.get_secret_value()).scheme
            if scheme not in ("postgresql", "postgres"):
                raise ValueError("must start with postgresql://, e.g. postgresql://user:pw@host:5432/pakhuis")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
                raise ValueError("must look like mqtt://host:1883 (optionally mqtt://user:pw@host:1883)")
        return value

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_broker(self) -> bool:
        return self.mqtt_url is None

    def mqtt_endpoint(self) -> tuple[str, int, str | None, str | None]:
        """(host, port, username, password) of the broker ingest connects to."""
        if self.mqtt_url is None:
            host = "127.0.0.1" if self.mqtt_bind_host in ("0.0.0.0", "::") else self.mqtt_bind_host
            return host, self.mqtt_port, None, None
        parts = urlsplit(self.mqtt_url.get_secret_value())
        return parts.hostname or "localhost", parts.port or 1883, parts.username, parts.password

    def describe(self) -> dict[str, str]:
        """Settings as printable strings, secrets redacted."""
        db = self.database_url
        mqtt = self.mqtt_url
        return {
            "database": redact_url(db.get_secret_value()) if db else f"embedded ({self.data_dir / 'pg'})",
            "mqtt": redact_url(mqtt.get_secret_value())
            if mqtt
            else f"embedded ({self.mqtt_bind_host}:{self.mqtt_port})",
            "kafka": redact_url(self.kafka_url.get_secret_value())
            if self.kafka_url
            else "not used (in-process hand-off)",
            "api": f"http://{self.api_host}:{self.api_port}",
        }


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; overrides (e.g. from CLI options) win over the environment."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except SettingsError as exc:
        # Raised for a variable that is not even parseable, e.g. a list that is not JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"PAKHUIS_{field[1].upper()}" if field else "a PAKHUIS_ variable"
        raise ConfigurationError(
            f"Invalid settings: {name} cannot be parsed ({exc})",
            hint='List settings such as PAKHUIS_MQTT_TOPICS are JSON, e.g. ["pakhuis/v1/+/+/+"].',
        ) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "PAKHUIS_" + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError(
            "Invalid settings: " + "; ".join(problems),
            hint="Fix the environment variable(s) named above, or unset them to use the defaults.",
        ) from None
