"""Scenario files: loading, round trips, overrides and error messages."""

from __future__ import annotations

import pytest
import yaml

import pfs
from pfs.distributions import Normal, Triangular
from pfs.scenario import ScenarioError, parse_override, scenario_from_dict
from tests.helpers import RIKERS, TEACHING, teaching, teaching_data, write_yaml


def test_default_scenario_loads_with_distributions():
    sc = teaching()
    assert sc.name.startswith("Teaching example")
    assert isinstance(sc.outcome("bed_days").effect, Normal)
    assert isinstance(sc.program.cost_per_participant, Triangular)
    assert set(sc.uncertain_inputs()) >= {
        "program.enrollment_factor",
        "program.cost_per_participant",
        "outcomes.bed_days.effect",
        "outcomes.bed_days.baseline",
        "outcomes.employment.evaluation.bias",
    }
    assert pfs.default_scenario_path() == TEACHING


def test_yaml_round_trip_is_lossless(tmp_path):
    for path in (TEACHING, RIKERS):
        sc = pfs.load_scenario(path)
        again = pfs.parse_scenario_text(sc.to_yaml())
        assert again == sc
        assert again.canonical() == sc.canonical()


def test_standard_error_derived_from_sample_size():
    sc = teaching()
    bed = sc.outcome("bed_days")
    # 90 days sd, 450 per arm: se = 90*sqrt(2/450) = 6 days = 6/120 relative
    assert sc.standard_error(bed) == pytest.approx(6 / 120)
    assert sc.standard_error(sc.outcome("employment")) == 0.15


def test_overrides_by_id_index_and_distribution():
    sc = teaching()
    sc2 = sc.with_overrides(
        {
            "outcomes.bed_days.effect": 0.1,
            "capital.tranches.senior.amount": 5e6,
            "program.cohorts.1.size": 250,
            "program.cost_per_participant": {"dist": "uniform", "low": 1000, "high": 2000},
        }
    )
    assert sc2.outcome("bed_days").effect == 0.1
    assert sc2.tranche("senior").amount == 5e6
    assert sc2.program.cohorts[1].size == 250
    assert sc2.program.cost_per_participant.dist == "uniform"
    assert sc.outcome("bed_days").effect != 0.1  # original untouched (immutable)
    assert "outcomes.bed_days.effect" not in sc2.uncertain_inputs()


def test_parse_override_reads_yaml_values():
    assert parse_override("a.b=0.1") == ("a.b", 0.1)
    assert parse_override("x={dist: normal, mean: 1, sd: 2}") == (
        "x",
        {"dist": "normal", "mean": 1, "sd": 2},
    )
    with pytest.raises(ScenarioError, match="path=value"):
        parse_override("nothing")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("outcomes.nope.effect", "no item 'nope' in outcomes"),
        ("outcomes.bed_days.efect", "has no field 'efect'"),
        ("capital.tranches.senior.amount.x", "is a value, not a section"),
    ],
)
def test_override_naming_no_field(path, message):
    with pytest.raises(ScenarioError, match=message) as err:
        teaching().with_overrides({path: 1})
    assert err.value.field == path


def test_override_producing_invalid_value():
    with pytest.raises(ScenarioError) as err:
        teaching().with_overrides({"capital.tranches.senior.amount": -5})
    assert err.value.field == "capital.tranches[0].amount"
    assert "greater than or equal to 0" in err.value.problem


def _error_for(tmp_path, data) -> ScenarioError:
    path = write_yaml(tmp_path, data)
    with pytest.raises(ScenarioError) as err:
        pfs.load_scenario(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)
    return err.value


def test_malformed_yaml(tmp_path):
    err = _error_for(tmp_path, "name: x\nprogram: [unclosed\n")
    assert "malformed YAML" in err.problem
    assert err.field.startswith("line ")


def test_missing_field(tmp_path):
    data = teaching_data()
    del data["outcomes"][0]["payment"]["payer"]
    err = _error_for(tmp_path, data)
    assert err.field == "outcomes[0].payment.payer"
    assert err.problem == "required field is missing"


