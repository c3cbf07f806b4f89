"""Evaluation risk against the normal closed form; convergence and standard errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

import pfs
from pfs import contracts
from pfs.analysis import (
    RISK_COLUMNS,
    Tolerances,
    chance_of_payment,
    evaluation_risk,
    paths_warning,
    run_until,
    standard_errors,
)
from tests.helpers import teaching

N = 20_000


def _pooled(effect, threshold: float = 0.08) -> pfs.Scenario:
    sc = contracts.zero_effect_trigger(threshold=threshold).scenario
    return sc.with_overrides({"outcomes.outcome.effect": effect})


def test_chance_of_payment_is_one_minus_phi():
    assert chance_of_payment(0.08, 0.0, [0.05]) == pytest.approx(1 - norm.cdf(0.08 / 0.05))
    # two groups: pays if either reaches the threshold
    both = chance_of_payment(0.1, 0.05, [0.05, 0.1])
    assert both == pytest.approx(1 - norm.cdf(1.0) * norm.cdf(0.5))
    assert chance_of_payment(0.1, 0.2, [0.0]) == 1.0


def test_evaluation_risk_curve_matches_the_closed_form():
    sc = _pooled(0.0)
    ses = [0.02, 0.04, 0.08, 0.16]
    table = evaluation_risk(
        sc, standard_errors=ses, below=0.03, above=0.12, prior=False, paths=N, seed=4
    )
    assert list(table.columns) == RISK_COLUMNS
    assert len(table) == 2 * len(ses)
    below = table[table["case"] == "below"]
    above = table[table["case"] == "above"]
    np.testing.assert_allclose(below["closed_form"], 1 - norm.cdf((0.08 - 0.03) / np.array(ses)))
    np.testing.assert_allclose(above["closed_form"], norm.cdf((0.08 - 0.12) / np.array(ses)))
    for _, row in table.iterrows():
        tol = 4 * max(row["std_error"], np.sqrt(0.25 / N) / 10)
        assert row["probability"] == pytest.approx(row["closed_form"], abs=tol)
    # more noise: more payments for too little, more refusals for enough
    assert (np.diff(below["probability"]) > 0).all()
    assert (np.diff(above["probability"]) > 0).all()
    # no caps or retention here: the money follows the decision
    np.testing.assert_allclose(table["probability_paid"], table["probability"])


def test_evaluation_risk_under_a_prior_matches_the_integral():
    se, threshold, mu, sd = 0.05, 0.08, 0.1, 0.06
    sc = _pooled({"dist": "normal", "mean": mu, "sd": sd}, threshold)
    table = evaluation_risk(sc, standard_errors=[se], paths=N, seed=6, with_limits=False)
    prior = table[table["case"] == "prior"].set_index("error")
    pay = lambda e: 1 - norm.cdf((threshold - e) / se)  # noqa: E731
    exact_below = integrate.quad(lambda e: norm.pdf(e, mu, sd) * pay(e), -1, threshold)[0]
    exact_above = integrate.quad(lambda e: norm.pdf(e, mu, sd) * (1 - pay(e)), threshold, 1)[0]
    assert prior.loc["paid_though_below", "closed_form"] == pytest.approx(exact_below, rel=1e-6)
    assert prior.loc["not_paid_though_above", "closed_form"] == pytest.approx(exact_above, rel=1e-6)
    for error in ("paid_though_below", "not_paid_though_above"):
        row = prior.loc[error]
        assert row["probability"] == pytest.approx(row["closed_form"], abs=4 * row["std_error"])
    assert table["probability_paid"].isna().all()


def test_evaluation_risk_by_sample_size_on_a_per_cohort_evaluation():
    table = evaluation_risk(teaching(), "bed_days", paths=5000, seed=2, with_limits=False)
    sizes = table["sample_size"].unique()
    np.testing.assert_array_equal(sizes, [112, 225, 450, 900, 1800])
    ses = table.groupby("sample_size")["standard_error"].first()
    assert (np.diff(ses.to_numpy()) < 0).all()
    for _, row in table.iterrows():
        tol = 4 * row["std_error"] + 1e-3
        assert row["probability"] == pytest.approx(row["closed_form"], abs=tol)


def test_money_paid_differs_from_the_decision_when_payments_are_retained():
    table = evaluation_risk(
        teaching(), "employment", standard_errors=[0.15], paths=4000, seed=1, prior=False
    )
    above = table[table["case"] == "above"].iloc[0]
    # the county keeps payments once investors are repaid: money not paid though earned
    assert above["probability_paid"] > above["probability"] + 0.05


def test_evaluation_risk_errors():
    with pytest.raises(pfs.PfsError, match="not both"):
        evaluation_risk(teaching(), standard_errors=[0.1], sample_sizes=[100], paths=10)
    with pytest.raises(pfs.PfsError, match="outcome_sd"):
        evaluation_risk(teaching(), "employment", sample_sizes=[100], paths=10)
    with pytest.raises(pfs.PfsError, match="below < threshold"):
        evaluation_risk(teaching(), below=0.2, paths=10)


# --------------------------------------------------------------------- convergence
def test_standard_errors_agree_with_the_summary():
    res = pfs.simulate(teaching(), paths=4000, seed=3)
    table = standard_errors(res).set_index("metric")
    summary = res.summary()
    for name in ("gov_net_savings_pv", "investor_irr", "outcome_payments"):
        assert table.loc[name, "std_error"] == pytest.approx(summary.loc[name, "std_error"])
        assert table.loc[name, "n"] == summary.loc[name, "n"]
    p = table.loc["p_investor_repaid"]
    assert p["std_error"] == pytest.approx(summary.loc["p_investor_repaid", "std_error"], rel=1e-3)
    assert p["kind"] == "probability" and p["tolerance"] == 0.005
    assert table.loc["investor_irr", "kind"] == "rate"
    assert (table["ci_low"] <= table["mean"]).all()


def test_too_few_paths_are_flagged_with_a_estimate_of_the_need():
    res = pfs.simulate(teaching(), paths=1000, seed=1)
    table = standard_errors(res).set_index("metric")
    repaid = table.loc["p_investor_repaid"]
    assert repaid["too_few"]
    p = repaid["mean"]
    assert repaid["paths_needed"] == pytest.approx(p * (1 - p) / 0.005**2, rel=0.02)
    message = paths_warning(res)
    assert message is not None and "Too few paths (1,000)" in message
    lenient = Tolerances(rel_tol=1.0, prob_tol=1.0, rate_tol=1.0)
    assert paths_warning(res, tolerances=lenient) is None


def test_run_until_reaches_the_target_and_reuses_paths():
    sc = teaching()
    result = run_until(
        sc, "gov_net_savings_pv", target_se=15_000, start_paths=2000, max_paths=200_000, seed=5
    )
    assert result.converged
    final = result.table.iloc[0]
    assert final["std_error"] <= 15_000
    steps = result.history["paths"].unique()
    assert steps[0] == 2000 and len(steps) >= 2
    n = result.results.n_paths
    ref = pfs.simulate(sc, paths=n, seed=5).metrics
    for name in ("gov_net_savings_pv", "outcome_payments", "investor_moic"):
        np.testing.assert_array_equal(result.results.metrics[name], ref[name], err_msg=name)


def test_run_until_stops_at_max_paths():
    result = run_until(
        teaching(), "investor_irr", target_se=1e-6, start_paths=1000, max_paths=3000, seed=1
    )
    assert not result.converged
    assert result.results.n_paths == 3000
    with pytest.raises(pfs.PfsError):
        run_until(teaching(), start_paths=10, max_paths=5)
