"""Charts of the app: valid Vega-Lite, small pre-aggregated data, one colour per party."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import pfs
from pfs.ui import charts
from pfs.ui.learn import flows_frame
from pfs.ui.views import effect_grid, outcome_sample

MAX_ROWS = 2_000  # no chart may ship anywhere near the number of paths


@pytest.fixture(scope="module")
def res() -> pfs.Results:
    sc = pfs.load_scenario(pfs.default_scenario_path())
    return pfs.simulate(sc, paths=20_000, seed=1)


def rows(spec: dict[str, Any]) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def check(chart: charts.AnyChart) -> dict[str, Any]:
    spec = charts.spec(chart, validate=True)
    assert rows(spec) <= MAX_ROWS
    assert spec["config"]["axis"]["labelFontSize"] >= 14
    return spec


def test_histogram_and_ecdf_are_small_and_consistent(res: pfs.Results) -> None:
    values = res.metrics["investor_irr"]
    hist = charts.histogram_frame(values)
    assert len(hist) == 40
    assert hist["share"].sum() == pytest.approx(np.isfinite(values).mean())
    ecdf = charts.ecdf_frame(values)
    assert len(ecdf) == 200
    assert ecdf["value"].is_monotonic_increasing
    check(charts.histogram_chart(hist, color="#000000", x_title="x", x_format=".0%"))
    check(charts.ecdf_chart(ecdf, color="#000000", x_title="x", x_format=".0%"))


def test_histogram_of_a_constant_still_draws() -> None:
    frame = charts.histogram_frame(np.full(100, 0.05))
    assert frame["share"].sum() == pytest.approx(1.0)


def test_budget_charts(res: pfs.Results) -> None:
    by_year = res.by_year()
    pay = by_year[by_year["series"] == "outcome_payments"]
    check(charts.fan_chart(pay, color=charts.PARTY_COLORS["payer"], y_title="y", y_format="$"))
    both = by_year[by_year["series"].isin(["outcome_payments", "gross_savings"])]
    colors = {"outcome_payments": "#000000", "gross_savings": "#111111"}
    check(charts.grouped_bars(both, colors, y_title="y", y_format="$.2~s"))
    frame = pd.DataFrame(
        {
            "option": ["a", "b"],
            "mean": [1.0, 2.0],
            "p05": [0.0, 1.0],
            "p95": [2.0, 3.0],
            "color": ["#000000", "#111111"],
        }
    )
    check(charts.range_bars(frame, x_title="x", x_format="$.2~s"))


def test_overlays_and_flows(res: pfs.Results) -> None:
    samples = {
        "Pinned": res.metrics["gov_net_savings_pv"],
        "Current": res.metrics["gov_net_savings_pv"] * 1.1,
    }
    check(
        charts.overlay_histograms(charts.histograms_frame(samples), x_title="x", x_format="$.2~s")
    )
    spec = check(charts.flows_chart(flows_frame(res), x_title="x", x_format="$.2~s"))
    assert charts.PARTY_COLORS["investors"] in str(spec)


def test_evaluation_charts(res: pfs.Results) -> None:
    outcome = res.scenario.outcome("bed_days")
    grid = effect_grid(outcome)
    assert len(grid) == 15 and grid[0] <= 0.05 <= grid[-1]
    curve = pd.DataFrame({"true_effect": grid, "mean": grid, "p05": grid, "p95": grid})
    check(
        charts.payment_curve_chart(
            curve, threshold=0.05, x_title="x", x_format=".0%", y_title="y", y_format="$.2~s"
        )
    )
    sample = outcome_sample(res, outcome)
    assert len(sample) == 1_500
    assert set(sample["result"]) <= set(charts.OUTCOME_CLASSES)
    check(
        charts.outcome_scatter(sample, threshold=0.05, x_title="x", y_title="y", axis_format=".0%")
    )


def test_party_colours_are_distinct() -> None:
    colours = list(charts.PARTY_COLORS.values())
    assert len(set(colours)) == len(colours)
    assert charts.tint("#000000", 0.5) == "#808080"
