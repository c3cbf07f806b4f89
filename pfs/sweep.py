"""Sweeps: many deal structures, each a full Monte Carlo run, in one tidy table.

Stage: analysis over the engine. :func:`sweep` takes a base
:class:`~pfs.scenario.Scenario` and either a grid (the Cartesian product of dotted
overrides, e.g. ``outcomes.bed_days.payment.price_per_unit=[150, 180, 210]``) or a
Latin hypercube over numeric ranges, simulates every point with the same seed and
path count (common random numbers: points differ by structure, not by noise), and
returns a :class:`pandas.DataFrame` with one row per point: the override values, the
headline numbers of :meth:`pfs.Results.headline` and the mean and standard error of
chosen metrics. Points run in-process, on local processes or on Dask
(:mod:`pfs.parallel`); every backend gives bit-identical rows.

Every point is validated on the client before any work is sent, so a bad path or
value fails at once with a :class:`~pfs.scenario.PfsError` naming it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import yaml
from scipy.stats import qmc

from pfs.engine import simulate
from pfs.parallel import (
    BackendName,
    open_backend,
    resolve_backend,
    run_settings,
    scenario_from_payload,
    scenario_payload,
)
from pfs.results import HEADLINE_METRICS
from pfs.sampling import sample
from pfs.scenario import PfsError, Sampling, Scenario, ScenarioError

T = TypeVar("T")

DEFAULT_METRICS: tuple[str, ...] = HEADLINE_METRICS
"""Metrics whose mean and standard error a sweep reports by default."""

MAX_POINTS = 100_000
"""A guard against a grid typed with one zero too many."""


# --------------------------------------------------------------------- designs
def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of a grid, first path varying slowest.

    Args:
        grid: dotted override path -> list of values.

    Returns:
        One ``{path: value}`` mapping per point.

    Raises:
        PfsError: an empty grid, a path without values, or a value list that is a
            string or mapping instead of a list.
    """
    if not grid:
        raise PfsError("the grid is empty: give at least one path with values")
    for path, values in grid.items():
        if not isinstance(path, str) or not path:
            raise PfsError(f"grid paths must be dotted field names, got {path!r}")
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence):
            raise PfsError(f"grid {path}: expected a list of values, got {values!r}")
        if not values:
            raise PfsError(f"grid {path}: no values given")
    count = math.prod(len(v) for v in grid.values())
    if count > MAX_POINTS:
        raise PfsError(f"the grid has {count:,} points; the limit is {MAX_POINTS:,}")
    paths = list(grid)
    return [
        dict(zip(paths, combo, strict=True))
        for combo in itertools.product(*(list(grid[p]) for p in paths))
    ]


