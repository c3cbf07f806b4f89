"""Benchmark: vectorised ``pfs.finance.irr`` against per-path Python loops.

Builds random conventional cash-flow rows (an initial outflow block, then
inflows; ``rows x periods``) and times

* ``pfs.finance.irr`` on the whole matrix (vectorised),
* a Python loop of ``pyxirr.irr`` (the named baseline),
* a Python loop of ``numpy_financial.irr`` (timed on a subset and scaled
  per row, because it is slow),

then prints microseconds per path, speed ratios against the pyxirr loop and
the largest absolute difference from numpy_financial.  Timings are the best
of a few repeats (the machine may be shared).  Not a test: nothing is
asserted.

Run ``python benchmarks/bench_irr.py [rows] [periods]`` or call :func:`run`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import numpy_financial as npf
import pyxirr

from pfs.finance import irr

NPF_SUBSET = 5_000
SEED = 20240601


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


if __name__ == "__main__":
    run(*(int(arg) for arg in sys.argv[1:3]))
