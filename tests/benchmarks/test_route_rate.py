"""Truck routes for 1,000 Castricum drains: PyVRP (`geo.plan_routes`) against
OR-Tools on the same matrix with the same time limit (`tests.benchmarks.bench_routes`).

A short limit (5 s per solver) keeps the run under a minute; the figures are printed, and
only sanity is asserted: both plans pass the independent checker, PyVRP serves every drain
(the benchmark's shifts do not bind). The full run, with the goals, is the script:

    python -m tests.benchmarks.bench_routes          # 30 s per solver
    pytest tests/benchmarks/test_route_rate.py -s    # prints the figures
"""

from __future__ import annotations

import pytest

from tests.benchmarks.bench_routes import compare

pytestmark = [pytest.mark.benchmark]

TIME_LIMIT_S = 5.0


def test_route_lengths_pyvrp_against_ortools() -> None:
    result = compare(n_stops=1000, trucks=3, time_limit_s=TIME_LIMIT_S, seed=0)
    print(f"\n{result.line()}")
    assert result.pyvrp.problems == ()
    assert result.ortools.problems == ()
    assert result.pyvrp.served == 1000 and result.pyvrp.plan.unserved == ()
    assert result.pyvrp.plan.solver["feasible"]
    assert all(1 <= r.dump_visits for r in result.pyvrp.plan.routes)
    assert result.ortools.km > 0
