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
            assert (paid.sum(axis=0) <= payer.total_cap * (1 + 1e-6) + 1).all()
        if payer.per_period_cap is not None:
            assert (paid <= payer.per_period_cap * (1 + 1e-6) + 1).all()
    for o in sc.outcomes:
        if o.payment.cap is not None:
            assert (m[f"paid.{o.id}"] <= o.payment.cap + TOL).all()
    # guarantees pay only a covered tranche's own principal loss, at most their amounts
    for t in sc.capital.tranches:
        covering = [g for g in sc.capital.guarantees if g.covers == t.id]
        if not covering:
            continue
        paid_g = m[f"guarantee_paid.{t.id}"]
        assert (paid_g <= sum(g.amount for g in covering) + TOL).all()
        loss_before = np.maximum(m[f"drawn.{t.id}"] - (m[f"received.{t.id}"] - paid_g), 0.0)
        assert (paid_g <= loss_before + TOL * scale.max()).all()
    # what the contracts owed was paid, kept by the payer, forfeited or is still deferred
    owed = sum(m[f"due.{o.id}"] for o in sc.outcomes)
    accounted = (
        m["outcome_payments"]
        + m["residual_retained"]
        + m["payments_forfeited"]
        + m["payments_deferred_unpaid"]
    )
    np.testing.assert_allclose(owed, accounted, atol=1e-6 * (1 + owed.max()))
    # no tranche draws more than it committed
    for t in sc.capital.tranches:
        assert (m[f"drawn.{t.id}"] <= t.amount * (1 + 1e-12) + TOL).all(), t.id


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
    # this (a real design risk), not hide it. Deterministic: fixed effects, no noise.
    p = {"price": 150.0, "threshold": 0.0, "cap": 4.3e6, "total_cap": None,
         "per_period_cap": None, "excess": "defer", "residual": "retained_by_payer",
         "draw": "as_needed", "senior_rate": 0.0, "guarantee": 0.0,
         "measurement": "per_cohort", "rule": "rate_card"}  # fmt: skip
    fixed = {
        "outcomes.bed_days.effect": 0.3,
        "outcomes.bed_days.baseline": 120,
        "outcomes.bed_days.evaluation.sample_size": None,
        "outcomes.bed_days.evaluation.control_size": None,
        "outcomes.bed_days.evaluation.outcome_sd": None,
        "outcomes.bed_days.evaluation.standard_error": 0.0,
        "outcomes.employment.effect": 0.0,
        "outcomes.employment.evaluation.bias": 0.0,
        "outcomes.employment.evaluation.standard_error": 0.0,
        "program.enrollment_factor": 1.0,
        "program.cost_per_participant": 4000,
    }
    a = pfs.simulate(_deal_scenario(p).with_overrides(fixed), paths=5, seed=3)
    b = pfs.simulate(_deal_scenario(dict(p, price=450.0)).with_overrides(fixed), paths=5, seed=3)
    # cheap: 1.62M a year for three years, capped at 4.3M, repays what was drawn over
    # time; dear: 4.3M at once, more than owed then (the payer keeps the surplus), and
    # what is drawn the year after is never repaid
    assert (a.metrics["residual_retained"] == 0).all()
    assert (b.metrics["residual_retained"] > 50_000).all()
    assert (b.metrics["investor_loss"] > a.metrics["investor_loss"] + 1_000).all()
    assert b.periods.payments[0][4, 0] == 0 and b.periods.costs[4, 0] > 0


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
    assert (capped["due.bed_days"] <= uncapped["due.bed_days"] + 1e-6).all()
    if p["residual"] != "retained_by_payer":
        # When the payer keeps what investors are not owed, capping one outcome can
        # delay repayment: more coupon accrues and a later payment of another outcome
        # that would have been kept is paid instead, so only the capped outcome's own
        # payments are monotone there.
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
        m["gov_net_savings_pv"],
        m["gross_savings_pv"] - m["outcome_payments_pv"] - m["unfunded_costs_pv"],
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


def _small_deal(**overrides) -> pfs.Scenario:
    data = {
        "name": "small",
        "horizon": 4,
        "program": {"cohorts": [{"period": 0, "size": 400}], "cost_per_participant": 1000},
        "outcomes": [
            {
                "id": "o",
                "baseline": 1.0,
                "effect": 0.5,
                "measured_after": 1,
                "value_per_unit": 2000,
                "savings_to": {"city": 1.0},
                "evaluation": {"standard_error": 0.0},
                "payment": {"payer": "city", "rule": "rate_card", "price_per_unit": 2500},
            }
        ],
        "payers": [{"id": "city", "discount_rate": 0.0}, {"id": "state", "discount_rate": 0.1}],
        "capital": {"tranches": [{"id": "lender", "amount": 400_000}], "residual": "provider"},
    }
    return pfs.scenario_from_dict(data).with_overrides(overrides)


