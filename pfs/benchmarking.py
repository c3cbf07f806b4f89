"""Where a scenario sits among real impact bonds, on simple ratios.

Stage: analysis of a scenario's structure (no simulation). Three ratios are compared
with summary figures computed from the INDIGO impact bond data set and shipped in
``pfs/data/deal_benchmarks.json`` (figures only, with their source and date; the
data set itself is not part of pfs):

- ``capital_per_participant_usd``: investors' capital per planned participant, in US
  dollars (INDIGO's own USD conversions; a scenario in another currency is converted
  at the median rate implied by INDIGO's conversions of that currency);
- ``max_payment_to_capital``: maximum outcome payments ÷ capital;
- ``term_years``: years of service provision.

:func:`compute_benchmarks` makes the figures from INDIGO projects (used by
``scripts/compute_deal_benchmarks.py``); :func:`benchmark_scenario` places a scenario.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pfs.indigo import INDIGO_HOME, IndigoProject
from pfs.scenario import AmountBasis, PfsError, Rule, Scenario

BENCHMARKS_PATH = Path(__file__).resolve().parent / "data" / "deal_benchmarks.json"
LEVELS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 5%, 10%, ..., 95%
GROUPS = ("all", "US", "GB")
MIN_DEALS = 5  # a group with fewer deals gets no figures

RATIOS: dict[str, dict[str, str]] = {
    "capital_per_participant_usd": {
        "label": "Capital per participant (USD)",
        "kind": "money",
        "definition": "total investment commitment (USD) ÷ targeted number of service users; "
        "projects counting service users in units other than individuals are left out",
    },
    "max_payment_to_capital": {
        "label": "Maximum outcome payment ÷ capital",
        "kind": "multiple",
        "definition": "maximum potential outcome payment ÷ total investment commitment, in "
        "the same currency (USD amounts when the currencies differ); where the project export "
        "gives no maximum payment, the sum of the outcome payers' commitments in the "
        "payment-commitments table (same currency only)",
    },
    "term_years": {
        "label": "Service term (years)",
        "kind": "number",
        "definition": "anticipated duration of service provision, else start to anticipated "
        "end, else actual duration, else start to actual end; in years",
    },
}


# ------------------------------------------------------------ INDIGO side
def _commitment_max(p: IndigoProject, commitments: dict[str, dict[str, float]]) -> float | None:
    """The payers' summed commitments in the capital's currency (blank currency counts)."""
    by_currency = commitments.get(p.id, {})
    if not by_currency or set(by_currency) - {"", p.capital_currency}:
        return None
    return sum(by_currency.values())


def deal_ratios(
    projects: list[IndigoProject], commitments: dict[str, dict[str, float]] | None = None
) -> pd.DataFrame:
    """The three ratios of each INDIGO project (NaN where INDIGO lacks the inputs).

    Used to compute the shipped summary figures; the per-project table itself is
    never stored in pfs.

    Args:
        projects: INDIGO projects.
        commitments: optional payers' commitments per project and currency (see
            :func:`pfs.indigo.read_commitment_totals`), used for the maximum outcome
            payment where the project export leaves it blank.

    Returns:
        One row per project: ``id``, ``country``, ``capital_currency`` and the ratios.
    """
    rows = []
    for p in projects:
        if p.max_payment is None and commitments:
            found = _commitment_max(p, commitments)
            if found is not None:
                p = replace(p, max_payment=found, max_payment_currency=p.capital_currency)
        capital_usd = p.capital_usd if p.capital_usd else p.capital_in("USD")
        per_participant = math.nan
        individuals = p.users_target_unit.strip().lower() != "other"
        if capital_usd and p.users_target and individuals:
            per_participant = capital_usd / p.users_target
        ratio = math.nan
        if p.capital and p.max_payment:
            if p.capital_currency and p.capital_currency == p.max_payment_currency:
                ratio = p.max_payment / p.capital
            elif p.capital_usd and p.max_payment_usd:
                ratio = p.max_payment_usd / p.capital_usd
        months, _ = p.service_months()
        rows.append(
            {
                "id": p.id,
                "country": p.country,
                "capital_currency": p.capital_currency,
                "capital_per_participant_usd": per_participant,
                "max_payment_to_capital": ratio,
                "term_years": months / 12 if months else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _group_figures(values: pd.Series) -> dict[str, Any] | None:
    finite = values.to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size < MIN_DEALS:
        return None
    q = np.quantile(finite, LEVELS)
    return {
        "n": int(finite.size),
        "p25": float(np.quantile(finite, 0.25)),
        "median": float(np.median(finite)),
        "p75": float(np.quantile(finite, 0.75)),
        "levels": list(LEVELS),
        "values": [float(round(v, 6)) for v in q],
    }


def _usd_rates(projects: list[IndigoProject]) -> dict[str, dict[str, float]]:
    """Median USD per unit of each currency implied by INDIGO's own conversions."""
    by_currency: dict[str, list[float]] = {}
    for p in projects:
        for amount, usd, currency in (
            (p.capital, p.capital_usd, p.capital_currency),
            (p.max_payment, p.max_payment_usd, p.max_payment_currency),
        ):
            if amount and usd and currency:
                by_currency.setdefault(currency, []).append(usd / amount)
    return {
        c: {"usd_per_unit": float(round(np.median(r), 6)), "n": len(r)}
        for c, r in sorted(by_currency.items())
    }


