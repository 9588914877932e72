"""The `pakhuis` command: the composition root, the one package that wires the rooms together.

One module per command group; every command runs in the frame of `pakhuis.cli.frame` (settings
read at start-up, never at import; a `PakhuisError` becomes a message plus what to do next, exit
code 1) and prints what it did in numbers. Domain work lives in the rooms (geo.jobs, the store,
ingest, stream); here it is only wired together.
"""

from pakhuis.cli.app import app, main

__all__ = ["app", "main"]
