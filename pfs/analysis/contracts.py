"""Test contracts of the analyses: small deals whose analysis answers are known exactly.

Like :mod:`pfs.contracts` (SALib's test functions, for PFS), each builder returns a
:class:`~pfs.contracts.TestContract` with the scenario and the exact answers; tests
check the analyses against them and benchmarks can run them.
"""

from __future__ import annotations

from typing import Any

from scipy.optimize import brentq
from scipy.stats import norm

from pfs.contracts import TestContract, expected_call, linear_breakeven
from pfs.scenario import scenario_from_dict


def _deal(outcomes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "analysis test contract",
        "horizon": 1,
        "program": {"cohorts": [{"period": 0, "size": 1000.0}], "cost_per_participant": 0.0},
        "outcomes": outcomes,
        "payers": [{"id": "payer", "discount_rate": 0.0}],
        "capital": {"tranches": [{"id": "investor", "amount": 0.0}], "residual": "provider"},
    }
    data.update(extra)
    return data


def additive_sobol(
    price_a: float = 100.0,
    price_b: float = 300.0,
    effect_a: tuple[float, float] = (0.3, 0.7),
    effect_b: tuple[float, float] = (0.2, 0.4),
    se_a: float = 0.05,
    se_b: float = 0.03,
    participants: float = 1000.0,
) -> TestContract:
    """Outcome payments linear in four independent factors: Sobol' indices known.

    Two outcomes with absolute effects ``X_a ~ U(effect_a)``, ``X_b ~ U(effect_b)``,
    pooled evaluations with standard errors ``se_a``, ``se_b`` and rate cards with no
    threshold or cap, paid to the provider: ``outcome_payments = k_a (X_a + se_a Z_a)
    + k_b (X_b + se_b Z_b)`` with ``k = price * participants`` (measured effects stay
    positive: the lowest effect is six standard errors above zero). Outcome ``a``'s
    baseline is uncertain but inert (absolute effects do not use it).

    First-order and total indices are equal: ``V_i / sum(V)`` with
    ``V = k_a^2 Var(X_a), k_a^2 se_a^2, k_b^2 Var(X_b), k_b^2 se_b^2`` and 0 for the
    baseline. ``expected`` maps ``S.<factor>`` to each index.
    """
    k_a, k_b = price_a * participants, price_b * participants
    parts = {
        "outcomes.a.effect": k_a**2 * (effect_a[1] - effect_a[0]) ** 2 / 12,
        "outcomes.a.evaluation.noise": (k_a * se_a) ** 2,
        "outcomes.b.effect": k_b**2 * (effect_b[1] - effect_b[0]) ** 2 / 12,
        "outcomes.b.evaluation.noise": (k_b * se_b) ** 2,
        "outcomes.a.baseline": 0.0,
    }
    total = sum(parts.values())

    def outcome(oid: str, effect: tuple[float, float], se: float, price: float) -> dict[str, Any]:
        return {
            "id": oid,
            "baseline": {"dist": "uniform", "low": 1.0, "high": 2.0} if oid == "a" else 1.0,
            "effect": {"dist": "uniform", "low": effect[0], "high": effect[1]},
            "effect_type": "absolute",
            "measured_after": 0,
            "evaluation": {"standard_error": se},
            "payment": {"payer": "payer", "rule": "rate_card", "price_per_unit": price, "lag": 0},
        }

    data = _deal(
        [outcome("a", effect_a, se_a, price_a), outcome("b", effect_b, se_b, price_b)],
        program={"cohorts": [{"period": 0, "size": participants}], "cost_per_participant": 0.0},
    )
    return TestContract(
        "additive_sobol",
        scenario_from_dict(data),
        {f"S.{name}": v / total for name, v in parts.items()},
        "S1_i = ST_i = V_i / ΣV, V = k² Var(X) for each effect and k² se² for each noise",
    )


