"""Pieces of the Drivers tab and of "About this deal", without a running app.

Break-even sentences for every kind of answer (a root, a payment step, never reached,
undefined), plain input names, the tornado's bars, the frontier's marked points, the
grouping of a preset's notes and the links of its sources.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

import pfs
from pfs import analysis
from pfs.analysis import PriceSolution
from pfs.ui import about, analyses, charts, drivers
from pfs.ui.labels import evaluation_words, input_words
from pfs.ui.widgets import singular
from tests.test_ui_charts import check

TEACHING = pfs.load_scenario(pfs.default_scenario_path())
BED_DAYS = TEACHING.outcome("bed_days")


def row(**values: Any) -> dict[str, Any]:
    base = {
        "mode": "deterministic",
        "metric": "investor_irr",
        "target": 0.0,
        "effect": 0.156,
        "effect_se": math.nan,
        "found": True,
        "kind": "root",
        "current_effect": 0.25,
        "margin": 0.094,
        "increasing": True,  # the metric rises with the effect (breakeven_table's column)
        "note": "",
    }
    return base | values


# --------------------------------------------------------------- break-even
def test_breakeven_sentence_of_a_root() -> None:
    text = drivers.breakeven_sentence(TEACHING, BED_DAYS, row(), 0)
    assert text == (
        f"{drivers.MET} Investors get their money back if the real reduction in bed-days "
        "is at least **15.6%**; today's best guess is 25.0%."
    )


def test_breakeven_sentence_expected_falling_short_with_its_margin() -> None:
    found = row(mode="expected", effect=0.30, effect_se=0.004, margin=-0.05)
    text = drivers.breakeven_sentence(TEACHING, BED_DAYS, found, 2)
    assert text.startswith(f"{drivers.NOT_MET} The government breaks even on average if")
    assert "is on average at least **30.0%** (± 0.8 points); today's average is 25.0%." in text


def test_breakeven_sentence_of_a_decreasing_metric_says_at_most() -> None:
    falling = row(effect=0.30, margin=0.05, increasing=False)  # safe below 30%
    assert "is at most **30.0%**" in drivers.breakeven_sentence(TEACHING, BED_DAYS, falling, 2)


def test_breakeven_sentence_at_a_payment_step() -> None:
    text = drivers.breakeven_sentence(TEACHING, BED_DAYS, row(kind="jump"), 1)
    assert "Investors earn 0.0% a year if" in text
    assert text.endswith("There a payment step is reached, so the result jumps.")


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            "investor_irr stays below 0.05 (highest 0.03772) for effects in [-0.86, 1.36]",
            "Investors do not earn 5.0% a year whatever the real reduction in bed-days "
            "(at most 3.8%).",
        ),
        (
            "gov_net_savings_pv stays above 0 (lowest 2.86e+06) for effects in [-8.8, 9.0]",
            "The government saves more than it pays whatever the real reduction in bed-days "
            "(never below $2.9M).",
        ),
        (
            "investor_irr is undefined for effects in [-11.82, 11.92]",
            "This deal has no investors whose money is repaid, so there is no break-even.",
        ),
        ("something new", "Investors earn 5.0% a year: no real effect in the range tried"),
    ],
    ids=["never", "always", "undefined", "unknown note"],
)
def test_breakeven_sentence_when_never_crossed(note: str, expected: str) -> None:
    metric = "gov_net_savings_pv" if "gov" in note else "investor_irr"
    question = 2 if "gov" in note else 1
    missing = row(found=False, effect=math.nan, margin=math.nan, note=note, metric=metric)
    missing["target"] = 0.0 if "gov" in note else 0.05
    assert expected in drivers.breakeven_sentence(TEACHING, BED_DAYS, missing, question)


def test_breakeven_of_an_absolute_effect_names_the_outcome() -> None:
    sc = pfs.load_scenario(pfs.scenarios_dir() / "denver_supportive_housing.yaml")
    o = next(o for o in sc.outcomes if o.effect_type.value == "absolute")
    text = drivers.breakeven_sentence(sc, o, row(effect=94.2, current_effect=160.0), 0)
    assert f"the real effect on {o.label} is at least **94 {o.unit} per participant**" in text


def test_breakeven_sentences_of_the_library_table() -> None:
    table = analysis.breakeven_table(TEACHING, "bed_days", paths=500)
    rows = table.to_dict(orient="records")
    sentences = [
        drivers.breakeven_sentence(TEACHING, BED_DAYS, r, i % 3) for i, r in enumerate(rows)
    ]
    assert sentences[0].startswith(f"{drivers.MET} Investors get their money back if")
    assert all("bed-days" in s for s in sentences)


# ------------------------------------------------------------------ drivers
def test_input_words_are_plain() -> None:
    for name in TEACHING.uncertain_inputs():
        words = input_words(TEACHING, name)
        assert "outcomes." not in words and "program." not in words, words
    assert input_words(TEACHING, "outcomes.bed_days.effect") == "Jail bed-days avoided: real effect"
    assert input_words(TEACHING, "program.enrollment_factor") == "Share of planned places filled"
    joined = "program.enrollment_factor + outcomes.bed_days.effect"
    assert " + " in input_words(TEACHING, joined)


def test_tornado_frame_and_chart() -> None:
    table = analysis.tornado(TEACHING, paths=500)
    frame = drivers.tornado_frame(TEACHING, table, "gov_net_savings_pv")
    assert len(frame) == 2 * len(TEACHING.uncertain_inputs())
    assert frame["label"].iloc[0].startswith("Jail bed-days avoided: real effect | from ")
    spec = check(
        charts.tornado_chart(
            frame,
            base=float(table["base"].iloc[0]),
            color=charts.PARTY_COLORS["payer"],
            x_title="x",
            x_format="$.2~s",
            cases=(drivers.LOW_CASE, drivers.HIGH_CASE),
        )
    )
    assert spec["layer"][0]["encoding"]["y"]["sort"][0] == frame["label"].iloc[0]


def test_sobol_table_is_formatted() -> None:
    table = analysis.sobol_indices(TEACHING, ["gov_net_savings_pv"], paths=256)
    shown = drivers.sobol_table(TEACHING, table, "gov_net_savings_pv")
    assert shown["Uncertain input"].iloc[0] == "Jail bed-days avoided: real effect"
    assert shown["Explains on its own"].str.fullmatch(r"\d+% \(\d+% to \d+%\)").all()


def test_frontier_marks_today_and_the_price_found() -> None:
    solution = PriceSolution("p_investor_repaid", 0.75, 1.2, True)
    scales = analyses._frontier_scales(1.2)
    assert 1.2 in scales and 1.0 in scales
    frontier = pd.DataFrame(
        {"scale": scales, "investor_irr": scales, "gov_net_savings_pv": [-s for s in scales]}
    )
    frame = drivers.frontier_frame(TEACHING, analyses.PriceAnswer(solution, frontier, 100))
    assert list(frame["point"].iloc[-2:]) == ["Today's prices", "Price found"]  # drawn last
    assert set(frame["label"]) == {"", "today", "price found"}
    check(charts.frontier_chart(frame, x_title="x", y_title="y", y_format="$.2~s"))


def test_prices_in_words() -> None:
    solution = analysis.solve_price(TEACHING, metric="p_investor_repaid", target=0.75, paths=500)
    lines = drivers.price_changes(TEACHING, solution)
    assert lines[0].startswith("**$") and "per bed-day** for Jail bed-days avoided" in lines[0]
    assert drivers.price_text(1234.5, "USD") == "$1,234"
    assert drivers.price_text(12.5, "GBP") == "£12.50"
    assert singular("children") == "child" and singular("bed-days") == "bed-day"


# -------------------------------------------------------------------- about
def test_notes_are_grouped_by_how_they_are_worded() -> None:
    groups = about.note_groups(
        ["Published: a.", "Assumption (not published): b.", "How it is modelled: c.", "d"]
    )
    assert list(groups) == ["published", "assumption", "other"]
    assert groups["other"] == ["How it is modelled: c.", "d"]


def test_sources_become_links() -> None:
    link = about.source_markdown("https://www.example.org/reports/final-report/")
    assert link == ("[example.org › final-report](https://www.example.org/reports/final-report/)")
    assert (
        about.source_markdown("INDIGO project INDIGO-POJ-0083") == "INDIGO project INDIGO-POJ-0083"
    )
    assert about.escape("$9.6M and $7.2M") == "\\$9.6M and \\$7.2M"


def test_pooled_measurement_in_words() -> None:
    sc = pfs.load_scenario(pfs.scenarios_dir() / "peterborough_prison.yaml")
    words = evaluation_words(sc.outcomes[0])
    assert "each cohort on its own, else all cohorts pooled (pooled threshold 7.5%)" in words
    blended = pfs.load_scenario(pfs.scenarios_dir() / "massachusetts_juvenile_justice_roca.yaml")
    assert any("blends" in evaluation_words(o) for o in blended.outcomes)
