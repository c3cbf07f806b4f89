"""Global sensitivity: Sobol' first-order and total indices (via SALib).

Stage: analysis, in SALib's *sample -> evaluate -> analyse* split.

- **sample**: a Saltelli design over the uniforms of every random stream of the
  scenario (:func:`saltelli_design`, the same matrix as
  ``SALib.sample.sobol.sample(..., calc_second_order=False)``, built without a Python
  loop). Factors are the uncertain inputs; the evaluation noise of each outcome is one
  factor (all its measurement groups together); inputs joined by a correlation form
  one factor, since Sobol' indices need independent factors.
- **evaluate**: each design row is one *path*: its uniforms are mapped through the
  inputs' inverse CDFs (and the copula) into :class:`~pfs.sampling.Draws` and pushed
  through :func:`pfs.engine.run_chunk`, vectorised, chunk by chunk. No inner Monte
  Carlo: the metric is a function of the path's inputs, exactly what the indices
  decompose.
- **analyse**: ``SALib.analyze.sobol.analyze`` gives ``S1``, ``ST`` and their
  bootstrap confidence intervals.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import qmc

from pfs.analysis._common import (
    DEFAULT_METRICS,
    input_label,
    per_path,
    results_from_chunks,
    spec_label,
    split_metric,
)
from pfs.engine import run_chunk
from pfs.sampling import (
    copula_factor,
    correlate_uniforms,
    correlation_matrix,
    draws_from_uniforms,
    stream_dims,
    stream_key,
)
from pfs.scenario import PfsError, Sampling, Scenario

FloatArray = NDArray[np.float64]

SOBOL_COLUMNS = [
    "metric",
    "metric_label",
    "factor",
    "label",
    "inputs",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "rank",
]
"""Columns of :func:`sobol_indices`' table, in order."""

EVAL_CHUNK = 2**16
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Factor:
    """A Sobol' factor: one or more random streams varied together.

    Attributes:
        name: factor name (an input's dotted name, or a noise stream's).
        label: plain label.
        streams: stream name -> number of design columns.
    """

    name: str
    label: str
    streams: dict[str, int]


def factors(sc: Scenario, group_noise: bool = False) -> list[Factor]:
    """The factors of a scenario's Sobol' analysis, in stream order.

    Args:
        sc: the scenario.
        group_noise: one factor for the evaluation noise of all outcomes together,
            instead of one per outcome.

    Returns:
        Factors: each uncertain input alone, correlated inputs together (one factor
        per connected group), each outcome's evaluation noise (or all of it).
    """
    dims = stream_dims(sc)
    specs = sc.uncertain_inputs()
    parent = {name: name for name in specs}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for corr in sc.correlations:
        a, b = (root(n) for n in corr.inputs)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for name in specs:
        groups.setdefault(root(name), []).append(name)
    out = []
    for members in groups.values():
        label = " + ".join(input_label(sc, m) for m in members)
        out.append(Factor(" + ".join(members), label, {m: dims[m] for m in members}))
    noise = {name: dim for name, dim in dims.items() if name not in specs}
    if group_noise and noise:
        out.append(Factor("evaluation noise", "Evaluation noise (all outcomes)", noise))
    else:
        out.extend(Factor(name, input_label(sc, name), {name: dim}) for name, dim in noise.items())
    return out


def salib_problem(sc: Scenario, group_noise: bool = False) -> dict[str, Any]:
    """The SALib problem definition: one variable per design column, grouped by factor."""
    names: list[str] = []
    bounds: list[list[float]] = []
    groups: list[str] = []
    for factor in factors(sc, group_noise):
        for stream, dim in factor.streams.items():
            for j in range(dim):
                names.append(stream if dim == 1 else f"{stream}[{j}]")
                bounds.append([0.0, 1.0])
                groups.append(factor.name)
    return {"num_vars": len(names), "names": names, "bounds": bounds, "groups": groups}


