"""`pakhuis mqtt export-auth DIR`: Mosquitto's password files and ACL from the store (issue 14
part 3), for deploy/mosquitto/mosquitto-production.conf and for CI.

Writes `DIR/passwd` (the device logins, for the device listener), `DIR/passwd-services` (the
ingest's and the API bridge's logins, for the services listener: a service login is then never
accepted where devices connect) and `DIR/acl` (the service rules and one rule per device: its
own topics only). Device passwords are already stored as Mosquitto hashes; service passwords
come from the options or the settings and are hashed here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pakhuis.access.devices import DeviceLogin, ServiceLogin, acl_file, hash_password, password_file
from pakhuis.cli.frame import command
from pakhuis.errors import ConfigurationError
from pakhuis.settings import Settings

__all__ = ["mqtt_app"]

mqtt_app = typer.Typer(help="Mosquitto: export the logins and ACL pakhuis keeps.", no_args_is_help=True)

DEFAULT_INGEST_USER = "pakhuis-ingest"
DEFAULT_BRIDGE_USER = "pakhuis-api"


def _service_logins(
    settings: Settings,
    ingest_username: str | None,
    ingest_password: str | None,
    api_username: str | None,
    api_password: str | None,
) -> tuple[ServiceLogin, ServiceLogin]:
    """The ingest's login (options, else PAKHUIS_MQTT_URL's user and password) and the bridge's
    (options, else PAKHUIS_HTTP_INGEST_MQTT_USERNAME / _PASSWORD)."""
    _, _, url_user, url_password = settings.mqtt_endpoint()
    ingest_user = ingest_username or url_user or DEFAULT_INGEST_USER
    ingest_secret = ingest_password or url_password
    bridge_user = api_username or settings.http_ingest_mqtt_username or DEFAULT_BRIDGE_USER
    configured = settings.http_ingest_mqtt_password
    bridge_secret = api_password or (configured.get_secret_value() if configured else None)
    missing = [
        hint
        for secret, hint in (
            (ingest_secret, "--ingest-password (or the password in PAKHUIS_MQTT_URL)"),
            (bridge_secret, "--api-password (or PAKHUIS_HTTP_INGEST_MQTT_PASSWORD)"),
        )
        if not secret
    ]
    if missing:
        raise ConfigurationError(
            "export-auth needs the passwords of the service logins.",
            hint="Give " + " and ".join(missing) + ".",
        )
    assert ingest_secret and bridge_secret
    if ingest_user == bridge_user:
        raise ConfigurationError(
            f"the ingest and the API bridge both log in as {ingest_user!r}; they need logins of their own.",
            hint="Set --api-username (or PAKHUIS_HTTP_INGEST_MQTT_USERNAME), e.g. pakhuis-api.",
        )
    return ServiceLogin(ingest_user, hash_password(ingest_secret)), ServiceLogin(
        bridge_user, hash_password(bridge_secret)
    )


def _write(path: Path, text: str, mode: int) -> None:
    """Replace `path` whole (a broker reloading mid-write never reads half a file), with `mode`
    from the start."""
    new = path.with_name(path.name + ".new")
    descriptor = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(new, mode)
    os.replace(new, path)


@mqtt_app.command("export-auth")
def export_auth(
    directory: Annotated[Path, typer.Argument(help="Where to write passwd, passwd-services and acl.")],
    ingest_username: Annotated[
        str | None,
        typer.Option(help="The ingest's login (default: PAKHUIS_MQTT_URL's user, else pakhuis-ingest)."),
    ] = None,
    ingest_password: Annotated[
        str | None,
        typer.Option(help="Its password (default: PAKHUIS_MQTT_URL's)."),
    ] = None,
    api_username: Annotated[
        str | None,
        typer.Option(
            help="The API bridge's login (default: PAKHUIS_HTTP_INGEST_MQTT_USERNAME, else pakhuis-api)."
        ),
    ] = None,
    api_password: Annotated[
        str | None,
        typer.Option(help="Its password (default: PAKHUIS_HTTP_INGEST_MQTT_PASSWORD)."),
    ] = None,
) -> None:
    """Write Mosquitto's password files and ACL: every device login, each allowed its own topics."""
    with command() as ctx:
        ingest, bridge = _service_logins(
            ctx.settings, ingest_username, ingest_password, api_username, api_password
        )
        with ctx.store() as store:
            devices = [
                DeviceLogin(row.tenant, row.sensor, row.username, row.password_hash)
                for row in store.device_logins()
            ]
        directory.mkdir(parents=True, exist_ok=True)
        # Password hashes: readable by their owner only (chown them to the broker's user).
        _write(directory / "passwd", password_file(devices), 0o600)
        _write(directory / "passwd-services", password_file((ingest, bridge)), 0o600)
        _write(directory / "acl", acl_file(ingest.username, bridge.username, devices), 0o644)
    typer.echo(
        f"wrote {directory / 'passwd'} ({len(devices)} device logins), "
        f"{directory / 'passwd-services'} ({ingest.username}, {bridge.username}) and "
        f"{directory / 'acl'} ({len(devices)} devices, each writes only pakhuis/v1/<tenant>/<sensor>/#)."
    )
    typer.echo(
        "Point Mosquitto at them: deploy/mosquitto/mosquitto-production.conf reads /mosquitto/config/"
        "passwd (device listener), passwd-services (services listener) and acl; copy them there (owned "
        "by the broker's user) or set password_file / acl_file to these paths, then reload: "
        "kill -HUP $(pidof mosquitto)."
    )
