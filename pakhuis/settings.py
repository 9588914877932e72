"""Typed settings, read from the environment (prefix `PAKHUIS_`) when an app is built.

Nothing here runs at import time: commands and app factories call `load_settings()`, which
validates everything at start-up and turns a validation failure into a `ConfigurationError`
whose message names the variable. Secrets (passwords in URLs) are `SecretStr` and only ever
printed redacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import platformdirs
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
    # Kafka bootstrap servers ("host:9092,host2:9092"); set = distributed mode: ingest produces
    # to Kafka and `pakhuis stream worker` (Faust) consumes.
    kafka_url: SecretStr | None = None
    # Partitions of pakhuis.readings: the most stream workers that can share the load.
    kafka_partitions: int = Field(4, ge=1, le=1024)
    # Topic prefix: <prefix>.readings, .deadletter, .alerts, .live; Faust app id <prefix>-stream.
    kafka_prefix: str = Field("pakhuis", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,48}$")

    # Where the embedded PostgreSQL (<data_dir>/pg), the broker's journal and Faust's state
    # live. The per-user data folder (~/.local/share/pakhuis on Linux), not the working
    # directory: a command run one folder up must find the same database (issue 13 part 4).
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("pakhuis"), validate_default=True
    )

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)

    # Embedded broker: where it listens (loopback unless told otherwise).
    mqtt_bind_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, ge=1, le=65535)
    # MQTT 5 against Mosquitto/EMQX; the embedded broker (amqtt) only speaks 3.1.1.
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_client_id: str = "pakhuis-ingest"
    # pakhuis' own topics (native, senml, sensorcommunity), TTN v3 uplinks, SensorThings creates.
    # `pakhuis/v1/#`, not `+/+/+`: a topic with a level missing or one too many still arrives,
    # and becomes a `bad_topic` dead letter instead of going nowhere unseen.
    mqtt_topics: list[str] = ["pakhuis/v1/#", "v3/+/devices/+/up", "v1.1/#"]
    # MQTT 5 shared subscription group: several ingest processes split the messages between
    # them ($share/<group>/<topic>). Empty disables it; ignored for MQTT 3.1.1.
    mqtt_shared_group: str = "pakhuis-ingest"
    mqtt_session_expiry_s: int = Field(7 * 24 * 3600, ge=0)
    # Unacknowledged messages the broker may have in flight to one ingest process (MQTT 5
    # Receive Maximum): bounds memory and keeps well clear of 16-bit message-id exhaustion.
    mqtt_max_inflight: int = Field(1000, ge=1, le=65535)

    # -- connection pools (issue 11 part 3): reads cannot starve writes ---------------------
    # Each role gets its own pool, so 200 heavy API reads cannot take the connection a
    # tenant-policy lookup of the ingest or a batch write of the stream needs. `health` is the
    # /health database ping (its own connection: a busy API pool must not read as "down");
    # `cli` is every other command (load, plan, db, ...).
    store_pool_api: int = Field(8, ge=1, le=1000)
    store_pool_ingest: int = Field(2, ge=1, le=1000)
    store_pool_stream: int = Field(4, ge=1, le=1000)
    store_pool_health: int = Field(1, ge=1, le=10)
    store_pool_cli: int = Field(8, ge=1, le=1000)
    # How long a caller waits for a pooled connection before the store reports itself
    # unavailable (writers back off and retry; the API answers 503 instead of hanging).
    store_acquire_timeout_s: float = Field(5.0, gt=0)
    # /health: a component that has been retrying (ingest redelivery, a stream batch) or has
    # had work queued without committing for longer than this is reported down, not degraded.
    health_stuck_after_s: float = Field(60.0, gt=0)
    # Where `pakhuis ingest` (which serves no API) answers /health, /health/ready and
    # /health/live, on PAKHUIS_API_HOST; unset: not served (its log still reports problems).
    health_port: int | None = Field(None, ge=1, le=65535)

    batch_max_readings: int = Field(5000, ge=1)
    batch_max_seconds: float = Field(1.0, gt=0)
    # Issue 11 part 1: the local runner also closes a batch once its queue has been empty this
    # long (group commit). When the embedded broker holds publishers' PUBACKs until the commit
    # (its journal's backlog full), a small in-flight window refills only as often as batches commit.
    batch_linger_s: float = Field(0.002, ge=0)
    # Stream workers: how long a batch of Kafka records may wait to fill. Ingest already grouped
    # readings into records, so a short wait keeps latency low without small writes.
    stream_max_wait_s: float = Field(0.25, gt=0)
    max_future_s: float = Field(300.0, ge=0)
    # Readings older than this are stored but flagged late (metadata {"late": true}).
    late_after_s: float = Field(7 * 24 * 3600.0, gt=0)
    # A reading from a sensor nobody registered: store it (and register the sensor) or refuse it
    # into the dead letters. Per tenant with `pakhuis tenants policy`; this is the default.
    unknown_sensor_policy: Literal["auto_register", "reject"] = "auto_register"
    # Name tables for SenML names, TTN payload fields, Sensor.Community value types.
    mappings_file: Path | None = None
    # -- HTTP ingest bridge login (issue 11 part 4) -------------------------------------------
    # The API publishes TTN webhooks and Sensor.Community pushes to the broker as this user,
    # which must be allowed to publish on v3/# and pakhuis/v1/# (deploy/mosquitto/acl:
    # pakhuis-api). Unset: the login of PAKHUIS_MQTT_URL (the embedded broker needs none).
    http_ingest_mqtt_username: str | None = None
    http_ingest_mqtt_password: SecretStr | None = None
    # Tenant for Sensor.Community pushes and TTN webhooks that do not name one.
    http_ingest_tenant: str = Field("public", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

    # Daily rollup buckets start at local midnight in this zone (hourly ones are zone-free).
    reporting_timezone: str = "Europe/Amsterdam"
    # Threshold alerts: a reading at or above the value opens one alert per sensor and quantity;
    # it closes when a reading falls below again.
    alert_above: dict[str, float] = {"fill_level": 80.0}
    # Hourly-mean alerts, from the hourly rollup (EU hourly limit value for NO2: 200 µg/m³).
    alert_hourly_mean_above: dict[str, float] = {"no2": 200.0}
    # A sensor silent for longer than its expected interval × this factor is "stale".
    stale_factor: float = Field(3.0, gt=1)
    stale_check_s: float = Field(30.0, gt=0)

    # Issue 11 part 5 (dead letters bounded): a dead letter keeps at most this many bytes of its
    # payload (the first ones; the original size is recorded), and dead letters older than
    # the retention are deleted by the periodic sweep (or `pakhuis deadletter purge`).
    deadletter_max_payload_bytes: int = Field(64 * 1024, ge=256)
    deadletter_retention_days: int = Field(30, ge=1)

    # -- drain-cleaning plan (schedule and truck routes) -----------------------------------
    # Fill threshold (%) at which a drain is due, per zone kind; "default" outside zones.
    # Drains in shopping streets, at bus stops and on main roads may not fill as far.
    plan_thresholds: dict[str, float] = {
        "default": 60.0,
        "shopping": 40.0,
        "bus_stop": 40.0,
        "main_road": 40.0,
        "school": 50.0,
        "construction": 60.0,
    }
    # Fill-rate multiplier per zone kind (sand from building sites); 1 when absent.
    plan_rate_multipliers: dict[str, float] = {"construction": 2.0}
    plan_min_interval_days: float = Field(14.0, ge=0)
    plan_max_interval_days: float = Field(5 * 365.0, gt=0)
    # The sump (zandvang) volume of a drain: a full drain holds this much sludge.
    plan_sump_m3: float = Field(0.06, gt=0)
    # Where drains without any recorded or detected cleaning were last emptied: the fixed
    # yearly round, assumed this many days before the plan's start.
    plan_assumed_days_since_cleaning: float = Field(182.0, ge=0)
    # Depot and dump sites, "lon,lat" and "lon,lat;lon,lat" (WGS84).
    plan_depot: str | None = None
    plan_dump_sites: str | None = None
    plan_trucks: int = Field(3, ge=1, le=100)
    plan_tank_m3: float = Field(6.0, gt=0)
    plan_shift_h: float = Field(8.0, gt=0, le=24)
    plan_service_s: float = Field(180.0, ge=0)
    plan_dump_service_s: float = Field(900.0, ge=0)
    plan_speed_kmh: float = Field(25.0, gt=0)
    plan_detour: float = Field(1.3, ge=1)
    plan_time_limit_s: float = Field(10.0, gt=0)
    # A line file (GeoJSON, GeoPackage, ...) with the road network for travel times.
    plan_roads_file: Path | None = None

    # -- issue 11 part 5: bounded API resources (helper C) --------------------------------------
    # Request bodies are refused with 413 while they are read: at once on a Content-Length over
    # the limit, else as soon as the streamed bytes pass it. HTTP ingest (one uplink or push)
    # has its own, smaller limit.
    api_max_body_bytes: int = Field(1024 * 1024, ge=1)
    http_ingest_max_body_bytes: int = Field(256 * 1024, ge=1)
    # Most rows one page of observations holds (dead letters: at most 1,000); the response's
    # `Link: <…>; rel="next"` header continues after the page's last row.
    api_page_max_rows: int = Field(10_000, ge=1, le=100_000)
    # A client gets this long for a request's headers (from connecting or from the previous
    # response) and for its body (from the end of the headers); then the connection is cut.
    api_header_timeout_s: float = Field(10.0, gt=0)
    api_body_timeout_s: float = Field(60.0, gt=0)
    api_keep_alive_s: int = Field(5, ge=1)
    # Open connections plus requests in progress beyond this are answered 503 at once.
    api_max_concurrency: int = Field(1000, ge=1)

    # -- issue 14 part 4: privacy by design for citizen sensors (pakhuis/access/privacy.py) ---
    # The key of the pseudonyms public answers give personal sensors (HMAC-SHA256 of tenant and
    # sensor; at least 16 characters). Unset: one is generated and kept in
    # <data_dir>/pseudonym.secret (owner-only), so pseudonyms survive restarts; several API
    # hosts that do not share a data dir must all be given the same value.
    pseudonym_secret: SecretStr | None = None
    # Public answers place a personal sensor at the centre of its cell of this size (metres, on
    # the European LAEA grid, EPSG:3035).
    public_location_cell_m: float = Field(250.0, ge=10, le=100_000)
    # Tenants nobody declared (`pakhuis tenants kind`): a citizen measurement group, whose
    # sensors are personal, unless told they are the city's own.
    default_tenant_kind: Literal["group", "city"] = "group"

    # -- issue 14 part 1: OpenID Connect bearer tokens (pakhuis/access/tokens.py) ---------------
    # Set the issuer (its `iss`, e.g. https://login.example.org/realms/city) to accept its
    # tokens beside API keys; the audience is then required (the tokens' `aud`). The signing
    # keys come from PAKHUIS_OIDC_JWKS_URL, else from the `jwks_uri` of the issuer's discovery
    # document (<issuer>/.well-known/openid-configuration), read on first use.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    # The claims that carry a token's pakhuis role and, for group tokens, its tenant.
    oidc_role_claim: str = Field("pakhuis_role", min_length=1)
    oidc_tenant_claim: str = Field("pakhuis_tenant", min_length=1)

    @field_validator("oidc_issuer", "oidc_audience", "oidc_jwks_url", mode="before")
    @classmethod
    def _oidc_empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url", "mqtt_url", "kafka_url", "pseudonym_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        # Resolved once, against the working directory the command starts in: a relative
        # PAKHUIS_DATA_DIR keeps naming that folder, whatever the process does afterwards.
        return value.expanduser().resolve()

    @field_validator("reporting_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Amsterdam"
            ) from None
        return value

    @field_validator("alert_above", "alert_hourly_mean_above")
    @classmethod
    def _check_alert_quantities(cls, value: dict[str, float]) -> dict[str, float]:
        from pakhuis.quantities import parse_quantity

        unknown = [name for name in value if parse_quantity(name) is None]
        if unknown:
            raise ValueError(f"unknown quantity in alert thresholds: {', '.join(unknown)}")
        return value

    @field_validator("plan_thresholds", "plan_rate_multipliers")
    @classmethod
    def _check_zone_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        known = {"default", "shopping", "bus_stop", "main_road", "school", "construction"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown zone kind {', '.join(unknown)}; use {', '.join(sorted(known))}")
        if any(not (0 < v <= 100) for v in value.values()):
            raise ValueError("values must be above 0 (thresholds at most 100 %)")
        return value

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

    def kafka_bootstrap(self) -> str | None:
        """Bootstrap servers for Kafka clients ("kafka://" prefixes stripped), or None."""
        if self.kafka_url is None:
            return None
        servers = self.kafka_url.get_secret_value()
        return ",".join(s.strip().removeprefix("kafka://") for s in servers.split(","))

    def mqtt_subscriptions(self) -> list[str]:
        """The topic filters ingest subscribes to, as shared subscriptions where possible."""
        if self.mqtt_protocol != "5" or not self.mqtt_shared_group:
            return list(self.mqtt_topics)
        return [f"$share/{self.mqtt_shared_group}/{topic}" for topic in self.mqtt_topics]

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

    def bridge_endpoint(self) -> tuple[str, int, str | None, str | None]:
        """(host, port, username, password) the API's HTTP ingest bridge publishes with."""
        host, port, username, password = self.mqtt_endpoint()
        if self.http_ingest_mqtt_username:
            secret = self.http_ingest_mqtt_password
            return host, port, self.http_ingest_mqtt_username, secret.get_secret_value() if secret else None
        return host, port, username, password

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


