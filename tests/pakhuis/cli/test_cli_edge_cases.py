"""CLI values that make no sense are refused before any work, naming the flag the user passed
and what to give instead: a usage error (exit 2), never a traceback (issue 13, part 7)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf"])
def test_geo_indicators_refuses_a_cell_size_that_is_not_positive(value: str) -> None:
    result = CliRunner().invoke(app, ["geo", "indicators", "--cell", value])
    assert result.exit_code == 2, result.output
    assert "--cell" in result.output
    assert "positive number of metres" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", ["0", "-1", "101"])
def test_plan_routes_refuses_a_truck_count_out_of_range(value: str) -> None:
    result = CliRunner().invoke(app, ["plan", "routes", "--trucks", value])
    assert result.exit_code == 2, result.output
    assert "--trucks" in result.output
    assert "Invalid value" in result.output
    assert ("greater than or equal to 1" if int(value) < 1 else "less than or equal to 100") in result.output
    assert "Traceback" not in result.output
