"""Large runs in bounded memory: streamed summaries at 1e5, 1e6 and 1e7 paths.

For each size, in a fresh subprocess (so peak memory is its own), times
``pfs.parallel.simulate_summary`` (chunk by chunk; per-path arrays are never kept,
only mergeable summaries: mean and standard error, exact probability counts,
quantile sketches within 0.1%) and reports paths per second and peak resident
memory. With ``--full`` it also runs ``pfs.simulate`` (every per-path metric kept)
at sizes up to ``--full-max`` and reports how far the streamed means are from the
full ones, in standard errors. With ``--workers N`` the streamed run is split by
path blocks over a Dask ``LocalCluster`` of N workers; peak memory is then given
for the client and for each worker.

With ``--cli`` it also runs ``pfs run --paths N`` as a user would (it keeps every
path, or streams when per-path results would pass 2 GB).

Usage: ``python benchmarks/bench_scale.py [--sizes 100000 1000000 10000000]
[--full] [--full-max 1000000] [--workers 2] [--cli]``
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
import pfs
from pfs.parallel import simulate_summary

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def main():
    mode, paths, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sc = pfs.load_scenario(pfs.default_scenario_path())
    pfs.simulate(sc, paths=2000, seed=0)                     # warm imports and caches
    out = {"mode": mode, "paths": paths, "baseline_mb": peak_mb()}
    t = time.perf_counter()
    if mode == "full":
        summary = pfs.simulate(sc, paths=paths, seed=1, keep_inputs=False).summary()
    elif mode == "cli":  # what a user types: `pfs run --paths N --json` (streams when big)
        import contextlib, io
        from pfs.cli import main as cli_main
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = cli_main(["run", "--paths", str(paths), "--seed", "1", "--json"])
        assert code == 0, code
        data = json.loads(buffer.getvalue())
        out["streamed"] = "quantile_accuracy" in data
        import pandas as pd
        summary = pd.DataFrame(data["summary"]).set_index("metric")
    elif workers:
        from pfs.parallel import open_backend
        with open_backend("dask", workers=workers) as cluster:   # pfs's LocalCluster
            client = cluster.client
            client.run(lambda: __import__("pfs.parallel"))     # workers import pfs
            t = time.perf_counter()
            summary = simulate_summary(sc, paths=paths, seed=1, scheduler=client).summary()
            out["worker_peak_mb"] = sorted(client.run(peak_mb).values())
    else:
        summary = simulate_summary(sc, paths=paths, seed=1).summary()
    out["engine_s"] = time.perf_counter() - t
    out["peak_mb"] = peak_mb()
    out["means"] = summary["mean"].to_dict()
    out["errors"] = summary["std_error"].to_dict()
    print(json.dumps(out))

if __name__ == "__main__":
    main()
"""


def run(mode: str, paths: int, workers: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(paths), str(workers)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gap_in_standard_errors(streamed: dict[str, Any], full: dict[str, Any]) -> tuple[float, str]:
    """Largest |streamed mean - full mean| / standard error over all summary rows."""
    gaps = {
        name: abs(streamed["means"][name] - mean) / full["errors"][name]
        for name, mean in full["means"].items()
        if mean == mean and (full["errors"].get(name) or 0) > 0
    }
    worst = max(gaps, key=gaps.__getitem__)
    return gaps[worst], worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--full", action="store_true", help="also time pfs.simulate")
    parser.add_argument(
        "--full-max", type=int, default=1_000_000, help="largest size for --full (1e7: ~5 GB)"
    )
    parser.add_argument("--workers", type=int, default=0, help="Dask LocalCluster workers")
    parser.add_argument(
        "--cli", action="store_true", help="also time `pfs run --paths N` (streams above 2 GB)"
    )
    args = parser.parse_args()
    label = f"streamed, dask x{args.workers}" if args.workers else "streamed, serial"
    print(f"Teaching scenario; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"{'run':<22} {'paths':>11} {'s':>8} {'paths/s':>10} {'peak MB':>8} "
        f"{'after import MB':>16}  notes"
    )
    for paths in args.sizes:
        runs = {"stream": (label, run("stream", paths, args.workers))}
        if args.cli:
            runs["cli"] = ("`pfs run` (CLI)", run("cli", paths, 0))
        if args.full and paths <= args.full_max:
            runs["full"] = ("pfs.simulate (full)", run("full", paths, 0))
        for name, r in runs.values():
            if "error" in r:
                print(f"{name:<22} {paths:>11,} failed: {r['error']}")
                continue
            note = ""
            if "streamed" in r:
                note = "streamed automatically" if r["streamed"] else "every path kept"
            if "worker_peak_mb" in r:
                note = "worker peaks MB: " + ", ".join(f"{m:.0f}" for m in r["worker_peak_mb"])
            print(
                f"{name:<22} {paths:>11,} {r['engine_s']:>8.2f} "
                f"{paths / r['engine_s']:>10,.0f} {r['peak_mb']:>8.0f} "
                f"{r['baseline_mb']:>16.0f}  {note}"
            )
        if "full" in runs and not any("error" in r for _, r in runs.values()):
            gap, worst = gap_in_standard_errors(runs["stream"][1], runs["full"][1])
            print(f"{'':<22} {'':>11} streamed vs full means: largest gap {gap:.1e} s.e. ({worst})")


if __name__ == "__main__":
    main()