def capped_savings(
    price_per_unit: float = 150.0,
    value_per_unit: float = 100.0,
    cap: float = 30_000.0,
    participants: float = 1000.0,
    mean_effect: float = 0.25,
    sd_effect: float = 0.10,
    standard_error: float = 0.05,
) -> TestContract:
    """Government net savings ``v n e - min(p n M+, cap)``: break-even known.

    A relative effect on a baseline of 1 unit per participant, savings ``v`` per unit
    to the payer, a rate card at ``p > v`` per measured unit capped at ``cap``, no
    discounting. Without noise, net savings are negative until the cap binds and
    cross zero at ``e* = cap / (v n)`` (``deterministic_breakeven``). With the
    effect ``~ N(mu, sd)`` and measurement ``M = e + se Z``, ``E[net] = v n mu - k
    [C(0) - C(cap / k)]`` with ``k = p n`` and ``C`` the normal call on ``M ~ N(mu,
    sqrt(sd² + se²))``; ``expected_breakeven`` is the ``mu`` where that is zero.
    """
    k = price_per_unit * participants
    total_sd = (sd_effect**2 + standard_error**2) ** 0.5

    def expected_net(mu: float) -> float:
        paid = k * (expected_call(mu, total_sd, 0.0) - expected_call(mu, total_sd, cap / k))
        return value_per_unit * participants * mu - paid

    expected_root = float(brentq(expected_net, cap / k, 10 * cap / k, xtol=1e-12))
    data = _deal(
        [
            {
                "id": "outcome",
                "baseline": 1.0,
                "effect": {"dist": "normal", "mean": mean_effect, "sd": sd_effect},
                "measured_after": 0,
                "value_per_unit": value_per_unit,
                "savings_to": {"payer": 1.0},
                "evaluation": {"standard_error": standard_error},
                "payment": {
                    "payer": "payer",
                    "rule": "rate_card",
                    "price_per_unit": price_per_unit,
                    "cap": cap,
                    "lag": 0,
                },
            }
        ],
        program={"cohorts": [{"period": 0, "size": participants}], "cost_per_participant": 0.0},
    )
    return TestContract(
        "capped_savings",
        scenario_from_dict(data),
        {
            "deterministic_breakeven": cap / (value_per_unit * participants),
            "expected_breakeven": expected_root,
        },
        "e* = cap / (v n); E[net](mu) = v n mu - k[C(0) - C(cap/k)] = 0",
    )


def noisy_linear(
    standard_error: float = 0.1,
    effect: float = 0.6,
    target_irr: float = 0.05,
    target_repaid: float = 0.8,
    cost: float = 1_000_000.0,
    price_per_unit: float = 50.0,
    participants: float = 1000.0,
    baseline: float = 40.0,
) -> TestContract:
    """:func:`pfs.contracts.linear_breakeven` measured with noise: IRR = k M+ / cost - 1.

    One period from the investor's draw to the payment ``k max(M, 0)`` with ``k =
    price * participants * baseline`` and ``M ~ N(e, se)``, so ``E[IRR] = k C(e) /
    cost - 1`` and ``P(repaid) = 1 - Phi((cost / k - e) / se)``. Known answers:

    - ``expected_breakeven``: the mean effect ``e`` with ``E[IRR] = 0``;
    - ``price_for_target_irr``: the price with ``E[IRR] = target_irr`` at ``effect``;
    - ``price_for_target_repaid``: the price with ``P(repaid) = target_repaid``.
    """
    base = linear_breakeven(cost, price_per_unit, participants, baseline).scenario
    sc = base.with_overrides(
        {
            "outcomes.outcome.effect": effect,
            "outcomes.outcome.evaluation.standard_error": standard_error,
        }
    )
    k = price_per_unit * participants * baseline
    per_price = participants * baseline
    root = float(
        brentq(
            lambda e: k * expected_call(e, standard_error, 0.0) / cost - 1, -1.0, 2.0, xtol=1e-13
        )
    )
    price_irr = cost * (1 + target_irr) / (per_price * expected_call(effect, standard_error, 0.0))
    level = effect + standard_error * float(norm.ppf(1 - target_repaid))
    return TestContract(
        "noisy_linear",
        sc,
        {
            "expected_breakeven": root,
            "price_for_target_irr": price_irr,
            "price_for_target_repaid": cost / (per_price * level),
        },
        "E[IRR] = k C(e) / cost - 1; P(repaid) = 1 - Φ((cost/k - e)/se)",
    )


ALL = (additive_sobol, capped_savings, noisy_linear)


__all__ = ["ALL", "additive_sobol", "capped_savings", "noisy_linear"]
