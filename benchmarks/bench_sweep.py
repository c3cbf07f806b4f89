"""A 100-point sweep: serial vs local processes vs a Dask LocalCluster.

The grid is 10 outcome prices x 10 senior-loan sizes of the teaching scenario, each
point a full Monte Carlo run with common random numbers. Times the serial sweep,
then the same sweep on a ``ProcessPoolExecutor`` and on a Dask ``LocalCluster``
(``--workers`` each, default 2), and checks that every backend's table is
bit-identical to the serial one. For Dask, cluster start-up and a warm-up task on
each worker are timed apart from the sweep itself.

Usage: ``python benchmarks/bench_sweep.py [--paths 20000] [--workers 2]
[--backends processes dask]``
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd

import pfs
from pfs.parallel import LOCAL_CLUSTER_CONFIG
from pfs.sweep import sweep

PRICE = "outcomes.bed_days.payment.price_per_unit"
SENIOR = "capital.tranches.senior.amount"
GRID = {
    PRICE: [float(p) for p in np.linspace(120, 240, 10)],
    SENIOR: [float(a) for a in np.linspace(2.4e6, 4.2e6, 10)],
}


def _busy(_: int = 0) -> float:
    """A fixed NumPy workload; returns its own wall time."""
    values = np.random.default_rng(0).random(1_000_000)
    started = time.perf_counter()
    for _ in range(40):
        np.exp(values) * values + 1
    return time.perf_counter() - started


def parallel_capacity(workers: int) -> float:
    """How many CPUs' worth of throughput ``workers`` busy processes really get."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(_busy, range(workers)))  # start the processes
        alone = min(pool.submit(_busy).result() for _ in range(3))
        together = list(pool.map(_busy, range(workers)))
    return workers * alone / (sum(together) / workers)


def identical(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """``yes``, or which columns differ and by how much (relative)."""
    differ = [c for c in a.columns if not a[c].equals(b[c])]
    if not differ:
        return "yes"
    worst = max(float(((a[c] - b[c]).abs() / a[c].abs().clip(lower=1e-300)).max()) for c in differ)
    return f"NO: {len(differ)} columns (e.g. {differ[0]}), max rel diff {worst:.1e}"


def run_dask(sc: pfs.Scenario, paths: int, workers: int, serial: pd.DataFrame) -> None:
    import dask
    import distributed

    t = time.perf_counter()
    with (
        dask.config.set(LOCAL_CLUSTER_CONFIG),  # as pfs's own LocalCluster
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        started = time.perf_counter() - t
        t = time.perf_counter()
        client.run(lambda: __import__("pfs.sweep"))
        warmed = time.perf_counter() - t
        t = time.perf_counter()
        table = sweep(sc, GRID, paths=paths, seed=1, scheduler=client)
        elapsed = time.perf_counter() - t
    report(
        f"dask LocalCluster x{workers}",
        elapsed,
        serial,
        table,
        f"cluster start {started:.1f}s, warm-up task {warmed:.1f}s (not included)",
    )


def report(
    label: str, elapsed: float, serial: pd.DataFrame | None, table: pd.DataFrame, note: str = ""
) -> None:
    base = serial.attrs["elapsed_wall"] if serial is not None else elapsed
    same = "yes" if serial is None else identical(serial, table)
    print(
        f"{label:<26} {elapsed:>8.2f} {len(table) / elapsed:>9.2f} {base / elapsed:>8.2f}x "
        f"{same:>13}  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=20_000, help="paths per point")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", nargs="*", default=["processes", "dask"])
    args = parser.parse_args()
    sc = pfs.load_scenario(pfs.default_scenario_path())
    pfs.simulate(sc, paths=2000, seed=0)  # warm imports and caches
    print(
        f"Sweep of {len(GRID[PRICE]) * len(GRID[SENIOR])} points x {args.paths:,} paths "
        f"(teaching scenario); load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    capacity = parallel_capacity(args.workers)
    print(
        f"Machine check: {args.workers} busy processes get {capacity:.2f} CPUs of throughput "
        f"(the ceiling on any speed-up here)"
    )
    print(f"{'backend':<26} {'s':>8} {'points/s':>9} {'speed-up':>9} {'bit-identical':>13}")
    t = time.perf_counter()
    serial = sweep(sc, GRID, paths=args.paths, seed=1)
    serial.attrs["elapsed_wall"] = time.perf_counter() - t
    report("serial (in-process)", serial.attrs["elapsed_wall"], None, serial)
    if "processes" in args.backends:
        t = time.perf_counter()
        table = sweep(sc, GRID, paths=args.paths, seed=1, backend="processes", workers=args.workers)
        report(
            f"processes x{args.workers}",
            time.perf_counter() - t,
            serial,
            table,
            "includes spawning the workers",
        )
    if "dask" in args.backends:
        run_dask(sc, args.paths, args.workers, serial)


if __name__ == "__main__":
    main()
