"""Presets of real deals reproduce their published figures; every preset is sound.

The published cases are those listed at the end of ``shared/deals/DEALS.md``. Each is
reproduced by fixing the uncertain inputs it pins down (the true effect, participants,
costs) and switching off evaluation noise and bias, so the engine's answer is exact.
Figures DEALS.md marks as unverified or unpublished are never test targets here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pfs
from pfs.engine import run_chunk
from pfs.outcomes import group_standard_errors
from pfs.sampling import Draws
from tests.test_engine import _conservation

CENT = 0.005
PRESETS = sorted(pfs.scenarios_dir().glob("*.yaml"))
REAL_DEALS = [p for p in PRESETS if not p.stem.startswith("teaching")]
TEACHING = [p for p in PRESETS if p.stem.startswith("teaching") and p.stem != "teaching_reentry"]


def _load(stem: str) -> pfs.Scenario:
    return pfs.load_scenario(pfs.scenarios_dir() / f"{stem}.yaml")


def exact(sc: pfs.Scenario, overrides: dict[str, Any] | None = None) -> pfs.Scenario:
    """The scenario with every evaluation exact (no sampling error, no bias)."""
    fixed: dict[str, Any] = {}
    for o in sc.outcomes:
        at = f"outcomes.{o.id}.evaluation"
        fixed[f"{at}.standard_error"] = 0.0
        fixed[f"{at}.bias"] = 0.0
        for c in o.evaluation.blended_with:
            fixed[f"{at}.blended_with.{c.id}.standard_error"] = 0.0
            fixed[f"{at}.blended_with.{c.id}.bias"] = 0.0
    return sc.with_overrides({**fixed, **(overrides or {})})


def _metrics(sc: pfs.Scenario, paths: int = 10) -> dict[str, np.ndarray]:
    return pfs.simulate(sc, paths=paths, seed=1).metrics


# ------------------------------------------------------------------ every preset
@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_preset_validates_round_trips_and_conserves_money(path: Path):
    sc = pfs.load_scenario(path)
    assert pfs.parse_scenario_text(sc.to_yaml()) == sc
    assert sc.name and sc.description and sc.notes
    assert sc.simulation.paths == 20_000 and sc.simulation.seed == 1
    res = pfs.simulate(sc)
    assert res.n_paths == 20_000
    _conservation(res)
    head = res.headline()
    assert np.isfinite(head["outcome_payments_mean"]) and head["outcome_payments_mean"] > 0


@pytest.mark.parametrize("path", REAL_DEALS, ids=[p.stem for p in REAL_DEALS])
def test_real_deal_presets_cite_sources_and_label_assumptions(path: Path):
    sc = pfs.load_scenario(path)
    assert sc.sources, "a real deal lists its sources"
    assert any(s.startswith("https://") or "INDIGO" in s for s in sc.sources)
    assert any(n.startswith("Published") for n in sc.notes), "published terms are stated"
    assert any("Assumption" in n for n in sc.notes), "unpublished inputs are labelled"


# ------------------------------------------------------------- 1-3. NYC Rikers
def _rikers(overrides: dict[str, Any] | None = None) -> pfs.Scenario:
    return exact(_load("nyc_rikers_able"), overrides)


@pytest.mark.parametrize(
    ("reduction", "paid"),
    [(0.10, 9_600_000.00), (0.20, 11_712_000.00), (0.30, 11_712_000.00), (0.084, 0.0), (0.0, 0.0)],
)
def test_rikers_published_payments(reduction: float, paid: float):
    """Cases 1-2: 10% pays $9.6M, 20% or more $11.712M, below 8.5% nothing."""
    m = _metrics(_rikers({"outcomes.bed_days.effect": reduction}))
    np.testing.assert_allclose(m["outcome_payments"], paid, atol=CENT)


def test_rikers_below_first_tier_investor_loses_a_quarter_of_a_full_draw():
    """Case 2: after the guarantee the lender loses 25% of the full $9.6M."""
    m = _metrics(_rikers({"outcomes.bed_days.effect": 0.05}))
    np.testing.assert_allclose(m["drawn.goldman"], 9_600_000.00, atol=CENT)
    np.testing.assert_allclose(m["guarantee_paid"], 7_200_000.00, atol=CENT)
    np.testing.assert_allclose(m["investor_loss"], 2_400_000.00, atol=CENT)
    np.testing.assert_allclose(m["investor_moic"], 0.75)


def test_rikers_what_happened():
    """Case 3: services stopped after 3 years, $7.2M drawn, nothing paid, $6.0M, $1.2M."""
    sc = _rikers()
    three_years = [c.model_dump() for c in sc.program.cohorts[:3]]
    m = _metrics(
        sc.with_overrides({"program.cohorts": three_years, "outcomes.bed_days.effect": 0.0})
    )
    np.testing.assert_allclose(m["drawn.goldman"], 7_200_000.00, atol=CENT)
    np.testing.assert_allclose(m["outcome_payments"], 0.0, atol=CENT)
    np.testing.assert_allclose(m["guarantee_paid"], 6_000_000.00, atol=CENT)
    np.testing.assert_allclose(m["investor_loss"], 1_200_000.00, atol=CENT)


# --------------------------------------------------------- 4. Massachusetts / Roca
def _roca_at_target() -> dict[str, np.ndarray]:
    sc = _load("massachusetts_juvenile_justice_roca")
    fixed_costs = sum(f.per_period * len(f.periods) for f in sc.program.fixed_costs)
    whole_stack = sum(t.amount for t in sc.capital.tranches)  # $21.76M, all of it used
    participants = sum(c.size for c in sc.program.cohorts)
    return _metrics(
        exact(
            sc,
            {
                "program.enrollment_factor": 1.0,
                "program.cost_per_participant": (whole_stack - fixed_costs) / participants,
                "outcomes.bed_days.effect": 0.40,
                "outcomes.job_readiness.effect": 2.5,
                "outcomes.employment.effect": 1.0,
            },
        )
    )


def test_massachusetts_target_pays_22m_and_repays_senior_and_junior_loans():
    """Case 4: a 40% bed-day reduction pays $22M; senior repaid at 5%, juniors at 2%."""
    m = _roca_at_target()
    np.testing.assert_allclose(m["outcome_payments"], 22_000_000.00, atol=CENT)
    np.testing.assert_allclose(m["irr.goldman"], 0.05, atol=1e-9)
    np.testing.assert_allclose(m["irr.kresge"], 0.02, atol=1e-9)
    np.testing.assert_allclose(m["irr.living_cities"], 0.02, atol=1e-9)
    for grant in ("arnold", "new_profit", "boston_foundation"):
        np.testing.assert_allclose(m[f"moic.{grant}"], 1.0)
    np.testing.assert_allclose(m["residual_retained"], 0.0, atol=CENT)


def test_massachusetts_payments_within_the_two_payers_maximums():
    res = pfs.simulate(_load("massachusetts_juvenile_justice_roca"), paths=20_000, seed=1)
    by_payer = res.periods.payments.astype(np.float64).sum(axis=1)
    assert (by_payer[0] <= 15_000_000 + 1).all() and (by_payer[1] <= 12_000_000 + 1).all()
    assert (res.metrics["outcome_payments"] <= 27_000_000 + CENT).all()


# ------------------------------------------------------------------ 5. Utah
def test_utah_cohort_one_payment():
    """Case 5: 109 of 110 at-risk children avoid special education → $267,472.50."""
    sc = _load("utah_high_quality_preschool")
    m = _metrics(
        exact(
            sc,
            {
                "program.cohorts": [{"period": 0, "size": 110}],
                "outcomes.special_ed.periods_counted": 1,
                "outcomes.special_ed.baseline": 1 / 110,  # one child of 110 uses special education
                "outcomes.special_ed.effect": 0.0,  # paid although preschool changed nothing
            },
        )
    )
    np.testing.assert_allclose(m["outcome_payments"], 267_472.50, atol=CENT)
    avoided_cost = 109 * sc.outcome("special_ed").value_per_unit  # type: ignore[operator]
    assert avoided_cost == pytest.approx(281_550.00, abs=CENT)


def test_utah_pays_without_a_true_effect():
    res = pfs.simulate(_load("utah_high_quality_preschool"))
    no_effect = (res.metrics["true_effect.special_ed"] <= 0).mean()
    assert no_effect > 0.02
    assert res.probabilities()["p_paid_without_true_effect"] == pytest.approx(no_effect)
    m = res.metrics
    assert m["outcome_payments_pv"].mean() > 5 * m["gross_savings_pv"].mean()


# ----------------------------------------------------------------- 6. Chicago
def test_chicago_child_ready_and_reading_earns_3650():
    """Case 6: a child both kindergarten-ready and reading at grade 3 → $3,650."""
    m = _metrics(
        exact(
            _load("chicago_child_parent_centers"),
            {
                "program.cohorts": [{"period": 0, "size": 1}],
                "outcomes.k_ready.baseline": 0.5,
                "outcomes.k_ready.effect": 0.5,
                "outcomes.reading_g3.baseline": 0.5,
                "outcomes.reading_g3.effect": 0.5,
                "outcomes.special_ed.effect": 0.0,
            },
        )
    )
    np.testing.assert_allclose(m["paid.k_ready"], 2_900.00, atol=CENT)
    np.testing.assert_allclose(m["paid.reading_g3"], 750.00, atol=CENT)
    np.testing.assert_allclose(m["outcome_payments"], 3_650.00, atol=CENT)


# ------------------------------------------------------------------ 7. Denver
NIGHTS = {"first housing payment": 258_858, "second housing payment": 41_070}


def _denver(nights: float, jail_reduction: float) -> dict[str, np.ndarray]:
    sc = _load("denver_supportive_housing")
    housing = sc.outcome("housing")
    participant_periods = sum(c.size for c in sc.program.cohorts) * housing.periods_counted
    return _metrics(
        exact(
            sc,
            {
                "program.cost_per_participant": 20_000,  # with the fixed costs: exactly $8.6M
                "outcomes.housing.baseline": nights / participant_periods,
                "outcomes.housing.effect": 0.0,
                "outcomes.jail_days.effect": jail_reduction,
            },
        )
    )


def test_denver_total_paid():
    """Case 7: 299,928 nights and a 27% jail-day reduction → $9,638,911.36 in all."""
    m = _denver(sum(NIGHTS.values()), 0.27)
    np.testing.assert_allclose(m["paid.housing"], 3_913_932.96 + 620_978.40, atol=CENT)
    np.testing.assert_allclose(m["paid.jail_days"], 5_104_000.00, atol=CENT)
    np.testing.assert_allclose(m["outcome_payments"], 9_638_911.36, atol=CENT)
    np.testing.assert_allclose(
        m["received.investors"] - m["drawn.investors"], 1_038_911.36, atol=CENT
    )
    assert (m["paid.housing"] <= 5_290_000).all() and (m["paid.jail_days"] <= 6_130_000).all()


@pytest.mark.parametrize(
    ("payment", "paid"),
    [("first housing payment", 3_913_932.96), ("second housing payment", 620_978.40)],
)
def test_denver_housing_payments_are_nights_times_price(payment: str, paid: float):
    m = _denver(NIGHTS[payment], 0.0)
    np.testing.assert_allclose(m["outcome_payments"], paid, atol=CENT)


def test_denver_caps_hold_however_well_it_goes():
    m = _denver(2_000_000, 0.9)
    np.testing.assert_allclose(m["paid.housing"], 5_290_000.00, atol=CENT)
    np.testing.assert_allclose(m["paid.jail_days"], 6_130_000.00, atol=CENT)


# ------------------------------------------------------------- 8. Peterborough
def _peterborough(cohort_1: float, cohort_2: float):
    sc = exact(_load("peterborough_prison"), {"program.cost_per_participant": 2300})
    sc = sc.with_overrides(
        {
            "outcomes.reconvictions.evaluation.standard_error": 0.03,
            "outcomes.reconvictions.effect": 0.09,
        }
    )
    outcome = sc.outcome("reconvictions")
    se = group_standard_errors(sc, outcome)[:2]
    z = (np.array([[cohort_1, cohort_2]]) - 0.09) / se
    return sc, run_chunk(sc, Draws(start=0, n=1, noise={"reconvictions": z}))


def test_peterborough_cohort_one_misses_and_the_pool_pays():
    """Case 8: cohort 1 at 8.4% earns nothing; both cohorts pooled at 9% ≥ 7.5% pay."""
    sc, chunk = _peterborough(0.084, 0.096)
    events = sc.payment_events(sc.outcome("reconvictions"))
    first_due = events[0].due
    pay = chunk.periods.payments[0, :, 0].astype(np.float64)
    assert pay[first_due] == 0.0
    assert chunk.metrics["measured_effect.reconvictions"][0] == pytest.approx(0.09)
    expected = 2000 * 1.5 * 0.09 * sc.outcome("reconvictions").payment.price_per_unit
    np.testing.assert_allclose(chunk.metrics["outcome_payments"], expected, atol=CENT)
    # calibrated (not a published figure): capital back plus just over 3% a year
    assert 0.03 <= chunk.metrics["investor_irr"][0] < 0.035


def test_peterborough_pool_below_seven_and_a_half_pays_nothing():
    _, chunk = _peterborough(0.084, 0.06)
    np.testing.assert_allclose(chunk.metrics["outcome_payments"], 0.0, atol=CENT)


# ---------------------------------------------------- 9. Cuyahoga, South Carolina
@pytest.mark.parametrize(
    "stem", ["cuyahoga_partnering_for_family_success", "south_carolina_nurse_family_partnership"]
)
def test_no_effect_found_nothing_paid(stem: str):
    """Case 9: the trials found no effect, and nothing was paid."""
    sc = _load(stem)
    m = _metrics(exact(sc, {f"outcomes.{o.id}.effect": 0.0 for o in sc.outcomes}))
    np.testing.assert_allclose(m["outcome_payments"], 0.0, atol=CENT)


def test_cuyahoga_investors_lose_what_they_put_in():
    m = _metrics(
        exact(_load("cuyahoga_partnering_for_family_success"), {"outcomes.foster_days.effect": 0.0})
    )
    np.testing.assert_allclose(m["investor_loss"], m["investor_drawn"])


# ----------------------------------------------------------------- teaching ideas
def test_teaching_weak_evaluation_fails_real_success_more_often():
    sc = _load("teaching_weak_evaluation")
    weak = pfs.simulate(sc).probabilities()["p_not_paid_despite_true_effect"]
    strong = pfs.simulate(
        sc.with_overrides({"outcomes.bed_days.evaluation.standard_error": 0.03})
    ).probabilities()["p_not_paid_despite_true_effect"]
    assert weak > 0.10 and strong < weak / 3


def test_teaching_no_control_group_pays_for_what_would_have_happened():
    sc = _load("teaching_no_control_group")
    level = pfs.simulate(sc)
    effect = pfs.simulate(
        sc.with_overrides(
            {
                "outcomes.arrests.payment.basis": "effect",
                "outcomes.arrests.payment.reference_level": None,
            }
        )
    )
    assert level.probabilities()["p_paid_without_true_effect"] > 0.25
    assert effect.probabilities()["p_paid_without_true_effect"] == 0.0
    assert level.metrics["outcome_payments"].mean() > 5 * effect.metrics["outcome_payments"].mean()


def test_teaching_guarantee_moves_loss_not_payments():
    sc = _load("teaching_guarantee")
    with_g = pfs.simulate(sc).metrics
    without = pfs.simulate(sc.with_overrides({"capital.guarantees": []})).metrics
    np.testing.assert_array_equal(with_g["outcome_payments"], without["outcome_payments"])
    assert with_g["investor_loss"].mean() < 0.5 * without["investor_loss"].mean()
    np.testing.assert_allclose(
        with_g["investor_loss"] + with_g["guarantee_paid"], without["investor_loss"], atol=CENT
    )


@pytest.mark.parametrize("path", TEACHING, ids=[p.stem for p in TEACHING])
def test_teaching_scenarios_state_their_one_idea(path: Path):
    sc = pfs.load_scenario(path)
    assert sc.name.startswith("Teaching")
    assert "One idea" in sc.description


# ------------------------------------------------- more deals from DEALS.md section 7
def test_salt_lake_rate_card_at_the_targets():
    """Published prices at the published targets: 26,800 days and 225 arrests avoided."""
    sc = _load("salt_lake_county_reach")
    participants = sum(c.size for c in sc.program.cohorts)
    assert participants == 225
    m = _metrics(
        exact(
            sc,
            {
                "outcomes.jail_days.effect": 26_800 / participants,
                "outcomes.arrests.effect": 225 / participants,
                "outcomes.employment.effect": 0.0,
            },
        )
    )
    np.testing.assert_allclose(m["outcome_payments"], 26_800 * 200 + 225 * 250, atol=CENT)
    m = _metrics(
        exact(
            sc,
            {
                "outcomes.jail_days.effect": 300.0,
                "outcomes.arrests.effect": 3.0,
                "outcomes.employment.effect": 8.0,
            },
        )
    )
    np.testing.assert_allclose(m["outcome_payments"], 5_950_000.00, atol=CENT)


def test_new_york_state_investors_lose_at_most_90_percent():
    sc = _load("new_york_state_ceo")
    nothing = _metrics(
        exact(sc, {"outcomes.bed_days.effect": 0.0, "outcomes.employment.effect": 0.0})
    )
    np.testing.assert_allclose(nothing["outcome_payments"], 0.0, atol=CENT)
    np.testing.assert_allclose(nothing["investor_loss"], 0.9 * nothing["investor_drawn"])
    best = _metrics(
        exact(
            sc,
            {
                "outcomes.bed_days.effect": 0.5,
                "outcomes.employment.effect": 0.3,
                "program.enrollment_factor": 1.0,
                "program.cost_per_participant": 6250,
            },
        )
    )
    np.testing.assert_allclose(best["outcome_payments"], 10_448_853 + 11_095_000, atol=CENT)
    assert (best["investor_irr"] <= 0.125 + 1e-9).all()
    res = pfs.simulate(sc)
    m = res.metrics
    assert (m["outcome_payments"] <= 10_448_853 + 11_095_000 + CENT).all()
    assert (m["investor_loss"] <= 0.9 * m["investor_drawn"] + CENT).all()
    assert (m["investor_irr"][np.isfinite(m["investor_irr"])] <= 0.125 + 1e-9).all()
