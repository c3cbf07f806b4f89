"""How long the analyses take at the default path count (20,000).

Prints wall times for:

- a tornado over 10 uncertain inputs (the teaching scenario with four more inputs made
  uncertain), 3 metrics: 21 engine runs of ``--paths`` paths on shared draws;
- a Sobol' analysis of the same scenario, ``--paths`` base samples (engine paths =
  base samples x (factors + 2)), 3 metrics, split into design + engine and SALib's
  bootstrap analysis;
- break-even (deterministic and expected), the price solver, the price frontier,
  the evaluation-risk curve and a run-until-converged, on the teaching scenario.

Usage: ``python benchmarks/bench_analysis.py [--paths 20000] [--seed 1] [--quick]``
(``--quick``: only the tornado and Sobol' lines). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import pfs
from pfs.analysis import (
    breakeven_table,
    evaluation_risk,
    price_frontier,
    run_until,
    sobol_indices,
    solve_price,
    tornado,
)

TEN_INPUTS = {
    "outcomes.employment.baseline": {"dist": "uniform", "low": 1.5, "high": 2.5},
    "outcomes.bed_days.value_per_unit": {
        "dist": "triangular",
        "low": 150,
        "mode": 200,
        "high": 260,
    },
    "outcomes.employment.value_per_unit": {"dist": "normal", "mean": 2500, "sd": 400},
    "program.fixed_costs.intermediary.per_period": {
        "dist": "uniform",
        "low": 80_000,
        "high": 130_000,
    },
}


def ten_input_scenario() -> pfs.Scenario:
    """The teaching scenario with 10 uncertain inputs (6 of its own and 4 more)."""
    sc = pfs.load_scenario(pfs.default_scenario_path()).with_overrides(TEN_INPUTS)
    assert len(sc.uncertain_inputs()) == 10
    return sc


def timed(label: str, work: Callable[[], Any], detail: Callable[[Any], str]) -> Any:
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label:<52} {seconds:>8.2f} s   {detail(result)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, seed = args.paths, args.seed
    sc10 = ten_input_scenario()
    teaching = pfs.load_scenario(pfs.default_scenario_path())
    pfs.simulate(teaching, paths=2000, seed=0)  # warm imports and caches
    print(f"Analyses at {n:,} paths, seed {seed} (wall time)")
    single = timed(
        "one simulation, 10-input scenario",
        lambda: pfs.simulate(sc10, n, seed),
        lambda r: f"{r.n_paths:,} paths",
    )
    del single
    timed(
        "tornado: 10 inputs x 3 metrics (21 runs)",
        lambda: tornado(sc10, paths=n, seed=seed),
        lambda t: f"{t.attrs['runs']} runs, top: {t['label'].iloc[0]}",
    )
    sob = timed(
        f"Sobol': {n:,} base samples x 3 metrics",
        lambda: sobol_indices(sc10, paths=n, seed=seed),
        lambda t: (
            f"{t.attrs['evaluations']:,} engine paths, {t.attrs['factors']} factors; "
            f"design + engine {t.attrs['evaluate_seconds']:.1f} s, "
            f"SALib analyse {t.attrs['analyse_seconds']:.1f} s"
        ),
    )
    del sob
    if args.quick:
        return
    timed(
        "break-even table (deterministic + expected)",
        lambda: breakeven_table(teaching, paths=n, seed=seed),
        lambda t: f"{int(t['found'].sum())} of {len(t)} found",
    )
    timed(
        "price solver: expected IRR 2%",
        lambda: solve_price(teaching, target=0.02, paths=n, seed=seed),
        lambda s: f"scale x{s.scale:.3f}",
    )
    timed(
        "price frontier: 11 scales",
        lambda: price_frontier(teaching, paths=n, seed=seed),
        lambda t: f"{len(t)} rows",
    )
    timed(
        "evaluation risk: 5 sample sizes, with prior",
        lambda: evaluation_risk(teaching, paths=n, seed=seed),
        lambda t: f"{t.attrs['engine_runs']} engine runs",
    )
    timed(
        "run until every headline metric is precise",
        lambda: run_until(teaching, start_paths=n // 4, seed=seed),
        lambda c: f"{c.results.n_paths:,} paths, converged={c.converged}",
    )


if __name__ == "__main__":
    main()
