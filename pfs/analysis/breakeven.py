"""Break-even: how good must the programme be?

Stage: analysis. Finds the true effect of one outcome at which a metric reaches a
target: investors get their money back (IRR = 0), investors reach a target IRR,
government net savings are zero.

- **deterministic**: every uncertain input at its median (or mean), no evaluation
  noise; the metric is a function of the effect alone. Each trial effect is one
  path, so a whole grid of effects is one vectorised engine run; the first crossing
  is then refined by repeated grid refinement (bisection on many points at once).
  Step tiers and thresholds make the function jump: the answer is then the edge
  (the smallest effect that meets the target) and ``kind`` says ``"jump"``.
- **expected**: every input keeps its uncertainty; the effect's whole distribution
  is shifted (the same draws plus a constant, common random numbers), and the
  root of ``E[metric](mean effect) = target`` is found with Brent's method. The
  answer is the *mean* true effect needed, with a Monte Carlo standard error from
  the delta method.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import brentq

from pfs.analysis._common import (
    PathSet,
    central_draws,
    central_values,
    effect_input,
    metric_se,
    metric_stat,
    per_path,
    results_from_chunks,
    split_metric,
)
from pfs.distributions import value_mean, value_quantile
from pfs.engine import run_chunk
from pfs.scenario import PfsError, Sampling, Scenario

FloatArray = NDArray[np.float64]

BREAKEVEN_COLUMNS = [
    "question",
    "metric",
    "target",
    "mode",
    "outcome",
    "effect",
    "effect_se",
    "found",
    "kind",
    "crossings",
    "increasing",
    "current_effect",
    "margin",
    "note",
]
"""Columns of :func:`breakeven_table`, in order."""

GRID = 257
REFINE = 65
MODES = ("deterministic", "expected")


@dataclass(frozen=True)
class Breakeven:
    """Where a metric crosses its target as the true effect varies.

    Attributes:
        metric: metric spec (``investor_irr``, ``gov_net_savings_pv``, ...).
        target: the target value.
        mode: ``"deterministic"`` or ``"expected"``.
        outcome: the outcome whose true effect varies.
        effect: the break-even effect (for ``expected``: the mean true effect);
            NaN when not found.
        effect_se: Monte Carlo standard error of ``effect`` (``expected`` only).
        found: whether the metric crosses the target within the searched range.
        kind: ``"root"`` (the metric equals the target there), ``"jump"`` (it
            jumps across the target: a tier edge or threshold) or ``"none"``.
        crossings: how many times the metric crosses the target in the range.
        increasing: whether the metric rises through the target at ``effect``.
        current_effect: the scenario's median (or mean) true effect, for reference.
        bracket: the effect range searched.
        note: plain-language remark.
    """

    metric: str
    target: float
    mode: str
    outcome: str
    effect: float
    effect_se: float
    found: bool
    kind: str
    crossings: int
    increasing: bool
    current_effect: float
    bracket: tuple[float, float]
    note: str = ""

    @property
    def margin(self) -> float:
        """How far the current effect is above the break-even (positive = safe side)."""
        if not self.found:
            return math.nan
        sign = 1.0 if self.increasing else -1.0
        return sign * (self.current_effect - self.effect)


def _default_bracket(sc: Scenario, name: str) -> tuple[float, float]:
    """Default search range of the effect.

    The effect's 0.1%..99.9% range and zero, reaching past the payment's threshold and
    tier edges (where the metrics change), widened by a quarter.
    """
    o = sc.outcome(name.split(".")[1])
    spec = sc.uncertain_inputs().get(name)
    if spec is None:
        value = float(value_mean(o.effect))
        lo, hi, width = value, value, max(abs(value), 0.1)
    else:
        lo, hi = value_quantile(spec, 0.001), value_quantile(spec, 0.999)
        width = 0.25 * max(hi - lo, abs(value_mean(spec)), 1e-3)
    edges = [o.payment.threshold, *(t.at for t in o.payment.tiers or [])]
    lo, hi = min(0.0, lo, *edges), max(0.0, hi, *edges)
    return lo - width, hi + width


def _expand(bracket: tuple[float, float]) -> tuple[float, float]:
    lo, hi = bracket
    mid, half = (lo + hi) / 2, (hi - lo)
    return mid - half, mid + half


def _extremes(f: FloatArray) -> tuple[float, float]:
    finite = f[np.isfinite(f)]
    return (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)


def _saturated(f: FloatArray, seen: tuple[float, float] | None) -> bool:
    """Whether widening the range changed neither extreme of the metric (caps hit)."""
    if seen is None:
        return False
    now = _extremes(f)
    scale = max(abs(now[1] - now[0]), abs(now[0]), abs(now[1]), 1e-12)
    return all(abs(a - b) <= 1e-9 * scale for a, b in zip(now, seen, strict=True))


def _scan(
    curve: Callable[[FloatArray], FloatArray],
    span: tuple[float, float],
    points: int,
    target: float,
    *,
    widen: bool,
    expansions: int,
) -> tuple[tuple[float, float], FloatArray, FloatArray, NDArray[np.intp]]:
    """Evaluate ``curve`` on a grid over ``span`` until it crosses ``target``.

    Without a crossing (and when ``widen``), the span is widened up to ``expansions``
    times, stopping early once the curve has flattened out at both ends.

    Returns:
        ``(span, grid, values, crossings)`` of the last grid evaluated.
    """
    seen: tuple[float, float] | None = None
    for _ in range(expansions + 1):
        grid = np.linspace(span[0], span[1], points)
        f = curve(grid)
        hits = _crossings(f, target)
        if hits.size or not widen or _saturated(f, seen):
            break
        seen = _extremes(f)
        span = _expand(span)
    return span, grid, f, hits


def _crossings(f: FloatArray, target: float) -> NDArray[np.intp]:
    """Indices ``i`` where ``f[i]`` and ``f[i+1]`` lie on opposite sides of ``target``."""
    side = np.sign(f - target)
    finite = np.isfinite(f)
    # a point exactly on target counts as a crossing on its left
    change = (side[:-1] * side[1:] <= 0) & finite[:-1] & finite[1:] & (side[:-1] != 0)
    return np.flatnonzero(change)


def _never(what: str, f: FloatArray, target: float, span: tuple[float, float], kind: str) -> str:
    finite = f[np.isfinite(f)]
    if not finite.size:
        return f"{what} is undefined for {kind}effects in [{span[0]:.4g}, {span[1]:.4g}]"
    if finite.min() > target:
        where = f"above {target:g} (lowest {finite.min():.4g})"
    else:
        where = f"below {target:g} (highest {finite.max():.4g})"
    return f"{what} stays {where} for {kind}effects in [{span[0]:.4g}, {span[1]:.4g}]"


# --------------------------------------------------------------- deterministic
def _deterministic_curve(
    sc: Scenario, name: str, effects: FloatArray, spec: str, at: str
) -> FloatArray:
    started = time.perf_counter()
    draws = central_draws(sc, effects.size, at)
    draws.values[name] = np.asarray(effects, dtype=np.float64)
    chunk = run_chunk(sc, draws)
    res = results_from_chunks(sc, [(chunk.metrics, chunk.periods)], 0, Sampling.random, started)
    metric, stat = split_metric(spec)
    if stat != "mean":
        raise PfsError(f"deterministic break-even uses one path; drop ':{stat}' from {spec!r}")
    return per_path(res, metric)


def _deterministic(
    sc: Scenario,
    name: str,
    spec: str,
    target: float,
    at: str,
    bracket: tuple[float, float] | None,
    expansions: int,
) -> Breakeven:
    outcome = name.split(".")[1]
    current = central_values(sc, at).get(name, float(value_mean(sc.outcome(outcome).effect)))
    span = bracket or _default_bracket(sc, name)
    span, grid, f, hits = _scan(
        lambda g: _deterministic_curve(sc, name, g, spec, at),
        span,
        GRID,
        target,
        widen=bracket is None,
        expansions=expansions,
    )
    if not hits.size:
        return Breakeven(
            spec,
            target,
            "deterministic",
            outcome,
            math.nan,
            math.nan,
            False,
            "none",
            0,
            False,
            current,
            span,
            _never(spec, f, target, span, ""),
        )
    i = int(hits[0])
    lo, hi = float(grid[i]), float(grid[i + 1])
    f_lo, f_hi = float(f[i]), float(f[i + 1])
    increasing = f_hi > f_lo
    scale = float(np.nanmax(f) - np.nanmin(f)) or 1.0
    while hi - lo > 1e-12 * max(1.0, abs(lo), abs(hi)):
        sub = np.linspace(lo, hi, REFINE)
        g = _deterministic_curve(sc, name, sub, spec, at)
        j = _crossings(g, target)
        if not j.size:  # NaN inside: keep the bracket
            break
        k = int(j[0])
        lo, hi, f_lo, f_hi = float(sub[k]), float(sub[k + 1]), float(g[k]), float(g[k + 1])
    jump = abs(f_hi - f_lo) > 1e-6 * scale
    if jump:
        effect = hi
        kind, note = (
            "jump",
            (
                f"{spec} jumps from {f_lo:.6g} to {f_hi:.6g} at this effect "
                "(a tier edge or threshold)"
            ),
        )
    else:
        effect = lo if f_hi == f_lo else lo + (target - f_lo) * (hi - lo) / (f_hi - f_lo)
        kind, note = "root", ""
    if hits.size > 1:
        note = (note + "; " if note else "") + (
            f"crosses the target {hits.size} times in [{span[0]:.4g}, {span[1]:.4g}]; "
            "this is the lowest effect"
        )
    return Breakeven(
        spec,
        target,
        "deterministic",
        outcome,
        effect,
        math.nan,
        True,
        kind,
        int(hits.size),
        increasing,
        current,
        span,
        note,
    )


# -------------------------------------------------------------------- expected
class _ShiftedRuns:
    """E[metric] as the effect distribution is shifted (common random numbers).

    Each shift is run once; the statistics (value and standard error) of every
    metric asked for so far are cached, not the runs, so memory stays small.
    """

    def __init__(self, name: str, paths: PathSet, specs: Sequence[str]):
        self.name, self.paths = name, paths
        self.specs = list(dict.fromkeys(specs))
        self.cache: dict[float, dict[str, tuple[float, float]]] = {}

    def stats(self, delta: float, spec: str) -> tuple[float, float]:
        if spec not in self.specs:
            self.specs.append(spec)
            self.cache.clear()
        if delta not in self.cache:
            res = self.paths.run(shift={self.name: delta})
            self.cache[delta] = {s: (metric_stat(res, s), metric_se(res, s)) for s in self.specs}
        return self.cache[delta][spec]

    def value(self, delta: float, spec: str) -> float:
        return self.stats(delta, spec)[0]


def _expected(
    sc: Scenario,
    name: str,
    spec: str,
    target: float,
    runs: _ShiftedRuns,
    bracket: tuple[float, float] | None,
    expansions: int,
    grid_points: int,
) -> Breakeven:
    outcome = name.split(".")[1]
    spec_value = sc.uncertain_inputs().get(name, sc.outcome(outcome).effect)
    mean = float(value_mean(spec_value))
    span = bracket or _default_bracket(sc, name)
    span, grid, f, hits = _scan(
        lambda g: np.array([runs.value(float(m - mean), spec) for m in g]),
        span,
        grid_points,
        target,
        widen=bracket is None,
        expansions=expansions,
    )
    if not hits.size:
        return Breakeven(
            spec,
            target,
            "expected",
            outcome,
            math.nan,
            math.nan,
            False,
            "none",
            0,
            False,
            mean,
            span,
            _never(f"E[{spec}]", f, target, span, "mean "),
        )
    i = int(hits[0])
    lo, hi = float(grid[i]), float(grid[i + 1])
    increasing = f[i + 1] > f[i]
    scale = hi - lo
    root = brentq(
        lambda m: runs.value(m - mean, spec) - target,
        lo,
        hi,
        xtol=1e-5 * max(scale, 1e-9),
        rtol=1e-10,
    )
    h = 1e-2 * scale
    slope = (runs.value(root + h - mean, spec) - runs.value(root - h - mean, spec)) / (2 * h)
    se_metric = runs.stats(root - mean, spec)[1]
    effect_se = abs(se_metric / slope) if slope else math.nan
    note = ""
    if hits.size > 1:
        note = (
            f"E[{spec}] crosses the target {hits.size} times in [{span[0]:.4g}, "
            f"{span[1]:.4g}]; this is the lowest mean effect"
        )
    return Breakeven(
        spec,
        target,
        "expected",
        outcome,
        float(root),
        effect_se,
        True,
        "root",
        int(hits.size),
        bool(increasing),
        mean,
        span,
        note,
    )


# ------------------------------------------------------------------------ public
def breakeven(
    sc: Scenario,
    outcome: str | None = None,
    *,
    metric: str = "investor_irr",
    target: float = 0.0,
    mode: str = "deterministic",
    at: str = "median",
    bracket: tuple[float, float] | None = None,
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    expansions: int = 1,
    grid_points: int = 9,
) -> Breakeven:
    """The true effect of ``outcome`` at which ``metric`` reaches ``target``.

    Args:
        sc: the scenario.
        outcome: outcome id (default: the first outcome).
        metric: metric spec, e.g. ``investor_irr``, ``gov_net_savings_pv``,
            ``p_investor_repaid`` (expected mode), ``investor_irr:p50``.
        target: the value to reach.
        mode: ``"deterministic"`` (inputs at their centre, no noise) or
            ``"expected"`` (uncertainty kept; solves for the mean effect).
        at: centre of the other inputs in deterministic mode: ``"median"`` or ``"mean"``.
        bracket: effect range to search (default: the effect's 0.1%..99.9% range,
            zero and the payment's threshold and tier edges, widened by a quarter;
            doubled, up to ``expansions`` times, until the target is crossed or the
            metric stops changing).
        paths: Monte Carlo paths (expected mode).
        seed: random seed (expected mode).
        sampling: sampling method (expected mode).
        expansions: how many times the default bracket may double (expected
            mode; the deterministic search, being cheap, may double it 4 times).
        grid_points: coarse grid of the expected mode.

    Returns:
        The :class:`Breakeven`.

    Raises:
        PfsError: for an unknown outcome, metric or mode.
    """
    if mode not in MODES:
        raise PfsError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    name = effect_input(sc, outcome)
    if bracket is not None and not bracket[0] < bracket[1]:
        raise PfsError(f"bracket must be (low, high) with low < high, got {bracket}")
    if mode == "deterministic":
        return _deterministic(sc, name, metric, target, at, bracket, max(expansions, 4))
    path_set = PathSet.draw(sc, paths, seed, sampling)
    runs = _ShiftedRuns(name, path_set, [metric])
    return _expected(sc, name, metric, target, runs, bracket, expansions, grid_points)


def breakeven_table(
    sc: Scenario,
    outcome: str | None = None,
    *,
    target_irr: float = 0.05,
    modes: Sequence[str] = MODES,
    at: str = "median",
    bracket: tuple[float, float] | None = None,
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """The three break-even questions, in each mode.

    1. *Investors get their money back*: ``investor_irr`` = 0.
    2. *Investors reach the target IRR*: ``investor_irr`` = ``target_irr``.
    3. *Government breaks even*: ``gov_net_savings_pv`` = 0.

    In expected mode the three share one set of sampled paths and cached runs.

    Returns:
        One row per (question, mode), columns :data:`BREAKEVEN_COLUMNS`: ``effect``
        (the break-even true effect; in expected mode the mean true effect),
        ``effect_se``, ``found``, ``kind`` (``root`` / ``jump`` / ``none``),
        ``crossings``, ``increasing`` (whether the metric rises with the effect at the
        break-even, or over the range searched when none is found), ``current_effect``
        (the scenario's median or mean effect) and
        ``margin`` (how far the current effect is on the safe side of the
        break-even; negative: the programme is expected to fall short).
    """
    for mode in modes:
        if mode not in MODES:
            raise PfsError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    name = effect_input(sc, outcome)
    questions = [
        ("Investors get their money back", "investor_irr", 0.0),
        (f"Investors reach {target_irr:.1%} IRR", "investor_irr", float(target_irr)),
        ("Government breaks even", "gov_net_savings_pv", 0.0),
    ]
    rows = []
    total = len(questions) * len(modes)
    runs: _ShiftedRuns | None = None
    for m_index, mode in enumerate(modes):
        for q_index, (question, spec, target) in enumerate(questions):
            if mode == "deterministic":
                b = _deterministic(sc, name, spec, target, at, bracket, 4)
            else:
                if runs is None:
                    runs = _ShiftedRuns(
                        name,
                        PathSet.draw(sc, paths, seed, sampling),
                        [spec for _, spec, _ in questions],
                    )
                b = _expected(sc, name, spec, target, runs, bracket, 1, 9)
            rows.append(
                {
                    "question": question,
                    "metric": spec,
                    "target": target,
                    "mode": mode,
                    "outcome": b.outcome,
                    "effect": b.effect,
                    "effect_se": b.effect_se,
                    "found": b.found,
                    "kind": b.kind,
                    "crossings": b.crossings,
                    "increasing": b.increasing,
                    "current_effect": b.current_effect,
                    "margin": b.margin,
                    "note": b.note,
                }
            )
            if progress:
                progress((m_index * len(questions) + q_index + 1) / total)
    table = pd.DataFrame(rows, columns=BREAKEVEN_COLUMNS)
    table.attrs.update({"scenario": sc.name, "outcome": name.split(".")[1], "at": at})
    if runs is not None:
        table.attrs.update({"paths": runs.paths.n_paths, "seed": runs.paths.seed})
    return table


def effect_curve(
    sc: Scenario,
    outcome: str | None = None,
    *,
    metrics: Sequence[str] = ("investor_irr", "gov_net_savings_pv"),
    effects: Sequence[float] | None = None,
    at: str = "median",
) -> pd.DataFrame:
    """Deterministic metrics over a grid of true effects (the curve behind break-even).

    Returns:
        Columns ``effect`` and one per metric (chart-ready).
    """
    name = effect_input(sc, outcome)
    grid = np.asarray(
        effects if effects is not None else np.linspace(*_default_bracket(sc, name), 101),
        dtype=np.float64,
    )
    data: dict[str, FloatArray] = {"effect": grid}
    for spec in metrics:
        data[spec] = _deterministic_curve(sc, name, grid, spec, at)
    return pd.DataFrame(data)


__all__ = ["BREAKEVEN_COLUMNS", "Breakeven", "breakeven", "breakeven_table", "effect_curve"]
