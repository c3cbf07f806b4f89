"""Cached analyses and reports: drivers, break-even, fair price, benchmarks, downloads.

Stage: UI state (like :mod:`pfs.ui.state`). Each function calls :mod:`pfs.analysis`,
:mod:`pfs.reports` or :mod:`pfs.benchmarking`, never computes finance itself, and caches
the answer by the scenario's canonical form (which holds its simulation settings) plus
the settings that change the answer, so a tab drawn again, or a parameter moved back and
forth, reuses the work. The analyses run on fewer simulated futures than the main run
(:func:`analysis_paths`) to stay quick; the views say so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from pfs import analysis, benchmarking, reports
from pfs.analysis import PriceSolution
from pfs.results import Results
from pfs.scenario import PfsError, Scenario
from pfs.ui import state

ANALYSIS_PATHS = 5_000  # tornado, price solver, frontier
BREAKEVEN_PATHS = 2_000  # expected break-even: about 20 runs of the deal
SOBOL_BASE = 2_048  # Sobol' base samples (the engine runs base x (factors + 2) paths)
TORNADO_FOR = "_tornado_for"  # session: the settings of the last tornado drawn
FRONTIER_SCALES = tuple(round(0.5 + 0.1 * i, 10) for i in range(11))  # 50% .. 150%


def digest(sc: Scenario) -> str:
    """A short fingerprint of a scenario (its canonical form, settings included)."""
    return hashlib.blake2b(sc.canonical().encode(), digest_size=12).hexdigest()


def analysis_paths(sc: Scenario, most: int = ANALYSIS_PATHS) -> int:
    """Paths for an analysis: the scenario's, but at most ``most``."""
    return min(sc.simulation.paths, most)


# ------------------------------------------------------------------ drivers
@st.cache_data(max_entries=16, show_spinner=False)
def _tornado(key: str, paths: int, _sc: Scenario) -> pd.DataFrame:
    return analysis.tornado(_sc, paths=paths)


def tornado(sc: Scenario) -> pd.DataFrame:
    """The tornado table of the three default metrics (cached), and remember it.

    The downloads include it (:func:`computed_tornado`) once it has been drawn.
    """
    paths = analysis_paths(sc)
    table = _tornado(digest(sc), paths, sc)
    st.session_state[TORNADO_FOR] = (digest(sc), paths)
    return table


def computed_tornado(sc: Scenario) -> pd.DataFrame | None:
    """The tornado table of ``sc`` if this session has drawn it, else None."""
    paths = analysis_paths(sc)
    if st.session_state.get(TORNADO_FOR) != (digest(sc), paths):
        return None
    return _tornado(digest(sc), paths, sc)


@st.cache_data(max_entries=16, show_spinner=False)
def _sobol(key: str, base: int, _sc: Scenario) -> pd.DataFrame:
    # sobol_indices leaves out a metric undefined on every path (investor returns of
    # a deal without investors) and raises only when every metric is
    return analysis.sobol_indices(_sc, analysis.DEFAULT_METRICS, paths=base)


def sobol_base(sc: Scenario) -> int:
    """Sobol' base samples for ``sc`` (at most :data:`SOBOL_BASE`, at least 16)."""
    return max(16, analysis_paths(sc, SOBOL_BASE))


def sobol(sc: Scenario) -> pd.DataFrame:
    """Sobol' first-order and total indices of the three default metrics (cached).

    A metric undefined on every path (investor returns of a deal without investors)
    is left out.

    Raises:
        PfsError: when no metric can be analysed.
    """
    return _sobol(digest(sc), sobol_base(sc), sc)


# --------------------------------------------------------------- break-even
@st.cache_data(max_entries=16, show_spinner=False)
def _breakeven(
    key: str, outcome: str, target_irr: float, paths: int, _sc: Scenario
) -> pd.DataFrame:
    return analysis.breakeven_table(_sc, outcome, target_irr=target_irr, paths=paths)


def breakeven(sc: Scenario, outcome: str, target_irr: float) -> pd.DataFrame:
    """The break-even table of one outcome, both modes (cached)."""
    paths = analysis_paths(sc, BREAKEVEN_PATHS)
    return _breakeven(digest(sc), outcome, round(target_irr, 6), paths, sc)