def lhs_points(
    ranges: Mapping[str, tuple[float, float]],
    points: int,
    seed: int,
    integer_paths: Collection[str] = (),
) -> list[dict[str, Any]]:
    """A seeded Latin hypercube over numeric ranges.

    Args:
        ranges: dotted override path -> ``(low, high)``.
        points: number of points.
        seed: seed of the design (independent of the simulation's streams).
        integer_paths: paths of integer fields (``horizon``, ``measured_after``...),
            whose values are rounded.

    Returns:
        One ``{path: value}`` mapping per point.

    Raises:
        PfsError: no ranges, a bad range, or a non-positive number of points.
    """
    if not ranges:
        raise PfsError("the Latin hypercube has no ranges: give path=low:high")
    if points is None or points < 1:
        raise PfsError(f"a Latin hypercube needs a positive number of points, got {points}")
    if points > MAX_POINTS:
        raise PfsError(f"{points:,} points; the limit is {MAX_POINTS:,}")
    bounds: list[tuple[float, float, bool]] = []
    for path, pair in ranges.items():
        low: Any
        high: Any
        try:
            low, high = pair
            if isinstance(low, bool) or isinstance(high, bool):
                raise TypeError
            lo, hi = float(low), float(high)
        except (TypeError, ValueError):
            raise PfsError(f"lhs {path}: expected (low, high) numbers, got {pair!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise PfsError(f"lhs {path}: low must be below high, got {low!r}:{high!r}")
        bounds.append((lo, hi, path in integer_paths))
    unit = qmc.LatinHypercube(d=len(bounds), seed=np.random.default_rng(seed)).random(points)
    rows = []
    for u in unit:
        row: dict[str, Any] = {}
        for path, x, (lo, hi, integer) in zip(ranges, u, bounds, strict=True):
            value = lo + float(x) * (hi - lo)
            row[path] = round(value) if integer else value
        rows.append(row)
    return rows


# ------------------------------------------------------------ text (CLI) input
def _yaml_value(raw: str, what: str) -> Any:
    """A YAML scalar; numbers YAML 1.1 reads as text (``3e6``, ``1_000``) become floats."""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise PfsError(f"{what}: value {raw!r} is not valid") from None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def parse_grid_item(text: str) -> tuple[str, list[Any]]:
    """Parse ``path=v1,v2,v3`` (or ``path=[v1, {dist: ...}]``, a YAML list).

    Each value is read as YAML, so ``150`` is a number and ``null`` is None.

    Raises:
        PfsError: no ``=``, no values, or a value that is not valid YAML.
    """
    path, sep, raw = text.partition("=")
    path, raw = path.strip(), raw.strip()
    if not sep or not path:
        raise PfsError(f"grid {text!r}: expected path=v1,v2,...")
    if raw.startswith("["):
        values = _yaml_value(raw, f"grid {path}")
        if not isinstance(values, list):
            raise PfsError(f"grid {path}: {raw!r} is not a list")
    else:
        pieces = [piece.strip() for piece in raw.split(",")]
        if any(not piece for piece in pieces):
            raise PfsError(f"grid {path}: empty value in {raw!r} (expected v1,v2,...)")
        values = [_yaml_value(piece, f"grid {path}") for piece in pieces]
    if not values:
        raise PfsError(f"grid {path}: no values given")
    return path, values


def parse_lhs_item(text: str) -> tuple[str, tuple[float, float]]:
    """Parse ``path=low:high`` (two numbers) for a Latin hypercube.

    Raises:
        PfsError: no ``=``, not two numbers, or ``low`` not below ``high``.
    """
    path, sep, raw = text.partition("=")
    path = path.strip()
    bounds = raw.split(":")
    if not sep or not path or len(bounds) != 2:
        raise PfsError(f"lhs {text!r}: expected path=low:high")
    low, high = (_yaml_value(b.strip(), f"lhs {path}") for b in bounds)
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise PfsError(f"lhs {path}: {bound!r} is not a number (expected low:high)")
    if not low < high:
        raise PfsError(f"lhs {path}: low must be below high, got {low}:{high}")
    return path, (low, high)


def collect_items(
    items: Sequence[str], parse: Callable[[str], tuple[str, T]], kind: str
) -> dict[str, T]:
    """Parse repeated ``--grid``/``--lhs`` options into a mapping (no path twice)."""
    out: dict[str, T] = {}
    for text in items:
        path, value = parse(text)
        if path in out:
            raise PfsError(f"{kind} {path} is given twice")
        out[path] = value
    return out


# --------------------------------------------------------------------- workers
def run_point(
    payload: dict[str, Any], paths: int, seed: int, sampling: str, metrics: Sequence[str]
) -> dict[str, float]:
    """Simulate one sweep point and reduce it to its row of numbers.

    A top-level function so that process pools and Dask workers can import it; it
    sends back a small dict, never per-path arrays.
    """
    sc = scenario_from_payload(payload)
    res = simulate(sc, paths=paths, seed=seed, sampling=sampling, keep_inputs=False)
    row = res.headline()
    if not metrics:
        return row
    summary = res.summary(list(metrics))
    means = summary["mean"].to_dict()
    errors = summary["std_error"].to_dict()
    for name in metrics:
        if f"{name}_mean" not in row:
            row[f"{name}_mean"] = float(means.get(name, math.nan))
        row[f"{name}_se"] = float(errors.get(name, math.nan))
    return row


def _available_metrics(sc: Scenario, seed: int, sampling: Sampling) -> set[str]:
    """Names :meth:`pfs.Results.summary` knows for ``sc`` (a one-path probe run)."""
    from pfs.engine import run_chunk
    from pfs.results import Results

    chunk = run_chunk(sc, sample(sc, 0, 1, seed, sampling))
    probe = Results(sc, chunk.metrics, chunk.periods, seed, sampling, 0.0)
    return set(chunk.metrics) | set(probe.flags())


def _current_value(data: Any, path: str) -> Any:
    """The value at a dotted override path of plain scenario data (None if absent)."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            found = [
                i for i in node if isinstance(i, dict) and part in (i.get("id"), i.get("name"))
            ]
            if found:
                node = found[0]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        else:
            return None
    return node


def integer_fields(sc: Scenario, paths: Collection[str]) -> set[str]:
    """Those of ``paths`` whose current value in ``sc`` is an integer."""
    data = sc.model_dump(mode="json")
    return {
        p
        for p in paths
        if isinstance(v := _current_value(data, p), int) and not isinstance(v, bool)
    }


def _point_label(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def _validate_points(base: Scenario, points: list[dict[str, Any]]) -> list[Scenario]:
    scenarios = []
    for i, point in enumerate(points):
        try:
            scenarios.append(base.with_overrides(point, source="<sweep>"))
        except ScenarioError as err:
            raise PfsError(f"sweep point {i} ({_point_label(point)}): {err}") from None
    return scenarios


# ------------------------------------------------------------------------ sweep
def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    lhs: Mapping[str, tuple[float, float]] | None = None,
    points: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    lhs_seed: int | None = None,
    backend: BackendName | str | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Simulate a grid or Latin hypercube of deal structures with common random numbers.

    Args:
        scenario: the base deal.
        grid: dotted override path -> list of values; every combination is a point.
        lhs: dotted override path -> ``(low, high)``; ``points`` Latin hypercube
            points (give ``grid`` or ``lhs``, not both).
        points: number of Latin hypercube points.
        paths: paths per point (default: the scenario's ``simulation.paths``).
        seed: random seed shared by every point (default: the scenario's).
        sampling: ``random``, ``lhs`` or ``sobol`` (default: the scenario's).
        lhs_seed: seed of the Latin hypercube design (default: ``seed``).
        backend: ``serial``, ``processes`` or ``dask`` (default: ``dask`` when
            ``workers`` or ``scheduler`` is given, else ``serial``).
        workers: worker processes (processes, or a Dask ``LocalCluster``).
        scheduler: Dask scheduler address (``tcp://host:port``) or an open
            ``distributed.Client``.
        metrics: metrics (and ``p_*`` probabilities) whose mean and standard error
            are added as ``<metric>_mean`` and ``<metric>_se`` columns (default:
            :data:`pfs.results.HEADLINE_METRICS`).

    Common random numbers: every point uses the same seed, and each uncertain input
    draws from its own named stream, so inputs a point does not change get the very
    same draws at every point. Backends ``processes`` and ``dask`` start worker
    processes by spawning: a script that calls this must guard its entry point with
    ``if __name__ == "__main__":``.

    Returns:
        One row per point (index ``point``): the override columns, the
        :meth:`pfs.Results.headline` numbers, then the metric columns. ``attrs``
        holds ``scenario``, ``paths``, ``seed``, ``sampling``, ``backend``,
        ``overrides`` (the override column names) and ``elapsed`` (seconds).

    Raises:
        PfsError: a bad grid, range, metric name, option, or a point whose overrides
            do not give a valid scenario, all before any simulation starts.
    """
    if (grid is None) == (lhs is None):
        raise PfsError(
            "give either a grid or Latin hypercube ranges (lhs), not both"
            if grid is not None
            else "give a grid or Latin hypercube ranges (lhs)"
        )
    if grid is not None and points is not None:
        raise PfsError("points is for Latin hypercube sweeps; a grid has one point per combination")
    settings = run_settings(scenario, paths, seed, sampling)
    chosen = resolve_backend(backend, workers, scheduler)
    if grid is not None:
        design = grid_points(grid)
        columns = list(grid)
    else:
        assert lhs is not None
        if points is None:
            raise PfsError("a Latin hypercube sweep needs points")
        design = lhs_points(
            lhs,
            points,
            settings.seed if lhs_seed is None else lhs_seed,
            integer_fields(scenario, lhs),
        )
        columns = list(lhs)
    metric_names = list(DEFAULT_METRICS if metrics is None else metrics)
    known = _available_metrics(scenario, settings.seed, settings.sampling)
    unknown = [m for m in metric_names if m not in known]
    if unknown:
        raise PfsError(f"unknown metric {unknown[0]!r} (known: {', '.join(sorted(known))})")
    payloads = [scenario_payload(sc) for sc in _validate_points(scenario, design)]

    started = time.perf_counter()
    n = len(payloads)
    with open_backend(chosen, workers=workers, scheduler=scheduler) as pool:
        rows = list(
            pool.map(
                run_point,
                payloads,
                [settings.paths] * n,
                [settings.seed] * n,
                [settings.sampling.value] * n,
                [metric_names] * n,
            )
        )
    table = pd.DataFrame(
        [{**point, **row} for point, row in zip(design, rows, strict=True)],
        columns=[*columns, *rows[0]],
    )
    table.index.name = "point"
    table.attrs.update(
        {
            "scenario": scenario.name,
            "paths": settings.paths,
            "seed": settings.seed,
            "sampling": settings.sampling.value,
            "backend": chosen.value,
            "overrides": columns,
            "elapsed": time.perf_counter() - started,
        }
    )
    return table


__all__ = [
    "DEFAULT_METRICS",
    "collect_items",
    "grid_points",
    "integer_fields",
    "lhs_points",
    "parse_grid_item",
    "parse_lhs_item",
    "run_point",
    "sweep",
]