def test_costs_the_capital_cannot_fund_are_charged_to_government():
    full = pfs.simulate(_small_deal(), paths=10).metrics
    short = pfs.simulate(_small_deal(**{"capital.tranches.lender.amount": 200_000}), paths=10)
    m = short.metrics
    np.testing.assert_allclose(m["unfunded_costs"], 200_000)
    np.testing.assert_allclose(m["unfunded_costs_pv"], 200_000)  # lead payer at 0%
    # the same outcomes and payments, so PFS is worse by exactly the top-up
    np.testing.assert_allclose(m["pfs_vs_ffs_pv"], full["pfs_vs_ffs_pv"] - 200_000)
    np.testing.assert_allclose(m["gov_net_savings_pv"], full["gov_net_savings_pv"] - 200_000)


def test_fee_for_service_discounted_at_the_lead_payer_rate_whatever_the_order():
    sc = _small_deal(**{"horizon": 6, "program.cohorts.0.period": 2})
    swapped = sc.with_overrides({"payers": list(reversed(sc.to_dict()["payers"]))})
    a = pfs.simulate(sc, paths=10).metrics
    b = pfs.simulate(swapped, paths=10).metrics
    np.testing.assert_allclose(a["pfs_vs_ffs_pv"], b["pfs_vs_ffs_pv"])
    state = sc.with_overrides({"lead_payer": "state"})
    c = pfs.simulate(state, paths=10).metrics
    np.testing.assert_allclose(c["programme_cost_pv"], 400_000 / 1.1**2)


def test_share_switches_within_the_period_investors_are_repaid():
    # 400 participants, savings of 2000 x 0.5 = 1000 each = 400k in each of 3 periods
    # counted; 95% until the 250k loan is repaid, then 40%: 250k + (400k - 250k/0.95) x 0.4
    sc = _small_deal(
        **{
            "horizon": 5,
            "outcomes.o.periods_counted": 3,
            "outcomes.o.payment.rule": "share_of_savings",
            "outcomes.o.payment.price_per_unit": None,
            "outcomes.o.payment.share": 0.95,
            "outcomes.o.payment.share_after_repaid": 0.4,
            "capital.tranches.lender.amount": 400_000,
            "program.cost_per_participant": 625,
            "capital.residual": "investors",
        }
    )
    res = pfs.simulate(sc, paths=5)
    pay = res.periods.payments[0][:, 0].astype(np.float64)
    first = 250_000 + (400_000 - 250_000 / 0.95) * 0.4
    np.testing.assert_allclose(pay[1:4], [first, 160_000, 160_000], rtol=1e-6)


def test_interpolated_tiers_threshold_is_the_last_zero_tier():
    sc = contracts.call_spread().scenario.with_overrides(
        {
            "outcomes.outcome.payment.rule": "tiers",
            "outcomes.outcome.payment.price_per_unit": None,
            "outcomes.outcome.payment.pay_on": "all",
            "outcomes.outcome.payment.cap": None,
            "outcomes.outcome.payment.threshold": 0.0,
            "outcomes.outcome.payment.interpolate": True,
            "outcomes.outcome.payment.tiers": [
                {"at": 0.05, "amount": 0},
                {"at": 0.15, "amount": 1000},
            ],
            "outcomes.outcome.effect": 0.10,
            "outcomes.outcome.evaluation.standard_error": 0.0,
        }
    )
    res = pfs.simulate(sc, paths=10)
    np.testing.assert_allclose(res.metrics["outcome_payments"], 500)
    assert res.probabilities()["p_paid_without_true_effect"] == 0.0


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        (
            {
                "capital.tranches": [
                    {"id": "gift", "kind": "grant", "amount": 1e5},
                    {"id": "lender", "amount": 4e5},
                ],
                "capital.guarantees": [{"id": "g", "covers": "gift", "amount": 1e5}],
            },
            "capital.guarantees[0].covers",
            "no loss to guarantee",
        ),
        (
            {
                "capital.tranches": [{"id": "lender", "amount": 4e5}, {"id": "zero", "amount": 0}],
                "capital.residual": "zero",
            },
            "capital.residual",
            "commits no capital",
        ),
        ({"program.service_periods": 9}, "program.service_periods", "beyond the horizon"),
        (
            {
                "capital.tranches": [{"id": "gift", "kind": "grant", "amount": 4e5}],
                "outcomes.o.payment.rule": "share_of_savings",
                "outcomes.o.payment.price_per_unit": None,
                "outcomes.o.payment.share": 0.9,
                "outcomes.o.payment.share_after_repaid": 0.4,
            },
            "outcomes[0].payment.share_after_repaid",
            "needs an investor tranche",
        ),
        ({"lead_payer": "county"}, "lead_payer", "no payer with id 'county'"),
    ],
)
def test_nonsense_structures_are_rejected(overrides, field, problem):
    with pytest.raises(pfs.ScenarioError) as err:
        _small_deal(**overrides)
    assert err.value.field == field
    assert problem in err.value.problem


def test_simulate_uses_small_pages_and_restores_numpys_setting(monkeypatch):
    from pfs import engine

    switch = engine._HUGEPAGE_SWITCH
    if switch is None:
        pytest.skip("this NumPy has no huge-page switch")
    seen = []
    original = engine.run_chunk

    def spy(sc, draws):
        state = switch(False)  # returns the setting in force, then we put it back
        switch(state)
        seen.append(state)
        return original(sc, draws)

    monkeypatch.setattr(engine, "run_chunk", spy)
    before = switch(True)
    try:
        pfs.simulate(teaching(), paths=300, seed=1, chunk_size=100)
        assert seen == [False, False, False]  # every chunk ran with ordinary pages
        assert switch(True) is True  # and the caller's setting is back
        switch(False)
        pfs.simulate(teaching(), paths=100, seed=1)
        assert switch(False) is False  # a caller who had turned it off keeps it off
    finally:
        switch(before)


def _irr_metrics(sc: pfs.Scenario, exact_coupon: bool, monkeypatch, paths: int = 400):
    from pfs import engine

    monkeypatch.setattr(engine, "EXACT_COUPON_IRR", exact_coupon)
    m = pfs.simulate(sc, paths=paths, seed=2).metrics
    return {k: v for k, v in m.items() if k.startswith("irr.") or k == "investor_irr"}


def _assert_same_irr(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(np.isnan(a[name]), np.isnan(b[name]), err_msg=name)
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-12, err_msg=name)


@given(deal)
def test_tranches_repaid_at_coupon_get_the_irr_the_solver_finds(p):
    # Stack.repaid_at_coupon gives a fully repaid tranche its coupon rate instead of
    # solving for it: the solver, run on every path, must agree on every structure.
    with pytest.MonkeyPatch.context() as mp:
        sc = _deal_scenario(p)
        _assert_same_irr(_irr_metrics(sc, True, mp), _irr_metrics(sc, False, mp))


@pytest.mark.parametrize("name", ["teaching_reentry", "massachusetts_juvenile_justice_roca",
                                  "salt_lake_county_reach", "nyc_rikers_able"])  # fmt: skip
def test_coupon_identity_on_presets(name, monkeypatch):
    from tests.helpers import ROOT

    sc = pfs.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    exact = _irr_metrics(sc, True, monkeypatch, paths=3000)
    _assert_same_irr(exact, _irr_metrics(sc, False, monkeypatch, paths=3000))
    if len(sc.capital.tranches) == 1:  # one investor: the investors' IRR is its IRR
        (tranche,) = sc.capital.tranches
        np.testing.assert_array_equal(exact["investor_irr"], exact[f"irr.{tranche.id}"])
    if name == "teaching_reentry":  # the identity is used: most senior paths repay in full
        coupon = (1 + float(sc.capital.tranches[0].rate)) - 1  # as the stack computes it
        assert (exact["irr.senior"] == coupon).mean() > 0.5


@pytest.mark.parametrize("scale", [1.0, 1e6])
def test_a_balance_written_off_as_dust_is_left_to_the_solver(scale, monkeypatch):
    # A loan of `scale` at 5% is owed 1.1025 x scale after two years; the payment falls
    # 5e-7 short, which the stack writes off as rounding (below REPAID_TOLERANCE). At a
    # scale of 1 that shortfall moves the IRR by 2.4e-7: the coupon must not be assumed.
    from pfs.scenario import scenario_from_dict

    owed = scale * 1.05**2
    sc = scenario_from_dict(
        {
            "name": "dust",
            "horizon": 4,
            "program": {"cohorts": [{"period": 0, "size": 1}], "cost_per_participant": scale},
            "outcomes": [
                {
                    "id": "x",
                    "baseline": 1.0,
                    "effect": 0.1,
                    "measured_after": 1,
                    "savings_to": {"gov": 1.0},
                    "evaluation": {"standard_error": 0.0},
                    "payment": {
                        "payer": "gov",
                        "rule": "tiers",
                        "lag": 1,
                        "tiers": [{"at": -100, "amount": owed - 5e-7}],
                    },
                }
            ],
            "payers": [{"id": "gov"}],
            "capital": {"tranches": [{"id": "loan", "amount": scale, "rate": 0.05}]},
        }
    )
    exact = _irr_metrics(sc, True, monkeypatch, paths=4)
    solved = _irr_metrics(sc, False, monkeypatch, paths=4)
    np.testing.assert_array_equal(exact["irr.loan"], solved["irr.loan"])
    if scale == 1.0:
        assert exact["irr.loan"][0] == pytest.approx(0.05 - 2.38e-7, abs=1e-9)
