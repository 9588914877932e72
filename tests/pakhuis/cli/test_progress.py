"""Slow steps say what they are doing (issue 13 part 5): one line on stderr in a pipe or log, a
transient spinner on a terminal; stdout is left to the command's own output."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from pakhuis.cli import progress as progress_module
from pakhuis.cli.progress import progress


def test_not_on_a_terminal_it_is_one_plain_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("Computing [the] indicators"):
        print("the command's own output")
    captured = capsys.readouterr()
    assert captured.err == "Computing [the] indicators ...\n", "markup is not interpreted"
    assert captured.out == "the command's own output\n"


def test_on_a_terminal_it_is_a_spinner_that_goes_away(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(progress_module, "notices", terminal)
    with progress("Compiling the spatial kernels"):
        pass
    drawn = screen.getvalue()
    assert "Compiling the spatial kernels" in drawn and "0:00:00" in drawn, "with the seconds so far"
    # Transient: the cursor goes back up and the line is erased, leaving no trace on the screen.
    assert drawn.endswith("\x1b[1A\x1b[2K"), repr(drawn)