def saltelli_design(
    n_base: int, columns: int, groups: Sequence[str], seed: int | np.random.Generator
) -> FloatArray:
    """Saltelli's design for first and total indices, as SALib builds it.

    Equals ``SALib.sample.sobol.sample(problem, n_base, calc_second_order=False,
    seed=seed)`` for a problem with ``columns`` variables on ``[0, 1]`` and these
    ``groups``, without its Python loop over rows.

    Args:
        n_base: base samples ``N`` (a power of two balances the Sobol' sequence).
        columns: number of variables ``D``.
        groups: group name of each variable (``D`` names; ``G`` distinct).
        seed: seed of the scrambled Sobol' sequence.

    Returns:
        Uniforms ``[N * (G + 2), D]``: for each base sample the rows ``A``,
        ``AB_1 .. AB_G`` (``A`` with group ``g``'s columns from ``B``) and ``B``.
    """
    with warnings.catch_warnings():  # N need not be a power of two
        warnings.simplefilter("ignore", UserWarning)
        base = qmc.Sobol(d=2 * columns, scramble=True, seed=seed).random(n_base)
    a, b = base[:, :columns], base[:, columns:]
    names = list(dict.fromkeys(groups))
    member = np.array([[g == name for g in groups] for name in names])  # [G, D]
    ab = np.where(member[None, :, :], b[:, None, :], a[:, None, :])  # [N, G, D]
    design = np.concatenate([a[:, None, :], ab, b[:, None, :]], axis=1)
    return np.asarray(design.reshape(-1, columns), dtype=np.float64)


def _evaluate(
    sc: Scenario,
    design: FloatArray,
    problem: dict[str, Any],
    metric_names: list[str],
    progress: Callable[[float], None] | None,
) -> dict[str, FloatArray]:
    """Per-row metric values of the design (each row one path)."""
    dims = stream_dims(sc)
    col = 0
    slices: dict[str, slice] = {}
    for name in problem["names"]:
        stream = str(name).split("[")[0]
        if stream not in slices:
            slices[stream] = slice(col, col + dims[stream])
            col += dims[stream]
    corr_names, spearman = correlation_matrix(sc)
    factor = copula_factor(spearman) if corr_names else np.zeros((0, 0))
    rows = design.shape[0]
    values: dict[str, list[FloatArray]] = {m: [] for m in metric_names}
    for start in range(0, rows, EVAL_CHUNK):
        stop = min(start + EVAL_CHUNK, rows)
        block = np.clip(design[start:stop], _EPS, 1 - _EPS)
        uniforms = {name: block[:, cols] for name, cols in slices.items()}
        uniforms = correlate_uniforms(uniforms, corr_names, factor)
        draws = draws_from_uniforms(sc, uniforms, start)
        chunk = run_chunk(sc, draws)
        res = results_from_chunks(
            sc, [(chunk.metrics, chunk.periods)], 0, Sampling.sobol, time.perf_counter()
        )
        for m in metric_names:
            values[m].append(per_path(res, m))
        if progress:
            progress(stop / rows)
    return {m: np.concatenate(parts) for m, parts in values.items()}


