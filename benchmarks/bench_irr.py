"""Benchmark: vectorised ``pfs.finance.irr`` against per-path Python loops.

Builds random conventional cash-flow rows (an initial outflow block, then
inflows; ``rows x periods``) and times

* ``pfs.finance.irr`` on the whole matrix (vectorised),
* a Python loop of ``pyxirr.irr`` (the named baseline),
* a Python loop of ``numpy_financial.irr`` (timed on a subset and scaled
  per row, because it is slow),

then prints microseconds per path, speed ratios against the pyxirr loop and
the largest absolute difference from numpy_financial.

It then times the flow sets the engine really passes to ``irr`` (one chunk
of each of a few scenarios: the aggregate investor flows and each tranche's
flows, ``[paths, periods]`` views of period-major arrays, many rows with
several sign changes) against a pyxirr loop on the same rows
(:func:`run_engine`).  Timings are the best of a few repeats (the machine may
be shared).  Not a test: nothing is asserted.

Run ``python benchmarks/bench_irr.py [rows] [periods] [engine_paths]`` or call
:func:`run` and :func:`run_engine`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pyxirr

import pfs
import pfs.engine as engine
from pfs.finance import irr
from pfs.sampling import sample

NPF_SUBSET = 5_000
SEED = 20240601
ENGINE_PATHS = 131_072  # the engine's default chunk size
ENGINE_SCENARIOS = (
    None,  # the default (teaching) scenario
    "massachusetts_juvenile_justice_roca.yaml",
    "utah_high_quality_preschool.yaml",
)


def make_rows(rows: int = 100_000, periods: int = 8, seed: int = SEED) -> np.ndarray:
    """Random conventional rows, shape ``[rows, periods]``.

    One to three initial outflow periods, then inflows (about 15% of them
    zero); the total multiple returned ranges over four orders of magnitude
    (large losses to large gains).
    """
    rng = np.random.default_rng(seed)
    n_out = rng.integers(1, min(3, periods - 1) + 1, size=rows)
    t = np.arange(periods)
    is_out = t[None, :] < n_out[:, None]
    out = -rng.lognormal(4.0, 1.0, (rows, periods))
    inflow = rng.lognormal(0.0, 1.0, (rows, periods))
    inflow[rng.random((rows, periods)) < 0.15] = 0.0
    inflow[:, -1] = np.maximum(inflow[:, -1], 0.1)
    inflow[is_out] = 0.0
    flows = np.where(is_out, out, 0.0)
    multiple = 10.0 ** rng.uniform(-2.0, 2.0, rows)
    inflow *= (multiple * -flows.sum(axis=1) / inflow.sum(axis=1))[:, None]
    return flows + inflow


def _best_time(func: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def run(rows: int = 100_000, periods: int = 8) -> dict[str, float]:
    """Time the three IRR implementations; print and return the figures.

    Args:
        rows: Number of random paths.
        periods: Number of periods per path.

    Returns:
        Microseconds per path for each implementation, the speed ratios
        against the pyxirr loop and the maximum absolute difference from
        numpy_financial (on the subset).
    """
    flows = make_rows(rows, periods)
    row_list = list(flows)
    n_npf = min(NPF_SUBSET, rows)

    irr(flows[:1000])  # warm-up
    t_vec = _best_time(lambda: irr(flows), repeats=7)
    t_pyx = _best_time(lambda: [pyxirr.irr(r) for r in row_list], repeats=3)
    t_npf = _best_time(lambda: [npf.irr(r) for r in row_list[:n_npf]], repeats=2)

    ours = irr(flows)
    reference = np.array([npf.irr(r) for r in row_list[:n_npf]])
    baseline = np.array([pyxirr.irr(r) for r in row_list[:n_npf]], dtype=float)
    figures = {
        "rows": float(rows),
        "periods": float(periods),
        "us_per_path_pfs_vectorised": t_vec / rows * 1e6,
        "us_per_path_pyxirr_loop": t_pyx / rows * 1e6,
        "us_per_path_npf_loop": t_npf / n_npf * 1e6,
        "speedup_vs_pyxirr_loop": t_pyx / t_vec,
        "speedup_vs_npf_loop": (t_npf / n_npf) / (t_vec / rows),
        "max_abs_diff_vs_npf": float(np.nanmax(np.abs(ours[:n_npf] - reference))),
        "max_abs_diff_pyxirr_vs_npf": float(np.nanmax(np.abs(baseline - reference))),
    }

    print(f"IRR benchmark: {rows:,} random conventional rows x {periods} periods")
    print(f"  pfs.finance.irr (vectorised)   {figures['us_per_path_pfs_vectorised']:8.3f} us/path")
    print(f"  pyxirr.irr loop (baseline)     {figures['us_per_path_pyxirr_loop']:8.3f} us/path")
    print(
        f"  numpy_financial.irr loop       {figures['us_per_path_npf_loop']:8.3f} us/path"
        f"  (timed on a {n_npf:,}-row subset, scaled per row)"
    )
    print(f"  speed-up vs pyxirr loop        {figures['speedup_vs_pyxirr_loop']:8.1f} x")
    print(f"  speed-up vs npf loop           {figures['speedup_vs_npf_loop']:8.1f} x")
    print(
        f"  max |pfs - npf|                {figures['max_abs_diff_vs_npf']:.2e}"
        f"  (pyxirr - npf: {figures['max_abs_diff_pyxirr_vs_npf']:.2e}; {n_npf:,} rows)"
    )
    return figures


def engine_flow_sets(
    scenario: str | None = None, paths: int = ENGINE_PATHS, seed: int = 1
) -> list[tuple[str, np.ndarray]]:
    """The flow matrices the engine passes to ``irr`` for one chunk.

    Runs :func:`pfs.engine.run_chunk` on paths ``[0, paths)`` and captures
    its capital stack (by temporarily wrapping ``pfs.engine.Stack``).

    Args:
        scenario: Scenario file name in ``scenarios/`` (``None``: default).
        paths: Number of paths of the chunk.
        seed: Sampling seed.

    Returns:
        ``(name, flows)`` pairs: the aggregate investor flows, then each
        tranche's flows; each ``flows`` is a ``[paths, periods]`` view of a
        period-major array, exactly as the engine passes it.
    """
    path = pfs.default_scenario_path()
    if scenario is not None:
        path = Path(path).parent / scenario
    sc = pfs.load_scenario(path)
    captured: list[engine.Stack] = []
    base = engine.Stack

    class CapturingStack(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            captured.append(self)

    engine.Stack = CapturingStack  # type: ignore[misc]
    try:
        engine.run_chunk(sc, sample(sc, 0, paths, seed))
    finally:
        engine.Stack = base  # type: ignore[misc]
    st = captured[-1]
    sets = [("investors", st.flows[st.investor_rows].sum(axis=0).T)]
    sets += [(f"tranche {t.id}", st.flows[k].T) for k, t in enumerate(st.tranches)]
    return sets


def _sign_changes(flows: np.ndarray) -> np.ndarray:
    """Number of sign changes of each row (zeros skipped)."""
    sign = np.sign(flows)
    last = np.zeros(flows.shape[0])
    changes = np.zeros(flows.shape[0], dtype=np.int64)
    for t in range(flows.shape[1]):
        cur = sign[:, t]
        changes += (cur != 0) & (last != 0) & (cur != last)
        last = np.where(cur != 0, cur, last)
    return changes


def run_engine(
    paths: int = ENGINE_PATHS, scenarios: tuple[str | None, ...] = ENGINE_SCENARIOS
) -> dict[str, dict[str, float]]:
    """Time ``irr`` on the engine's own flow sets against a pyxirr loop.

    Args:
        paths: Paths per chunk (rows per flow set).
        scenarios: Scenario file names (``None``: the default scenario).

    Returns:
        Per flow set (``"<scenario>/<set>"``): microseconds per path of both
        implementations, the speed ratio, the share of rows with several
        sign changes and the largest absolute difference from pyxirr on rows
        with one sign change (pyxirr picks another root than
        ``numpy_financial`` on some rows with several).
    """
    results: dict[str, dict[str, float]] = {}
    print(f"IRR on engine flow sets: one chunk of {paths:,} paths per scenario")
    print(
        "  flow set                  periods  multi-change   pfs us/path  pyxirr us/path"
        "  speed-up  max|pfs-pyxirr| (1 change)"
    )
    total_vec = total_pyx = 0.0
    for scenario in scenarios:
        label = "default" if scenario is None else scenario.removesuffix(".yaml")
        print(f"  {label}")
        for name, flows in engine_flow_sets(scenario, paths):
            irr(flows[:1000])  # warm-up
            t_vec = _best_time(lambda flows=flows: irr(flows), repeats=5)
            row_list = list(np.ascontiguousarray(flows))
            t_pyx = _best_time(
                lambda row_list=row_list: [pyxirr.irr(r, silent=True) for r in row_list], repeats=2
            )
            ours = irr(flows)
            changes = _sign_changes(np.asarray(flows))
            single = np.flatnonzero(changes == 1)[:NPF_SUBSET]
            theirs = np.array([pyxirr.irr(row_list[i], silent=True) for i in single], dtype=float)
            diff = np.abs(ours[single] - theirs)
            max_diff = float(np.nanmax(diff)) if np.isfinite(diff).any() else float("nan")
            results[f"{label}/{name}"] = r = {
                "periods": float(flows.shape[1]),
                "multi_change_share": float(np.mean(changes >= 2)),
                "us_per_path_pfs_vectorised": t_vec / paths * 1e6,
                "us_per_path_pyxirr_loop": t_pyx / paths * 1e6,
                "speedup_vs_pyxirr_loop": t_pyx / t_vec,
                "max_abs_diff_vs_pyxirr_one_change": max_diff,
            }
            total_vec += t_vec
            total_pyx += t_pyx
            print(
                f"    {name[:22]:22s} {flows.shape[1]:8d} {r['multi_change_share']:13.1%}"
                f" {r['us_per_path_pfs_vectorised']:13.3f} {r['us_per_path_pyxirr_loop']:15.3f}"
                f" {r['speedup_vs_pyxirr_loop']:8.1f}x  {max_diff:.1e}"
            )
    print(
        f"  all flow sets: pfs {total_vec * 1e3:.1f} ms, pyxirr loop {total_pyx * 1e3:.1f} ms"
        f" ({total_pyx / total_vec:.1f}x)"
    )
    return results


if __name__ == "__main__":
    args = [int(arg) for arg in sys.argv[1:4]]
    run(*args[:2])
    print()
    run_engine(*args[2:3])
