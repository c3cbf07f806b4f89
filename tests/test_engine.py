"""Engine invariants: conservation, caps, thresholds, monotonicity, closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

import pfs
from pfs import contracts
from tests.helpers import teaching

TOL = 1e-6


def _conservation(res: pfs.Results) -> None:
    m = res.metrics
    sc = res.scenario
    scale = 1.0 + np.abs(m["outcome_payments"])
    # every unit a payer pays lands in the capital stack or with the provider
    np.testing.assert_allclose(
        m["outcome_payments"],
        m["paid_to_capital"] + m["residual_to_provider"],
        atol=TOL * scale.max(),
    )
    # per-outcome payments add up to the total
    per_outcome = sum(m[f"paid.{o.id}"] for o in sc.outcomes)
    np.testing.assert_allclose(per_outcome, m["outcome_payments"], atol=TOL * scale.max())
    # tranches receive payments, guarantees and returned cash, nothing else
    received = sum(m[f"received.{t.id}"] for t in sc.capital.tranches)
    np.testing.assert_allclose(
        received,
        m["paid_to_capital"] + m["guarantee_paid"] + m["unspent_capital_returned"],
        atol=TOL * scale.max(),
    )
    # what was drawn funded costs or came back unspent; the rest was unfunded
    drawn = sum(m[f"drawn.{t.id}"] for t in sc.capital.tranches)
    np.testing.assert_allclose(
        drawn - m["unspent_capital_returned"],
        m["programme_cost"] - m["unfunded_costs"],
        atol=TOL * (1 + drawn.max()),
    )
    for name in (
        "outcome_payments",
        "guarantee_paid",
        "investor_loss",
        "unfunded_costs",
        "residual_retained",
        "payments_forfeited",
    ):
        assert (m[name] >= -TOL).all(), name
    # payers' caps hold
    for payer in sc.payers:
        idx = [p.id for p in sc.payers].index(payer.id)
        paid = res.periods.payments[idx].astype(np.float64)
        if payer.total_cap is not None:
            assert (paid.sum(axis=1) <= payer.total_cap * (1 + 1e-6) + 1).all()
        if payer.per_period_cap is not None:
            assert (paid <= payer.per_period_cap * (1 + 1e-6) + 1).all()
    for o in sc.outcomes:
        if o.payment.cap is not None:
            assert (m[f"paid.{o.id}"] <= o.payment.cap + TOL).all()
    # guarantees pay only losses, at most their amount
    assert (m["guarantee_paid"] <= sum(g.amount for g in sc.capital.guarantees) + TOL).all()
    loss_before = np.maximum(
        sum(m[f"drawn.{t.id}"] for t in sc.capital.tranches if t.repayable)
        - sum(m[f"received.{t.id}"] for t in sc.capital.tranches if t.repayable)
        + m["guarantee_paid"],
        0,
    )
    assert (m["guarantee_paid"] <= loss_before + TOL * scale.max()).all()


def test_teaching_scenario_conserves_money():
    _conservation(pfs.simulate(teaching(), paths=20_000, seed=2))


def test_no_payment_below_threshold():
    res = pfs.simulate(teaching(), paths=20_000, seed=4)
    sc = res.scenario
    emp = sc.outcome("employment")
    below = res.metrics["measured_effect.employment"] < emp.payment.threshold
    assert below.any()
    assert (res.metrics["paid.employment"][below] == 0).all()


# ---------------------------------------------------------------- property tests
deal = st.fixed_dictionaries(
    {
        "price": st.floats(50, 400),
        "threshold": st.floats(0.0, 0.2),
        "cap": st.one_of(st.none(), st.floats(2e5, 6e6)),
        "total_cap": st.one_of(st.none(), st.floats(1e6, 8e6)),
        "per_period_cap": st.one_of(st.none(), st.floats(3e5, 3e6)),
        "excess": st.sampled_from(["defer", "forfeit"]),
        "residual": st.sampled_from(["retained_by_payer", "provider", "junior"]),
        "draw": st.sampled_from(["as_needed", "upfront"]),
        "senior_rate": st.floats(0.0, 0.1),
        "guarantee": st.floats(0, 3e6),
        "measurement": st.sampled_from(["pooled", "per_cohort"]),
        "rule": st.sampled_from(["rate_card", "share_of_savings", "tiers"]),
    }
)


def _deal_scenario(p: dict) -> pfs.Scenario:
    pay = {
        "outcomes.bed_days.payment.threshold": p["threshold"],
        "outcomes.bed_days.payment.cap": p["cap"],
        "outcomes.bed_days.evaluation.measurement": p["measurement"],
        "payers.county.total_cap": p["total_cap"],
        "payers.county.per_period_cap": p["per_period_cap"],
        "payers.county.excess": p["excess"],
        "capital.residual": p["residual"],
        "capital.draw": p["draw"],
        "capital.tranches.senior.rate": p["senior_rate"],
        "capital.guarantees.foundation.amount": p["guarantee"],
        "horizon": 9,
    }
    if p["rule"] == "rate_card":
        pay["outcomes.bed_days.payment.price_per_unit"] = p["price"]
    elif p["rule"] == "share_of_savings":
        pay["outcomes.bed_days.payment.rule"] = "share_of_savings"
        pay["outcomes.bed_days.payment.price_per_unit"] = None
        pay["outcomes.bed_days.payment.share"] = min(p["price"] / 400, 1.0)
        pay["outcomes.bed_days.payment.share_after_repaid"] = 0.4 * min(p["price"] / 400, 1.0)
    else:
        pay["outcomes.bed_days.payment.rule"] = "tiers"
        pay["outcomes.bed_days.payment.price_per_unit"] = None
        pay["outcomes.bed_days.payment.tiers"] = [
            {"at": p["threshold"] + 0.01, "amount": 1e4 * p["price"]},
            {"at": p["threshold"] + 0.1, "amount": 2e4 * p["price"]},
        ]
    return teaching().with_overrides(pay)


def build_constant_share(p: dict) -> pfs.Scenario:
    """The deal with a share of savings that does not drop once investors are repaid."""
    sc = _deal_scenario(p)
    if p["rule"] == "share_of_savings":
        return sc.with_overrides({"outcomes.bed_days.payment.share_after_repaid": None})
    return sc


@given(deal)
def test_money_is_conserved_on_every_path(p):
    _conservation(pfs.simulate(_deal_scenario(p), paths=400, seed=1))


@given(deal, st.floats(1.05, 3.0))
def test_raising_price_never_raises_investor_losses(p, factor):
    # Without cumulative caps, a dearer rate card never leaves investors with less
    # principal back, in any capital structure. (Their multiple may dip: a 2% junior
    # repaid earlier earns less interest. With a cumulative cap, see
    # test_cumulative_cap_reached_early_can_strand_later_draws.)
    # A share that drops once investors are repaid (Utah) is state-dependent in the
    # same way, so it is held constant here.
    q = dict(p, cap=None, total_cap=None)
    a = pfs.simulate(build_constant_share(q), paths=400, seed=3).metrics
    b = pfs.simulate(build_constant_share(dict(q, price=q["price"] * factor)), paths=400, seed=3)
    assert (b.metrics["investor_loss"] <= a["investor_loss"] + 1e-6).all()
    if q["residual"] != "retained_by_payer":
        assert (b.metrics["outcome_payments"] >= a["outcome_payments"] - 1e-6).all()


def test_cumulative_cap_reached_early_can_strand_later_draws():
    # A dearer price exhausts the outcome cap in year 4 and the payer keeps the surplus;
    # costs drawn in year 5 then have nothing left to repay them. The engine must show
    # this (a real design risk), not hide it.
    p = {
        "price": 162.0,
        "threshold": 0.0,
        "cap": 3466103.0,
        "total_cap": None,
        "per_period_cap": None,
        "excess": "defer",
        "residual": "retained_by_payer",
        "draw": "as_needed",
        "senior_rate": 0.0,
        "guarantee": 0.0,
        "measurement": "per_cohort",
        "rule": "rate_card",
    }
    a = pfs.simulate(_deal_scenario(p), paths=400, seed=3)
    b = pfs.simulate(_deal_scenario(dict(p, price=324.0)), paths=400, seed=3)
    worse = b.metrics["investor_loss"] > a.metrics["investor_loss"] + 1e-6
    assert worse.any()
    i = int(np.flatnonzero(worse)[0])
    assert b.metrics["residual_retained"][i] > 0  # surplus kept in the capped year
    assert b.periods.payments[0][i, 4] == 0 and b.periods.costs[i, 4] > 0


@given(deal, st.floats(1.05, 3.0))
def test_raising_price_never_lowers_investor_irr(p, factor):
    # Investors holding the residual receive every payment, so each period's receipts
    # rise with the price and so does the IRR (with a constant share of savings: see
    # test_raising_price_never_raises_investor_losses). Cumulative caps (per outcome or payer
    # total) are left out: a dearer price exhausts them sooner, moving money between
    # periods; "a cap never raises payments" covers them.
    def single_investor(q: dict) -> pfs.Scenario:
        return build_constant_share(dict(q, total_cap=None, cap=None)).with_overrides(
            {
                "capital.tranches": [{"id": "investor", "amount": 6e6, "rate": q["senior_rate"]}],
                "capital.guarantees": [{"id": "g", "covers": "investor", "amount": q["guarantee"]}],
                "capital.residual": "investor",
            }
        )

    a = pfs.simulate(single_investor(p), paths=400, seed=3).metrics
    b = pfs.simulate(single_investor(dict(p, price=p["price"] * factor)), paths=400, seed=3)
    mb = b.metrics
    assert (mb["investor_moic"] >= a["investor_moic"] - 1e-9).all()
    both = np.isfinite(a["investor_irr"]) & np.isfinite(mb["investor_irr"])
    assert (mb["investor_irr"][both] >= a["investor_irr"][both] - 1e-9).all()


@given(deal, st.floats(1e5, 3e6))
def test_a_cap_never_raises_payments(p, cap):
    uncapped = pfs.simulate(_deal_scenario(dict(p, cap=None)), paths=400, seed=5).metrics
    capped = pfs.simulate(_deal_scenario(dict(p, cap=cap)), paths=400, seed=5).metrics
    assert (capped["paid.bed_days"] <= uncapped["paid.bed_days"] + 1e-6).all()
    assert (capped["outcome_payments"] <= uncapped["outcome_payments"] + 1e-6).all()
    assert (capped["paid.bed_days"] <= cap + 1e-6).all()


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(mean=0.05, se=0.08, threshold=0.0, cap=3000.0),
        dict(mean=0.3, se=0.02, threshold=0.1, cap=1e9),
    ],
)
def test_call_spread_mean_within_three_standard_errors(params):
    tc = contracts.call_spread(**params)
    res = pfs.simulate(tc.scenario, paths=200_000, seed=8)
    row = res.summary().loc["outcome_payments"]
    assert abs(row["mean"] - tc.expected["outcome_payments"]) < 3 * row["std_error"]


@pytest.mark.parametrize(("se", "threshold"), [(0.05, 0.08), (0.03, 0.05), (0.1, 0.05)])
def test_chance_of_paying_for_nothing(se, threshold):
    tc = contracts.zero_effect_trigger(se=se, threshold=threshold)
    res = pfs.simulate(tc.scenario, paths=200_000, seed=9)
    p = tc.expected["p_paid_without_true_effect"]
    assert p == pytest.approx(1 - norm.cdf(threshold / se))
    got = res.summary().loc["p_paid_without_true_effect"]
    assert abs(got["mean"] - p) < 3 * np.sqrt(p * (1 - p) / res.n_paths)


@pytest.mark.parametrize(("rate", "years"), [(0.06, 4), (0.0, 2), (0.12, 7)])
def test_coupon_loan_is_repaid_exactly(rate, years):
    tc = contracts.coupon_loan(rate=rate, years=years)
    m = pfs.simulate(tc.scenario, paths=100, seed=1).metrics
    np.testing.assert_allclose(m["outcome_payments"], tc.expected["outcome_payments"], rtol=1e-12)
    np.testing.assert_allclose(m["investor_irr"], rate, atol=1e-10)
    np.testing.assert_allclose(m["residual_retained"], tc.expected["residual_retained"], rtol=1e-12)


def test_linear_breakeven_effect_repays_principal_exactly():
    tc = contracts.linear_breakeven()
    e = tc.expected["breakeven_effect"]
    m = pfs.simulate(tc.scenario.with_overrides({"outcomes.outcome.effect": e}), paths=10).metrics
    np.testing.assert_allclose(m["investor_moic"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(m["investor_irr"], 0.0, atol=1e-10)


# ------------------------------------------------------------ mechanisms, exactly
def _rikers(**overrides) -> pfs.Scenario:
    base = {
        "outcomes.bed_days.evaluation.standard_error": 0.0,
        "outcomes.bed_days.evaluation.bias": 0.0,
    }
    return pfs.load_scenario(pfs.scenarios_dir() / "nyc_rikers_able.yaml").with_overrides(
        {**base, **overrides}
    )


@pytest.mark.parametrize(
    ("reduction", "paid"),
    [
        (0.10, 9_600_000),
        (0.20, 11_712_000),
        (0.35, 11_712_000),
        (0.084, 0),
        (0.0, 0),
        (-0.05, 0),
        (0.085, 4_800_000),
    ],
)
def test_rikers_published_payments(reduction, paid):
    m = pfs.simulate(_rikers(**{"outcomes.bed_days.effect": reduction}), paths=50).metrics
    np.testing.assert_allclose(m["outcome_payments"], paid, rtol=0, atol=1e-6)


def test_rikers_full_draw_loses_a_quarter_after_guarantee():
    m = pfs.simulate(_rikers(**{"outcomes.bed_days.effect": 0.05}), paths=50).metrics
    np.testing.assert_allclose(m["drawn.goldman"], 9_600_000)
    np.testing.assert_allclose(m["guarantee_paid"], 7_200_000)
    np.testing.assert_allclose(m["investor_loss"], 2_400_000)
    np.testing.assert_allclose(m["investor_moic"], 0.75)


def test_per_period_cap_defers_then_pays():
    sc = teaching().with_overrides(
        {
            "outcomes.bed_days.effect": 0.3,
            "outcomes.employment.effect": 0.0,
            "outcomes.bed_days.evaluation.measurement": "pooled",
            "payers.county.per_period_cap": 1_000_000,
            "payers.county.excess": "defer",
            "capital.residual": "provider",
            "horizon": 10,
        }
    )
    res = pfs.simulate(sc, paths=2000, seed=1)
    pay = res.periods.payments[0].astype(np.float64)
    assert (pay <= 1_000_000 * (1 + 1e-6)).all()
    uncapped = pfs.simulate(
        sc.with_overrides({"payers.county.per_period_cap": None}), paths=2000, seed=1
    )
    np.testing.assert_allclose(
        res.metrics["outcome_payments"] + res.metrics["payments_deferred_unpaid"],
        uncapped.metrics["outcome_payments"],
        rtol=1e-5,
    )
    forfeit = pfs.simulate(
        sc.with_overrides({"payers.county.excess": "forfeit"}), paths=2000, seed=1
    )
    assert (forfeit.metrics["outcome_payments"] <= res.metrics["outcome_payments"] + 1e-6).all()
    assert forfeit.metrics["payments_forfeited"].mean() > 0


def test_share_of_savings_changes_once_investors_are_repaid():
    sc = teaching().with_overrides(
        {
            "outcomes.bed_days.payment.rule": "share_of_savings",
            "outcomes.bed_days.payment.price_per_unit": None,
            "outcomes.bed_days.payment.share": 0.95,
            "outcomes.bed_days.payment.share_after_repaid": 0.4,
            "outcomes.bed_days.effect": 0.5,
            "outcomes.bed_days.evaluation.standard_error": 0.0,
            "outcomes.bed_days.evaluation.measurement": "per_cohort",
            "outcomes.bed_days.payment.cap": None,
            "payers.county.total_cap": None,
            "capital.residual": "provider",
        }
    )
    flat = sc.with_overrides({"outcomes.bed_days.payment.share_after_repaid": None})
    a = pfs.simulate(sc, paths=3000, seed=1).metrics
    b = pfs.simulate(flat, paths=3000, seed=1).metrics
    repaid_early = a["paid.bed_days"] < b["paid.bed_days"] - 1
    assert repaid_early.mean() > 0.5
    assert (a["paid.bed_days"] <= b["paid.bed_days"] + 1e-6).all()


def test_upfront_draw_returns_unspent_cash():
    sc = teaching().with_overrides({"capital.draw": "upfront"})
    m = pfs.simulate(sc, paths=3000, seed=1).metrics
    total = sum(t.amount for t in sc.capital.tranches)
    np.testing.assert_allclose(sum(m[f"drawn.{t.id}"] for t in sc.capital.tranches), total)
    assert (m["unspent_capital_returned"] > 0).mean() > 0.5


def test_government_view_and_fee_for_service():
    res = pfs.simulate(teaching(), paths=5000, seed=1)
    m = res.metrics
    np.testing.assert_allclose(
        m["gov_net_savings_pv"], m["gross_savings_pv"] - m["outcome_payments_pv"]
    )
    np.testing.assert_allclose(
        m["pfs_vs_ffs_pv"], m["gov_net_savings_pv"] - m["ffs_net_savings_pv"], atol=1e-6
    )
    # fee-for-service excludes PFS-only costs (intermediary, evaluation)
    pfs_only = 5 * 100_000 + 3 * 100_000
    assert (m["programme_cost"] > 0).all()
    ffs_cost_nominal = m["gross_savings_pv"] - m["ffs_net_savings_pv"]
    assert (ffs_cost_nominal < m["programme_cost"] - pfs_only * 0.8).all()
    years = res.by_year()
    pay = years[years.series == "outcome_payments"]
    assert len(pay) == 7 and pay["p95"].max() <= 7_000_000
    assert np.isclose(pay["mean"].sum(), m["outcome_payments"].mean(), rtol=1e-4)


def test_summary_has_standard_errors_and_probabilities():
    res = pfs.simulate(teaching(), paths=4000, seed=1)
    s = res.summary()
    for name in (
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
        "true_effect.bed_days",
        "measured_effect.bed_days",
        "paid.bed_days",
        "irr.senior",
        "moic.senior",
        "loss.senior",
        "p_investor_loss",
        "p_investor_repaid",
        "p_gov_net_negative",
        "p_paid_without_true_effect",
        "p_not_paid_despite_true_effect",
    ):
        assert name in s.index, name
        assert np.isfinite(s.loc[name, "std_error"]), name
    std = res.metrics["outcome_payments"].std(ddof=1)
    assert s.loc["outcome_payments", "std_error"] == pytest.approx(std / np.sqrt(4000))
    assert set(res.tranches.index) == {"senior", "junior", "grant"}
    assert res.tranches.loc["senior", "p_loss"] <= res.tranches.loc["junior", "p_loss"]


def test_compare_uses_common_random_numbers():
    sc = teaching()
    cheaper = sc.with_overrides({"outcomes.bed_days.payment.price_per_unit": 150})
    cmp = pfs.compare({"base": sc, "cheaper": cheaper}, paths=4000, seed=3)
    table = cmp.table()
    diff = table.loc["outcome_payments", "cheaper − base"]
    assert diff < 0
    se_paired = table.loc["outcome_payments", "se(cheaper − base)"]
    se_single = cmp["base"].summary().loc["outcome_payments", "std_error"]
    assert se_paired < se_single / 2
    np.testing.assert_array_equal(
        cmp["base"].metrics["true_effect.bed_days"], cmp["cheaper"].metrics["true_effect.bed_days"]
    )


def test_cost_per_outcome_and_due_metrics():
    res = pfs.simulate(teaching(), paths=3000, seed=2)
    m = res.metrics
    costs = res.cost_per_outcome()
    assert set(costs) == {"bed_days", "employment"}
    assert costs["bed_days"] == pytest.approx(
        m["paid.bed_days"].mean() / m["true_units.bed_days"].mean()
    )
    # what the contract owed is never less than what was paid (caps, retention)
    for o in ("bed_days", "employment"):
        assert (m[f"due.{o}"] >= m[f"paid.{o}"] - 1e-6).all()
    # evaluation errors read the contract's decision, not money the payer kept: paths
    # where employment was owed but kept by the County (investors already repaid)
    # are not "not paid despite a true effect"
    kept = (m["due.employment"] > 1) & (m["paid.employment"] < 1)
    kept &= m["true_effect.employment"] >= 0.10
    assert kept.sum() > 50
    flags = res.flags()
    assert not flags["p_not_paid_despite_true_effect.employment"][kept].any()
