"""Deal benchmarking: ratios of scenarios against summary figures of real deals."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date

import numpy as np
import pytest

import pfs
from pfs.benchmarking import (
    BENCHMARKS_PATH,
    LEVELS,
    benchmark_scenario,
    compute_benchmarks,
    deal_ratios,
    load_benchmarks,
    scenario_max_payment,
    scenario_ratios,
    share_below,
)
from pfs.cli import main
from pfs.indigo import IndigoProject, read_commitment_totals, read_projects
from tests.helpers import RIKERS, ROOT, TEACHING, indigo_fixture_dir, teaching_data

FIXTURES = indigo_fixture_dir()


def _deal(i: int, country: str = "US", **fields) -> IndigoProject:
    base = dict(
        id=f"P{i}",
        name=f"Deal {i}",
        country=country,
        capital_currency="USD",
        capital=1e6 * i,
        capital_usd=1e6 * i,
        max_payment_currency="USD",
        max_payment=1.5e6 * i,
        max_payment_usd=1.5e6 * i,
        users_target=100.0 * i,
        duration_planned=12.0 * i,
    )
    base.update(fields)
    return IndigoProject(**base)


# ---------------------------------------------------------- INDIGO side
def test_deal_ratios_of_fixture_projects():
    table = deal_ratios(read_projects(FIXTURES / "original_projects.csv")).set_index("id")
    riverside = table.loc["INDIGO-POJ-9001"]
    assert riverside["capital_per_participant_usd"] == pytest.approx(4e6 / 800)
    assert riverside["max_payment_to_capital"] == pytest.approx(1.5)
    assert riverside["term_years"] == pytest.approx(47 / 12)
    assert math.isnan(table.loc["INDIGO-POJ-9002", "max_payment_to_capital"])
    assert math.isnan(table.loc["INDIGO-POJ-9004", "capital_per_participant_usd"])  # schools
    assert table.loc["INDIGO-POJ-9005", "max_payment_to_capital"] == pytest.approx(2.5)


def test_deal_ratios_fill_max_payment_from_commitments():
    projects = read_projects(FIXTURES / "original_projects.csv")
    commitments = read_commitment_totals(
        FIXTURES / "original_projects_outcome_payment_commitments.csv"
    )
    table = deal_ratios(projects, commitments).set_index("id")
    # 9002: GBP 900,000 + 1,100,000 (currency blank) on GBP 1.2M capital.
    assert table.loc["INDIGO-POJ-9002", "max_payment_to_capital"] == pytest.approx(2e6 / 1.2e6)
    # 9001 keeps the project export's own figure.
    assert table.loc["INDIGO-POJ-9001", "max_payment_to_capital"] == pytest.approx(1.5)


def test_compute_benchmarks_quantiles_and_counts():
    deals = [_deal(i) for i in range(1, 11)] + [_deal(11, country="GB", users_target=None)]
    figures = compute_benchmarks(deals, source="test deals", computed=date(2025, 6, 1))
    assert figures["computed"] == "2025-06-01" and figures["source"] == "test deals"
    per_participant = figures["ratios"]["capital_per_participant_usd"]["groups"]
    assert per_participant["all"]["n"] == 10  # deal 11 has no participant count
    assert per_participant["all"]["median"] == pytest.approx(10_000)  # 1e6 i / (100 i)
    assert "GB" not in per_participant  # fewer than five GB deals
    term = figures["ratios"]["term_years"]["groups"]["all"]
    assert term["n"] == 11
    assert term["median"] == pytest.approx(6.0)
    assert term["values"] == pytest.approx(list(np.quantile(np.arange(1, 12), LEVELS)))
    assert figures["usd_per_unit"]["USD"] == {"usd_per_unit": 1.0, "n": 22}


def test_shipped_figures_have_source_date_and_no_rows():
    data = load_benchmarks()
    assert "INDIGO" in data["source"] and data["source_url"].startswith("https://")
    date.fromisoformat(data["computed"])
    text = BENCHMARKS_PATH.read_text(encoding="utf-8")
    assert "INDIGO-POJ" not in text  # figures only, never project rows
    for ratio in data["ratios"].values():
        all_deals = ratio["groups"]["all"]
        assert all_deals["n"] >= 100
        assert all_deals["p25"] <= all_deals["median"] <= all_deals["p75"]
        assert len(all_deals["values"]) == len(LEVELS)
        assert all_deals["values"] == sorted(all_deals["values"])


def test_compute_script_writes_figures(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "compute_deal_benchmarks.py"),
            str(FIXTURES / "original_projects.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["projects_in_file"] == 5
    assert "original_projects.csv (5 projects)" in data["source"]
    assert "payment_commitments" in data["source"]
    # Five fixture projects give fewer than MIN_DEALS values per ratio: no figures.
    assert all(not r["groups"] for r in data["ratios"].values())
    assert "too few deals" in done.stdout


# --------------------------------------------------------- scenario side
def test_scenario_ratios_of_teaching_example():
    sc = pfs.load_scenario(TEACHING)
    ratios = scenario_ratios(sc)
    capital = 3_200_000 + 1_000_000 + 600_000
    assert ratios["capital_per_participant_usd"] == pytest.approx(capital / 900)
    assert ratios["max_payment_to_capital"] == pytest.approx(7_000_000 / capital)
    assert ratios["term_years"] == 3


def test_max_payment_of_tiers_and_of_uncapped_deals():
    assert scenario_max_payment(pfs.load_scenario(RIKERS)) == pytest.approx(11_712_000)
    data = teaching_data()
    data["payers"][0].pop("total_cap")
    data["outcomes"][0]["payment"].pop("cap")
    assert scenario_max_payment(pfs.scenario_from_dict(data)) is None
    data["outcomes"][0]["payment"]["cap"] = 1_000_000
    assert scenario_max_payment(pfs.scenario_from_dict(data)) == pytest.approx(3_000_000)


def test_other_currency_is_converted_with_indigo_rate():
    data = teaching_data()
    data["currency"] = "GBP"
    sc = pfs.scenario_from_dict(data)
    rate = load_benchmarks()["usd_per_unit"]["GBP"]["usd_per_unit"]
    ratios = scenario_ratios(sc)
    assert ratios["capital_per_participant_usd"] == pytest.approx(4_800_000 / 900 * rate)
    data["currency"] = "XYZ"
    frame = benchmark_scenario(pfs.scenario_from_dict(data))
    assert math.isnan(frame.loc["capital_per_participant_usd", "scenario"])
    assert "no USD rate for XYZ" in frame.loc["capital_per_participant_usd", "reading"]


def test_benchmark_scenario_places_the_deal():
    frame = benchmark_scenario(pfs.load_scenario(RIKERS))
    assert list(frame.index) == [
        "capital_per_participant_usd",
        "max_payment_to_capital",
        "term_years",
    ]
    row = frame.loc["capital_per_participant_usd"]
    assert row["scenario"] == pytest.approx(800)
    assert 0.05 <= row["share_below"] <= 0.95
    assert str(row["n"]) in row["reading"]
    assert frame.loc["term_years", "scenario"] == 4
    us = benchmark_scenario(pfs.load_scenario(RIKERS), group="US")
    assert us.loc["capital_per_participant_usd", "n"] < row["n"]


def test_unknown_group():
    with pytest.raises(pfs.PfsError, match="unknown benchmark group 'FR'"):
        benchmark_scenario(pfs.load_scenario(TEACHING), group="FR")


def test_share_below_handles_ties_and_tails():
    figures = {"levels": [0.25, 0.5, 0.75], "values": [1.0, 1.0, 3.0], "n": 9}
    assert share_below(1.0, figures) == pytest.approx(0.375)
    assert share_below(2.0, figures) == pytest.approx(0.5625)
    assert share_below(0.1, figures) == pytest.approx(0.375)  # clipped to the first level


def test_load_benchmarks_errors(tmp_path):
    with pytest.raises(pfs.PfsError, match="benchmark figures not found"):
        load_benchmarks(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(pfs.PfsError, match="cannot read benchmark figures"):
        load_benchmarks(bad)


# --------------------------------------------------------------------- CLI
def test_cli_benchmark_table_and_json(capsys):
    assert main(["benchmark", str(TEACHING)]) == 0
    out = capsys.readouterr().out
    assert "Capital per participant (USD)" in out and "real deals" in out
    assert main(["benchmark", str(RIKERS), "--json", "--group", "US"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["scenarios"][str(RIKERS)]
    assert data["group"] == "US" and "INDIGO" in data["source"]
    assert rows[0]["ratio"] == "capital_per_participant_usd"
    assert rows[0]["scenario"] == pytest.approx(800)


def test_cli_benchmark_errors(capsys, tmp_path):
    assert main(["benchmark", str(tmp_path / "missing.yaml")]) == 2
    assert main(["benchmark", str(TEACHING), "--group", "FR"]) == 2
    assert "unknown benchmark group" in capsys.readouterr().err
