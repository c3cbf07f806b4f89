"""Test contracts: small deals with closed-form answers (SALib's test functions, for PFS).

Each builder returns a :class:`TestContract`: a scenario and the exact values a
correct engine must reproduce (in expectation, within Monte Carlo error, or exactly).
Tests and benchmarks use them; users can read them as worked examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scipy.stats import norm

from pfs.scenario import Scenario, scenario_from_dict


@dataclass(frozen=True)
class TestContract:
    """A scenario with known answers.

    Attributes:
        name: short name.
        scenario: the deal.
        expected: metric or quantity name -> exact value.
        formula: the closed form, in words.
    """

    __test__ = False  # not a pytest test class

    name: str
    scenario: Scenario
    expected: dict[str, float] = field(default_factory=dict)
    formula: str = ""


def _one_outcome_deal(
    *,
    effect: Any,
    standard_error: float,
    payment: dict[str, Any],
    participants: float = 1000.0,
    horizon: int = 1,
    measured_after: int = 0,
    cost: float = 0.0,
    tranche: dict[str, Any] | None = None,
    residual: str = "provider",
    value_per_unit: float = 0.0,
) -> dict[str, Any]:
    return {
        "name": "test contract",
        "horizon": horizon,
        "program": {"cohorts": [{"period": 0, "size": participants}], "cost_per_participant": cost},
        "outcomes": [
            {
                "id": "outcome",
                "baseline": 1.0,
                "effect": effect,
                "measured_after": measured_after,
                "value_per_unit": value_per_unit,
                "savings_to": {"payer": 1.0},
                "evaluation": {"standard_error": standard_error},
                "payment": {"payer": "payer", "lag": 0, **payment},
            }
        ],
        "payers": [{"id": "payer", "discount_rate": 0.0}],
        "capital": {
            "tranches": [tranche or {"id": "investor", "amount": 0.0}],
            "residual": residual,
        },
    }


def expected_call(mean: float, se: float, strike: float) -> float:
    """E[max(M - strike, 0)] for M ~ Normal(mean, se)."""
    if se == 0:
        return max(mean - strike, 0.0)
    d = (mean - strike) / se
    return (mean - strike) * float(norm.cdf(d)) + se * float(norm.pdf(d))


def call_spread(
    mean: float = 0.12,
    se: float = 0.05,
    threshold: float = 0.05,
    price_per_unit: float = 100.0,
    cap: float = 6000.0,
    participants: float = 1000.0,
) -> TestContract:
    """Capped linear payment on units above the threshold: a call spread.

    The measured effect is ``M ~ N(mean, se)``; units are ``participants * M``; the
    payer pays ``price * participants * max(M - threshold, 0)``, capped at ``cap``:
    ``k [C(threshold) - C(threshold + cap / k)]`` with ``k = price * participants`` and
    ``C(K) = E[max(M - K, 0)]``.
    """
    k = price_per_unit * participants
    upper = threshold + cap / k
    expected = k * (expected_call(mean, se, threshold) - expected_call(mean, se, upper))
    sc = scenario_from_dict(
        _one_outcome_deal(
            effect=mean,
            standard_error=se,
            participants=participants,
            payment={
                "rule": "rate_card",
                "price_per_unit": price_per_unit,
                "pay_on": "above_threshold",
                "threshold": threshold,
                "cap": cap,
            },
        )
    )
    return TestContract(
        "call_spread",
        sc,
        {"outcome_payments": expected},
        "k[C(thr) - C(thr + cap/k)], C(K) = (m-K)Φ((m-K)/se) + se φ((m-K)/se)",
    )


def zero_effect_trigger(se: float = 0.05, threshold: float = 0.08) -> TestContract:
    """A programme with no true effect is still paid when noise clears the threshold.

    P(paid) = P(M >= threshold) with ``M ~ N(0, se)`` = ``1 - Φ(threshold / se)``.
    """
    sc = scenario_from_dict(
        _one_outcome_deal(
            effect=0.0,
            standard_error=se,
            payment={"rule": "rate_card", "price_per_unit": 10.0, "threshold": threshold},
        )
    )
    p = 1.0 - float(norm.cdf(threshold / se))
    return TestContract(
        "zero_effect_trigger", sc, {"p_paid_without_true_effect": p}, "1 - Φ(threshold / se)"
    )


def coupon_loan(rate: float = 0.06, years: int = 4, cost: float = 1_000_000.0) -> TestContract:
    """A loan repaid once, with its coupon, by a payment larger than what is owed.

    The loan funds ``cost`` in period 0; the outcome (fixed, no noise) is paid in
    period ``years``; the rate card would pay twice the debt, but the residual stays
    with the payer. So the payer pays exactly ``cost (1 + rate)^years`` and the
    investor's IRR is exactly ``rate``.
    """
    owed = cost * (1 + rate) ** years
    sc = scenario_from_dict(
        _one_outcome_deal(
            effect=0.2,
            standard_error=0.0,
            participants=100.0,
            horizon=years + 1,
            measured_after=years,
            cost=cost / 100.0,
            payment={"rule": "rate_card", "price_per_unit": 2 * owed / (100.0 * 0.2)},
            tranche={"id": "investor", "amount": cost, "rate": rate},
            residual="retained_by_payer",
        )
    )
    return TestContract(
        "coupon_loan",
        sc,
        {"outcome_payments": owed, "investor_irr": rate, "residual_retained": owed},
        "payment = cost (1+r)^T; IRR = r",
    )


def linear_breakeven(
    cost: float = 1_000_000.0,
    price_per_unit: float = 50.0,
    participants: float = 1000.0,
    baseline: float = 40.0,
) -> TestContract:
    """Investors get their money back when ``price * participants * baseline * e = cost``.

    Break-even true effect (no noise, no coupon): ``e* = cost / (price * n * baseline)``.
    """
    data = _one_outcome_deal(
        effect=0.1,
        standard_error=0.0,
        participants=participants,
        horizon=2,
        measured_after=1,
        cost=cost / participants,
        payment={"rule": "rate_card", "price_per_unit": price_per_unit},
        tranche={"id": "investor", "amount": cost},
        residual="investor",
    )
    data["outcomes"][0]["baseline"] = baseline
    sc = scenario_from_dict(data)
    return TestContract(
        "linear_breakeven",
        sc,
        {"breakeven_effect": cost / (price_per_unit * participants * baseline)},
        "e* = cost / (price × participants × baseline)",
    )


ALL = (call_spread, zero_effect_trigger, coupon_loan, linear_breakeven)


def all_contracts() -> list[TestContract]:
    """Every test contract with its default parameters."""
    return [build() for build in ALL]
