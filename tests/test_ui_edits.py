"""Editing uncertain values in the app: best guess and uncertainty back to a scenario."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pfs
from pfs.distributions import (
    Beta,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
    parse_value,
)
from pfs.ui import edits

DISTS = [
    Normal(dist="normal", mean=0.25, sd=0.1),
    TruncNormal(dist="truncnormal", mean=0.2, sd=0.1, low=-0.5, high=0.9),
    LogNormal(dist="lognormal", mean=3000, sd=600),
    Uniform(dist="uniform", low=0.8, high=1.0),
    Triangular(dist="triangular", low=4500, mode=5000, high=6000),
    Pert(dist="pert", low=100, mode=150, high=200),
    Beta(dist="beta", a=8, b=2),
]
IDS = [d.dist for d in DISTS]


@pytest.mark.parametrize("value", DISTS, ids=IDS)
def test_unchanged_edit_is_the_same_value(value: object) -> None:
    same = parse_value(edits.edited_value(value, edits.centre(value)))  # type: ignore[arg-type]
    assert edits.likely_range(same) == pytest.approx(edits.likely_range(value))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", DISTS, ids=IDS)
@given(shift=st.floats(-0.5, 0.5))
def test_recentre_moves_the_best_guess(value: object, shift: float) -> None:
    target = edits.centre(value) * (1 + shift)  # type: ignore[arg-type]
    moved = parse_value(edits.recentre(value, target))  # type: ignore[arg-type]
    assert edits.centre(moved) == pytest.approx(target, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    "value",
    [d for d in DISTS if not isinstance(d, TruncNormal | LogNormal)],
    ids=[i for i in IDS if i not in ("truncnormal", "lognormal")],
)
@given(factor=st.floats(0.1, 3.0))
def test_rescale_scales_the_likely_range(value: object, factor: float) -> None:
    low, high = edits.likely_range(value)  # type: ignore[arg-type]
    scaled = parse_value(edits.rescale(value, factor))  # type: ignore[arg-type]
    new_low, new_high = edits.likely_range(scaled)
    assert new_high - new_low == pytest.approx(factor * (high - low), rel=0.05)


@pytest.mark.parametrize("value", [DISTS[1], DISTS[2]], ids=["truncnormal", "lognormal"])
def test_rescale_widens_skewed_and_truncated_values(value: object) -> None:
    low, high = edits.likely_range(value)  # type: ignore[arg-type]
    wider = edits.likely_range(edits.rescale(value, 2.0))  # type: ignore[arg-type]
    narrower = edits.likely_range(edits.rescale(value, 0.5))  # type: ignore[arg-type]
    assert narrower[1] - narrower[0] < high - low < wider[1] - wider[0]


def test_zero_uncertainty_gives_a_fixed_number() -> None:
    assert edits.edited_value(DISTS[0], 0.3, spread=0) == 0.3
    assert edits.edited_value(5.0, 7.0) == 7.0


@given(factor=st.floats(1.0, 5.0))
def test_floor_keeps_non_negative_values_valid(factor: float) -> None:
    cost = Triangular(dist="triangular", low=100, mode=500, high=900)
    data = edits.edited_value(cost, 200.0, spread=factor, floor=0.0)
    sc = pfs.load_scenario(pfs.default_scenario_path())
    edited = sc.with_overrides({"program.cost_per_participant": data})
    assert edits.likely_range(edited.program.cost_per_participant)[0] >= 0


def test_edits_are_accepted_by_the_scenario() -> None:
    sc = pfs.load_scenario(pfs.default_scenario_path())
    effect = sc.outcome("bed_days").effect
    data = edits.edited_value(effect, 0.4, spread=2.0)
    edited = sc.with_overrides({"outcomes.bed_days.effect": data})
    assert edits.centre(edited.outcome("bed_days").effect) == pytest.approx(0.4)