def load_settings(flags: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
    """Read and validate settings; overrides (e.g. from CLI options) win over the environment.

    A refused override is named by its command-line flag (`flags`: setting → flag, else
    `--setting-name`), a refused variable by its PAKHUIS_ name: the user is told what they set."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except SettingsError as exc:
        # Raised for a variable that is not even parseable, e.g. a list that is not JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"PAKHUIS_{field[1].upper()}" if field else "a PAKHUIS_ variable"
        raise ConfigurationError(
            f"Invalid settings: {name} cannot be parsed ({exc})",
            hint='List settings such as PAKHUIS_MQTT_TOPICS are JSON, e.g. ["pakhuis/v1/#"].',
        ) from None
    except ValidationError as exc:
        problems: list[str] = []
        given: set[str] = set()
        for error in exc.errors():
            setting = str(error["loc"][0]) if error["loc"] else ""
            if setting in clean:
                flag = (flags or {}).get(setting, "--" + setting.replace("_", "-"))
                problems.append(f"{flag} {clean[setting]}: {error['msg']}")
                given.add("option")
            else:
                problems.append(
                    "PAKHUIS_" + "_".join(str(p) for p in error["loc"]).upper() + f": {error['msg']}"
                )
                given.add("variable")
        if given == {"option"}:
            remedy = "Fix the option(s) named above."
        elif given == {"variable"}:
            remedy = "Fix the environment variable(s) named above, or unset them to use the defaults."
        else:
            remedy = "Fix the option(s) and environment variable(s) named above."
        raise ConfigurationError("Invalid settings: " + "; ".join(problems), hint=remedy) from None
