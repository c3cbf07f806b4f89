"""Session state and caches: the scenario being edited, uploads, the pin, simulations.

Stage: UI state. Presets are read from :func:`pfs.scenarios_dir`; uploads are parsed
with :func:`pfs.parse_scenario_text`; simulations go through :func:`pfs.simulate`,
cached by the scenario's canonical form (plus paths, seed and sampling method), so a
parameter moved back and forth redraws from the cache.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

import pfs
from pfs.results import Comparison, Results
from pfs.scenario import Scenario, ScenarioError

PATHS_ENV = "PFS_APP_PATHS"  # e.g. PFS_APP_PATHS=2000 for quick tests
PARAM_PREFIX = "p:"  # session-state keys of parameter widgets
CHOICE_KEY = "scenario"
UPLOAD_KEY = "upload"
UPLOADS = "_uploads"
UPLOAD_ERROR = "_upload_error"
PINNED = "_pinned"
CURRENT = "_current"
UPLOAD_PREFIX = "Uploaded: "
T = TypeVar("T")
_DERIVED: weakref.WeakKeyDictionary[Results, dict[str, Any]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class UploadProblem:
    """Why an uploaded file was refused (file, field, problem)."""

    source: str
    field: str
    problem: str


# ------------------------------------------------------------------ presets
def _preset_files() -> tuple[tuple[str, float], ...]:
    files = sorted(pfs.scenarios_dir().glob("*.yaml"))
    return tuple((str(f), f.stat().st_mtime) for f in files)


@dataclass(frozen=True)
class Presets:
    """The bundled scenarios.

    Attributes:
        scenarios: every valid preset by its human name.
        problems: why other files in ``scenarios/`` could not be read.
        default: the label of the default teaching scenario.
    """

    scenarios: dict[str, Scenario]
    problems: list[str]
    default: str


@st.cache_resource(show_spinner=False)
def _load_presets(files: tuple[tuple[str, float], ...]) -> Presets:
    found: dict[str, Scenario] = {}
    problems: list[str] = []
    default = ""
    for path, _ in files:
        try:
            sc = pfs.load_scenario(path)
        except ScenarioError as err:
            problems.append(str(err))
            continue
        label = sc.name if sc.name not in found else f"{sc.name} ({Path(path).stem})"
        found[label] = sc
        if Path(path) == pfs.default_scenario_path():
            default = label
    return Presets(found, problems, default or next(iter(found), ""))


def presets() -> Presets:
    """The bundled scenarios (re-read when a file in ``scenarios/`` changes)."""
    return _load_presets(_preset_files())


def app_paths() -> int | None:
    """Paths forced by the ``PFS_APP_PATHS`` environment variable, if set."""
    raw = os.environ.get(PATHS_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def with_app_paths(sc: Scenario) -> Scenario:
    """The scenario with ``PFS_APP_PATHS`` applied to its simulation settings."""
    paths = app_paths()
    if paths is None or paths == sc.simulation.paths:
        return sc
    return sc.with_overrides({"simulation.paths": paths})


def choices() -> dict[str, Scenario]:
    """Presets followed by this session's uploads, by label."""
    uploads: dict[str, Scenario] = st.session_state.get(UPLOADS, {})
    return {**presets().scenarios, **uploads}


def base_scenario(all_choices: dict[str, Scenario]) -> Scenario:
    """The unedited scenario the user picked (the default one at first)."""
    label = st.session_state.get(CHOICE_KEY)
    if label not in all_choices:
        label = presets().default if presets().default in all_choices else next(iter(all_choices))
        st.session_state[CHOICE_KEY] = label
    return with_app_paths(all_choices[label])


# ---------------------------------------------------------------- callbacks
def seed(key: str, default: Any, allowed: Collection[Any] | None = None) -> None:
    """Give a widget its starting value through session state (not ``value=``).

    A widget whose state was set this way is redrawn with that value by the browser;
    one given only ``value=`` keeps whatever the browser showed before, so after a
    reset or a change of scenario it would show (and send back) stale values.

    Args:
        key: the widget's key.
        default: its starting value.
        allowed: values the widget accepts now; any other stored value is replaced.
    """
    if key not in st.session_state or (
        allowed is not None and st.session_state[key] not in allowed
    ):
        st.session_state[key] = default


def reset_parameters() -> None:
    """Forget every parameter widget so they show the picked scenario's values."""
    for key in list(st.session_state):
        if str(key).startswith(PARAM_PREFIX):
            del st.session_state[key]


