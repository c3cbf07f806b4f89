"""Results of a simulation: per-path metrics, summaries, per-period quantiles.

Stage: metrics/output. :class:`Results` wraps the per-path metric arrays and the
compact per-period arrays produced by the engine, and derives every table the CLI,
the app and reports show. Metric names are a stable contract (see DESIGN.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pfs.government import by_fiscal_year
from pfs.payments import payment_threshold
from pfs.scenario import Sampling, Scenario, Tranche

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
QUANTILES = (0.05, 0.5, 0.95)
LOSS_TOLERANCE = 0.01  # a loss smaller than a cent is rounding, not a loss
INVESTOR_PROBABILITIES = ("p_investor_repaid", "p_investor_loss")

HEADLINE_METRICS = (
    "outcome_payments",
    "outcome_payments_pv",
    "gross_savings_pv",
    "gov_net_savings_pv",
    "ffs_net_savings_pv",
    "pfs_vs_ffs_pv",
    "investor_irr",
    "investor_moic",
    "investor_loss",
    "guarantee_paid",
    "max_annual_outlay",
)


@dataclass
class PeriodArrays:
    """Per-period arrays kept for quantiles (float32 to bound memory).

    Attributes:
        payments: outcome payments by payer ``[payers, periods, paths]``.
        savings: true public savings by payer ``[payers, periods, paths]``.
        costs: programme costs ``[periods, paths]``.
        investor_flows: investors' net cash flows ``[periods, paths]``.

    Period-major, like the engine's own arrays: one contiguous row of paths per
    period, which is what per-period quantiles read.
    """

    payments: NDArray[np.float32]
    savings: NDArray[np.float32]
    costs: NDArray[np.float32]
    investor_flows: NDArray[np.float32]

    @staticmethod
    def concatenate(parts: list[PeriodArrays]) -> PeriodArrays:
        """Join chunks along the paths axis."""
        return PeriodArrays(
            payments=np.concatenate([p.payments for p in parts], axis=-1),
            savings=np.concatenate([p.savings for p in parts], axis=-1),
            costs=np.concatenate([p.costs for p in parts], axis=-1),
            investor_flows=np.concatenate([p.investor_flows for p in parts], axis=-1),
        )


def has_investors(sc: Scenario) -> bool:
    """Whether any tranche is repayable investor capital (else investor odds are NaN)."""
    return any(t.is_investor and t.repayable for t in sc.capital.tranches)


def tranche_loss_flags(sc: Scenario, metrics: Mapping[str, FloatArray]) -> dict[str, BoolArray]:
    """Per tranche, the paths where it lost principal or more than half of its draws.

    Keys are ``loss.<id>`` (a loss beyond a cent) and ``loss_over_half.<id>``.
    """
    flags: dict[str, BoolArray] = {}
    for t in sc.capital.tranches:
        loss, drawn = metrics[f"loss.{t.id}"], metrics[f"drawn.{t.id}"]
        flags[f"loss.{t.id}"] = loss > LOSS_TOLERANCE
        flags[f"loss_over_half.{t.id}"] = loss > 0.5 * np.maximum(drawn, 1e-9)
    return flags


def tranche_row(
    t: Tranche,
    *,
    irr: Mapping[str, float],
    mean_drawn: float,
    mean_received: float,
    moic_mean: float,
    p_loss: float,
    expected_loss: float,
    p_loss_over_half: float,
) -> dict[str, Any]:
    """One row of the tranche table (``Results.tranches`` and its streamed twin)."""
    return {
        "tranche": t.id,
        "kind": t.kind.value,
        "seniority": t.seniority,
        "commitment": t.amount,
        "rate": t.rate,
        "mean_drawn": mean_drawn,
        "mean_received": mean_received,
        "irr_mean": irr["mean"],
        "irr_p05": irr["p05"],
        "irr_p50": irr["p50"],
        "irr_p95": irr["p95"],
        "moic_mean": moic_mean,
        "p_loss": p_loss,
        "expected_loss": expected_loss,
        "p_loss_over_half": p_loss_over_half,
    }


def quantiles(values: NDArray[Any], qs: Sequence[float]) -> FloatArray:
    """``np.quantile(values, qs, axis=-1)`` (the default "linear" method), bit for bit.

    Reads the order statistics from a sorted copy instead of partitioning: NumPy's
    vectorised sort is 2-3 times faster than the multi-pivot partition behind
    ``np.quantile`` for a handful of quantiles. Values must not be NaN.

    Args:
        values: ``[..., n]`` with ``n >= 1``.
        qs: quantiles in ``[0, 1]``.

    Returns:
        ``[len(qs), ...]`` float64 (the shape ``np.quantile`` gives).
    """
    ordered = np.sort(values, axis=-1)
    n = ordered.shape[-1]
    virtual = (n - 1) * np.asarray(qs, dtype=np.float64)
    previous = np.floor(virtual)
    gamma = virtual - previous
    previous_i = previous.astype(np.intp)
    next_i = np.minimum(previous_i + 1, n - 1)
    above = virtual >= n - 1
    previous_i[above] = n - 1
    next_i[above] = n - 1
    a = np.moveaxis(ordered[..., previous_i], -1, 0)
    b = np.moveaxis(ordered[..., next_i], -1, 0)
    t = gamma.reshape((-1,) + (1,) * (a.ndim - 1))
    diff = b - a  # in the values' own precision, as np.quantile computes it
    out = np.add(a, diff * t, dtype=np.float64)
    high = np.broadcast_to(t >= 0.5, out.shape)
    np.subtract(b, diff * (1 - t), out=out, where=high, dtype=np.float64)
    return out


def _stats(values: FloatArray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    n = finite.size
    if n == 0:
        return {
            "mean": math.nan,
            "std_error": math.nan,
            "p05": math.nan,
            "p50": math.nan,
            "p95": math.nan,
            "n": 0,
        }
    q = quantiles(finite, QUANTILES)
    se = float(finite.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return {
        "mean": float(finite.mean()),
        "std_error": se,
        "p05": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
        "n": n,
    }


def _probability(flags: NDArray[np.bool_]) -> dict[str, float]:
    n = flags.size
    p = float(flags.mean())
    return {
        "mean": p,
        "std_error": math.sqrt(max(p * (1 - p), 0.0) / n) if n else math.nan,
        "p05": math.nan,
        "p50": math.nan,
        "p95": math.nan,
        "n": n,
    }


class Results:
    """The answer of :func:`pfs.simulate`.

    Attributes:
        scenario: the simulated scenario.
        metrics: metric name -> per-path values ``[paths]``.
        periods: compact per-period arrays.
        seed: the seed used.
        sampling: the sampling method used.
        elapsed: engine wall time in seconds.
    """

    def __init__(
        self,
        scenario: Scenario,
        metrics: dict[str, FloatArray],
        periods: PeriodArrays,
        seed: int,
        sampling: Sampling,
        elapsed: float,
    ):
        self.scenario = scenario
        self.metrics = metrics
        self.periods = periods
        self.seed = seed
        self.sampling = sampling
        self.elapsed = elapsed

    @property
    def n_paths(self) -> int:
        """Number of simulated paths."""
        return int(self.metrics["outcome_payments"].size)

    @cached_property
    def paths(self) -> pd.DataFrame:
        """One row per path, one column per metric (and ``input.<name>`` inputs)."""
        return pd.DataFrame(self.metrics)

    # ----------------------------------------------------------- probabilities
    def flags(self) -> dict[str, NDArray[np.bool_]]:
        """Per-path booleans behind the summary probabilities."""
        m = self.metrics
        flags: dict[str, NDArray[np.bool_]] = {
            "p_investor_loss": m["investor_loss"] > LOSS_TOLERANCE,
            "p_investor_repaid": m["investor_repaid"] > 0.5,
            "p_gov_net_negative": m["gov_net_savings_pv"] < 0,
        }
        without = np.zeros(self.n_paths, dtype=bool)
        despite = np.zeros(self.n_paths, dtype=bool)
        for o in self.scenario.outcomes:
            threshold = payment_threshold(o)
            # The evaluation's decision: what the contract owed for this outcome (after
            # its own cap), not the money that moved; payments a payer keeps once
            # investors are repaid, or that its appropriation caps stop, are not
            # evaluation errors.
            true_effect, due = m[f"true_effect.{o.id}"], m[f"due.{o.id}"]
            # no true effect: below the threshold, or none at all (a threshold of 0, or
            # a level-based payment, still pays for a programme that changed nothing)
            none = (true_effect < threshold) | (true_effect <= 0)
            w = (due > LOSS_TOLERANCE) & none
            d = (due <= LOSS_TOLERANCE) & ~none
            flags[f"p_paid_without_true_effect.{o.id}"] = w
            flags[f"p_not_paid_despite_true_effect.{o.id}"] = d
            without |= w
            despite |= d
        flags["p_paid_without_true_effect"] = without
        flags["p_not_paid_despite_true_effect"] = despite
        return flags

    @property
    def has_investors(self) -> bool:
        """Whether any tranche is repayable investor capital (else investor odds are NaN)."""
        return has_investors(self.scenario)

    def _undefined(self, name: str) -> bool:
        return not self.has_investors and name in INVESTOR_PROBABILITIES

    def probabilities(self) -> dict[str, float]:
        """Summary probabilities by name (investor odds are NaN when nobody invests)."""
        return {
            k: math.nan if self._undefined(k) else float(v.mean()) for k, v in self.flags().items()
        }

    # ------------------------------------------------------------------ tables
    def summary(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Mean, Monte Carlo standard error and quantiles of each metric.

        Probabilities (``p_*``) follow the metrics; their ``mean`` is the probability.
        IRR rows use paths where the IRR is defined (``n`` says how many).
        """
        names = metrics or [k for k in self.metrics if not k.startswith("input.")]
        rows = [{"metric": k, **_stats(self.metrics[k])} for k in names if k in self.metrics]
        if metrics is None or any(k.startswith("p_") for k in metrics):
            for k, v in self.flags().items():
                if metrics is None or k in metrics:
                    row = {"metric": k, **_probability(v)}
                    if self._undefined(k):
                        row.update(mean=math.nan, std_error=math.nan)
                    rows.append(row)
        return pd.DataFrame(rows).set_index("metric")

    @cached_property
    def tranches(self) -> pd.DataFrame:
        """Per-tranche investor results (drawn, IRR, multiple, loss, guarantee)."""
        rows = []
        flags = tranche_loss_flags(self.scenario, self.metrics)
        for t in self.scenario.capital.tranches:
            m = self.metrics
            irr, loss, drawn = m[f"irr.{t.id}"], m[f"loss.{t.id}"], m[f"drawn.{t.id}"]
            rows.append(
                tranche_row(
                    t,
                    irr=_stats(irr),
                    mean_drawn=float(drawn.mean()),
                    mean_received=float(m[f"received.{t.id}"].mean()),
                    moic_mean=float(np.nanmean(m[f"moic.{t.id}"])) if drawn.any() else math.nan,
                    p_loss=float(flags[f"loss.{t.id}"].mean()),
                    expected_loss=float(loss.mean()),
                    p_loss_over_half=float(flags[f"loss_over_half.{t.id}"].mean()),
                )
            )
        return pd.DataFrame(rows).set_index("tranche")

    def by_period(self) -> pd.DataFrame:
        """Per-period mean and P5/P50/P95 of payments, savings, costs, investor flows."""
        return self._quantile_table(self._series(), "period")

    def by_year(self) -> pd.DataFrame:
        """The same by budget (fiscal) year: the budget officer's table."""
        ppy = self.scenario.periods_per_year
        series = {k: by_fiscal_year(v, ppy) for k, v in self._series().items()}
        return self._quantile_table(series, "year", start=1)

    def _series(self) -> dict[str, NDArray[np.float32]]:
        p = self.periods
        payments, savings = p.payments.sum(axis=0), p.savings.sum(axis=0)
        series: dict[str, NDArray[np.float32]] = {
            "outcome_payments": payments,
            "gross_savings": savings,
            "net_savings": savings - payments,
            "programme_costs": p.costs,
            "investor_net_flow": p.investor_flows,
        }
        if len(self.scenario.payers) > 1:
            for i, payer in enumerate(self.scenario.payers):
                series[f"outcome_payments.{payer.id}"] = p.payments[i]
                series[f"gross_savings.{payer.id}"] = p.savings[i]
        return series

    @staticmethod
    def _quantile_table(
        series: dict[str, NDArray[np.float32]], axis_name: str, start: int = 0
    ) -> pd.DataFrame:
        frames = []
        for name, values in series.items():
            data = np.ascontiguousarray(values)  # one row of paths per period
            q = quantiles(data, QUANTILES)
            frames.append(
                pd.DataFrame(
                    {
                        axis_name: np.arange(start, start + data.shape[0]),
                        "series": name,
                        "mean": data.mean(axis=1, dtype=np.float64),
                        "p05": q[0],
                        "p50": q[1],
                        "p95": q[2],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def cost_per_outcome(self) -> dict[str, float]:
        """Expected payment per additional unit truly achieved, by outcome id.

        Outcomes are counted in different units (bed-days, quarters employed), so
        each gets its own figure: mean ``paid.<id>`` over mean ``true_units.<id>``.
        """
        costs = {}
        for o in self.scenario.outcomes:
            units = float(self.metrics[f"true_units.{o.id}"].mean())
            paid = float(self.metrics[f"paid.{o.id}"].mean())
            costs[o.id] = paid / units if units > 0 else math.nan
        return costs

    def headline(self) -> dict[str, float]:
        """The handful of numbers the app and CLI show first."""
        m, probs = self.metrics, self.probabilities()
        irr = m["investor_irr"][np.isfinite(m["investor_irr"])]
        units = sum(float(m[f"true_units.{o.id}"].mean()) for o in self.scenario.outcomes)
        return {
            "p_investor_repaid": probs["p_investor_repaid"],
            "p_investor_loss": probs["p_investor_loss"],
            "investor_irr_p50": float(np.median(irr)) if irr.size else math.nan,
            "investor_irr_p05": float(np.quantile(irr, 0.05)) if irr.size else math.nan,
            "gov_net_savings_pv_mean": float(m["gov_net_savings_pv"].mean()),
            "p_gov_net_negative": probs["p_gov_net_negative"],
            "max_annual_outlay_p95": float(np.quantile(m["max_annual_outlay"], 0.95)),
            "outcome_payments_mean": float(m["outcome_payments"].mean()),
            "cost_per_outcome_unit": float(m["outcome_payments"].mean()) / units
            if units > 0
            else math.nan,
            "pfs_vs_ffs_pv_mean": float(m["pfs_vs_ffs_pv"].mean()),
            "p_paid_without_true_effect": probs["p_paid_without_true_effect"],
            "p_not_paid_despite_true_effect": probs["p_not_paid_despite_true_effect"],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: run settings, summary, tranches, by year (CLI ``--json``)."""

        def clean(frame: pd.DataFrame) -> list[dict[str, Any]]:
            records = frame.reset_index().to_dict(orient="records")
            return [
                {
                    str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in r.items()
                }
                for r in records
            ]

        return {
            "scenario": self.scenario.name,
            "paths": self.n_paths,
            "seed": self.seed,
            "sampling": self.sampling.value,
            "currency": self.scenario.currency,
            "summary": clean(self.summary()),
            "tranches": clean(self.tranches),
            "by_year": clean(self.by_year()),
        }


class Comparison:
    """Several scenarios simulated with common random numbers.

    Attributes:
        results: scenario label -> :class:`Results`, in the order given.
    """

    def __init__(self, results: dict[str, Results]):
        self.results = results

    def __getitem__(self, key: str) -> Results:
        return self.results[key]

    def table(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Means side by side, with each scenario's difference from the first.

        The difference's standard error is computed path by path (paired), which
        common random numbers make much smaller than either run's own error.
        """
        names = list(self.results)
        base = self.results[names[0]]
        metrics = metrics or [
            *HEADLINE_METRICS,
            "p_investor_repaid",
            "p_investor_loss",
            "p_gov_net_negative",
        ]
        rows = []
        for metric in metrics:
            row: dict[str, Any] = {"metric": metric}
            base_values = _metric_values(base, metric)
            for name in names:
                values = _metric_values(self.results[name], metric)
                row[name] = float(np.nanmean(values)) if values is not None else math.nan
                if name != names[0] and values is not None and base_values is not None:
                    diff = values - base_values
                    diff = diff[np.isfinite(diff)]
                    row[f"{name} − {names[0]}"] = float(diff.mean()) if diff.size else math.nan
                    row[f"se({name} − {names[0]})"] = (
                        float(diff.std(ddof=1) / math.sqrt(diff.size))
                        if diff.size > 1
                        else math.nan
                    )
            rows.append(row)
        return pd.DataFrame(rows).set_index("metric")


def _metric_values(res: Results, metric: str) -> FloatArray | None:
    if metric in res.metrics:
        return res.metrics[metric]
    flags = res.flags()
    if metric in flags:
        return flags[metric].astype(np.float64)
    return None
