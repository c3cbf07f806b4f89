"""Analyses built on the engine: what matters, how good, what price, what risk.

Every function takes a :class:`~pfs.scenario.Scenario` and returns a tidy
:class:`pandas.DataFrame` (or a small dataclass with a ``table()``) ready for a chart
or a table; run settings are in the frame's ``attrs``. All runs of one analysis share
their sampled paths (common random numbers), so differences are not noise.

- :func:`tornado`: one-at-a-time swings of each input between its 10th and 90th
  percentile (and of chosen parameters), with paired standard errors.
- :func:`sobol_indices`: Sobol' first-order and total indices (SALib) with
  confidence intervals.
- :func:`breakeven`, :func:`breakeven_table`, :func:`effect_curve`: the true effect at
  which investors get their money back, reach a target IRR, or government net
  savings are zero; deterministic and in expectation.
- :func:`solve_price`, :func:`price_frontier`: the price that gives investors a
  target, and the investor-government frontier as the price varies.
- :func:`evaluation_risk`: chances of paying for nothing and of not paying for
  success against the evaluation's precision, with the normal closed form.
- :func:`standard_errors`, :func:`paths_warning`, :func:`run_until`: Monte Carlo
  precision of every headline metric; run until precise enough.

Correlated inputs (``Scenario.correlations``) are sampled by a Gaussian copula in
:mod:`pfs.sampling`.
"""

from pfs.analysis._common import DEFAULT_METRICS, PathSet, input_label
from pfs.analysis.breakeven import (
    BREAKEVEN_COLUMNS,
    Breakeven,
    breakeven,
    breakeven_table,
    effect_curve,
)
from pfs.analysis.convergence import (
    CONVERGENCE_METRICS,
    Convergence,
    Tolerances,
    paths_warning,
    run_until,
    standard_errors,
)
from pfs.analysis.evaluation_risk import RISK_COLUMNS, chance_of_payment, evaluation_risk
from pfs.analysis.pricing import (
    PriceSolution,
    price_frontier,
    price_overrides,
    scaled_scenario,
    solve_price,
)
from pfs.analysis.sensitivity import TORNADO_COLUMNS, swing_bounds, tornado
from pfs.analysis.sobol import SOBOL_COLUMNS, factors, sobol_indices

__all__ = [
    "BREAKEVEN_COLUMNS",
    "CONVERGENCE_METRICS",
    "DEFAULT_METRICS",
    "RISK_COLUMNS",
    "SOBOL_COLUMNS",
    "TORNADO_COLUMNS",
    "Breakeven",
    "Convergence",
    "PathSet",
    "PriceSolution",
    "Tolerances",
    "breakeven",
    "breakeven_table",
    "chance_of_payment",
    "effect_curve",
    "evaluation_risk",
    "factors",
    "input_label",
    "paths_warning",
    "price_frontier",
    "price_overrides",
    "run_until",
    "scaled_scenario",
    "sobol_indices",
    "solve_price",
    "standard_errors",
    "swing_bounds",
    "tornado",
]
