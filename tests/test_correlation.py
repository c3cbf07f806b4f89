"""Correlated inputs: the Gaussian copula in pfs.sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import pfs
from pfs.sampling import (
    copula_factor,
    correlation_matrix,
    sample,
    spearman_to_normal,
)
from tests.helpers import teaching_data

BED = "outcomes.bed_days.effect"
EMP = "outcomes.employment.effect"
COST = "program.cost_per_participant"
ENROL = "program.enrollment_factor"


def _correlated(pairs: list[tuple[str, str, float]]) -> pfs.Scenario:
    data = teaching_data()
    data["correlations"] = [{"inputs": [a, b], "rho": rho} for a, b, rho in pairs]
    return pfs.scenario_from_dict(data)


PAIRS = [(BED, EMP, 0.6), (COST, BED, -0.3)]


@pytest.mark.parametrize("method", ["random", "lhs", "sobol"])
def test_sampled_rank_correlation_matches_the_requested_matrix(method):
    sc = _correlated(PAIRS)
    n = 100_000
    d = sample(sc, 0, n, seed=3, method=method)
    names, requested = correlation_matrix(sc)
    assert names == sorted([BED, EMP, COST])
    got = stats.spearmanr(np.column_stack([d.values[x] for x in names])).statistic
    # standard error of a Spearman coefficient is about (1 - rho^2) / sqrt(n) < 0.0032
    np.testing.assert_allclose(got, requested, atol=0.012)
    # the unrequested pair (cost, employment) follows from the copula: not zero here
    scores = stats.norm.ppf(np.column_stack([stats.rankdata(d.values[x]) / (n + 1) for x in names]))
    normal_corr = np.corrcoef(scores, rowvar=False)
    factor = copula_factor(requested)
    np.testing.assert_allclose(normal_corr, factor @ factor.T, atol=0.012)


def test_pearson_of_normal_scores_is_the_converted_correlation():
    sc = _correlated([(BED, EMP, 0.5)])
    d = sample(sc, 0, 200_000, seed=1)
    z_bed = (d.values[BED] - 0.25) / 0.12
    z_emp = (d.values[EMP] - 0.4) / 0.25
    assert np.corrcoef(z_bed, z_emp)[0, 1] == pytest.approx(
        float(spearman_to_normal(0.5)), abs=0.006
    )


def test_marginals_are_unchanged():
    sc = _correlated(PAIRS)
    d = sample(sc, 0, 50_000, seed=5)
    specs = sc.uncertain_inputs()
    for name in (BED, EMP, COST):
        result = stats.kstest(d.values[name], specs[name].scipy().cdf)
        assert result.pvalue > 1e-3, name


def test_uncorrelated_and_first_correlated_inputs_keep_their_draws():
    plain = pfs.load_scenario(pfs.default_scenario_path())
    sc = _correlated(PAIRS)
    a = sample(plain, 0, 3000, seed=9)
    b = sample(sc, 0, 3000, seed=9)
    # outside the correlation: same numbers (common random numbers)
    for name in (ENROL, "outcomes.bed_days.baseline", "outcomes.employment.evaluation.bias"):
        np.testing.assert_array_equal(a.values[name], b.values[name])
    for oid in ("bed_days", "employment"):
        np.testing.assert_array_equal(a.noise[oid], b.noise[oid])
    # the first correlated input in sorted order is the copula's anchor
    first = sorted([BED, EMP, COST])[0]
    np.testing.assert_array_equal(a.values[first], b.values[first])
    changed = [n for n in (BED, EMP, COST) if n != first]
    for name in changed:
        assert not np.array_equal(a.values[name], b.values[name])


@pytest.mark.parametrize("method", ["random", "lhs", "sobol"])
def test_draws_do_not_depend_on_the_range_asked_for(method):
    sc = _correlated(PAIRS)
    whole = sample(sc, 0, 9000, seed=2, method=method)
    parts = [sample(sc, a, b, seed=2, method=method) for a, b in ((0, 1234), (1234, 9000))]
    for name in whole.values:
        np.testing.assert_array_equal(
            whole.values[name], np.concatenate([p.values[name] for p in parts]), err_msg=name
        )


def test_simulation_with_correlations_does_not_depend_on_chunk_size():
    sc = _correlated(PAIRS)
    a = pfs.simulate(sc, paths=3000, seed=4, chunk_size=3000).metrics
    b = pfs.simulate(sc, paths=3000, seed=4, chunk_size=777).metrics
    for name in ("outcome_payments", "gov_net_savings_pv", "investor_moic", f"input.{EMP}"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_perfect_correlation_gives_identical_ranks():
    sc = _correlated([(BED, EMP, 1.0)])
    d = sample(sc, 0, 5000, seed=1)
    np.testing.assert_array_equal(stats.rankdata(d.values[BED]), stats.rankdata(d.values[EMP]))
    anti = sample(_correlated([(BED, EMP, -1.0)]), 0, 5000, seed=1)
    assert stats.spearmanr(anti.values[BED], anti.values[EMP]).statistic == pytest.approx(-1)


def test_copula_factor_is_unit_lower_triangular_and_reproduces_the_matrix():
    spearman = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.0], [-0.3, 0.0, 1.0]])
    factor = copula_factor(spearman)
    np.testing.assert_allclose(np.triu(factor, 1), 0.0)
    np.testing.assert_allclose(np.linalg.norm(factor, axis=1), 1.0)
    target = spearman_to_normal(spearman)
    np.fill_diagonal(target, 1.0)
    np.testing.assert_allclose(factor @ factor.T, target, atol=1e-12)
    np.testing.assert_array_equal(factor[0], [1.0, 0.0, 0.0])
    singular = copula_factor(np.array([[1.0, 1.0], [1.0, 1.0]]))
    np.testing.assert_allclose(singular, [[1.0, 0.0], [1.0, 0.0]])


def test_correlated_effects_widen_the_spread_of_savings():
    spread = {}
    for rho in (-0.8, 0.0, 0.8):
        sc = _correlated([(BED, EMP, rho)])
        spread[rho] = pfs.simulate(sc, paths=20_000, seed=6).metrics["gross_savings_pv"].std()
    assert spread[-0.8] < spread[0.0] < spread[0.8]
