"""Deal mechanisms the real presets need, each checked exactly on a small contract.

Pooled-or-per-cohort triggers (Peterborough), blended estimates (Massachusetts),
payment on levels without a comparison group (Utah, Chicago, Denver), outcomes counted
over several periods, guarantees with an attachment point (Rikers), the residual
shared among investors, outcomes split between payers, and deals without investors.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

import pfs
from pfs.engine import run_chunk
from pfs.sampling import Draws
from pfs.scenario import ScenarioError, scenario_from_dict
from tests.test_engine import _conservation

CENT = 0.005
SIZES = (100, 300)  # two cohorts, enrolled in periods 0 and 1
BASELINE, PRICE = 10.0, 40.0


def _data() -> dict[str, Any]:
    """Two cohorts, one outcome measured a period after enrolment and paid a period later."""
    return {
        "name": "mechanism test",
        "horizon": 6,
        "program": {
            "cohorts": [{"period": 0, "size": SIZES[0]}, {"period": 1, "size": SIZES[1]}],
            "cost_per_participant": 1000,
        },
        "outcomes": [
            {
                "id": "days",
                "direction": "decrease",
                "baseline": BASELINE,
                "effect": 0.1,
                "measured_after": 1,
                "value_per_unit": 50.0,
                "savings_to": {"city": 1.0},
                "evaluation": {"standard_error": 0.0, "measurement": "per_cohort"},
                "payment": {
                    "payer": "city",
                    "rule": "rate_card",
                    "price_per_unit": PRICE,
                    "lag": 1,
                },
            }
        ],
        "payers": [{"id": "city", "discount_rate": 0.0}],
        "capital": {
            "tranches": [{"id": "lender", "amount": 400_000}],
            "residual": "retained_by_payer",
        },
    }


def _scenario(overrides: dict[str, Any] | None = None, **edits: Any) -> pfs.Scenario:
    data = _data()
    outcome = data["outcomes"][0]
    for path, value in edits.items():  # edits of the plain data, e.g. payment={...}
        if path == "outcome":
            outcome.update(value)
            continue
        target = outcome if path in ("payment", "evaluation") else data
        target[path] = {**target.get(path, {}), **value} if isinstance(value, dict) else value
    return scenario_from_dict(data).with_overrides(overrides or {})


def _error(data: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    return err.value


# ------------------------------------------------------- per cohort, or pooled
PETERBOROUGH = {"threshold": 0.10, "pooled_threshold": 0.075}


def _trigger_scenario() -> pfs.Scenario:
    return _scenario(
        payment=PETERBOROUGH,
        evaluation={"standard_error": 0.04, "measurement": "per_cohort_or_pooled"},
    )


def _run_with_measured(sc: pfs.Scenario, measured: list[tuple[float, float]]):
    """Run the engine with each cohort's estimate set exactly (true effect 0.1, no bias)."""
    se = pfs.outcomes.group_standard_errors(sc, sc.outcome("days"))[: len(SIZES)]
    z = (np.array(measured) - 0.1) / se[None, :]
    return run_chunk(sc, Draws(start=0, n=len(measured), noise={"days": z}))


def _paid(cohorts: float, effect: float) -> float:
    return cohorts * BASELINE * effect * PRICE


@pytest.mark.parametrize(
    ("cohort_a", "cohort_b", "paid_a", "paid_later"),
    [
        # A clears 10% alone; pooled 7.5% pays the rest of the pooled amount
        (0.12, 0.06, _paid(100, 0.12), _paid(400, 0.075) - _paid(100, 0.12)),
        # Peterborough: no cohort reaches 10%, pooled 9.3% does reach 7.5%
        (0.084, 0.096, 0.0, _paid(400, 0.093)),
        # neither a cohort nor the pool reaches its threshold
        (0.05, 0.08, 0.0, 0.0),
        # both cohorts pay on their own; the pooled amount adds nothing
        (0.20, 0.11, _paid(100, 0.20), _paid(300, 0.11)),
        # A paid alone, the pool misses 7.5%: nothing is clawed back
        (0.20, 0.0, _paid(100, 0.20), 0.0),
    ],
)
def test_per_cohort_or_pooled_trigger(cohort_a, cohort_b, paid_a, paid_later):
    chunk = _run_with_measured(_trigger_scenario(), [(cohort_a, cohort_b)])
    pay = chunk.periods.payments[0, :, 0].astype(np.float64)
    np.testing.assert_allclose(pay[2], paid_a, rtol=1e-6, atol=0.01)  # A's own result
    np.testing.assert_allclose(pay[3], paid_later, rtol=1e-6, atol=0.01)  # B's, then pooled
    np.testing.assert_allclose(chunk.metrics["paid.days"], paid_a + paid_later, atol=CENT)
    pooled = (SIZES[0] * cohort_a + SIZES[1] * cohort_b) / sum(SIZES)
    np.testing.assert_allclose(chunk.metrics["measured_effect.days"], pooled, atol=1e-12)


