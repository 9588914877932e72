"""`pakhuis stream worker`: a Faust stream worker on Kafka (distributed mode)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from pakhuis.cli import wiring
from pakhuis.cli.frame import command, console
from pakhuis.codec import KafkaTopics
from pakhuis.errors import ConfigurationError
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    import faust

__all__ = ["stream_app"]

stream_app = typer.Typer(help="Distributed stream processing (Faust on Kafka).", no_args_is_help=True)

# Faust's names for our log levels.
_FAUST_LOG_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error"}


@stream_app.command("worker")
def stream_worker(
    worker_id: Annotated[str | None, typer.Option("--id", help="Worker name (default: host-pid).")] = None,
) -> None:
    """Run a Faust stream worker on Kafka (start several; they split the partitions)."""
    with command() as ctx:
        settings = ctx.settings
        bootstrap = settings.kafka_bootstrap()
        if bootstrap is None:
            raise ConfigurationError(
                "A stream worker needs Kafka, but PAKHUIS_KAFKA_URL is not set.",
                hint="Set PAKHUIS_KAFKA_URL=127.0.0.1:9092 (start one with `pakhuis kafka up`), "
                "or use `pakhuis run` for the embedded mode without Kafka.",
            )
        import faust

        from ingest.kafka import ensure_topics

        name = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        topics = KafkaTopics(settings.kafka_prefix)
        ensure_topics(bootstrap, settings.kafka_partitions, topics)
        # issue 11 part 3: the stream's writes have a pool of their own size.
        with ctx.store(role="stream") as store:
            worker_app = _faust_app(settings, store, bootstrap, name, topics)
            described = settings.describe()
            console.print(f"stream worker {name}: Kafka {described['kafka']} → {described['database']}")
            level = _FAUST_LOG_LEVELS[settings.log_level]
            faust.Worker(worker_app, loglevel=level, quiet=True).execute_from_commandline()


def _faust_app(settings: Settings, store: Store, bootstrap: str, name: str, topics: KafkaTopics) -> faust.App:
    from stream.faust_app import create_faust_app

    # Each worker keeps its own table state under the data dir.
    datadir = (settings.data_dir / "faust" / name).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    return create_faust_app(
        wiring.pipeline(settings, store),
        bootstrap=bootstrap,
        partitions=settings.kafka_partitions,
        datadir=datadir,
        topics=topics,
        batch_max_readings=settings.batch_max_readings,
        batch_max_seconds=settings.stream_max_wait_s,
        stale_check_s=settings.stale_check_s,
    )
