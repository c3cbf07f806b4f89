"""Advisories: valid terms worth a second look, in the CLI and the app."""

from __future__ import annotations

import pytest

import pfs
from pfs.advice import advisories, expected_programme_cost
from pfs.cli import main
from tests.helpers import ROOT, TEACHING, teaching, teaching_data, write_yaml


def test_the_teaching_scenario_has_nothing_to_check():
    assert advisories(teaching()) == []


def test_tiers_paying_less_for_a_better_result():
    sc = pfs.load_scenario(ROOT / "scenarios" / "nyc_rikers_able.yaml")
    tiers = [t.model_dump() for t in sc.outcomes[0].payment.tiers]
    tiers[-1]["amount"] = tiers[-2]["amount"] / 2
    notes = advisories(sc.with_overrides({"outcomes.bed_days.payment.tiers": tiers}))
    assert [n.field for n in notes] == ["outcomes[0].payment.tiers"]
    assert "a better result is paid less" in notes[0].message


def test_savings_credited_to_nobody():
    sc = teaching().with_overrides({"outcomes.employment.savings_to": {}})
    notes = advisories(sc)
    assert [n.field for n in notes] == ["outcomes[1].savings_to"]
    assert "Quarters employed" in notes[0].message
    # an outcome valued at nothing has no savings to credit (as in several presets)
    valueless = sc.with_overrides({"outcomes.employment.value_per_unit": 0})
    assert advisories(valueless) == []


def test_presets_are_flagged_only_where_it_matters():
    flagged = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        notes = advisories(pfs.load_scenario(path))
        if notes:
            flagged[path.stem] = [n.field for n in notes]
    assert flagged == {"salt_lake_county_reach": ["capital.tranches"]}


def test_capital_below_the_expected_cost():
    sc = teaching()
    # 900 participants x 0.9 enrolled x E[triangular(3500, 4000, 5000)] + 800k fixed
    assert expected_programme_cost(sc) == pytest.approx(900 * 0.9 * 12_500 / 3 + 800_000)
    short = sc.with_overrides({"capital.tranches.senior.amount": 2_000_000})
    notes = advisories(short)
    assert [n.field for n in notes] == ["capital.tranches"]
    assert "$3.60M" in notes[0].message and "$4.18M" in notes[0].message
    # and the engine agrees: costs go unfunded on many paths
    res = pfs.simulate(short, paths=2000, seed=1)
    assert (res.metrics["unfunded_costs"] > 0).mean() > 0.5


def test_validate_prints_the_notes(capsys, tmp_path):
    data = teaching_data()
    data["outcomes"][1]["savings_to"] = {}
    path = write_yaml(tmp_path, data)
    assert main(["validate", str(TEACHING), str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok:") == 2 and out.count("note:") == 1
    assert f"note: {path}: outcomes[1].savings_to: no payer is credited" in out