def on_upload() -> None:
    """Parse an uploaded scenario; on success select it, otherwise keep the old one."""
    file = st.session_state.get(UPLOAD_KEY)
    st.session_state[UPLOAD_ERROR] = None
    if file is None:
        return
    try:
        text = file.getvalue().decode("utf-8")
        sc = pfs.parse_scenario_text(text, source=file.name)
    except UnicodeDecodeError:
        problem = UploadProblem(file.name, "", "not a text file; expected a YAML scenario")
        st.session_state[UPLOAD_ERROR] = problem
        return
    except ScenarioError as err:
        st.session_state[UPLOAD_ERROR] = UploadProblem(err.source, err.field, err.problem)
        return
    label = UPLOAD_PREFIX + sc.name
    st.session_state.setdefault(UPLOADS, {})[label] = sc
    st.session_state[CHOICE_KEY] = label
    reset_parameters()


def upload_problem() -> UploadProblem | None:
    """The problem of the last upload, if it was refused."""
    problem: UploadProblem | None = st.session_state.get(UPLOAD_ERROR)
    return problem


def pin_current() -> None:
    """Pin the scenario on screen, to compare later edits against it."""
    st.session_state[PINNED] = st.session_state.get(CURRENT)


def unpin() -> None:
    """Forget the pinned scenario."""
    st.session_state[PINNED] = None


def pinned() -> Scenario | None:
    """The pinned scenario, if any."""
    sc: Scenario | None = st.session_state.get(PINNED)
    return sc


def remember_current(sc: Scenario) -> None:
    """Keep the scenario on screen (what the pin button pins)."""
    st.session_state[CURRENT] = sc


def last_current() -> Scenario | None:
    """The scenario shown by the previous run."""
    sc: Scenario | None = st.session_state.get(CURRENT)
    return sc


# ------------------------------------------------------------- simulations
def derived(res: Results, name: str, compute: Callable[[], T]) -> T:
    """A table or number derived from ``res``, computed once per (cached) run."""
    found = _DERIVED.setdefault(res, {})
    if name not in found:
        found[name] = compute()
    value: T = found[name]
    return value


def headline(res: Results) -> dict[str, float]:
    """``res.headline()``, computed once per run (every card reads it)."""
    return derived(res, "headline", res.headline)


def probabilities(res: Results) -> dict[str, float]:
    """``res.probabilities()``, computed once per run."""
    return derived(res, "probabilities", res.probabilities)


@st.cache_resource(max_entries=16, show_spinner=False)
def _simulate(key: str, paths: int, seed: int, sampling: str, _scenario: Scenario) -> Results:
    return pfs.simulate(_scenario, paths=paths, seed=seed, sampling=sampling)


def run(sc: Scenario, like: Scenario | None = None) -> Results:
    """Simulate ``sc`` (cached), with the simulation settings of ``like`` if given.

    Two runs with the same settings share their random numbers, so their differences
    show the effect of the deal's structure, not noise.
    """
    settings = (like or sc).simulation
    return _simulate(sc.canonical(), settings.paths, settings.seed, settings.sampling.value, sc)


def without_guarantees(sc: Scenario) -> Results:
    """The same run with every guarantee removed (same random numbers)."""
    return run(sc.with_overrides({"capital.guarantees": []}), like=sc)


def comparison(pinned_sc: Scenario, current: Scenario) -> Comparison:
    """Pinned and current scenarios simulated with common random numbers.

    Both runs use the current scenario's paths, seed and sampling method (this is what
    :func:`pfs.compare` does); the cached runs are reused.
    """
    return Comparison({"Pinned": run(pinned_sc, like=current), "Current": run(current)})


@st.cache_data(max_entries=32, show_spinner=False)
def _summary_at(
    key: str, metric: str, seed: int, paths: int, _scenario: Scenario
) -> dict[str, Any]:
    res = pfs.simulate(_scenario, paths=paths, seed=seed, keep_inputs=False)
    row = res.summary([metric]).to_dict(orient="index")[metric]
    return {"mean": float(row["mean"]), "p05": float(row["p05"]), "p95": float(row["p95"])}


def summary_at(sc: Scenario, metric: str, paths: int) -> dict[str, Any]:
    """Mean and 90% range of one metric for ``sc`` with few paths (cached)."""
    return _summary_at(sc.canonical(), metric, sc.simulation.seed, paths, sc)
