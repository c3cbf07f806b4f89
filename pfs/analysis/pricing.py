"""Deal designer: what price is fair?

Stage: analysis. Scales the outcome prices of a scenario by a factor ``k`` (rate
card prices per unit, tier amounts, shares of savings; caps are not scaled) and

- :func:`solve_price` finds the ``k`` at which investors reach a target (expected
  IRR, chance of repayment, or any metric spec), reporting what the government keeps;
- :func:`price_frontier` tabulates investor expected IRR against government expected
  net savings as ``k`` varies: the frontier the parties negotiate on.

Every price is simulated on the same sampled paths (common random numbers), so the
metrics are smooth, monotone functions of the price and Brent's method converges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from pfs.analysis._common import PathSet, metric_se, metric_stat, split_metric
from pfs.results import Results
from pfs.scenario import PfsError, Rule, Sampling, Scenario

FRONTIER_METRICS = (
    "investor_irr",
    "p_investor_repaid",
    "gov_net_savings_pv",
    "outcome_payments_pv",
)
"""Metrics tabulated by :func:`price_frontier` by default."""

REPORT_METRICS = (*FRONTIER_METRICS, "investor_moic", "pfs_vs_ffs_pv", "p_gov_net_negative")
"""Metrics reported at a price solution."""


def priced_outcomes(sc: Scenario, outcomes: Sequence[str] | None = None) -> list[str]:
    """Ids of the outcomes whose price is scaled (default: all of them).

    Raises:
        PfsError: for an unknown outcome id.
    """
    ids = [o.id for o in sc.outcomes]
    for oid in outcomes or []:
        if oid not in ids:
            raise PfsError(f"no outcome {oid!r} (outcomes: {', '.join(ids)})")
    return list(outcomes) if outcomes else ids


def price_overrides(
    sc: Scenario, scale: float, outcomes: Sequence[str] | None = None
) -> dict[str, Any]:
    """Dotted overrides that multiply the selected outcomes' prices by ``scale``.

    Rate cards: ``price_per_unit``; tiers: every tier ``amount``; share of savings:
    ``share`` and ``share_after_repaid`` (at most 1). Caps are left alone.

    Raises:
        PfsError: for a negative scale or an unknown outcome.
    """
    if not scale >= 0:
        raise PfsError(f"price scale must be a non-negative number, got {scale}")
    out: dict[str, Any] = {}
    for oid in priced_outcomes(sc, outcomes):
        pay = sc.outcome(oid).payment
        at = f"outcomes.{oid}.payment"
        if pay.rule == Rule.rate_card:
            out[f"{at}.price_per_unit"] = (pay.price_per_unit or 0.0) * scale
        elif pay.rule == Rule.tiers:
            out[f"{at}.tiers"] = [{"at": t.at, "amount": t.amount * scale} for t in pay.tiers or []]
        else:
            out[f"{at}.share"] = min((pay.share or 0.0) * scale, 1.0)
            if pay.share_after_repaid is not None:
                out[f"{at}.share_after_repaid"] = min(pay.share_after_repaid * scale, 1.0)
    return out


def scaled_scenario(sc: Scenario, scale: float, outcomes: Sequence[str] | None = None) -> Scenario:
    """The scenario with the selected outcomes' prices multiplied by ``scale``."""
    return sc.with_overrides(price_overrides(sc, scale, outcomes), source="<price scale>")


def price_columns(
    sc: Scenario, scale: float, outcomes: Sequence[str] | None = None
) -> dict[str, float]:
    """The prices at a scale by outcome (``price_per_unit.<id>``, ``tier_scale.<id>``...).

    Tiers report their multiplier; shares of savings the share (at most 1).
    """
    out: dict[str, float] = {}
    for oid in priced_outcomes(sc, outcomes):
        pay = sc.outcome(oid).payment
        if pay.rule == Rule.rate_card:
            out[f"price_per_unit.{oid}"] = (pay.price_per_unit or 0.0) * scale
        elif pay.rule == Rule.tiers:
            out[f"tier_scale.{oid}"] = scale
        else:
            out[f"share.{oid}"] = min((pay.share or 0.0) * scale, 1.0)
    return out


