"""The whole page: sidebar (scenario and parameters), headline numbers, tabs, downloads.

Stage: orchestration of the UI. :func:`main` is all ``app.py`` calls. The flow of one
run: pick the base scenario, draw the parameter widgets, apply the edits with
:meth:`pfs.Scenario.with_overrides`, simulate (cached), draw. Any unexpected error is
logged and shown as a short message, never as a traceback.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from pfs.advice import advisories
from pfs.results import Results
from pfs.scenario import Scenario, ScenarioError
from pfs.ui import analyses, state
from pfs.ui.about import about_deal, benchmark_panel
from pfs.ui.compare import compare_view
from pfs.ui.drivers import drivers_view
from pfs.ui.headline import headline, reference_note
from pfs.ui.learn import learn_view
from pfs.ui.views import budget_view, evaluation_view, investors_view
from pfs.ui.widgets import parameter_panel

logger = logging.getLogger("pfs.ui")

TABS = ("Budget", "Investors", "Evaluation risk", "Drivers", "Compare", "Learn")
TABS_KEY = "view"
FAILURE = "Something went wrong while drawing this part of the page."
# Metric labels wrap instead of being cut off; values stay readable on a projector; no
# "Deploy" button (a developer tool) in front of budget officers.
CSS = """<style>
[data-testid="stMetricLabel"] * {white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important;}
[data-testid="stMetricLabel"] {min-height: 2.8em; align-items: flex-start;}
[data-testid="stMetricValue"] {font-size: 2.3rem;}
[data-testid="stAppDeployButton"] {display: none;}
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
[data-testid="stMain"] h1 {font-size: 2.4rem;}
section[data-testid="stSidebar"][data-collapsed="false"] {min-width: 340px;}
</style>"""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "scenario"


# ------------------------------------------------------------------ sidebar
def _picker(all_choices: dict[str, Scenario]) -> None:
    st.selectbox(
        "Deal",
        list(all_choices),
        key=state.CHOICE_KEY,
        on_change=state.reset_parameters,
        help="Presets from the scenarios folder (teaching examples and real deals), "
        "and any scenario you upload.",
    )
    st.file_uploader(
        "Upload a scenario file (YAML)",
        type=["yaml", "yml"],
        key=state.UPLOAD_KEY,
        on_change=state.on_upload,
        help="A scenario in the same format as the presets. Download the current "
        "one below to see the format.",
    )
    problem = state.upload_problem()
    if problem is not None:
        where = f", field `{problem.field}`" if problem.field else ""
        st.error(
            f"Could not use **{problem.source}**{where}: {problem.problem}. "
            "The scenario you had is kept."
        )
    broken = state.presets().problems
    if broken:
        with st.expander(f"{len(broken)} preset file(s) could not be read"):
            for text in broken:
                st.caption(text)


def _apply(base: Scenario, edits: dict[str, Any]) -> Scenario:
    """The base scenario with the user's edits, or the last valid one if they clash."""
    if not edits:
        return base
    try:
        return base.with_overrides(edits, source="your settings")
    except ScenarioError as err:
        where = f"`{err.field}`: " if err.field else ""
        st.error(
            f"These settings do not work together ({where}{err.problem}). Showing the "
            "last settings that did."
        )
    last = state.last_current()
    return last if last is not None and last.name == base.name else base


def sidebar(all_choices: dict[str, Scenario], base: Scenario) -> Scenario:
    """Scenario picker, upload, parameters and YAML download; returns the edited scenario."""
    st.header("Scenario")
    _picker(all_choices)
    download = st.container()
    st.header("Parameters")
    st.caption("Change the deal's terms; every number on the page updates.")
    current = _apply(base, parameter_panel(base))
    st.button("Reset to the preset's values", key="reset", on_click=state.reset_parameters)
    download.download_button(
        "Download this scenario (YAML)",
        data=current.to_yaml(),
        file_name=f"{_slug(current.name)}.yaml",
        mime="text/yaml",
        key="download_yaml",
        help="The scenario with your changes, to keep, share or run with the pfs command.",
    )
    return current


# -------------------------------------------------------------------- main
def _reference(current: Scenario, base: Scenario) -> tuple[Results | None, str]:
    """The run the change arrows compare with: the pinned scenario, else the preset."""
    pinned = state.pinned()
    note = reference_note(current, pinned, base)
    if not note:
        return None, ""
    return state.run(pinned if pinned is not None else base, like=current), note


def _intro(sc: Scenario, res: Results) -> None:
    st.title(sc.name)
    st.markdown(
        f"Every number below comes from simulating **{res.n_paths:,} possible futures** of "
        "this deal: real programme results, noisy evaluations, payments and repayments. "
        "Change the deal in the left panel."
    )
    notes = len(advisories(sc))
    check = f" ({notes} to check)" if notes else ""
    with st.expander(f"About this deal: sources, assumptions, and how it compares{check}"):
        about_deal(sc)
        _guarded(lambda: benchmark_panel(sc))


