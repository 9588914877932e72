"""The command frame: errors become a message plus what to do next; settings are read late."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
import typer
from typer.testing import CliRunner

from pakhuis.cli import app
from pakhuis.cli.frame import command
from pakhuis.errors import InvalidParameter
from tests.support import REPO


def _one_command_app(body: Callable[[], None]) -> typer.Typer:
    probe = typer.Typer()
    probe.command()(body)
    return probe


def test_a_pakhuis_error_becomes_message_remedy_and_exit_1() -> None:
    def failing() -> None:
        with command():
            raise InvalidParameter("cannot read horizon 'soon'", hint="e.g. 28d or 4w")

    result = CliRunner().invoke(_one_command_app(failing), [])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["error: cannot read horizon 'soon'", "what to do: e.g. 28d or 4w"]


def test_other_exceptions_are_not_hidden() -> None:
    def buggy() -> None:
        with command():
            raise ZeroDivisionError("a bug")

    result = CliRunner().invoke(_one_command_app(buggy), [])
    assert isinstance(result.exception, ZeroDivisionError)


def test_options_override_the_environment_and_none_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", "8123")
    monkeypatch.setenv("PAKHUIS_API_HOST", "0.0.0.0")
    with command(api_port=9001, api_host=None) as ctx:
        assert (ctx.settings.api_port, ctx.settings.api_host) == (9001, "0.0.0.0")


def test_arguments_are_checked_before_the_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", "not-a-port")
    wrong_argument = CliRunner().invoke(app, ["tenants", "policy", "t1", "maybe"])
    assert wrong_argument.exit_code == 1
    assert "unknown policy 'maybe'" in wrong_argument.output
    assert "Use auto_register or reject." in wrong_argument.output

    wrong_setting = CliRunner().invoke(app, ["tenants", "policy", "t1", "reject"])
    assert wrong_setting.exit_code == 1
    assert "Invalid settings: PAKHUIS_API_PORT" in wrong_setting.output
    assert "what to do: Fix the environment variable(s) named above" in wrong_setting.output


@pytest.mark.parametrize(
    ("args", "flag"),
    [(["api", "--port", "99999"], "--port 99999"), (["run", "--api-port", "99999"], "--api-port 99999")],
)
def test_a_refused_option_is_named_by_its_flag_not_by_a_variable(
    args: list[str], flag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAKHUIS_API_PORT", raising=False)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"Invalid settings: {flag}: Input should be less than or equal to 65535" in result.output
    assert "PAKHUIS_API_PORT" not in result.output
    assert "what to do: Fix the option(s) named above." in result.output


def test_every_command_group_is_on_the_help_page() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in (
        "run", "ingest", "api", "sim", "db", "stream", "kafka", "deadletter",
        "sensors", "tenants", "datastreams", "load", "geo", "plan",
    ):  # fmt: skip
        assert f" {name} " in result.output, name


def test_python_dash_m_pakhuis_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pakhuis", "db", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout
