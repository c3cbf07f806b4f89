"""Break-even and price solvers against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

import pfs
from pfs import contracts
from pfs.analysis import (
    BREAKEVEN_COLUMNS,
    breakeven,
    breakeven_table,
    effect_curve,
    price_frontier,
    price_overrides,
    solve_price,
)
from pfs.analysis import contracts as analysis_contracts
from tests.helpers import teaching


# ---------------------------------------------------------------------- break-even
def test_breakeven_effect_of_a_linear_rate_card_is_the_analytic_value():
    tc = contracts.linear_breakeven()
    exact = tc.expected["breakeven_effect"]
    b = breakeven(tc.scenario)
    assert b.found and b.kind == "root" and b.crossings == 1 and b.increasing
    assert b.effect == pytest.approx(exact, rel=1e-9)
    # one period from draw to payment: IRR = payment / cost - 1, so 5% needs 1.05 e*
    assert breakeven(tc.scenario, target=0.05).effect == pytest.approx(1.05 * exact, rel=1e-9)
    # the break-even effect really repays the principal exactly
    m = pfs.simulate(
        tc.scenario.with_overrides({"outcomes.outcome.effect": b.effect}), paths=5
    ).metrics
    np.testing.assert_allclose(m["investor_moic"], 1.0, rtol=1e-9)


def test_expected_breakeven_of_a_noisy_rate_card_matches_the_closed_form():
    tc = analysis_contracts.noisy_linear()
    b = breakeven(tc.scenario, mode="expected", paths=20_000, seed=2)
    assert b.found and b.mode == "expected"
    assert 0 < b.effect_se < 0.01
    assert b.effect == pytest.approx(tc.expected["expected_breakeven"], abs=4 * b.effect_se)


def test_government_breakeven_with_a_capped_payment():
    tc = analysis_contracts.capped_savings()
    det = breakeven(tc.scenario, metric="gov_net_savings_pv")
    assert det.effect == pytest.approx(tc.expected["deterministic_breakeven"], rel=1e-9)
    exp = breakeven(tc.scenario, metric="gov_net_savings_pv", mode="expected", paths=40_000, seed=2)
    assert exp.effect == pytest.approx(tc.expected["expected_breakeven"], abs=4 * exp.effect_se)
    assert exp.current_effect == pytest.approx(0.25)
    assert exp.margin == pytest.approx(0.25 - exp.effect)


def test_a_step_tier_gives_a_jump_at_the_tier_edge():
    base = contracts.linear_breakeven().scenario
    sc = base.with_overrides(
        {
            "outcomes.outcome.payment.rule": "tiers",
            "outcomes.outcome.payment.price_per_unit": None,
            "outcomes.outcome.payment.tiers": [
                {"at": 0.2, "amount": 500_000.0},
                {"at": 0.4, "amount": 1_200_000.0},
            ],
        }
    )
    b = breakeven(sc)
    assert b.found and b.kind == "jump" and "tier edge" in b.note
    assert b.effect == pytest.approx(0.4, abs=1e-9)


def test_an_unreachable_target_is_reported_not_invented():
    capped = contracts.linear_breakeven().scenario.with_overrides(
        {"outcomes.outcome.payment.cap": 1_020_000.0}
    )
    b = breakeven(capped, target=0.05)
    assert not b.found and np.isnan(b.effect) and np.isnan(b.margin)
    assert "highest 0.02" in b.note


def test_breakeven_table_answers_three_questions_in_each_mode():
    table = breakeven_table(teaching(), target_irr=0.01, paths=3000, seed=1)
    assert list(table.columns) == BREAKEVEN_COLUMNS
    assert len(table) == 6 and set(table["mode"]) == {"deterministic", "expected"}
    irr0 = table[(table["metric"] == "investor_irr") & (table["target"] == 0.0)]
    irr1 = table[(table["metric"] == "investor_irr") & (table["target"] == 0.01)]
    # a higher target needs a larger effect, in both modes
    assert (irr1["effect"].to_numpy() > irr0["effect"].to_numpy()).all()
    assert table["found"].all()
    assert table.attrs["outcome"] == "bed_days"


def test_effect_curve_is_the_deterministic_metric():
    tc = contracts.linear_breakeven()
    curve = effect_curve(tc.scenario, effects=[0.25, 0.5, 1.0])
    np.testing.assert_allclose(curve["investor_irr"], [-0.5, 0.0, 1.0], atol=1e-9)
    assert list(curve.columns) == ["effect", "investor_irr", "gov_net_savings_pv"]


def test_breakeven_errors():
    with pytest.raises(pfs.PfsError, match="no outcome"):
        breakeven(teaching(), "nope")
    with pytest.raises(pfs.PfsError, match="mode"):
        breakeven(teaching(), mode="sometimes")


# --------------------------------------------------------------------------- price
def test_price_for_a_target_irr_on_a_fixed_effect_is_exact():
    tc = contracts.linear_breakeven()
    s = solve_price(tc.scenario, target=0.05, paths=50)
    # IRR = price * participants * baseline * effect / cost - 1
    assert s.found
    assert s.prices["price_per_unit.outcome"] == pytest.approx(1.05e6 / (1000 * 40 * 0.1), rel=1e-4)
    assert s.achieved == pytest.approx(0.05, abs=1e-5)
    assert s.scenario is not None
    assert s.metrics["gov_net_savings_pv"] == pytest.approx(-1.05e6, rel=1e-4)


def test_price_for_noisy_targets_matches_the_closed_forms():
    tc = analysis_contracts.noisy_linear()
    n = 20_000
    s = solve_price(tc.scenario, target=0.05, paths=n, seed=3)
    price = tc.expected["price_for_target_irr"]
    # E[IRR] is linear in price: its standard error maps to price by p / (1 + target)
    tol = 4 * s.metrics["investor_irr_se"] * price / 1.05
    assert s.prices["price_per_unit.outcome"] == pytest.approx(price, abs=tol)
    r = solve_price(tc.scenario, metric="p_investor_repaid", target=0.8, paths=n, seed=3)
    price = tc.expected["price_for_target_repaid"]
    z = norm.ppf(0.2)
    slope = norm.pdf(z) / 0.1 * 1e6 / (1000 * 40 * price**2)  # dP/dprice
    tol = 4 * np.sqrt(0.8 * 0.2 / n) / slope
    assert r.prices["price_per_unit.outcome"] == pytest.approx(price, abs=tol)


def test_frontier_trades_investor_return_against_government_savings():
    table = price_frontier(teaching(), [0.6, 0.8, 1.0, 1.2, 1.4], paths=3000, seed=2)
    assert {
        "scale",
        "price_per_unit.bed_days",
        "investor_irr",
        "investor_irr_se",
        "gov_net_savings_pv",
        "p_investor_repaid",
    } <= set(table.columns)
    assert (np.diff(table["investor_irr"]) > 0).all()
    assert (np.diff(table["p_investor_repaid"]) >= 0).all()
    assert (np.diff(table["gov_net_savings_pv"]) < 0).all()
    np.testing.assert_allclose(table["price_per_unit.bed_days"], 180 * table["scale"])


def test_unreachable_price_target():
    s = solve_price(teaching(), target=0.5, paths=1000, max_scale=8)
    assert not s.found and np.isnan(s.scale) and "cannot reach" in s.note


def test_price_overrides_scale_every_rule():
    sc = teaching()
    over = price_overrides(sc, 2.0)
    assert over["outcomes.bed_days.payment.price_per_unit"] == 360
    tiers = contracts.linear_breakeven().scenario.with_overrides(
        {
            "outcomes.outcome.payment.rule": "tiers",
            "outcomes.outcome.payment.price_per_unit": None,
            "outcomes.outcome.payment.tiers": [{"at": 0.2, "amount": 100.0}],
        }
    )
    assert price_overrides(tiers, 3.0)["outcomes.outcome.payment.tiers"] == [
        {"at": 0.2, "amount": 300.0}
    ]
    share = sc.with_overrides(
        {
            "outcomes.bed_days.payment.rule": "share_of_savings",
            "outcomes.bed_days.payment.price_per_unit": None,
            "outcomes.bed_days.payment.share": 0.6,
        }
    )
    assert price_overrides(share, 2.0, ["bed_days"]) == {"outcomes.bed_days.payment.share": 1.0}
    with pytest.raises(pfs.PfsError):
        price_overrides(sc, -1.0)


def test_price_solver_says_when_there_are_no_investors():
    from pfs.analysis import solve_price

    sc = pfs.load_scenario(pfs.scenarios_dir() / "south_carolina_nurse_family_partnership.yaml")
    with pytest.raises(pfs.PfsError, match="no investor tranche"):
        solve_price(sc, metric="p_investor_repaid", target=0.8, paths=500)


def test_breakeven_table_says_which_way_the_metric_moves():
    from pfs.analysis import breakeven_table

    table = breakeven_table(pfs.load_scenario(pfs.default_scenario_path()), paths=500)
    assert "increasing" in table.columns
    repaid = table[table["question"].str.contains("money back")]
    assert repaid["increasing"].all()  # a better programme repays investors more
