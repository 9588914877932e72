"""The frame every command runs in: settings, logging, the store, and error reporting.

    with command(api_port=port) as ctx:      # a PakhuisError inside -> message + remedy, exit 1
        ctx.settings                         # read (and logging configured) on first use
        with ctx.store() as store:           # open and migrated; embedded PostgreSQL if no URL
            ...

Settings are read when the command first asks for them, never at import, so an argument that
is wrong on its face (an unknown format or policy) is reported before the environment is read.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from functools import cached_property
from typing import Any, NoReturn

import typer
from rich.console import Console

from pakhuis.errors import PakhuisError
from pakhuis.settings import Settings, load_settings
from pakhuis.store import EmbeddedPostgres, Store

__all__ = ["CommandContext", "command", "configure_logging", "console", "fail", "open_store"]

console = Console(highlight=False, soft_wrap=True)

# Libraries that log every connection or packet at INFO.
_NOISY_LOGGERS = ("amqtt", "transitions", "pgserver")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def open_store(settings: Settings, *, migrate: bool = True) -> Iterator[Store]:
    """An open store: external when PAKHUIS_DATABASE_URL is set, else embedded under the data dir.

    Migrated unless `migrate=False` (for `pakhuis db migrate`, which wants the report itself).
    """
    with contextlib.ExitStack() as stack:
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            uri = embedded.start()
            stack.callback(embedded.stop)
        else:
            uri = settings.database_url.get_secret_value()
        store = stack.enter_context(Store(uri, reporting_timezone=settings.reporting_timezone))
        if migrate:
            store.migrate()
        yield store


def fail(exc: PakhuisError) -> NoReturn:
    """Say what went wrong and what to do next; exit code 1."""
    console.print(f"[bold red]error:[/] {exc.message}")
    if exc.hint:
        console.print(f"[yellow]what to do:[/] {exc.hint}")
    raise typer.Exit(1)


class CommandContext:
    """What a running command may ask its frame for."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self._overrides = overrides

    @cached_property
    def settings(self) -> Settings:
        """The validated settings (command-line options win over PAKHUIS_*); logging set from them."""
        settings = load_settings(**self._overrides)
        configure_logging(settings)
        return settings

    def store(self, *, migrate: bool = True) -> contextlib.AbstractContextManager[Store]:
        return open_store(self.settings, migrate=migrate)


@contextlib.contextmanager
def command(**overrides: Any) -> Iterator[CommandContext]:
    """Run a command's body; `overrides` are settings given as options (None = not given)."""
    try:
        yield CommandContext(overrides)
    except PakhuisError as exc:
        fail(exc)