def test_pooled_estimate_has_the_whole_evaluations_standard_error():
    sc = _trigger_scenario()
    m = pfs.simulate(sc, paths=200_000, seed=3).metrics
    assert np.std(m["measured_effect.days"]) == pytest.approx(0.04, rel=0.01)
    _conservation(pfs.simulate(sc, paths=5000, seed=4))


def test_trigger_lowers_the_threshold_for_paying_without_effect():
    sc = _trigger_scenario().with_overrides({"outcomes.days.effect": 0.08})
    probs = pfs.simulate(sc, paths=2000, seed=1).probabilities()
    assert probs["p_paid_without_true_effect"] == 0.0  # 8% >= the pooled 7.5%
    assert probs["p_not_paid_despite_true_effect"] > 0.2


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            {"evaluation": {"measurement": "per_cohort_or_pooled"}},
            "outcomes[0].payment.pooled_threshold",
            "needs pooled_threshold",
        ),
        (
            {"payment": {"pooled_threshold": 0.05}},
            "outcomes[0].payment.pooled_threshold",
            "only used with",
        ),
        (
            {
                "evaluation": {"measurement": "per_cohort_or_pooled"},
                "payment": {"pooled_threshold": 0.05},
                "periods_counted": 2,
            },
            "outcomes[0].periods_counted",
            "must be 1",
        ),
    ],
)
def test_trigger_validation(edit, field, message):
    data = _data()
    outcome = data["outcomes"][0]
    for key, value in edit.items():
        outcome[key] = {**outcome[key], **value} if isinstance(value, dict) else value
    err = _error(data)
    assert err.field == field and message in err.problem


# ---------------------------------------------------------------- blended estimates
BLEND = {
    "standard_error": 0.05,
    "bias": 0.01,
    "measurement": "pooled",
    "blended_with": [
        {
            "id": "did",
            "design": "difference_in_differences",
            "weight": 0.2,
            "standard_error": 0.08,
            "bias": 0.03,
        }
    ],
    "error_correlation": 0.5,
}


def test_blended_standard_error_and_bias():
    sc = _scenario(evaluation=BLEND)
    var = 0.8**2 * 0.05**2 + 0.2**2 * 0.08**2 + 2 * 0.8 * 0.2 * 0.5 * 0.05 * 0.08
    assert sc.standard_error(sc.outcome("days")) == pytest.approx(math.sqrt(var))
    exact = sc.with_overrides(
        {
            "outcomes.days.evaluation.standard_error": 0.0,
            "outcomes.days.evaluation.blended_with.did.standard_error": 0.0,
        }
    )
    m = pfs.simulate(exact, paths=10).metrics
    np.testing.assert_allclose(m["measured_effect.days"], 0.1 + 0.8 * 0.01 + 0.2 * 0.03)
    m = pfs.simulate(sc, paths=200_000, seed=2).metrics
    assert np.std(m["measured_effect.days"]) == pytest.approx(math.sqrt(var), rel=0.01)
    assert np.mean(m["measured_effect.days"]) == pytest.approx(0.114, abs=0.0005)


def test_blended_bias_can_be_uncertain():
    blend = copy.deepcopy(BLEND)
    blend["blended_with"][0]["bias"] = {"dist": "normal", "mean": 0.0, "sd": 0.05}
    sc = _scenario(evaluation=blend)
    name = "outcomes.days.evaluation.blended_with.did.bias"
    assert name in sc.uncertain_inputs()
    m = pfs.simulate(sc, paths=200_000, seed=5).metrics
    expected = math.sqrt(sc.standard_error(sc.outcome("days")) ** 2 + (0.2 * 0.05) ** 2)
    assert np.std(m["measured_effect.days"]) == pytest.approx(expected, rel=0.01)
    fixed = sc.with_overrides({name: 0.02})
    assert name not in fixed.uncertain_inputs()