def sobol_indices(
    sc: Scenario,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    paths: int | None = None,
    seed: int | None = None,
    group_noise: bool = False,
    conf_level: float = 0.95,
    num_resamples: int = 100,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """Sobol' first-order and total indices of each factor, for each metric.

    Args:
        sc: the scenario.
        metrics: per-path metrics (``gov_net_savings_pv``, ``investor_irr``) or
            probabilities (``p_investor_repaid``: the index of the 0/1 event).
            Undefined IRRs (no money drawn) are replaced by the mean of the
            defined ones, which adds no variance; ``nan_share`` in ``attrs`` says
            how many there were.
        paths: base samples ``N`` (default: the scenario's paths); the engine runs
            ``N * (factors + 2)`` paths.
        seed: seed of the design and of the bootstrap (default: the scenario's).
        group_noise: one factor for all evaluation noise instead of one per outcome.
        conf_level: level of the confidence intervals.
        num_resamples: bootstrap resamples for the confidence intervals.
        progress: called with the fraction of the design evaluated.

    Returns:
        One row per (metric, factor), columns :data:`SOBOL_COLUMNS`: ``S1`` and
        ``ST`` with the half-widths ``S1_conf`` and ``ST_conf`` of their confidence
        intervals, ``inputs`` (the streams in the factor) and ``rank`` (1 = largest
        ``ST`` for that metric). A metric that does not vary gets indices of 0.
        ``attrs`` holds ``base_samples``, ``evaluations``, ``seconds`` (of which
        ``evaluate_seconds`` for the design and engine, ``analyse_seconds`` for
        SALib) and ``nan_share`` (metric -> share of undefined values replaced).

    Raises:
        PfsError: for an unknown metric, a quantile statistic, or too few paths.
    """
    from SALib.analyze import sobol as salib_sobol

    started = time.perf_counter()
    n_base = sc.simulation.paths if paths is None else int(paths)
    if n_base < 16:
        raise PfsError(f"Sobol' indices need at least 16 base samples, got {n_base}")
    seed = sc.simulation.seed if seed is None else int(seed)
    names = []
    for spec in metrics:
        name, stat = split_metric(spec)
        if stat != "mean":
            raise PfsError(
                f"Sobol' indices decompose per-path values; drop ':{stat}' from {spec!r}"
            )
        names.append(name)
    problem = salib_problem(sc, group_noise)
    fac = factors(sc, group_noise)
    design = saltelli_design(
        n_base,
        int(problem["num_vars"]),
        problem["groups"],
        np.random.default_rng([seed, stream_key("sobol-indices")]),
    )
    outputs = _evaluate(sc, design, problem, names, progress)
    evaluated = time.perf_counter()
    rows, nan_share, undefined = [], {}, []
    for spec, name in zip(metrics, names, strict=True):
        y = outputs[name].copy()
        bad = ~np.isfinite(y)
        nan_share[spec] = float(bad.mean())
        if bad.all():  # e.g. investor IRR in a deal without investors: skip, say so
            undefined.append(spec)
            continue
        y[bad] = y[~bad].mean()
        if np.ptp(y) == 0:
            result = {k: np.zeros(len(fac)) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            result = salib_sobol.analyze(
                problem,
                y,
                calc_second_order=False,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=seed + 1,
            )
        for i, f in enumerate(fac):
            rows.append(
                {
                    "metric": spec,
                    "metric_label": spec_label(spec),
                    "factor": f.name,
                    "label": f.label,
                    "inputs": list(f.streams),
                    "S1": float(result["S1"][i]),
                    "S1_conf": float(result["S1_conf"][i]),
                    "ST": float(result["ST"][i]),
                    "ST_conf": float(result["ST_conf"][i]),
                }
            )
    if len(undefined) == len(metrics):
        raise PfsError(f"{', '.join(map(repr, undefined))}: undefined on every path")
    table = pd.DataFrame(rows)
    order = {spec: i for i, spec in enumerate(metrics)}
    table["_order"] = table["metric"].map(order)
    table = table.sort_values(["_order", "ST"], ascending=[True, False], kind="stable")
    table["rank"] = table.groupby("metric", sort=False).cumcount() + 1
    table = table.drop(columns="_order").reset_index(drop=True)[SOBOL_COLUMNS]
    table.attrs.update(
        {
            "scenario": sc.name,
            "base_samples": n_base,
            "evaluations": int(design.shape[0]),
            "factors": len(fac),
            "seed": seed,
            "conf_level": conf_level,
            "undefined_metrics": undefined,
            "seconds": time.perf_counter() - started,
            "evaluate_seconds": evaluated - started,
            "analyse_seconds": time.perf_counter() - evaluated,
            "nan_share": nan_share,
        }
    )
    return table


__all__ = [
    "SOBOL_COLUMNS",
    "Factor",
    "factors",
    "salib_problem",
    "saltelli_design",
    "sobol_indices",
]
