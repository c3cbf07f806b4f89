"""What a report says: the tables and sentences shared by the workbook and the HTML page.

Stage: reporting. Pure functions from :class:`~pfs.results.Results` (and the
:class:`~pfs.scenario.Scenario` inside it) to small DataFrames and plain strings:
the headline numbers with their Monte Carlo standard errors, every scenario input
(uncertain ones with their distribution), the budget-year table, and a
plain-language reading of the result. Nothing here draws or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pfs.distributions import DIST_TYPES, describe, parse_value
from pfs.formatting import Kind, metric_label, money, percent
from pfs.results import Results
from pfs.scenario import EffectType, Scenario

FloatArray = NDArray[np.float64]

#: Series of :meth:`Results.by_year`, in the order and words a budget table uses.
SERIES_LABELS: dict[str, str] = {
    "outcome_payments": "Outcome payments",
    "gross_savings": "Public savings (gross)",
    "net_savings": "Net savings (savings − payments)",
    "programme_costs": "Programme costs",
    "investor_net_flow": "Investors' net cash flow",
}


@dataclass(frozen=True)
class HeadlineRow:
    """One headline number and how to read it.

    Attributes:
        key: the key in :meth:`Results.headline`.
        label: plain-language label.
        kind: what the number measures (``money``, ``share``, ``rate``...).
        explanation: one sentence for a reader who has not met the term.
    """

    key: str
    label: str
    kind: Kind
    explanation: str


HEADLINE_ROWS: tuple[HeadlineRow, ...] = (
    HeadlineRow(
        "outcome_payments_mean",
        "Outcome payments, average (nominal)",
        "money",
        "What the payer(s) pay for outcomes over the whole deal, averaged over futures.",
    ),
    HeadlineRow(
        "max_annual_outlay_p95",
        "Largest outlay in one budget year (bad case, P95)",
        "money",
        "In 19 of 20 simulated futures no budget year needs more than this.",
    ),
    HeadlineRow(
        "gov_net_savings_pv_mean",
        "Government net savings (PV), average",
        "money",
        "Public savings from the true outcomes minus outcome payments, in today's money.",
    ),
    HeadlineRow(
        "p_gov_net_negative",
        "Chance government net savings are negative",
        "share",
        "Share of futures in which the deal costs the government more than it saves.",
    ),
    HeadlineRow(
        "pfs_vs_ffs_pv_mean",
        "PFS advantage over fee-for-service (PV), average",
        "money",
        "Positive: paying for outcomes beats paying the provider directly.",
    ),
    HeadlineRow(
        "cost_per_outcome_unit",
        "Payment per additional outcome unit",
        "money",
        "Average outcome payments divided by the average units the programme truly "
        "achieves (all outcomes together).",
    ),
    HeadlineRow(
        "p_investor_repaid",
        "Chance investors are repaid in full",
        "share",
        "Share of futures in which every investor tranche gets its principal (and coupon) back.",
    ),
    HeadlineRow(
        "p_investor_loss",
        "Chance investors lose principal",
        "share",
        "Share of futures in which investors get back less than they put in.",
    ),
    HeadlineRow(
        "investor_irr_p50",
        "Investor IRR, median",
        "rate",
        "Half the futures give investors more than this annual return, half less.",
    ),
    HeadlineRow(
        "investor_irr_p05",
        "Investor IRR, bad case (P5)",
        "rate",
        "One future in twenty gives investors less than this annual return.",
    ),
    HeadlineRow(
        "p_paid_without_true_effect",
        "Chance of paying for nothing",
        "share",
        "The evaluation measures enough to pay, though the true effect is below the threshold.",
    ),
    HeadlineRow(
        "p_not_paid_despite_true_effect",
        "Chance real success goes unpaid",
        "share",
        "The true effect meets the threshold, but the evaluation measures too little to pay.",
    ),
)

_SUMMARY_OF_MEAN = {
    "outcome_payments_mean": "outcome_payments",
    "gov_net_savings_pv_mean": "gov_net_savings_pv",
    "pfs_vs_ffs_pv_mean": "pfs_vs_ffs_pv",
}
_QUANTILE_OF = {
    "max_annual_outlay_p95": ("max_annual_outlay", 0.95),
    "investor_irr_p50": ("investor_irr", 0.50),
    "investor_irr_p05": ("investor_irr", 0.05),
}
_MONEY_FIELDS = (
    "amount",
    "cap",
    "total_cap",
    "per_period_cap",
    "cost_per_participant",
    "per_period",
    "price_per_unit",
    "value_per_unit",
)


# --------------------------------------------------------------------- kinds
def metric_kind(name: str, scenario: Scenario | None = None) -> Kind:
    """What a per-path metric or summary row measures, to choose its number format.

    Args:
        name: a metric name (``gov_net_savings_pv``, ``irr.senior``, ``p_investor_loss``...).
        scenario: the scenario, to tell absolute effects (units) from relative ones.
    """
    head, _, tail = name.partition(".")
    if name.startswith("p_") or name == "investor_repaid":
        return "share"
    if head in ("true_effect", "measured_effect"):
        if scenario is not None and any(
            o.id == tail and o.effect_type == EffectType.absolute for o in scenario.outcomes
        ):
            return "number"
        return "rate"
    if head in ("investor_irr", "irr"):
        return "rate"
    if head in ("investor_moic", "moic"):
        return "multiple"
    if head == "true_units":
        return "count"
    if head == "input":
        field = name.rsplit(".", 1)[-1]
        return "money" if field in _MONEY_FIELDS else "number"
    return "money"


# ------------------------------------------------------------- standard errors
def quantile_standard_error(values: FloatArray, q: float) -> float:
    """Distribution-free standard error of the ``q`` quantile of ``values``.

    Uses the order statistics at ranks ``n q ± sqrt(n q (1 - q))`` (the quantile's
    binomial 68% interval): half their distance estimates one standard error.
    Non-finite values (undefined IRRs) are left out.
    """
    finite = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)])
    n = finite.size
    if n < 2:
        return math.nan
    spread = math.sqrt(n * q * (1 - q))
    lo = int(np.clip(math.floor(n * q - spread), 0, n - 1))
    hi = int(np.clip(math.ceil(n * q + spread), 0, n - 1))
    return float(finite[hi] - finite[lo]) / 2


def _ratio_standard_error(numerator: FloatArray, denominator: FloatArray) -> float:
    """Delta-method standard error of ``mean(numerator) / mean(denominator)``."""
    n = numerator.size
    mean_d = float(denominator.mean())
    if n < 2 or mean_d <= 0:
        return math.nan
    ratio = float(numerator.mean()) / mean_d
    residual = numerator - ratio * denominator
    return float(residual.std(ddof=1) / math.sqrt(n)) / mean_d


def headline_table(res: Results) -> pd.DataFrame:
    """The headline numbers with their Monte Carlo standard errors.

    Returns:
        One row per :data:`HEADLINE_ROWS` entry, indexed by ``key`` (the keys of
        :meth:`Results.headline`), with columns ``label``, ``kind``, ``value``,
        ``std_error`` and ``explanation``. ``value`` equals ``res.headline()[key]``.
    """
    values = res.headline()
    std_errors = {str(k): float(v) for k, v in res.summary()["std_error"].items()}
    m = res.metrics
    rows = []
    for row in HEADLINE_ROWS:
        if row.key in _SUMMARY_OF_MEAN:
            se = std_errors[_SUMMARY_OF_MEAN[row.key]]
        elif row.key in _QUANTILE_OF:
            name, q = _QUANTILE_OF[row.key]
            se = quantile_standard_error(m[name], q)
        elif row.key == "cost_per_outcome_unit":
            units = sum(m[f"true_units.{o.id}"] for o in res.scenario.outcomes)
            se = _ratio_standard_error(m["outcome_payments"], np.asarray(units))
        else:
            se = std_errors[row.key]
        rows.append(
            {
                "key": row.key,
                "label": row.label,
                "kind": row.kind,
                "value": float(values[row.key]),
                "std_error": se,
                "explanation": row.explanation,
            }
        )
    return pd.DataFrame(rows).set_index("key")


# ------------------------------------------------------------------ tables
def summary_table(res: Results) -> pd.DataFrame:
    """:meth:`Results.summary` with a plain label and a kind for every metric."""
    frame = res.summary().copy()
    frame.insert(0, "label", [metric_label(str(k)) for k in frame.index])
    frame.insert(1, "kind", [metric_kind(str(k), res.scenario) for k in frame.index])
    return frame


def budget_table(res: Results) -> pd.DataFrame:
    """:meth:`Results.by_year` made wide: one row per budget year.

    Columns are ``(series, statistic)`` pairs, e.g. ``("outcome_payments", "p95")``,
    in the order of :data:`SERIES_LABELS` (per-payer series follow).
    """
    years = res.by_year()
    wide = years.pivot(index="year", columns="series", values=["p05", "p50", "p95", "mean"])
    wide = wide.swaplevel(0, 1, axis=1)
    series = [s for s in SERIES_LABELS if s in years["series"].unique()]
    series += [s for s in years["series"].unique() if s not in series]
    columns = [(s, stat) for s in series for stat in ("p05", "p50", "p95", "mean")]
    return wide.loc[:, columns]


def series_label(name: str, scenario: Scenario) -> str:
    """Budget-table label of a series (``outcome_payments.county`` -> ``... — County``)."""
    head, _, payer_id = name.partition(".")
    base = SERIES_LABELS.get(head, head)
    if not payer_id:
        return base
    payer = next((p for p in scenario.payers if p.id == payer_id), None)
    return f"{base} — {payer.label or payer.id if payer else payer_id}"


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class InputRow:
    """One scenario value.

    Attributes:
        field: dotted path as ``--set`` takes it (``outcomes.bed_days.effect``).
        value: the fixed value, or the mean of an uncertain one (number or text).
        uncertain: whether the value is a distribution.
        distribution: e.g. ``normal(mean=0.25, sd=0.12)`` (empty when fixed).
        p05: 5th percentile of an uncertain value.
        p95: 95th percentile of an uncertain value.
        kind: ``money`` for amounts, ``number`` or ``text`` otherwise.
    """

    field: str
    value: float | str
    uncertain: bool
    distribution: str
    p05: float | None
    p95: float | None
    kind: Kind


def _is_dist(node: Any) -> bool:
    return isinstance(node, dict) and node.get("dist") in DIST_TYPES


def _item_key(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("id", "name"):
            if isinstance(item.get(key), str):
                return str(item[key])
    return str(index)


_RATE_FIELDS = ("rate", "discount_rate", "max_return", "share", "share_after_repaid")


def input_kind(path: str, scenario: Scenario) -> Kind:
    """``money`` for amounts, ``rate`` for fractions, ``number`` otherwise."""
    parts = path.split(".")
    field = parts[-1]
    if field in _MONEY_FIELDS:
        return "money"
    if field in _RATE_FIELDS:
        return "rate"
    if parts[0] == "outcomes" and len(parts) > 2 and field in ("effect", "bias", "threshold"):
        outcome = next((o for o in scenario.outcomes if o.id == parts[1]), None)
        if outcome is not None and outcome.effect_type == EffectType.relative:
            return "rate"
    return "number"


def _flatten(node: Any, path: str, out: list[InputRow], scenario: Scenario) -> None:
    kind = input_kind(path, scenario)
    if _is_dist(node):
        dist = parse_value(node)
        assert not isinstance(dist, float)
        out.append(
            InputRow(
                path,
                dist.expected(),
                True,
                describe(dist),
                dist.quantile(0.05),
                dist.quantile(0.95),
                kind,
            )
        )
    elif isinstance(node, dict):
        for key, child in node.items():
            _flatten(child, f"{path}.{key}" if path else str(key), out, scenario)
    elif isinstance(node, list):
        if all(isinstance(x, int | float | str) and not isinstance(x, bool) for x in node):
            out.append(
                InputRow(path, ", ".join(str(x) for x in node), False, "", None, None, "text")
            )
        else:
            for i, item in enumerate(node):
                _flatten(item, f"{path}.{_item_key(item, i)}", out, scenario)
    elif isinstance(node, bool):
        out.append(InputRow(path, "yes" if node else "no", False, "", None, None, "text"))
    elif isinstance(node, int | float):
        out.append(InputRow(path, float(node), False, "", None, None, kind))
    elif node is not None:
        out.append(InputRow(path, str(node), False, "", None, None, "text"))


def input_rows(scenario: Scenario) -> list[InputRow]:
    """Every value of the scenario file, defaults included, as dotted-path rows.

    Sources, notes, name and description are left out (reports show them apart).
    """
    data = scenario.to_dict()
    for key in ("name", "description", "sources", "notes"):
        data.pop(key, None)
    rows: list[InputRow] = []
    _flatten(data, "", rows, scenario)
    return rows


def is_tornado(frame: pd.DataFrame) -> bool:
    """Whether a sensitivity table has the shape of ``pfs.analysis`` tornado tables.

    That is one row per (metric, input) with the metric at the input's low and high
    values (columns ``metric``, ``input``, ``at_low``, ``at_high``).
    """
    return {"metric", "input", "at_low", "at_high"} <= set(frame.columns)


def spec_kind(spec: str, scenario: Scenario | None = None) -> Kind:
    """Kind of a metric spec such as ``investor_irr:p50`` or ``p_investor_repaid``."""
    return metric_kind(spec.split(":", 1)[0], scenario)


def uncertain_rows(scenario: Scenario) -> list[InputRow]:
    """The uncertain inputs only (the assumptions that drive the spread of results)."""
    return [r for r in input_rows(scenario) if r.uncertain]


def singular(unit: str) -> str:
    """``bed-days`` -> ``bed-day``, ``successes`` -> ``success`` (plain English plurals)."""
    if unit.endswith("sses"):
        return unit[:-2]
    if unit.endswith("s") and not unit.endswith("ss"):
        return unit[:-1]
    return unit


# ------------------------------------------------------------------ reading
def _payer_names(scenario: Scenario) -> str:
    """``the County``, ``the NYC Department of Correction and the State``..."""
    paying = [p for p in scenario.payers if any(o.payment.payer == p.id for o in scenario.outcomes)]
    names = [p.label or p.id for p in paying]
    if not names:
        return "the government"
    return " and ".join(n if n.lower().startswith("the ") else f"the {n}" for n in names)


def reading(res: Results) -> list[str]:
    """A plain-language reading of the result, one short paragraph per point.

    Every number quoted is one of :meth:`Results.headline` or :meth:`Results.summary`,
    formatted as the report shows it.
    """
    sc = res.scenario
    cur = sc.currency
    h = res.headline()
    s: dict[str, dict[str, float]] = {
        str(k): {str(c): float(v) for c, v in row.items()}
        for k, row in res.summary().to_dict(orient="index").items()
    }
    years = math.ceil(sc.horizon / sc.periods_per_year)

    def m(x: float) -> str:
        return money(x, cur)

    pay = s["outcome_payments"]
    net = s["gov_net_savings_pv"]
    savings = s["gross_savings_pv"]
    paragraphs = [
        f"On average, {_payer_names(sc)} pays {m(pay['mean'])} for outcomes over {years} "
        f"years; in 9 of 10 simulated futures the total lies between {m(pay['p05'])} and "
        f"{m(pay['p95'])}. In a bad case (1 future in 20) one budget year needs "
        f"{m(h['max_annual_outlay_p95'])} or more.",
        f"The programme's true outcomes save the public purse {m(savings['mean'])} in today's "
        f"money on average, so the government comes out {m(abs(net['mean']))} "
        f"{'ahead' if net['mean'] >= 0 else 'behind'} on average. It is worse off in "
        f"{percent(h['p_gov_net_negative'])} of futures.",
    ]
    ffs = h["pfs_vs_ffs_pv_mean"]
    paragraphs.append(
        f"Compared with paying the provider directly (fee-for-service), the Pay for Success "
        f"deal {'saves' if ffs >= 0 else 'costs'} {m(abs(ffs))} more on average in today's "
        f"money{'.' if ffs >= 0 else ': the price of moving the risk of failure to investors.'}"
    )
    irr = (
        f"their median annual return is {percent(h['investor_irr_p50'])}, and one future in "
        f"20 returns less than {percent(h['investor_irr_p05'])}"
        if math.isfinite(h["investor_irr_p50"])
        else "their return is undefined"
    )
    paragraphs.append(
        f"Investors are repaid in full in {percent(h['p_investor_repaid'])} of futures and "
        f"lose principal in {percent(h['p_investor_loss'])}; {irr}."
    )
    paragraphs.append(
        "Payments follow the measured effect; savings follow the true effect. Because the "
        f"evaluation is noisy, the payer pays for an effect that is not really there in "
        f"{percent(h['p_paid_without_true_effect'])} of futures, and a real success goes "
        f"unpaid in {percent(h['p_not_paid_despite_true_effect'])}."
    )
    paragraphs.append(
        f"These figures come from {res.n_paths:,} simulated futures (seed {res.seed}); each "
        "average is given with its Monte Carlo standard error, which shrinks as more "
        "futures are simulated."
    )
    return paragraphs