@pytest.mark.parametrize(
    ("blended_with", "message"),
    [
        (
            [
                {"id": "a", "weight": 0.6, "standard_error": 0.1},
                {"id": "b", "weight": 0.4, "standard_error": 0.1},
            ],
            "must stay below 1",
        ),
        (
            [
                {"id": "a", "weight": 0.2, "standard_error": 0.1},
                {"id": "a", "weight": 0.2, "standard_error": 0.1},
            ],
            "duplicate id 'a'",
        ),
    ],
)
def test_blend_validation(blended_with, message):
    data = _data()
    data["outcomes"][0]["evaluation"]["blended_with"] = blended_with
    err = _error(data)
    assert err.field == "outcomes[0].evaluation.blended_with" and message in err.problem


# ------------------------------------------------------------- payment on levels
LEVEL = {"basis": "level", "reference_level": 1.0}


@pytest.mark.parametrize(
    ("direction", "effect_type", "baseline", "effect", "reference", "units_per_person"),
    [
        ("decrease", "relative", 0.3, 0.0, 1.0, 0.7),  # Utah: pays with no effect at all
        ("decrease", "relative", 0.3, 0.5, 1.0, 0.85),
        ("decrease", "absolute", 0.3, 0.1, 0.5, 0.3),
        ("increase", "absolute", 0.4, 0.2, None, 0.6),  # Chicago: every ready child counts
        ("increase", "relative", 0.4, 0.5, 0.5, 0.1),
        ("decrease", "relative", 0.3, -1.0, 0.5, 0.0),  # level above reference: nothing
    ],
)
def test_level_basis_pays_on_what_the_group_achieves(
    direction, effect_type, baseline, effect, reference, units_per_person
):
    sc = _scenario(
        outcome={
            "direction": direction,
            "effect_type": effect_type,
            "baseline": baseline,
            "effect": effect,
        },
        payment={"basis": "level", "reference_level": reference},
    )
    m = pfs.simulate(sc, paths=5).metrics
    np.testing.assert_allclose(m["paid.days"], 400 * units_per_person * PRICE, atol=CENT)
    if effect == 0.0:
        on_effect = sc.with_overrides(
            {"outcomes.days.payment.basis": "effect", "outcomes.days.payment.reference_level": None}
        )
        assert (pfs.simulate(on_effect, paths=5).metrics["paid.days"] == 0).all()


def test_level_basis_share_of_savings_uses_value_per_unit():
    sc = _scenario(
        {"outcomes.days.baseline": 0.3, "outcomes.days.effect": 0.0},
        payment={**LEVEL, "rule": "share_of_savings", "price_per_unit": None, "share": 0.95},
    )
    m = pfs.simulate(sc, paths=5).metrics
    np.testing.assert_allclose(m["paid.days"], 400 * 0.7 * 50.0 * 0.95, atol=CENT)


def test_level_basis_shows_paying_without_true_effect():
    sc = _scenario(
        {
            "outcomes.days.baseline": 0.3,
            "outcomes.days.effect": {"dist": "normal", "mean": 0.05, "sd": 0.1},
        },
        payment=LEVEL,
    )
    res = pfs.simulate(sc, paths=20_000, seed=1)
    no_effect = (res.metrics["true_effect.days"] <= 0).mean()
    assert res.probabilities()["p_paid_without_true_effect"] == pytest.approx(no_effect)
    assert no_effect == pytest.approx(0.31, abs=0.02)
    _conservation(res)


def test_threshold_zero_counts_zero_effect_as_no_effect():
    sc = _scenario(
        {"outcomes.days.effect": 0.0}, evaluation={"standard_error": 0.05, "measurement": "pooled"}
    )
    probs = pfs.simulate(sc, paths=20_000, seed=2).probabilities()
    assert probs["p_paid_without_true_effect"] == pytest.approx(0.5, abs=0.02)
    assert probs["p_not_paid_despite_true_effect"] == 0.0


