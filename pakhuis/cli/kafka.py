"""`pakhuis kafka up|down`: a local single-node Kafka for development (deploy/kafka/kafka.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from pakhuis.cli.frame import command
from pakhuis.errors import ServiceStartError

__all__ = ["kafka_app"]

kafka_app = typer.Typer(help="A local Kafka for development.", no_args_is_help=True)


def _kafka_script() -> Path:
    # pakhuis/cli/kafka.py -> the checkout's deploy/kafka/kafka.sh
    script = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka.sh"
    if not script.is_file():
        raise ServiceStartError(
            "deploy/kafka/kafka.sh is not next to this installation.",
            hint="Run `pakhuis kafka` from a source checkout (pip install -e .).",
        )
    return script


def _kafka(action: str) -> None:
    with command():
        raise typer.Exit(subprocess.call(["bash", str(_kafka_script()), action]))


@kafka_app.command("up")
def kafka_up() -> None:
    """Start a local single-node Kafka (KRaft) from Apache Kafka's Maven artifacts."""
    _kafka("up")


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the local Kafka."""
    _kafka("down")