def test_unknown_field(tmp_path):
    data = teaching_data()
    data["outcomes"][1]["evaluation"]["sample_szie"] = 10
    err = _error_for(tmp_path, data)
    assert err.field == "outcomes[1].evaluation.sample_szie"
    assert "unknown field" in err.problem


def test_negative_amount(tmp_path):
    data = teaching_data()
    data["outcomes"][0]["payment"]["cap"] = -1
    err = _error_for(tmp_path, data)
    assert err.field == "outcomes[0].payment.cap"
    assert "greater than or equal to 0" in err.problem


def test_negative_fixed_value_and_bad_distribution(tmp_path):
    data = teaching_data()
    data["program"]["cost_per_participant"] = -100
    err = _error_for(tmp_path, data)
    assert err.field == "program.cost_per_participant"
    assert "must not be negative" in err.problem
    data["program"]["cost_per_participant"] = {"dist": "triangular", "low": 5, "mode": 1, "high": 3}
    err = _error_for(tmp_path, data)
    assert "low <= mode <= high" in err.problem
    data["program"]["cost_per_participant"] = {"dist": "gamma", "k": 1}
    assert "unknown distribution 'gamma'" in _error_for(tmp_path, data).problem


def test_tiers_out_of_order(tmp_path):
    data = yaml.safe_load(RIKERS.read_text())
    tiers = data["outcomes"][0]["payment"]["tiers"]
    tiers[1], tiers[2] = tiers[2], tiers[1]
    err = _error_for(tmp_path, data)
    assert err.field == "outcomes[0].payment.tiers"
    assert "increasing order" in err.problem


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (
            lambda d: d["outcomes"][0]["payment"].update(payer="city"),
            "outcomes[0].payment.payer",
            "no payer with id 'city'",
        ),
        (
            lambda d: d["capital"]["guarantees"][0].update(covers="mezz"),
            "capital.guarantees[0].covers",
            "no tranche with id 'mezz'",
        ),
        (lambda d: d["capital"].update(residual="nobody"), "capital.residual", "tranche id"),
        (lambda d: d.update(horizon=5), "outcomes[0].measured_after", "beyond the horizon"),
        (
            lambda d: d["outcomes"][0]["evaluation"].pop("outcome_sd"),
            "outcomes[0].evaluation",
            "standard_error, or sample_size and outcome_sd",
        ),
        (
            lambda d: d["outcomes"][0]["payment"].pop("price_per_unit"),
            "outcomes[0].payment.price_per_unit",
            "needs price_per_unit",
        ),
        (
            lambda d: d["outcomes"][0]["savings_to"].update(county=1.5),
            "outcomes[0].savings_to.county",
            "between 0 and 1",
        ),
    ],
)
def test_cross_field_errors(tmp_path, mutate, field, problem):
    data = teaching_data()
    mutate(data)
    err = _error_for(tmp_path, data)
    assert err.field == field
    assert problem in err.problem


def test_missing_file_and_not_a_mapping(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        pfs.load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        scenario_from_dict([1, 2])


def test_open_truncnormal_bound_survives_overrides_and_yaml():
    sc = teaching().with_overrides(
        {"outcomes.bed_days.effect": {"dist": "truncnormal", "mean": 0.2, "sd": 0.1, "high": 1.0}}
    )
    again = sc.with_overrides({"outcomes.bed_days.payment.price_per_unit": 150})
    effect = again.outcome("bed_days").effect
    assert effect.low is None and effect.high == 1.0
    assert effect.support() == (float("-inf"), 1.0)
    assert pfs.parse_scenario_text(again.to_yaml()) == again
    assert "null" not in again.canonical() or '"low":null' in again.canonical()
    with pytest.raises(ScenarioError, match="must be below high"):
        teaching().with_overrides(
            {
                "outcomes.bed_days.effect": {
                    "dist": "truncnormal",
                    "mean": 0,
                    "sd": 1,
                    "low": 2,
                    "high": 1,
                }
            }
        )