def compute_benchmarks(
    projects: list[IndigoProject],
    source: str,
    computed: date | None = None,
    commitments: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Summary figures of the three ratios, overall and for US and UK deals.

    Args:
        projects: INDIGO projects (see :func:`pfs.indigo.read_projects`).
        source: what the projects were read from (recorded in the result).
        computed: the date to record (default: today).
        commitments: payers' commitments, to fill blank maximum payments (see
            :func:`deal_ratios`).

    Returns:
        JSON-ready figures: per ratio and group, the count of deals, P25, median, P75
        and the 5%..95% quantiles; the implied USD rates; source, date and method.
    """
    table = deal_ratios(projects, commitments)
    groups = {
        "all": table,
        "US": table[table["country"] == "US"],
        "GB": table[table["country"] == "GB"],
    }
    ratios: dict[str, Any] = {}
    for name, info in RATIOS.items():
        figures = {}
        for group, frame in groups.items():
            found = _group_figures(frame[name])
            if found is not None:
                figures[group] = found
        ratios[name] = {**info, "groups": figures}
    return {
        "source": source,
        "source_url": INDIGO_HOME,
        "computed": (computed or date.today()).isoformat(),
        "script": "scripts/compute_deal_benchmarks.py",
        "projects_in_file": len(projects),
        "note": "Summary figures only; the INDIGO data are not part of pfs. Groups by the "
        "project's country (US: United States, GB: United Kingdom).",
        "ratios": ratios,
        "usd_per_unit": _usd_rates(projects),
    }


def load_benchmarks(path: str | Path | None = None) -> dict[str, Any]:
    """The shipped summary figures (or those in ``path``).

    Raises:
        PfsError: when the file is missing or not valid JSON.
    """
    path = Path(path) if path is not None else BENCHMARKS_PATH
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PfsError(
            f"{path}: benchmark figures not found (run scripts/compute_deal_benchmarks.py)"
        ) from None
    except (OSError, json.JSONDecodeError) as err:
        raise PfsError(f"{path}: cannot read benchmark figures ({err})") from None
    return data


def benchmark_source(benchmarks: dict[str, Any] | None = None) -> str:
    """One line naming the figures' source and date."""
    data = benchmarks or load_benchmarks()
    return (
        f"Real deals: {data['source']} ({data['source_url']}); figures computed {data['computed']}."
    )


# ------------------------------------------------------------ scenario side
def scenario_capital(sc: Scenario) -> float:
    """Investors' capital: loans and recoverable grants (tranches counted as investors)."""
    return float(sum(t.amount for t in sc.capital.tranches if t.is_investor))


def scenario_participants(sc: Scenario) -> float:
    """Planned participants (cohort sizes before any enrolment shortfall)."""
    return float(sum(c.size for c in sc.program.cohorts))


def scenario_max_payment(sc: Scenario) -> float | None:
    """The most the payers can pay for outcomes, or None when nothing caps it.

    Each payer's limit is the smaller of its ``total_cap`` and the sum of the caps of
    the outcomes it pays for (a tier schedule is capped by its top tier).
    """
    total = 0.0
    participants = scenario_participants(sc)
    for payer in sc.payers:
        outcomes = [o for o in sc.outcomes if o.payment.payer == payer.id]
        if not outcomes:
            continue
        limit: float | None = 0.0
        for o in outcomes:
            pay = o.payment
            cap = pay.cap
            if pay.rule == Rule.tiers and pay.tiers:
                top = max(t.amount for t in pay.tiers)
                if pay.amount_basis == AmountBasis.per_participant:
                    top *= participants
                cap = top if cap is None else min(cap, top)
            limit = None if cap is None or limit is None else limit + cap
        if payer.total_cap is not None:
            limit = payer.total_cap if limit is None else min(limit, payer.total_cap)
        if limit is None:
            return None
        total += limit
    return total


