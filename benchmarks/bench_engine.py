"""Engine speed and memory on the teaching scenario, plus the IRR kernel.

Prints, for 1e5 and 1e6 paths (each in a fresh subprocess so peak memory is its own):
wall time, paths per second, peak resident memory, and the ratio of engine time to
the named baseline "rng floor" (the time NumPy takes just to draw the same number of
uniforms the scenario consumes, measured in the same run). Then the IRR comparison of
``benchmarks/bench_irr.py`` (vectorised IRR vs a pyxirr loop and a numpy-financial loop).

Usage: ``python benchmarks/bench_engine.py [--sizes 100000 1000000] [--irr-rows 100000]``
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
import numpy as np
import pfs
from pfs.sampling import stream_dims
paths = int(sys.argv[1])
sc = pfs.load_scenario(pfs.default_scenario_path())
pfs.simulate(sc, paths=2000, seed=0)                         # warm imports and caches
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
n_uniforms = paths * sum(stream_dims(sc).values())
rng = np.random.default_rng(0)
t = time.perf_counter()
for start in range(0, n_uniforms, 1 << 22):
    rng.random(min(1 << 22, n_uniforms - start))
floor = time.perf_counter() - t
t = time.perf_counter()
res = pfs.simulate(sc, paths=paths, seed=1, keep_inputs=False)
engine = time.perf_counter() - t  # cold: the results' memory is touched for the first time
peak_cold = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
del res
t = time.perf_counter()
res = pfs.simulate(sc, paths=paths, seed=2, keep_inputs=False)
warm = time.perf_counter() - t  # warm: the allocator reuses the freed pages
t = time.perf_counter()
res.summary(); res.by_year(); res.tranches
summaries = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"paths": paths, "engine_s": engine, "warm_s": warm, "peak_cold_mb": peak_cold,
                  "summaries_s": summaries,
                  "rng_floor_s": floor, "peak_mb": peak, "baseline_mb": base_rss}))
"""


def run_engine(paths: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(paths)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--irr-rows", type=int, default=100_000)
    args = parser.parse_args()
    print("Engine: teaching scenario (scenarios/teaching_reentry.yaml), default chunking")
    print("  cold = first run in a fresh process (result memory touched for the first time);")
    print("  warm = a second run reusing freed memory; floor = NumPy drawing the same uniforms")
    print(
        f"{'paths':>10} {'cold s':>8} {'warm s':>8} {'paths/s warm':>13} {'floor s':>8} "
        f"{'warm/floor':>11} {'summaries s':>12} {'peak MB (cold)':>15} {'after import MB':>16}"
    )
    for paths in args.sizes:
        r = run_engine(paths)
        print(
            f"{paths:>10,} {r['engine_s']:>8.3f} {r['warm_s']:>8.3f} "
            f"{paths / r['warm_s']:>13,.0f} {r['rng_floor_s']:>8.4f} "
            f"{r['warm_s'] / r['rng_floor_s']:>11.1f} {r['summaries_s']:>12.3f} "
            f"{r['peak_cold_mb']:>15.0f} {r['baseline_mb']:>16.0f}"
        )
    print()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_irr

    bench_irr.run(rows=args.irr_rows)


if __name__ == "__main__":
    main()
