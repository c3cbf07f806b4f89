"""Tornado and Sobol' sensitivity, checked on contracts with exact answers."""

from __future__ import annotations

import numpy as np
import pytest
from SALib.sample import sobol as salib_sample

import pfs
from pfs.analysis import (
    SOBOL_COLUMNS,
    TORNADO_COLUMNS,
    PathSet,
    factors,
    sobol_indices,
    swing_bounds,
    tornado,
)
from pfs.analysis import contracts as analysis_contracts
from pfs.analysis.sobol import salib_problem, saltelli_design
from pfs.distributions import value_quantile
from tests.helpers import teaching, teaching_data

PARTICIPANTS = 1000.0


@pytest.fixture(scope="module")
def additive():
    return analysis_contracts.additive_sobol()


# ------------------------------------------------------------------------- tornado
def test_tornado_swing_of_a_linear_input_is_exact(additive):
    sc = additive.scenario
    table = tornado(
        sc,
        ["outcome_payments", "paid.a"],
        paths=3000,
        seed=2,
        parameters={"outcomes.a.payment.price_per_unit": (50.0, 150.0)},
    )
    assert list(table.columns) == TORNADO_COLUMNS
    rows = table.set_index(["metric", "input"])
    spec = sc.uncertain_inputs()["outcomes.a.effect"]
    q10, q90 = value_quantile(spec, 0.1), value_quantile(spec, 0.9)
    swing = rows.loc[("outcome_payments", "outcomes.a.effect")]
    # payments = price * participants * (X + noise): common noise cancels exactly
    assert swing["swing"] == pytest.approx(100.0 * PARTICIPANTS * (q90 - q10), rel=1e-9)
    assert swing["swing_se"] == pytest.approx(0.0, abs=1e-6)
    assert swing["low_value"] == pytest.approx(q10) and swing["high_value"] == pytest.approx(q90)
    # an inert input (absolute effects ignore the baseline) has no bar at all
    assert rows.loc[("outcome_payments", "outcomes.a.baseline"), "swing"] == 0.0
    # a price swing scales outcome a's payments: (150 - 50) / 100 of the base
    price = rows.loc[("paid.a", "outcomes.a.payment.price_per_unit")]
    assert price["kind"] == "parameter"
    assert price["swing"] == pytest.approx(price["base"], rel=1e-9)


def test_tornado_is_sorted_and_its_base_is_the_plain_simulation(additive):
    sc = additive.scenario
    table = tornado(sc, ["outcome_payments"], paths=2000, seed=5)
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    swings = table["swing"].abs().to_numpy()
    assert (np.diff(swings) <= 0).all()
    assert table["input"].iloc[0] == "outcomes.b.effect"  # the largest variance share
    plain = pfs.simulate(sc, paths=2000, seed=5).metrics["outcome_payments"].mean()
    assert table["base"].iloc[0] == pytest.approx(plain, rel=1e-12)
    assert table.attrs["runs"] == 1 + 2 * len(sc.uncertain_inputs())


def test_path_set_runs_equal_simulate():
    sc = teaching()
    res = PathSet.draw(sc, 3000, seed=4).run()
    ref = pfs.simulate(sc, paths=3000, seed=4)
    for name in ("outcome_payments", "gov_net_savings_pv", "investor_moic", "investor_repaid"):
        np.testing.assert_array_equal(res.metrics[name], ref.metrics[name], err_msg=name)


def test_tornado_with_others_at_medians(additive):
    sc = additive.scenario
    table = tornado(sc, ["outcome_payments"], others="median", paths=4000, seed=1)
    specs = sc.uncertain_inputs()
    centre = 1e5 * value_quantile(specs["outcomes.a.effect"], 0.5) + 3e5 * value_quantile(
        specs["outcomes.b.effect"], 0.5
    )
    # only the evaluation noise is left random (sd 5000 and 9000 per path)
    base = table["base"].iloc[0]
    assert base == pytest.approx(centre, abs=4 * np.hypot(5e3, 9e3) / np.sqrt(4000))
    assert table.attrs["others"] == "median"


def test_tornado_on_the_teaching_deal_has_plausible_bars():
    table = tornado(
        teaching(),
        paths=3000,
        seed=1,
        inputs=["outcomes.bed_days.effect", "program.cost_per_participant"],
    )
    repaid = table[table["metric"] == "p_investor_repaid"].set_index("input")
    assert repaid.loc["outcomes.bed_days.effect", "swing"] > 0.5
    assert repaid.loc["program.cost_per_participant", "swing"] < 0
    assert (table["swing_se"] > 0).all()
    assert (table["swing"].abs() > 3 * table["swing_se"]).all()


