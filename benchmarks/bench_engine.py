"""Engine speed and memory on the teaching scenario, plus the IRR kernel.

Prints, for 1e5 and 1e6 paths (each in a fresh subprocess so peak memory is its own):
cold and warm wall time, paths per second, peak resident memory, and the ratio of
engine time to two named baselines measured in the same run: the "rng floor" (the
time NumPy takes just to draw the same number of uniforms the scenario consumes) and
"sampling" (pfs drawing them from its keyed streams and applying the inverse CDFs).
Also the time of the summaries ``pfs run`` prints, and an ablation with the coupon
identity for tranche IRRs switched off. Then the IRR comparison of
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
from pfs import engine
from pfs.sampling import sample, stream_dims
paths = int(sys.argv[1])
sc = pfs.load_scenario(pfs.default_scenario_path())
pfs.simulate(sc, paths=2000, seed=0)                         # warm imports and caches
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
n_uniforms = paths * sum(stream_dims(sc).values())
rng = np.random.default_rng(0)
floors, samplings = [], []
for _ in range(3):  # best of three, like the warm engine runs
    t = time.perf_counter()
    for start in range(0, n_uniforms, 1 << 22):
        rng.random(min(1 << 22, n_uniforms - start))
    floors.append(time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, paths, engine.DEFAULT_CHUNK):
        sample(sc, start, min(start + engine.DEFAULT_CHUNK, paths), 1)
    samplings.append(time.perf_counter() - t)  # keyed streams and every inverse CDF
floor, sampling = min(floors), min(samplings)
t = time.perf_counter()
res = pfs.simulate(sc, paths=paths, seed=1, keep_inputs=False)
cold = time.perf_counter() - t  # the results' memory is touched for the first time
peak_cold = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
del res
warm = []
for seed in (2, 3, 4):
    t = time.perf_counter()
    res = pfs.simulate(sc, paths=paths, seed=seed, keep_inputs=False)
    warm.append(time.perf_counter() - t)  # the allocator reuses the freed pages
    t = time.perf_counter()
    res.summary(); res.by_year(); res.tranches; res.headline()
    summaries = time.perf_counter() - t
    del res
engine.EXACT_COUPON_IRR = False  # ablation: every tranche IRR from the solver
t = time.perf_counter()
res = pfs.simulate(sc, paths=paths, seed=2, keep_inputs=False)
no_identity = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"paths": paths, "cold_s": cold, "warm_s": min(warm), "peak_cold_mb": peak_cold,
                  "summaries_s": summaries, "sampling_s": sampling, "no_identity_s": no_identity,
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
    print("  cold = first run in a fresh process (its result memory touched for the first time);")
    print("  warm = best of three later runs; floor = NumPy drawing the same number of uniforms;")
    print("  sampling = pfs drawing them (keyed streams) and applying every inverse CDF;")
    print("  summaries = summary + by_year + tranches + headline, what `pfs run` prints;")
    print("  no identity = warm, with every tranche IRR from the solver (coupon identity off)")
    print(
        f"{'paths':>10} {'cold s':>7} {'warm s':>7} {'paths/s':>10} {'floor s':>8} "
        f"{'warm/floor':>10} {'sampling s':>10} {'warm/samp.':>10} {'no identity s':>13} "
        f"{'summaries s':>11} {'peak MB':>8} {'import MB':>9}"
    )
    for paths in args.sizes:
        r = run_engine(paths)
        print(
            f"{paths:>10,} {r['cold_s']:>7.2f} {r['warm_s']:>7.2f} "
            f"{paths / r['warm_s']:>10,.0f} {r['rng_floor_s']:>8.3f} "
            f"{r['warm_s'] / r['rng_floor_s']:>10.1f} {r['sampling_s']:>10.3f} "
            f"{r['warm_s'] / r['sampling_s']:>10.1f} {r['no_identity_s']:>13.2f} "
            f"{r['summaries_s']:>11.2f} {r['peak_cold_mb']:>8.0f} {r['baseline_mb']:>9.0f}"
        )
    print()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_irr

    bench_irr.run(rows=args.irr_rows)


if __name__ == "__main__":
    main()
