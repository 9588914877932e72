"""ruff and mypy --strict (project and tests, as configured in pyproject.toml) stay clean."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.code_shape import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    # The incremental cache goes to a temporary directory: a clean clone gets no .mypy_cache.
    result = _run("mypy", "--cache-dir", "/tmp/pakhuis-mypy-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.search(r"no issues found in (\d+) source files", result.stdout)
    # the tests are checked too: the project's rooms alone are fewer than 100 files
    assert checked is not None and int(checked.group(1)) > 100, result.stdout