def test_tornado_rejects_unknown_inputs_and_bad_quantiles():
    with pytest.raises(pfs.PfsError, match="not an uncertain input"):
        tornado(teaching(), inputs=["outcomes.bed_days.nope"], paths=100)
    with pytest.raises(pfs.PfsError, match="low < high"):
        tornado(teaching(), low=0.9, high=0.1, paths=100)
    with pytest.raises(pfs.PfsError, match="unknown metric"):
        tornado(teaching(), ["no_such_metric"], paths=100)


def test_swing_bounds_lists_every_uncertain_input():
    bounds = swing_bounds(teaching())
    assert len(bounds) == len(teaching().uncertain_inputs())
    assert (bounds["low_value"] < bounds["median"]).all()
    assert (bounds["median"] < bounds["high_value"]).all()


# --------------------------------------------------------------------------- Sobol
def test_sobol_indices_of_an_additive_contract_match_the_analytic_values(additive):
    table = sobol_indices(additive.scenario, ["outcome_payments"], paths=4096, seed=3)
    assert list(table.columns) == SOBOL_COLUMNS
    assert table.attrs["evaluations"] == 4096 * (5 + 2)
    for _, row in table.iterrows():
        exact = additive.expected[f"S.{row['factor']}"]
        for index in ("S1", "ST"):
            tol = max(3 * row[f"{index}_conf"], 0.02)
            assert row[index] == pytest.approx(exact, abs=tol), (row["factor"], index)
    inert = table.set_index("factor").loc["outcomes.a.baseline"]
    assert abs(inert["S1"]) < 1e-9 and abs(inert["ST"]) < 1e-9
    assert table["factor"].iloc[0] == "outcomes.b.effect"


def test_saltelli_design_is_salibs():
    sc = teaching()
    problem = salib_problem(sc)
    ours = saltelli_design(32, problem["num_vars"], problem["groups"], seed=11)
    theirs = salib_sample.sample(problem, 32, calc_second_order=False, seed=11)
    np.testing.assert_array_equal(ours, theirs)
    flat = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    np.testing.assert_array_equal(
        saltelli_design(16, 3, ["a", "b", "c"], seed=2),
        salib_sample.sample(flat, 16, calc_second_order=False, seed=2),
    )


def test_factors_group_noise_and_correlated_inputs():
    sc = teaching()
    names = [f.name for f in factors(sc)]
    assert "outcomes.bed_days.evaluation.noise" in names
    # per-cohort measurement: three noise columns, one factor
    bed_noise = next(f for f in factors(sc) if f.name == "outcomes.bed_days.evaluation.noise")
    assert bed_noise.streams == {"outcomes.bed_days.evaluation.noise": 3}
    grouped = factors(sc, group_noise=True)
    assert grouped[-1].name == "evaluation noise" and len(grouped) == len(names) - 1
    data = teaching_data()
    data["correlations"] = [
        {"inputs": ["outcomes.bed_days.effect", "outcomes.employment.effect"], "rho": 0.5}
    ]
    joined = factors(pfs.scenario_from_dict(data))
    assert len(joined) == len(names) - 1
    assert any(
        set(f.streams) == {"outcomes.bed_days.effect", "outcomes.employment.effect"} for f in joined
    )


def test_sobol_on_the_teaching_deal_with_correlated_effects():
    data = teaching_data()
    data["correlations"] = [
        {"inputs": ["outcomes.bed_days.effect", "outcomes.employment.effect"], "rho": 0.5}
    ]
    sc = pfs.scenario_from_dict(data)
    table = sobol_indices(sc, ["gov_net_savings_pv", "p_investor_repaid"], paths=1024, seed=2)
    savings = table[table["metric"] == "gov_net_savings_pv"]
    top = savings.iloc[0]
    assert top["factor"] == "outcomes.bed_days.effect + outcomes.employment.effect"
    assert top["ST"] > 0.7
    assert (savings["ST"] >= savings["S1"] - savings["S1_conf"] - savings["ST_conf"]).all()
    assert table.attrs["nan_share"]["p_investor_repaid"] == 0.0


def test_sobol_rejects_quantile_statistics():
    with pytest.raises(pfs.PfsError, match="per-path"):
        sobol_indices(teaching(), ["investor_irr:p50"], paths=64)


def test_sobol_skips_a_metric_undefined_on_every_path():
    from pfs.analysis import sobol_indices

    sc = pfs.load_scenario(pfs.scenarios_dir() / "south_carolina_nurse_family_partnership.yaml")
    table = sobol_indices(sc, metrics=("gov_net_savings_pv", "investor_irr"), paths=256)
    assert set(table["metric"]) == {"gov_net_savings_pv"}
    assert table.attrs["undefined_metrics"] == ["investor_irr"]
    with pytest.raises(pfs.PfsError, match="undefined on every path"):
        sobol_indices(sc, metrics=("investor_irr",), paths=256)