def scenario_term_years(sc: Scenario) -> float:
    """Years of service provision: from the first enrolment to the end of the last cohort."""
    first = min(c.period for c in sc.program.cohorts)
    last = max(c.period for c in sc.program.cohorts) + sc.program.service_periods
    return (last - first) / sc.periods_per_year


def scenario_ratios(sc: Scenario, benchmarks: dict[str, Any] | None = None) -> dict[str, Any]:
    """The three ratios of a scenario (None where they cannot be computed).

    Capital per participant is converted to USD with the INDIGO-implied rate of the
    scenario's currency.
    """
    data = benchmarks or load_benchmarks()
    capital = scenario_capital(sc)
    participants = scenario_participants(sc)
    currency = sc.currency.upper()
    rate = (
        1.0
        if currency == "USD"
        else data.get("usd_per_unit", {}).get(currency, {}).get("usd_per_unit")
    )
    max_payment = scenario_max_payment(sc)
    return {
        "capital_per_participant_usd": capital / participants * rate
        if rate and participants > 0 and capital > 0
        else None,
        "max_payment_to_capital": max_payment / capital
        if max_payment is not None and capital > 0
        else None,
        "term_years": scenario_term_years(sc),
    }


def share_below(value: float, figures: dict[str, Any]) -> float:
    """Approximate share of deals with a smaller ratio (clipped to 5%..95%)."""
    values = np.asarray(figures["values"], dtype=np.float64)
    levels = np.asarray(figures["levels"], dtype=np.float64)
    unique, inverse = np.unique(values, return_inverse=True)
    mean_levels = np.bincount(inverse, weights=levels) / np.bincount(inverse)
    if unique.size == 1:
        return 0.5 if value == unique[0] else (0.05 if value < unique[0] else 0.95)
    return float(np.interp(value, unique, mean_levels))


def _reading(value: float | None, figures: dict[str, Any] | None, why: str) -> str:
    if value is None:
        return why
    if figures is None:
        return "too few real deals with this figure to compare"
    share = share_below(value, figures)
    n = figures["n"]
    if value < figures["values"][0]:
        return f"lower than about 95% of the {n} real deals"
    if value > figures["values"][-1]:
        return f"higher than about 95% of the {n} real deals"
    if abs(share - 0.5) < 0.1:
        return f"close to the middle of the {n} real deals"
    return f"higher than about {share:.0%} of the {n} real deals"


def benchmark_scenario(
    sc: Scenario, group: str = "all", benchmarks: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Where a scenario sits among real deals, ratio by ratio.

    Args:
        sc: the scenario.
        group: ``all``, ``US`` or ``GB`` (deals of that country only).
        benchmarks: figures to compare with (default: the shipped ones).

    Returns:
        Indexed by ratio name: ``label``, ``kind``, ``scenario`` (its value),
        ``p25``, ``median``, ``p75``, ``n`` (deals counted), ``share_below`` and
        ``reading`` (a plain sentence).

    Raises:
        PfsError: for an unknown group.
    """
    data = benchmarks or load_benchmarks()
    if group not in GROUPS:
        raise PfsError(f"unknown benchmark group {group!r} (choose from {', '.join(GROUPS)})")
    values = scenario_ratios(sc, data)
    why = {
        "capital_per_participant_usd": f"no USD rate for {sc.currency} in the benchmark figures"
        if scenario_capital(sc) > 0
        else "the scenario has no investor capital",
        "max_payment_to_capital": "no cap on outcome payments in the scenario"
        if scenario_capital(sc) > 0
        else "the scenario has no investor capital",
        "term_years": "",
    }
    rows = []
    for name, info in RATIOS.items():
        figures = data["ratios"][name]["groups"].get(group)
        value = values[name]
        rows.append(
            {
                "ratio": name,
                "label": info["label"],
                "kind": info["kind"],
                "scenario": math.nan if value is None else float(value),
                "p25": figures["p25"] if figures else math.nan,
                "median": figures["median"] if figures else math.nan,
                "p75": figures["p75"] if figures else math.nan,
                "n": figures["n"] if figures else 0,
                "share_below": share_below(value, figures)
                if figures and value is not None
                else math.nan,
                "reading": _reading(value, figures, why[name]),
            }
        )
    return pd.DataFrame(rows).set_index("ratio")
