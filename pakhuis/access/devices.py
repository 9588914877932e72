"""MQTT logins (issue 14 part 3): one per device, and the files Mosquitto enforces them with.

- A device's login name is `<tenant>/<sensor>`: readable, stable, and never ambiguous, since '/'
  is in no tenant or sensor name. On Mosquitto's device listener (`use_username_as_clientid`)
  it is also the client id, so a device cannot present another client's id.
- Passwords are 32 random characters, shown once; only their hash is kept, in Mosquitto's own
  PBKDF2-SHA512 form `$7$<iterations>$<base64 salt>$<base64 hash>` (what `mosquitto_passwd`
  writes), so the password file is written from the store without the passwords.
- The ACL lets each device write only under its own topics, `pakhuis/v1/<tenant>/<sensor>/#`:
  no tenant-wide rule, so one device's login cannot publish as another sensor of its tenant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pakhuis.errors import InvalidParameter
from pakhuis.identifiers import is_identifier

__all__ = [
    "HASH_ITERATIONS",
    "DeviceLogin",
    "DeviceLoginStore",
    "IssuedDeviceLogin",
    "ServiceLogin",
    "acl_file",
    "device_username",
    "hash_password",
    "issue_device_login",
    "new_device_password",
    "password_file",
    "verify_password",
]

# mosquitto_passwd 2.0 uses 101. Device passwords are random (nothing to guess a slow hash
# would protect), but service passwords are chosen by people; 1000 costs the broker well under
# a millisecond per connect.
HASH_ITERATIONS = 1000
_SALT_BYTES = 12  # as mosquitto_passwd
_SHA512_BYTES = 64

# The API's HTTP ingest bridge publishes TTN uplinks and Sensor.Community pushes; the ingest
# reads everything it ingests (deploy/mosquitto/acl explains each rule).
_INGEST_TOPICS = ("topic read pakhuis/v1/#", "topic read v1.1/#", "topic read v3/#")
_BRIDGE_TOPICS = ("topic write v3/#", "topic write pakhuis/v1/#")


def device_username(tenant: str, sensor: str) -> str:
    """The login (and client id) of a device: `<tenant>/<sensor>`. ':' is refused: Mosquitto's
    password file ends the user name at the first ':'."""
    for what, name in (("tenant", tenant), ("sensor", sensor)):
        if not is_identifier(name):
            raise InvalidParameter(f"{what} {name!r} must be 1-64 letters, digits or . _ : -")
        if ":" in name:
            raise InvalidParameter(
                f"{what} {name!r} contains ':', which a Mosquitto login name cannot hold.",
                hint="Register the sensor under a name without ':' (e.g. '-' instead).",
            )
    return f"{tenant}/{sensor}"


def new_device_password() -> str:
    return secrets.token_urlsafe(24)


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS, salt: bytes | None = None) -> str:
    """`password` in Mosquitto's `$7$` PBKDF2-SHA512 form, with a fresh salt."""
    if not password:
        raise InvalidParameter("An MQTT password must not be empty.")
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """Whether `password` matches a `$7$` hash (ours or mosquitto_passwd's)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7" or not parts[2].isdigit():
        return False
    salt, expected = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    if len(expected) != _SHA512_BYTES:
        return False
    actual = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, int(parts[2]))
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True, slots=True)
class DeviceLogin:
    """A stored device login: what the password file and the ACL need."""

    tenant: str
    sensor: str
    username: str
    password_hash: str

    def __post_init__(self) -> None:
        if self.username != device_username(self.tenant, self.sensor):
            raise InvalidParameter(f"device login {self.username!r} is not named <tenant>/<sensor>")
        if not self.password_hash.startswith("$7$"):
            raise InvalidParameter(f"device login {self.username!r} has no Mosquitto $7$ hash")

    @property
    def topic_filter(self) -> str:
        return f"pakhuis/v1/{self.tenant}/{self.sensor}/#"


@dataclass(frozen=True, slots=True)
class IssuedDeviceLogin:
    login: DeviceLogin
    # The only time the password exists in the clear: show it once, never store or log it.
    password: str


@dataclass(frozen=True, slots=True)
class ServiceLogin:
    """A service's login (the ingest, the API's bridge), its password hashed on the way out."""

    username: str
    password_hash: str

    def __post_init__(self) -> None:
        if not self.username or any(c in self.username for c in ": \t\n/"):
            raise InvalidParameter(
                f"service login {self.username!r} must be a name without ':', '/' or spaces"
            )


def _passwd_lines(entries: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{username}:{password_hash}\n" for username, password_hash in entries)


def password_file(logins: Iterable[DeviceLogin | ServiceLogin]) -> str:
    """A Mosquitto `password_file`: `<user>:<$7$ hash>` per line."""
    return _passwd_lines((login.username, login.password_hash) for login in logins)


def acl_file(ingest: str, bridge: str, devices: Sequence[DeviceLogin]) -> str:
    """A Mosquitto `acl_file`: the service rules of deploy/mosquitto/acl, then one block per
    device that writes only its own topics. Nothing else is allowed."""
    lines = [
        "# Written by `pakhuis mqtt export-auth`; edit the devices with `pakhuis devices`, not here.",
        "",
        "# The ingest: reads everything it ingests, writes nothing.",
        f"user {ingest}",
        *_INGEST_TOPICS,
        "",
        "# The API's HTTP ingest bridge: publishes TTN webhooks and Sensor.Community pushes.",
        f"user {bridge}",
        *_BRIDGE_TOPICS,
        "",
        f"# Devices ({len(devices)}): each writes only under its own pakhuis/v1/<tenant>/<sensor>/.",
    ]
    for device in devices:
        lines += [f"user {device.username}", f"topic write {device.topic_filter}"]
    return "\n".join(lines) + "\n"


class DeviceLoginStore(Protocol):
    """What device logins need of the store (`pakhuis.store.devices.DeviceQueries`)."""

    def insert_device_login(
        self, tenant: str, sensor: str, username: str, password_hash: str
    ) -> int | None: ...


def issue_device_login(store: DeviceLoginStore, tenant: str, sensor: str) -> IssuedDeviceLogin:
    """A new login for one device, its password returned once; refused when the device has one."""
    username = device_username(tenant, sensor)
    password = new_device_password()
    login = DeviceLogin(tenant, sensor, username, hash_password(password))
    if store.insert_device_login(tenant, sensor, username, login.password_hash) is None:
        raise InvalidParameter(
            f"device {username} already has an MQTT login.",
            hint=f"To give it a new password: `pakhuis devices remove {tenant} {sensor}`, then add it again.",
            code="device_exists",
        )
    return IssuedDeviceLogin(login, password)