# ------------------------------------------------------------------- price
@dataclass(frozen=True)
class PriceAnswer:
    """A price solution and the frontier around it (same simulated futures).

    Attributes:
        solution: what :func:`pfs.analysis.solve_price` found.
        frontier: :func:`pfs.analysis.price_frontier` over today's price x 0.5 .. 1.5
            (and around the solution's scale).
        paths: simulated futures used.
    """

    solution: PriceSolution
    frontier: pd.DataFrame
    paths: int


def _frontier_scales(scale: float) -> list[float]:
    scales = set(FRONTIER_SCALES)
    if np.isfinite(scale) and scale > 0:
        scales = {s for s in scales if abs(s - scale) > 0.02}
        scales |= {scale, *(round(scale * f, 10) for f in (0.8, 0.9, 1.1, 1.2))}
        scales.add(1.0)  # today's prices stay on the chart
    return sorted(scales)


@st.cache_data(max_entries=16, show_spinner=False)
def _price(
    key: str, metric: str, target: float, outcomes: tuple[str, ...], paths: int, _sc: Scenario
) -> PriceAnswer:
    chosen = list(outcomes) or None
    solution = analysis.solve_price(_sc, metric=metric, target=target, outcomes=chosen, paths=paths)
    frontier = analysis.price_frontier(
        _sc, _frontier_scales(solution.scale), outcomes=chosen, paths=paths
    )
    return PriceAnswer(solution, frontier, paths)


def price(sc: Scenario, metric: str, target: float, outcomes: tuple[str, ...]) -> PriceAnswer:
    """The price scale that meets an investor target, with the frontier (cached).

    Args:
        sc: the scenario.
        metric: metric spec to target (``p_investor_repaid``, ``investor_irr:p50``...).
        target: the value to reach.
        outcomes: ids of the outcomes whose prices change (empty: all of them).
    """
    paths = analysis_paths(sc)
    return _price(digest(sc), metric, round(target, 6), outcomes, paths, sc)


# --------------------------------------------------------------- benchmarks
@st.cache_data(max_entries=32, show_spinner=False)
def _benchmark(key: str, group: str, _sc: Scenario) -> pd.DataFrame:
    return benchmarking.benchmark_scenario(_sc, group=group)


def benchmark(sc: Scenario, group: str) -> pd.DataFrame | None:
    """Where ``sc`` sits among real deals (None when the figures cannot be read)."""
    try:
        return _benchmark(digest(sc), group, sc)
    except PfsError:
        return None


def benchmark_source() -> str:
    """One line naming the benchmark figures' source and date ('' if unavailable)."""
    try:
        return benchmarking.benchmark_source()
    except (PfsError, KeyError):
        return ""


# ------------------------------------------------------------------ reports
def run_key(res: Results) -> tuple[str, int, int, str]:
    """What identifies a run: the scenario and its paths, seed and sampling."""
    return digest(res.scenario), res.n_paths, res.seed, res.sampling.value


@st.cache_data(max_entries=4, show_spinner=False)
def _report(
    kind: str, run: tuple[Any, ...], sensitivity: tuple[Any, ...] | None, _res: Results, _table: Any
) -> bytes:
    if kind == "xlsx":
        return reports.workbook_bytes(_res, _table)
    if kind == "html":
        return reports.html_report(_res, _table).encode("utf-8")
    return reports.charts_zip(_res, "png", _table)


def report_bytes(kind: str, res: Results, sensitivity: pd.DataFrame | None) -> bytes:
    """The Excel workbook (``xlsx``), HTML report (``html``) or chart images (``zip``).

    Built on demand and cached by the run and by whether the tornado table is in it.
    """
    key = None if sensitivity is None else ("tornado", int(sensitivity.attrs.get("paths", 0)))
    return _report(kind, run_key(res), key, res, sensitivity)


def paths_warning(res: Results) -> str | None:
    """:func:`pfs.analysis.paths_warning` of the run, computed once per run."""
    return state.derived(res, "paths_warning", lambda: analysis.paths_warning(res))