@pytest.mark.parametrize(
    ("payment", "field", "message"),
    [
        ({"basis": "level"}, "outcomes[0].payment.reference_level", "needs reference_level"),
        (
            {"reference_level": 1.0},
            "outcomes[0].payment.reference_level",
            "only used with basis: level",
        ),
        ({**LEVEL, "threshold": 0.05}, "outcomes[0].payment.threshold", "set threshold to 0"),
        (
            {**LEVEL, "pay_on": "above_threshold"},
            "outcomes[0].payment.pay_on",
            "needs basis 'effect'",
        ),
        (
            {**LEVEL, "rule": "tiers", "tiers": [{"at": 0.1, "amount": 1}]},
            "outcomes[0].payment.basis",
            "not tiers",
        ),
    ],
)
def test_level_basis_validation(payment, field, message):
    data = _data()
    data["outcomes"][0]["payment"].update(payment)
    err = _error(data)
    assert err.field == field and message in err.problem


# -------------------------------------------------------- outcomes counted yearly
def test_periods_counted_pays_and_saves_every_counted_period():
    once = _scenario()
    thrice = _scenario({"outcomes.days.periods_counted": 3})
    a = pfs.simulate(once, paths=5)
    b = pfs.simulate(thrice, paths=5)
    np.testing.assert_allclose(b.metrics["paid.days"], 3 * a.metrics["paid.days"], atol=CENT)
    np.testing.assert_allclose(b.metrics["true_units.days"], 3 * a.metrics["true_units.days"])
    cohort_a, cohort_b = _paid(100, 0.1), _paid(300, 0.1)
    pay = b.periods.payments[0, :, 0].astype(np.float64)
    np.testing.assert_allclose(
        pay, [0, 0, cohort_a, cohort_a + cohort_b, cohort_a + cohort_b, cohort_b], rtol=1e-6
    )
    savings = b.periods.savings[0, :, 0].astype(np.float64)
    per_cohort = np.array([100, 300]) * BASELINE * 0.1 * 50.0
    np.testing.assert_allclose(
        savings[1:5], [per_cohort[0], *[per_cohort.sum()] * 2, per_cohort[1]], rtol=1e-6
    )
    _conservation(b)


def test_periods_counted_beyond_the_horizon_is_an_error():
    data = _data()
    data["outcomes"][0]["periods_counted"] = 4
    err = _error(data)
    assert err.field == "outcomes[0].measured_after" and "beyond the horizon" in err.problem


# ------------------------------------------------------- guarantee attachment
@pytest.mark.parametrize(
    ("attachment", "share", "amount", "paid"),
    [
        (0, 1.0, 250_000, 250_000),
        (100_000, 1.0, 1e9, 300_000),
        (100_000, 0.5, 250_000, 150_000),
        (100_000, 0.5, 120_000, 120_000),
        (500_000, 1.0, 1e9, 0),
    ],
)
def test_guarantee_pays_share_of_loss_above_attachment(attachment, share, amount, paid):
    sc = _scenario({"outcomes.days.effect": 0.0})  # nothing paid: the lender loses 400k
    sc = sc.with_overrides(
        {
            "capital.guarantees": [
                {
                    "id": "g",
                    "covers": "lender",
                    "amount": amount,
                    "share": share,
                    "attachment": attachment,
                }
            ]
        }
    )
    res = pfs.simulate(sc, paths=5)
    np.testing.assert_allclose(res.metrics["guarantee_paid"], paid, atol=CENT)
    np.testing.assert_allclose(res.metrics["investor_loss"], 400_000 - paid, atol=CENT)
    _conservation(res)


# ------------------------------------------------------------ residual to investors
def _two_lenders(junior_max_return: float | None = None) -> pfs.Scenario:
    return _scenario(
        {
            "outcomes.days.effect": 0.5,  # pays 400 * 10 * 0.5 * 400 = 800,000 in all
            "outcomes.days.payment.price_per_unit": 400.0,
            "capital.tranches": [
                {"id": "senior", "amount": 300_000, "seniority": 1},
                {
                    "id": "junior",
                    "amount": 100_000,
                    "seniority": 2,
                    "max_return": junior_max_return,
                },
            ],
            "capital.residual": "investors",
        }
    )


def test_residual_shared_among_investors_in_proportion_to_draws():
    res = pfs.simulate(_two_lenders(), paths=5)
    m = res.metrics
    total = 400 * BASELINE * 0.5 * 400.0
    surplus = total - 400_000
    np.testing.assert_allclose(m["received.senior"], 300_000 + 0.75 * surplus, atol=CENT)
    np.testing.assert_allclose(m["received.junior"], 100_000 + 0.25 * surplus, atol=CENT)
    np.testing.assert_allclose(m["residual_retained"], 0.0, atol=CENT)
    _conservation(res)


