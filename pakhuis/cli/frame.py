"""The frame every command runs in: settings, logging, the store, and error reporting.

    with command(api_port=port) as ctx:      # a PakhuisError inside -> message + remedy, exit 1
        ctx.settings                         # read (and logging configured) on first use
        with ctx.store() as store:           # open and migrated; embedded PostgreSQL if no URL
            ...
        with ctx.stores("api", "stream") as stores:   # one database, a pool per role
            stores.api, stores.stream

Settings are read when the command first asks for them, never at import, so an argument that
is wrong on its face (an unknown format or policy) is reported before the environment is read.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NoReturn

import typer
from rich.console import Console

from pakhuis.errors import PakhuisError
from pakhuis.settings import Settings, load_settings
from pakhuis.store import EmbeddedPostgres, Store

__all__ = [
    "CommandContext",
    "PoolRole",
    "Stores",
    "command",
    "configure_logging",
    "console",
    "fail",
    "notices",
    "open_store",
    "open_stores",
]

console = Console(highlight=False, soft_wrap=True)
# What a command says about itself (where its database is, what it is busy with) goes to stderr,
# so what it prints to stdout (CSV, JSON, reports) stays clean for a pipe.
notices = Console(stderr=True, highlight=False, soft_wrap=True)

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
    if settings.log_level != "DEBUG":
        # Its "ready in <dir>" would repeat the frame's own "database: embedded in <dir>".
        logging.getLogger("pakhuis.store.embedded").setLevel(logging.WARNING)


# Who uses a pool (issue 11 part 3): the API's reads, the ingest's decoder lookups, the
# stream's writes, the /health ping, any other command. Sizes: PAKHUIS_STORE_POOL_<ROLE>.
PoolRole = Literal["api", "ingest", "stream", "health", "cli"]


@dataclass(frozen=True, slots=True)
class Stores:
    """One open store per role asked for, all on the same database, each with its own pool."""

    by_role: dict[PoolRole, Store]

    def __getattr__(self, role: str) -> Store:
        try:
            return self.by_role[role]  # type: ignore[index]
        except KeyError:
            raise AttributeError(f"no store opened for role {role!r}") from None


def pool_size(settings: Settings, role: PoolRole) -> int:
    size: int = getattr(settings, f"store_pool_{role}")
    return size


# The data dir's default until issue 13 part 4: `.pakhuis/` in the working directory. A database
# left there is no longer found by default; saying so keeps its owner from thinking it lost.
_FORMER_DEFAULT_DATA_DIR = Path(".pakhuis")


def _announce_embedded(pgdata: Path) -> None:
    notices.print(f"database: embedded in {pgdata}", markup=False)
    former = (_FORMER_DEFAULT_DATA_DIR / "pg").resolve()
    if former != pgdata and former.is_dir():
        notices.print(
            f"note: {former} holds a database of an older pakhuis, which kept it in the working "
            f"directory; to use it, set PAKHUIS_DATA_DIR={former.parent}",
            markup=False,
        )


@contextlib.contextmanager
def _database_uri(settings: Settings) -> Iterator[str]:
    """The database's URI: external when PAKHUIS_DATABASE_URL is set, else the embedded one
    under the data dir (started here, stopped when the block ends)."""
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    # Said before the start (which takes seconds): which database a command sees is the first
    # thing to check when a register looks empty.
    _announce_embedded(embedded.pgdata)
    uri = embedded.start()
    try:
        yield uri
    finally:
        embedded.stop()


def _store(settings: Settings, uri: str, role: PoolRole) -> Store:
    return Store(
        uri,
        max_size=pool_size(settings, role),
        acquire_timeout_s=settings.store_acquire_timeout_s,
        reporting_timezone=settings.reporting_timezone,
    )


@contextlib.contextmanager
def open_stores(settings: Settings, *roles: PoolRole, migrate: bool = True) -> Iterator[Stores]:
    """Open stores, one pool per role (the first migrates the schema unless `migrate=False`)."""
    with contextlib.ExitStack() as stack:
        uri = stack.enter_context(_database_uri(settings))
        by_role: dict[PoolRole, Store] = {}
        for role in roles:
            by_role[role] = stack.enter_context(_store(settings, uri, role))
            if migrate and len(by_role) == 1:
                by_role[role].migrate()
        yield Stores(by_role)


@contextlib.contextmanager
def open_store(settings: Settings, *, migrate: bool = True, role: PoolRole = "cli") -> Iterator[Store]:
    """An open store: external when PAKHUIS_DATABASE_URL is set, else embedded under the data dir.

    Migrated unless `migrate=False` (for `pakhuis db migrate`, which wants the report itself).
    """
    with open_stores(settings, role, migrate=migrate) as stores:
        yield stores.by_role[role]


def fail(exc: PakhuisError) -> NoReturn:
    """Say what went wrong and what to do next; exit code 1."""
    console.print(f"[bold red]error:[/] {exc.message}")
    if exc.hint:
        console.print(f"[yellow]what to do:[/] {exc.hint}")
    raise typer.Exit(1)


class CommandContext:
    """What a running command may ask its frame for."""

    def __init__(self, overrides: dict[str, Any], flags: Mapping[str, str]) -> None:
        self._overrides = overrides
        self._flags = flags

    @cached_property
    def settings(self) -> Settings:
        """The validated settings (command-line options win over PAKHUIS_*); logging set from them."""
        settings = load_settings(self._flags, **self._overrides)
        configure_logging(settings)
        return settings

    def store(
        self, *, migrate: bool = True, role: PoolRole = "cli"
    ) -> contextlib.AbstractContextManager[Store]:
        return open_store(self.settings, migrate=migrate, role=role)

    def stores(self, *roles: PoolRole, migrate: bool = True) -> contextlib.AbstractContextManager[Stores]:
        """A store per role on one database (one embedded PostgreSQL), each with its own pool."""
        return open_stores(self.settings, *roles, migrate=migrate)


@contextlib.contextmanager
def command(flags: Mapping[str, str] | None = None, /, **overrides: Any) -> Iterator[CommandContext]:
    """Run a command's body; `overrides` are settings given as options (None = not given), and
    `flags` the options' names where they differ from `--setting-name` (e.g. api_port: --port)."""
    try:
        yield CommandContext(overrides, flags or {})
    except PakhuisError as exc:
        fail(exc)
