"""One data directory (issue 13 part 4): the embedded database is the user's, whatever directory a
command runs in, and every command that opens it says where (on stderr). PAKHUIS_DATA_DIR moves
it; a relative one is taken from the directory the command starts in.

Real commands in subprocesses, as a user runs them; each starts the embedded PostgreSQL.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app
from pakhuis.cli.progress import FIRST_RUN_COMPILES
from pakhuis.settings import load_settings
from tests.support import new_user_env, pakhuis_command

_DRAINS_CSV = "id,lon,lat\nd1,4.8900,52.3700\nd2,4.8910,52.3710\nd3,4.8920,52.3720\n"


def _pakhuis(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        pakhuis_command(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _announced_database(result: subprocess.CompletedProcess[str]) -> Path:
    """The database the command said it opened: said once, on stderr, never on stdout."""
    said = re.findall(r"^database: embedded in (.+)$", result.stderr, re.MULTILINE)
    assert len(said) == 1, result.stderr
    assert "database:" not in result.stdout
    return Path(said[0])


@pytest.mark.integration
def test_two_working_directories_see_one_database(tmp_path: Path) -> None:
    home, first, second = tmp_path / "home", tmp_path / "first", tmp_path / "elsewhere" / "deeper"
    env = new_user_env(home)
    first.mkdir()
    (first / "drains.csv").write_text(_DRAINS_CSV)
    # A database the former default (.pakhuis/ in the working directory) left behind.
    (second / ".pakhuis" / "pg").mkdir(parents=True)

    loaded = _pakhuis(first, env, "load", "drains", "drains.csv")
    computed = _pakhuis(second, env, "geo", "indicators")

    assert "indicators for 3 drains" in computed.stdout, "the second directory sees the first's drains"
    database = _announced_database(loaded)
    assert _announced_database(computed) == database
    assert database.is_relative_to(home.resolve()) and (database / "PG_VERSION").is_file()
    assert not (first / ".pakhuis").exists()
    former = (second / ".pakhuis").resolve()
    assert f"note: {former / 'pg'} holds a database of an older pakhuis" in computed.stderr
    assert f"set PAKHUIS_DATA_DIR={former}" in computed.stderr
    # Issue 13 part 5: slow steps say what they are doing (plain lines: stderr is no terminal).
    assert "Loading the drain register from drains.csv ..." in loaded.stderr
    assert f"Computing the indicators ({FIRST_RUN_COMPILES}) ..." in computed.stderr


@pytest.mark.integration
def test_a_relative_pakhuis_data_dir_is_taken_from_the_working_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    env = new_user_env(tmp_path / "home") | {"PAKHUIS_DATA_DIR": "data"}
    result = _pakhuis(work, env, "tenants", "policy", "demo", "reject")
    assert _announced_database(result) == (work / "data" / "pg").resolve()
    assert (work / "data" / "pg" / "PG_VERSION").is_file()


def test_a_relative_data_dir_is_resolved_once_when_the_settings_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAKHUIS_DATA_DIR", "data")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    monkeypatch.chdir(tmp_path.parent)
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert load_settings(data_dir="~/pakhuis-data").data_dir == Path.home().resolve() / "pakhuis-data"


def test_run_has_no_data_dir_default_of_its_own() -> None:
    # `run --data-dir` not given = the setting (PAKHUIS_DATA_DIR, else the per-user folder).
    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0, result.output
    assert "--data-dir" in result.output and ".pakhuis" not in result.output


@pytest.mark.integration
def test_an_external_database_is_not_announced(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["tenants", "policy", "demo", "reject"])
    assert result.exit_code == 0, result.output
    assert "database:" not in result.output
