"""Say what a command is busy with while slow work runs, so a long first run is not silent.

    with progress("Computing the indicators"):
        report = compute_indicators(store)

On a terminal: a spinner with the seconds so far on stderr, gone when the work is done (the
command's own output follows). Elsewhere (a pipe, a log, a test): one plain line on stderr when
the work starts, so a log shows what the process was doing and stdout (CSV, JSON) stays clean.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pakhuis.cli.frame import notices

__all__ = ["FIRST_RUN_COMPILES", "progress"]

# numba compiles the spatial kernels on their first use and caches them (NUMBA_CACHE_DIR, else
# next to the code): a minute or two once, a second or two afterwards. Whether a kernel's cache
# entry still fits (numba version, CPU, source) is only known by loading it, so the message
# hedges instead of guessing.
FIRST_RUN_COMPILES = "the first run also compiles the spatial kernels, a minute or two; cached afterwards"


@contextlib.contextmanager
def progress(what: str) -> Iterator[None]:
    """`what` on stderr for the duration of the block: a transient spinner on a terminal,
    else one line."""
    if not notices.is_terminal:
        notices.print(f"{what} ...", markup=False)
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
    # stdout is not redirected: what the command prints there must stay on stdout.
    with Progress(*columns, console=notices, transient=True, redirect_stdout=False) as spinner:
        spinner.add_task(what, total=None)
        yield
