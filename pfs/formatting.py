"""Human formatting of money, rates and metric names (shared by the CLI and reports)."""

from __future__ import annotations

import math
from typing import Any, Literal

CURRENCY_SYMBOLS = {
    "USD": "$",
    "GBP": "£",
    "EUR": "€",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "INR": "₹",
}


def currency_symbol(currency: str) -> str:
    """What is written before amounts of ``currency``: ``$``, ``£``, or ``CHF `` (code)."""
    return CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")


METRIC_LABELS = {
    "outcome_payments": "Outcome payments (nominal)",
    "outcome_payments_pv": "Outcome payments (PV)",
    "gross_savings_pv": "Public savings (PV)",
    "gov_net_savings_pv": "Government net savings (PV)",
    "ffs_net_savings_pv": "Net savings if fee-for-service (PV)",
    "pfs_vs_ffs_pv": "PFS advantage over fee-for-service (PV)",
    "investor_irr": "Investor IRR (annual)",
    "investor_moic": "Investor multiple",
    "investor_loss": "Investor principal lost",
    "guarantee_paid": "Guarantee paid",
    "max_annual_outlay": "Largest outlay in one budget year",
    "programme_cost": "Programme cost",
    "unfunded_costs": "Costs the capital could not fund",
    "p_investor_repaid": "Chance investors are repaid in full",
    "p_investor_loss": "Chance investors lose principal",
    "p_gov_net_negative": "Chance government net savings are negative",
    "p_paid_without_true_effect": "Chance of paying though the true effect is below threshold",
    "p_not_paid_despite_true_effect": "Chance of not paying though the true effect meets it",
}

RATE_METRICS = ("investor_irr", "irr.", "true_effect.", "measured_effect.")
RATIO_METRICS = ("investor_moic", "moic.")
COUNT_METRICS = ("true_units.",)


def money(value: float, currency: str = "USD") -> str:
    """``4_061_053`` -> ``$4.06M``; negative values keep their sign."""
    if value is None or not math.isfinite(value):
        return "–"
    symbol = currency_symbol(currency)
    sign = "-" if value < 0 else ""
    v = abs(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{sign}{symbol}{v / size:.2f}{suffix}"
    return f"{sign}{symbol}{v:,.0f}"


def percent(value: float, digits: int = 1) -> str:
    """``0.0523`` -> ``5.2%`` (never ``-0.0%``)."""
    if value is None or not math.isfinite(value):
        return "–"
    shown = round(100 * value, digits) + 0.0
    return f"{shown:.{digits}f}%"


def metric_label(name: str) -> str:
    """Plain-language label for a metric name."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    head, _, tail = name.partition(".")
    base = METRIC_LABELS.get(head)
    return f"{base} — {tail}" if base else name


def metric_value(name: str, value: float, currency: str = "USD", precise: bool = False) -> str:
    """Format a metric's value according to what it measures (``precise``: more digits)."""
    if name.startswith(("p_", *RATE_METRICS)):
        return percent(value, 2 if precise else 1)
    if name.startswith(RATIO_METRICS):
        return "–" if not math.isfinite(value) else f"{value:.2f}×"
    if name.startswith(COUNT_METRICS):
        return "–" if not math.isfinite(value) else f"{value:,.0f}"
    return money(value, currency)


Kind = Literal["money", "share", "rate", "multiple", "count", "number", "text"]


def format_value(value: Any, kind: Kind, currency: str = "USD", precise: bool = False) -> str:
    """A number as a person reads it (``$4.07M``, ``64.7%``, ``1.05×``)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "text":
        return str(value)
    number = float(value)
    if kind == "money":
        return money(number, currency)
    if kind in ("share", "rate"):
        return percent(number, 2 if precise else 1)
    if kind == "multiple":
        return f"{number:.{3 if precise else 2}f}×"
    if kind == "count":
        return f"{number:,.0f}"
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:.3g}"
