"""The app's Drivers tab, report downloads, paths warning and deal notes (AppTest).

The Drivers tab draws a tornado chart, break-even sentences, Sobol' indices on a
button and the price solver; the workbook, HTML report and chart pictures are built
when their button is clicked; a warning shows under the headline numbers when there
are too few paths; the "About this deal" panel lists a real deal's sources and notes.
Runs use ``PFS_APP_PATHS`` (few paths) to stay quick, as in ``tests/test_app.py``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

import pfs
from pfs.formatting import format_value
from pfs.reports.content import headline_table
from pfs.ui.state import PATHS_ENV, with_app_paths
from tests.test_app import PATHS, TEACHING, assert_clean, show_tab, start

RIKERS = pfs.load_scenario(pfs.scenarios_dir() / "nyc_rikers_able.yaml")
PETERBOROUGH = pfs.load_scenario(pfs.scenarios_dir() / "peterborough_prison.yaml")


@pytest.fixture(autouse=True)
def few_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PATHS_ENV, PATHS)


@pytest.fixture(scope="module")
def drivers() -> AppTest:
    """The default scenario with the Drivers tab open (shared: the tab takes a second)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PATHS_ENV, PATHS)
        return show_tab(start(), "Drivers")


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def chart_specs(at: AppTest) -> list[str]:
    """The Vega-Lite specs drawn (as JSON; Streamlit sends the data apart)."""
    return [c.proto.spec for c in at.get("vega_lite_chart")]


def bar_labels(spec: str) -> list[str]:
    """The labels of a tornado's bars: the sort order of its y axis."""
    layers = json.loads(spec).get("layer", [])
    return [str(x) for layer in layers for x in layer["encoding"].get("y", {}).get("sort", [])]


# ------------------------------------------------------------------ drivers
def test_drivers_tab_draws_a_tornado_chart(drivers: AppTest) -> None:
    assert_clean(drivers)
    assert "What moves the result most?" in [h.value for h in drivers.subheader]
    labels = [label for spec in chart_specs(drivers) for label in bar_labels(spec)]
    assert any(label.startswith("Jail bed-days avoided: real effect | from ") for label in labels)
    assert not any("outcomes." in label for label in labels), "labels are plain words"
    assert "matters most" in text(drivers)
    drivers.radio(key="drivers_metric").set_value("p_investor_repaid").run()
    assert_clean(drivers)
    assert "the chance that investors are repaid in full" in text(drivers)


def test_breakeven_answers_in_plain_sentences(drivers: AppTest) -> None:
    body = text(drivers)
    assert "Investors get their money back if the real reduction in bed-days is at least" in body
    assert "today's best guess is 25.0%" in body
    assert "Investors break even on average if the real reduction in bed-days" in body
    assert "The government saves more than it pays if" in body


def test_sobol_indices_on_a_button(drivers: AppTest) -> None:
    assert not [t for t in drivers.table if "Explains on its own" in t.value.columns]
    drivers.button(key="sobol_run").click().run()
    assert_clean(drivers)
    table = next(t.value for t in drivers.table if "Explains on its own" in t.value.columns)
    assert table["Uncertain input"].iloc[0] == "Jail bed-days avoided: real effect"
    assert table["Explains with its interactions"].str.match(r"\d+% \(\d+% to \d+%\)").all()


def test_price_solver_returns_a_price(drivers: AppTest) -> None:
    drivers.button(key="price_solve").click().run()
    assert_clean(drivers)
    body = text(drivers)
    assert "To give investors a 75% chance of full repayment, pay" in body
    assert "per bed-day** for Jail bed-days avoided (today $180)" in body
    assert "The government would then keep" in body
    frontier = [s for s in chart_specs(drivers) if "gov_net_savings_pv" in s]
    assert frontier, "the frontier chart is drawn"
    # An average return of 50% a year is out of reach: caps bind.
    drivers.selectbox(key="price_metric").set_value("investor_irr").run()
    drivers.number_input(key="price_target:investor_irr").set_value(50.0).run()
    assert any("press the button again" in c.value for c in drivers.caption)
    drivers.button(key="price_solve").click().run()
    assert_clean(drivers)
    assert any("No price gives investors" in w.value for w in drivers.warning)


# ---------------------------------------------------------------- downloads
@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Callable[[], Any]]]:
    """What each download button would call when clicked, by file name."""
    found: dict[str, Callable[[], Any]] = {}
    original = MediaFileManager.add_deferred

    def spy(self: MediaFileManager, data_callable: Any, *args: Any, **kwargs: Any) -> str:
        name = kwargs.get("file_name", args[2] if len(args) > 2 else None)
        found[str(name)] = data_callable
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    yield found


def test_report_downloads_produce_bytes(deferred: dict[str, Callable[[], Any]]) -> None:
    at = show_tab(start(), "Drivers")  # the tornado is computed: the reports include it
    keys = {b.key for b in at.get("download_button")}
    assert {"download_xlsx", "download_html", "download_charts"} <= keys
    slug = "teaching_example_reentry_programme"
    workbook = deferred[f"{slug}_report.xlsx"]()
    assert workbook.startswith(b"PK")
    with zipfile.ZipFile(io.BytesIO(workbook)) as book:
        assert "Sensitivity" in book.read("xl/workbook.xml").decode()
    html = deferred[f"{slug}_report.html"]().decode()
    res = pfs.simulate(with_app_paths(TEACHING))  # the app's run: same paths and seed
    table = headline_table(res)
    for key in ("gov_net_savings_pv_mean", "p_investor_repaid"):
        assert format_value(table.loc[key, "value"], table.loc[key, "kind"], "USD") in html
    with zipfile.ZipFile(io.BytesIO(deferred[f"{slug}_charts.zip"]())) as pictures:
        names = pictures.namelist()
    assert "budget.png" in names and any(n.startswith("sensitivity_") for n in names)


# ------------------------------------------------------------------- paths
def test_paths_warning_when_paths_are_few(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PATHS_ENV)
    at = start()
    assert not at.warning, "20,000 paths are enough for the default scenario"
    at.select_slider(key="p:simulation.paths").set_value(1_000)
    at.button(key="simulation_apply").click().run()
    assert_clean(at)
    message = " ".join(w.value for w in at.warning)
    assert "Too few paths (1,000)" in message
    assert "Simulated futures (paths)" in message and "Simulation" in message


# ------------------------------------------------------------------- about
def test_real_deal_shows_sources_and_notes() -> None:
    at = start()
    at.selectbox(key="scenario").set_value(RIKERS.name).run()
    assert_clean(at)
    body = text(at)
    assert "**What was published**" in body and "**Assumptions (not published)**" in body
    assert "- **Published:** \\$9.6M multiple-draw loan" in body
    for source in RIKERS.sources:
        shown = f"]({source})" if source.startswith("http") else source
        assert shown in body, source
    table = next(t.value for t in at.table if "Where this deal sits" in t.value.columns)
    assert list(table["Figure"]) == [
        "Capital per participant (USD)",
        "Maximum outcome payment ÷ capital",
        "Service term (years)",
    ]


def test_pooled_trigger_is_explained() -> None:
    at = start()
    at.selectbox(key="scenario").set_value(PETERBOROUGH.name).run()
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    assert "each cohort on its own, else all cohorts pooled (pooled threshold 7.5%)" in captions
    key = "p:outcomes.reconvictions.payment.pooled_threshold"
    assert at.session_state[key] == pytest.approx(7.5)
