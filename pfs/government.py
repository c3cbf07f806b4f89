"""Government view: costs, savings, discounting and budget years.

Stage: government. Pure functions that turn per-period arrays into the public
sector's figures: programme costs (what fee-for-service would pay), savings by payer
from the *true* outcomes, present values at each payer's discount rate, and outlays
grouped by budget (fiscal) year.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from pfs.finance import discount_factors
from pfs.outcomes import OutcomePaths, input_values
from pfs.sampling import Draws
from pfs.scenario import Scenario

FloatArray = NDArray[np.float64]
ScalarT = TypeVar("ScalarT", bound=np.floating[Any])


def programme_costs(sc: Scenario, draws: Draws, op: OutcomePaths) -> tuple[FloatArray, FloatArray]:
    """Costs of delivering the programme by period.

    Returns:
        ``(all_costs, ffs_costs)``, each period-major ``[periods, paths]``: every cost
        the deal must fund, and the costs government would bear paying the provider
        directly (without costs marked ``pfs_only``).
    """
    n, horizon = draws.n, sc.horizon
    prog = sc.program
    unit_cost = np.maximum(
        input_values(draws, "program.cost_per_participant", prog.cost_per_participant), 0.0
    )
    costs = np.zeros((horizon, n))
    spread = prog.service_periods
    for i, cohort in enumerate(prog.cohorts):
        per_period = op.participants[:, i] * unit_cost / spread
        for s in range(spread):
            costs[min(cohort.period + s, horizon - 1)] += per_period
    ffs = costs.copy()
    for fc in prog.fixed_costs:
        name = f"program.fixed_costs.{fc.name}.per_period"
        amount = np.maximum(input_values(draws, name, fc.per_period), 0.0)
        for p in fc.periods:
            costs[p] += amount
            if not fc.pfs_only:
                ffs[p] += amount
    return costs, ffs


def savings_by_payer(sc: Scenario, op: OutcomePaths) -> FloatArray:
    """Public savings from the true outcomes, by payer and period ``[payers, periods, paths]``.

    A cohort's savings for an outcome are realised in the period its outcome window
    ends (enrolment period + ``measured_after``), and again in each further counted
    period (``periods_counted``), split by ``savings_to``; savings beyond the horizon
    are not counted.
    """
    payer_ids = [p.id for p in sc.payers]
    n = op.participants.shape[0]
    out = np.zeros((len(payer_ids), sc.horizon, n))
    for o in sc.outcomes:
        draw = op.by_outcome[o.id]
        for c, cohort in enumerate(sc.program.cohorts):
            value = draw.true_units[:, c] * draw.value_per_unit
            for r in range(o.periods_counted):
                period = cohort.period + o.measured_after + r
                if period >= sc.horizon:
                    continue
                for saver, share in o.savings_to.items():
                    out[payer_ids.index(saver), period] += share * value
    return out


def payer_discount_factors(sc: Scenario) -> FloatArray:
    """Discount factor of each payer for each period ``[payers, periods]``."""
    return np.stack(
        [discount_factors(sc.horizon, p.discount_rate, sc.periods_per_year) for p in sc.payers]
    )


def discounted(flows: FloatArray, factors: FloatArray) -> FloatArray:
    """Present value of period-major flows ``[periods, paths]`` -> ``[paths]``.

    Accumulates period by period, elementwise: each path's sum has the same rounding
    whatever the number of paths (a BLAS product may not, which would make results
    depend on the chunk size).
    """
    total = flows[0] * factors[0]
    for t in range(1, flows.shape[0]):
        total += flows[t] * factors[t]
    return total


def present_value(by_payer: FloatArray, factors: FloatArray) -> FloatArray:
    """Sum over payers of discounted flows ``[payers, periods, paths]`` -> ``[paths]``."""
    total = discounted(by_payer[0], factors[0])
    for k in range(1, by_payer.shape[0]):
        total += discounted(by_payer[k], factors[k])
    return total


def by_fiscal_year(per_period: NDArray[ScalarT], periods_per_year: int) -> NDArray[ScalarT]:
    """Sum period-major ``[periods, ...]`` into budget years ``[years, ...]``.

    Year 1 is periods ``0 .. periods_per_year - 1``; the last year may be short.
    """
    if periods_per_year == 1:
        return per_period
    horizon = per_period.shape[0]
    years = -(-horizon // periods_per_year)
    pad = years * periods_per_year - horizon
    if pad:
        width = [(0, pad)] + [(0, 0)] * (per_period.ndim - 1)
        per_period = np.pad(per_period, width)
    shape = (years, periods_per_year, *per_period.shape[1:])
    return per_period.reshape(shape).sum(axis=1)


def max_fiscal_year(per_period: FloatArray, periods_per_year: int) -> FloatArray:
    """Largest budget-year total of period-major flows ``[periods, paths]`` -> ``[paths]``.

    Sums each budget year's periods (the last year may be short) and takes the
    maximum over years, one vector operation per period.
    """
    horizon = per_period.shape[0]
    best: FloatArray | None = None
    for start in range(0, horizon, periods_per_year):
        year = per_period[start : start + periods_per_year].sum(axis=0)
        best = year if best is None else np.maximum(best, year, out=best)
    assert best is not None  # horizon >= 1
    return best