def _paths_warning(res: Results) -> None:
    """A short warning under the headline numbers when there are too few paths."""
    warning = analyses.paths_warning(res)
    if warning:
        st.warning(
            f"{warning} These numbers would still move by chance: raise **Simulated "
            "futures (paths)** under **Simulation** in the left panel.",
            icon="⚠️",
        )


def _tabs(current: Scenario, base: Scenario, res: Results) -> None:
    views = {
        "Budget": lambda: budget_view(res),
        "Investors": lambda: investors_view(res),
        "Evaluation risk": lambda: evaluation_view(res, base),
        "Drivers": lambda: drivers_view(current),
        "Compare": lambda: compare_view(current),
        "Learn": lambda: learn_view(res),
    }
    for tab, name in zip(st.tabs(TABS, key=TABS_KEY, on_change="rerun"), TABS, strict=True):
        if tab.open:
            with tab:
                _guarded(views[name])


def _downloads(res: Results) -> None:
    st.divider()
    st.markdown("**Download the results**")
    slug = _slug(res.scenario.name)
    left, middle, right = st.columns(3)
    left.download_button(
        "Per-path metrics (CSV)",
        data=lambda: res.paths.to_csv(index_label="path"),
        file_name=f"{slug}_paths.csv",
        mime="text/csv",
        key="download_paths",
        help="One row per simulated future, one column per metric. Large.",
    )
    middle.download_button(
        "By period: quantiles (CSV)",
        data=lambda: res.by_period().to_csv(index=False),
        file_name=f"{slug}_by_period.csv",
        mime="text/csv",
        key="download_periods",
        help="For each period: average and 5th/50th/95th percentiles of each series.",
    )
    right.download_button(
        "By budget year: quantiles (CSV)",
        data=lambda: res.by_year().to_csv(index=False),
        file_name=f"{slug}_by_year.csv",
        mime="text/csv",
        key="download_years",
    )
    _reports(res, slug)


REPORTS = (
    (
        "xlsx",
        "Excel workbook",
        "_report.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "download_xlsx",
        "Inputs, headline numbers with their margins of error, budget years, tranches, "
        "comparison with real deals and a sample of simulated futures, one sheet each.",
    ),
    (
        "html",
        "Report (web page)",
        "_report.html",
        "text/html",
        "download_html",
        "A one-page report to read, print or send: headline numbers, charts, the reading "
        "of the results, assumptions and sources. Opens in any browser, offline.",
    ),
    (
        "zip",
        "Charts for slides (PNG, zip)",
        "_charts.zip",
        "application/zip",
        "download_charts",
        "The report's charts as high-resolution pictures.",
    ),
)


def _report_maker(kind: str, res: Results, sensitivity: pd.DataFrame | None) -> Callable[[], bytes]:
    """What a report button calls when clicked (Streamlit runs it then, not before)."""
    return lambda: analyses.report_bytes(kind, res, sensitivity)


def _reports(res: Results, slug: str) -> None:
    """Workbook, HTML report and chart pictures: built only when clicked (cached)."""
    sensitivity = analyses.computed_tornado(res.scenario)
    for column, (kind, label, suffix, mime, key, help_text) in zip(
        st.columns(3), REPORTS, strict=True
    ):
        column.download_button(
            label,
            data=_report_maker(kind, res, sensitivity),
            file_name=f"{slug}{suffix}",
            mime=mime,
            key=key,
            help=help_text,
            icon=":material/download:",
        )
    included = "include" if sensitivity is not None else "will include"
    st.caption(
        f"They take a few seconds to prepare once clicked. They {included} the “what moves "
        "the result most” table"
        + ("" if sensitivity is not None else " once you have opened the Drivers tab")
        + "."
    )


def _guarded(draw: Any) -> None:
    """Run one part of the page; show a short message instead of a traceback."""
    try:
        draw()
    except Exception:
        logger.exception("pfs app: drawing failed")
        st.error(
            f"{FAILURE} Try another value or reset the parameters; the details are in "
            "the server log."
        )


def _page(started: float) -> None:
    all_choices = state.choices()
    base = state.base_scenario(all_choices)
    with st.sidebar:
        current = sidebar(all_choices, base)
    state.remember_current(current)
    res = state.run(current)
    _intro(current, res)
    reference, note = _reference(current, base)
    headline(res, reference, note)
    _paths_warning(res)
    _tabs(current, base, res)
    _downloads(res)
    elapsed = time.perf_counter() - started
    st.caption(
        f"{res.n_paths:,} simulated futures, seed {res.seed}, "
        f"{res.sampling.value} sampling. Page computed in {elapsed:.2f} s."
    )
    st.session_state["_elapsed"] = elapsed


def main() -> None:
    """Draw the app (the only thing ``app.py`` calls)."""
    st.set_page_config(page_title="Pay for Success simulator", page_icon="📊", layout="wide")
    st.set_option("client.showErrorDetails", "none")
    st.html(CSS)
    _guarded(lambda: _page(time.perf_counter()))