def test_residual_to_investors_respects_max_return():
    sc = _two_lenders(junior_max_return=0.0)
    m = pfs.simulate(sc, paths=5).metrics
    surplus = 400 * BASELINE * 0.5 * 400.0 - 400_000
    np.testing.assert_allclose(m["received.junior"], 100_000, atol=CENT)
    np.testing.assert_allclose(m["residual_retained"], 0.25 * surplus, atol=CENT)


def test_residual_investors_needs_an_investor():
    data = _data()
    data["capital"] = {
        "tranches": [{"id": "gift", "kind": "grant", "amount": 400_000}],
        "residual": "investors",
    }
    err = _error(data)
    assert err.field == "capital.residual" and "investor tranche" in err.problem


# ----------------------------------------------------------------- payer shares
def _shared(**payer_caps: float) -> pfs.Scenario:
    return _scenario(
        {
            "payers": [
                {"id": "city", "discount_rate": 0.0, "total_cap": payer_caps.get("city")},
                {"id": "state", "discount_rate": 0.0, "total_cap": payer_caps.get("state")},
            ],
            "outcomes.days.payment.payer_shares": {"city": 0.25, "state": 0.75},
            "capital.residual": "provider",
        }
    )


def test_payer_shares_split_each_payment():
    res = pfs.simulate(_shared(), paths=5)
    total = _paid(400, 0.1)
    pay = res.periods.payments.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(pay[:, 0], [0.25 * total, 0.75 * total], rtol=1e-6)
    np.testing.assert_allclose(res.metrics["paid.days"], total, atol=CENT)
    capped = pfs.simulate(_shared(state=1000.0), paths=5)
    np.testing.assert_allclose(capped.metrics["paid.days"], 0.25 * total + 1000.0, atol=CENT)
    _conservation(capped)


@pytest.mark.parametrize(
    ("shares", "field", "message"),
    [
        ({"city": 0.5, "state": 0.4}, "outcomes[0].payment.payer_shares", "add up to 1"),
        (
            {"city": 0.5, "county": 0.5},
            "outcomes[0].payment.payer_shares.county",
            "no payer with id 'county'",
        ),
        ({"state": 1.0}, "outcomes[0].payment.payer_shares", "must include the payer 'city'"),
    ],
)
def test_payer_shares_validation(shares, field, message):
    data = _data()
    data["payers"].append({"id": "state"})
    data["outcomes"][0]["payment"]["payer_shares"] = shares
    err = _error(data)
    assert err.field == field and message in err.problem


# -------------------------------------------------------------- no investors at all
def test_deal_without_investors_has_no_investor_odds():
    sc = _scenario(
        {
            "capital.tranches": [{"id": "gift", "kind": "grant", "amount": 400_000}],
            "capital.residual": "provider",
        }
    )
    res = pfs.simulate(sc, paths=100)
    probs = res.probabilities()
    assert math.isnan(probs["p_investor_repaid"]) and math.isnan(probs["p_investor_loss"])
    assert math.isnan(res.summary().loc["p_investor_repaid", "mean"])
    assert math.isnan(res.headline()["p_investor_repaid"])


# ------------------------------------------------------------------- round trips
def test_every_new_field_round_trips_through_yaml():
    data = _data()
    outcome = data["outcomes"][0]
    outcome["evaluation"] = {**BLEND, "measurement": "per_cohort_or_pooled"}
    outcome["payment"].update(pooled_threshold=0.05, payer_shares={"city": 0.5, "state": 0.5})
    data["payers"].append({"id": "state"})
    level = copy.deepcopy(outcome)
    level.update(id="level", periods_counted=2, evaluation={"standard_error": 0.0})
    level["payment"] = {"payer": "city", "rule": "rate_card", "price_per_unit": 1.0, **LEVEL}
    data["outcomes"].append(level)
    data["capital"].update(
        residual="investors",
        guarantees=[{"id": "g", "covers": "lender", "amount": 1.0, "attachment": 2.0}],
    )
    sc = scenario_from_dict(data)
    again = pfs.parse_scenario_text(sc.to_yaml())
    assert again == sc and again.canonical() == sc.canonical()
    _conservation(pfs.simulate(sc, paths=2000, seed=1))
