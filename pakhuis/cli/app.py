"""The `pakhuis` command assembled: the top-level commands and one sub-command group per module."""

from __future__ import annotations

import typer

from pakhuis.cli.api import api
from pakhuis.cli.datastreams import datastreams_app
from pakhuis.cli.db import db_app
from pakhuis.cli.deadletter import deadletter_app
from pakhuis.cli.demo import demo
from pakhuis.cli.devices import devices_app
from pakhuis.cli.geo import geo_app
from pakhuis.cli.ingest import ingest
from pakhuis.cli.kafka import kafka_app
from pakhuis.cli.keys import keys_app
from pakhuis.cli.load import load_app
from pakhuis.cli.mqtt_auth import mqtt_app
from pakhuis.cli.plan import plan_app
from pakhuis.cli.run import run
from pakhuis.cli.sensors import sensors_app
from pakhuis.cli.sim import sim
from pakhuis.cli.stream import stream_app
from pakhuis.cli.tenants import tenants_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="pakhuis — the city's sensor data warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for top_level in (run, ingest, api, sim, demo):
    app.command()(top_level)
for name, group in (
    ("db", db_app),
    ("stream", stream_app),
    ("kafka", kafka_app),
    ("deadletter", deadletter_app),
    ("sensors", sensors_app),
    ("tenants", tenants_app),
    ("keys", keys_app),
    ("devices", devices_app),
    ("mqtt", mqtt_app),
    ("datastreams", datastreams_app),
    ("load", load_app),
    ("geo", geo_app),
    ("plan", plan_app),
):
    app.add_typer(group, name=name)


def main() -> None:
    app()
