"""Convergence: are there enough paths?

Stage: analysis. :func:`standard_errors` gives the Monte Carlo standard error of
every headline metric of a run and flags those too noisy to read; :func:`run_until`
adds paths until every chosen metric is precise enough. Random streams are blocked,
so the first ``n`` paths of a longer run are the ``n`` paths of a shorter one: each
step only simulates the new paths.

Precision rules (a metric is *too noisy* when its standard error exceeds them):
probabilities ``prob_tol`` (absolute, default half a percentage point), rates such
as IRRs ``rate_tol`` (absolute, default 0.2 percentage points), money and multiples
``rel_tol`` times ``max(|mean|, sd)`` (default 1%: a hundredth of the metric's size
or spread, whichever is larger).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pfs.analysis._common import PathSet, per_path, results_from_chunks
from pfs.engine import run_chunk
from pfs.formatting import metric_label
from pfs.results import HEADLINE_METRICS, PeriodArrays, Results
from pfs.scenario import PfsError, Sampling, Scenario

FloatArray = NDArray[np.float64]

HEADLINE_PROBABILITIES = (
    "p_investor_repaid",
    "p_investor_loss",
    "p_gov_net_negative",
    "p_paid_without_true_effect",
    "p_not_paid_despite_true_effect",
)
CONVERGENCE_METRICS = (*HEADLINE_METRICS, *HEADLINE_PROBABILITIES)
"""Metrics checked by default: every headline metric and probability."""

SE_COLUMNS = [
    "metric",
    "label",
    "kind",
    "mean",
    "std_error",
    "ci_low",
    "ci_high",
    "n",
    "tolerance",
    "too_few",
    "paths_needed",
]
"""Columns of :func:`standard_errors`, in order."""


@dataclass(frozen=True)
class Tolerances:
    """Largest acceptable standard errors by kind of metric.

    Attributes:
        rel_tol: money and multiples, relative to ``max(|mean|, sd)``.
        prob_tol: probabilities, absolute.
        rate_tol: rates (IRRs, effects), absolute.
    """

    rel_tol: float = 0.01
    prob_tol: float = 0.005
    rate_tol: float = 0.002


def metric_kind(name: str) -> str:
    """``probability``, ``rate``, ``ratio`` or ``money`` (how precision is judged)."""
    if name.startswith("p_"):
        return "probability"
    if "irr" in name or name.startswith(("true_effect.", "measured_effect.")):
        return "rate"
    if "moic" in name:
        return "ratio"
    return "money"


def _row(res: Results, name: str, tol: Tolerances, target_se: float | None) -> dict[str, object]:
    values = per_path(res, name)
    finite = values[np.isfinite(values)]
    n = int(finite.size)
    mean = float(finite.mean()) if n else math.nan
    sd = float(finite.std(ddof=1)) if n > 1 else math.nan
    se = sd / math.sqrt(n) if n > 1 else math.nan
    kind = metric_kind(name)
    if target_se is not None:
        limit = target_se
    elif kind == "probability":
        limit = tol.prob_tol
    elif kind == "rate":
        limit = tol.rate_tol
    else:
        limit = tol.rel_tol * max(abs(mean), sd) if n > 1 else math.nan
    too_few = bool(n < 2 or (se > limit and limit >= 0) or not math.isfinite(se))
    if se == 0 or not math.isfinite(se):
        needed = n if se == 0 else math.nan
    elif limit > 0:
        needed = math.ceil(n * (se / limit) ** 2) if se > limit else n
    else:
        needed = math.inf
    return {
        "metric": name,
        "label": metric_label(name),
        "kind": kind,
        "mean": mean,
        "std_error": se,
        "ci_low": mean - 1.96 * se,
        "ci_high": mean + 1.96 * se,
        "n": n,
        "tolerance": limit,
        "too_few": too_few,
        "paths_needed": needed * (res.n_paths / n) if n else math.nan,
    }


def standard_errors(
    res: Results,
    metrics: Sequence[str] = CONVERGENCE_METRICS,
    *,
    tolerances: Tolerances | None = None,
    target_se: float | None = None,
) -> pd.DataFrame:
    """Monte Carlo standard error of each metric, and whether it is precise enough.

    Args:
        res: a simulation's results.
        metrics: per-path metrics (IRRs over the paths where defined) or
            probabilities (``p_*``).
        tolerances: precision rules (default :class:`Tolerances`).
        target_se: one absolute standard error for every metric instead.

    Returns:
        One row per metric, columns :data:`SE_COLUMNS`: ``mean``, ``std_error``,
        the 95% interval ``ci_low``..``ci_high``, ``n`` (paths where defined),
        ``tolerance`` (largest acceptable standard error), ``too_few`` and
        ``paths_needed`` (about how many paths would meet the tolerance).
    """
    tol = tolerances or Tolerances()
    rows = [_row(res, name, tol, target_se) for name in metrics]
    return pd.DataFrame(rows, columns=SE_COLUMNS)


def paths_warning(
    res: Results,
    metrics: Sequence[str] = CONVERGENCE_METRICS,
    tolerances: Tolerances | None = None,
) -> str | None:
    """A one-line warning when some metric is too noisy, else None (for the app)."""
    table = standard_errors(res, metrics, tolerances=tolerances)
    noisy = table[table["too_few"]]
    if noisy.empty:
        return None
    needed = float(noisy["paths_needed"].replace([np.inf], np.nan).max())
    names = ", ".join(noisy["label"].head(3))
    more = f" and {len(noisy) - 3} more" if len(noisy) > 3 else ""
    hint = f"; about {math.ceil(needed):,} paths would do" if math.isfinite(needed) else ""
    return f"Too few paths ({res.n_paths:,}) for a precise {names}{more}{hint}."


@dataclass
class Convergence:
    """Result of :func:`run_until`.

    Attributes:
        results: the final run.
        converged: whether every metric met its tolerance within ``max_paths``.
        history: one row per (step, metric): ``paths``, ``mean``, ``std_error``,
            ``tolerance``, ``too_few``.
        table: the final :func:`standard_errors` table.
    """

    results: Results
    converged: bool
    history: pd.DataFrame
    table: pd.DataFrame


def run_until(
    sc: Scenario,
    metrics: str | Sequence[str] = CONVERGENCE_METRICS,
    *,
    target_se: float | None = None,
    tolerances: Tolerances | None = None,
    start_paths: int = 10_000,
    max_paths: int = 1_000_000,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
) -> Convergence:
    """Add paths until every metric's standard error meets its tolerance.

    Each step grows the run to at least twice its size, or straight to the
    estimated need (``paths_needed``, plus 5%) when that is larger, never beyond
    ``max_paths``. Only the new paths are simulated.

    Args:
        sc: the scenario.
        metrics: a metric or metrics to watch (default: every headline one).
        target_se: one absolute standard error for every metric (instead of the
            :class:`Tolerances`).
        tolerances: precision rules.
        start_paths: paths of the first step.
        max_paths: the most paths to run.
        seed: random seed (default: the scenario's).
        sampling: sampling method (default: the scenario's).

    Returns:
        The :class:`Convergence`.

    Raises:
        PfsError: for bad path counts or an unknown metric.
    """
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not 0 < start_paths <= max_paths:
        raise PfsError(f"need 0 < start_paths <= max_paths, got {start_paths} and {max_paths}")
    started = time.perf_counter()
    path_set = PathSet.draw(sc, start_paths, seed, sampling)
    outputs: list[tuple[dict[str, FloatArray], PeriodArrays]] = []
    history = []
    step = 0
    while True:
        for draws in path_set.chunks[len(outputs) :]:
            chunk = run_chunk(sc, draws)
            outputs.append((chunk.metrics, chunk.periods))
        res = results_from_chunks(sc, outputs, path_set.seed, path_set.sampling, started)
        table = standard_errors(res, names, tolerances=tolerances, target_se=target_se)
        history.append(table.assign(step=step, paths=res.n_paths))
        n = res.n_paths
        if not table["too_few"].any() or n >= max_paths:
            break
        needed = float(table["paths_needed"].replace([np.inf], np.nan).max())
        grow = 2 * n if not math.isfinite(needed) else max(2 * n, math.ceil(needed * 1.05))
        path_set.extend(min(grow, max_paths))
        step += 1
    hist = pd.concat(history, ignore_index=True)[
        ["step", "paths", "metric", "mean", "std_error", "tolerance", "too_few"]
    ]
    return Convergence(res, not bool(table["too_few"].any()), hist, table)


__all__ = [
    "CONVERGENCE_METRICS",
    "SE_COLUMNS",
    "Convergence",
    "Tolerances",
    "metric_kind",
    "paths_warning",
    "run_until",
    "standard_errors",
]