def _report(res: Results, metrics: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for spec in metrics:
        out[spec] = metric_stat(res, spec)
        out[f"{spec}_se"] = metric_se(res, spec)
    return out


@dataclass
class PriceSolution:
    """The price scale that meets an investor target, and what it means for each side.

    Attributes:
        metric: metric spec targeted.
        target: the target value.
        scale: price multiplier found (NaN when not found).
        found: whether the target is reachable within the searched scales.
        prices: outcome prices at the solution (see :func:`price_columns`).
        achieved: the metric at the solution.
        metrics: headline metrics at the solution (and their ``_se``), including
            ``gov_net_savings_pv``: what the government keeps.
        note: plain-language remark.
        scenario: the scenario at the solution (None when not found).
    """

    metric: str
    target: float
    scale: float
    found: bool
    prices: dict[str, float] = field(default_factory=dict)
    achieved: float = math.nan
    metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""
    scenario: Scenario | None = None

    def table(self) -> pd.DataFrame:
        """One row per item (``scale``, prices, metrics) with its value: for display."""
        rows = [{"item": "scale", "value": self.scale}]
        rows += [{"item": k, "value": v} for k, v in self.prices.items()]
        rows += [{"item": k, "value": v} for k, v in self.metrics.items()]
        return pd.DataFrame(rows, columns=["item", "value"])


class _PriceRuns:
    def __init__(self, sc: Scenario, paths: PathSet, outcomes: Sequence[str] | None):
        self.sc, self.paths, self.outcomes = sc, paths, outcomes
        self.cache: dict[float, dict[str, float]] = {}

    def metrics(self, scale: float, specs: Sequence[str]) -> dict[str, float]:
        key = float(scale)
        if key not in self.cache or any(s not in self.cache[key] for s in specs):
            res = self.paths.run(scaled_scenario(self.sc, key, self.outcomes))
            self.cache[key] = _report(res, list(dict.fromkeys([*specs, *REPORT_METRICS])))
        return self.cache[key]

    def value(self, scale: float, spec: str) -> float:
        return self.metrics(scale, [spec])[spec]


def solve_price(
    sc: Scenario,
    *,
    metric: str = "investor_irr",
    target: float = 0.05,
    outcomes: Sequence[str] | None = None,
    max_scale: float = 64.0,
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    xtol: float = 1e-4,
) -> PriceSolution:
    """The price scale at which ``metric`` reaches ``target``.

    Args:
        sc: the scenario.
        metric: metric spec: ``investor_irr`` (expected IRR), ``p_investor_repaid``,
            ``investor_irr:p50``, ``investor_moic``, ...
        target: the value to reach.
        outcomes: outcomes whose price is scaled (default: all).
        max_scale: the largest multiplier tried.
        paths: Monte Carlo paths (default: the scenario's).
        seed: random seed (default: the scenario's).
        sampling: sampling method (default: the scenario's).
        xtol: tolerance on the scale.

    Returns:
        The :class:`PriceSolution`.

    Raises:
        PfsError: for an unknown metric or outcome, or an investor metric in a deal
            without investors.
    """
    split_metric(metric)
    if "investor" in metric and not any(t.is_investor and t.repayable for t in sc.capital.tranches):
        raise PfsError(
            f"{metric}: the deal has no investor tranche to price for (loans or recoverable "
            "grants); pick a government metric instead"
        )
    runs = _PriceRuns(sc, PathSet.draw(sc, paths, seed, sampling), outcomes)
    lo, hi = 0.0, 1.0
    f_lo, f_hi = runs.value(lo, metric), runs.value(hi, metric)
    while np.isfinite(f_hi) and (f_hi - target) * (f_lo - target) > 0 and hi < max_scale:
        if (f_hi - target) * (f_hi - f_lo) > 0:  # overshoots at 1: look below
            break
        lo, f_lo, hi = hi, f_hi, min(hi * 2, max_scale)
        f_hi = runs.value(hi, metric)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or (f_hi - target) * (f_lo - target) > 0:
        best = max(runs.cache, key=lambda k: runs.cache[k][metric])
        reach = runs.cache[best][metric]
        return PriceSolution(
            metric,
            target,
            math.nan,
            False,
            note=(
                f"{metric} cannot reach {target:g} with prices scaled between 0 and "
                f"{max_scale:g} (best {reach:.4g} at ×{best:g}; caps may bind)"
            ),
        )
    if f_lo == target:
        scale = lo
    elif f_hi == target:
        scale = hi
    else:
        scale = float(brentq(lambda k: runs.value(k, metric) - target, lo, hi, xtol=xtol))
    at = runs.metrics(scale, [metric])
    return PriceSolution(
        metric=metric,
        target=target,
        scale=scale,
        found=True,
        prices=price_columns(sc, scale, outcomes),
        achieved=at[metric],
        metrics=dict(at),
        scenario=scaled_scenario(sc, scale, outcomes),
    )


def price_frontier(
    sc: Scenario,
    scales: Sequence[float] | None = None,
    *,
    metrics: Sequence[str] = FRONTIER_METRICS,
    outcomes: Sequence[str] | None = None,
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """Investor and government metrics as the prices are scaled (the deal frontier).

    Args:
        sc: the scenario.
        scales: price multipliers (default 0.5 to 1.5 in steps of 0.1).
        metrics: metric specs to tabulate.
        outcomes: outcomes whose price is scaled (default: all).
        paths: Monte Carlo paths (default: the scenario's).
        seed: random seed (default: the scenario's).
        sampling: sampling method (default: the scenario's).
        progress: called with the fraction done.

    Returns:
        One row per scale: ``scale``, the prices (:func:`price_columns`), each metric
        and its Monte Carlo standard error ``<metric>_se``. Plot
        ``gov_net_savings_pv`` against ``investor_irr`` for the frontier.
    """
    grid = np.round(np.linspace(0.5, 1.5, 11), 10) if scales is None else np.asarray(scales)
    runs = _PriceRuns(sc, PathSet.draw(sc, paths, seed, sampling), outcomes)
    rows = []
    for i, scale in enumerate(grid):
        at = runs.metrics(float(scale), metrics)
        row: dict[str, float] = {"scale": float(scale), **price_columns(sc, float(scale), outcomes)}
        for spec in metrics:
            row[spec] = at[spec]
            row[f"{spec}_se"] = at[f"{spec}_se"]
        rows.append(row)
        if progress:
            progress((i + 1) / len(grid))
    table = pd.DataFrame(rows)
    table.attrs.update({"scenario": sc.name, "paths": runs.paths.n_paths, "seed": runs.paths.seed})
    return table


__all__ = [
    "FRONTIER_METRICS",
    "PriceSolution",
    "price_columns",
    "price_frontier",
    "price_overrides",
    "scaled_scenario",
    "solve_price",
]
