"""Compute the deal benchmark figures shipped in ``pfs/data/deal_benchmarks.json``.

Reads the INDIGO project export (default: the shared copy beside this repository,
``../shared/data/indigo/archive/imported-data/impact-bonds/key-datasets/original_projects.csv``)
and writes summary figures only (counts and quantiles of three ratios), with their
source and the date. Run from the repository root::

    .venv/bin/python scripts/compute_deal_benchmarks.py [PROJECTS_CSV] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pfs.benchmarking import BENCHMARKS_PATH, compute_benchmarks
from pfs.indigo import RELATED_FILES, read_commitment_totals, read_projects, related_folders
from pfs.scenario import PfsError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROJECTS = (
    ROOT.parent
    / "shared/data/indigo/archive/imported-data/impact-bonds/key-datasets/original_projects.csv"
)
SOURCE = (
    "Government Outcomes Lab (University of Oxford), INDIGO impact bond data set, project "
    "export {name} ({count} projects), data pulled 20 May 2025"
)


def main(argv: list[str] | None = None) -> int:
    """Compute the figures and write them; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="?", type=Path, default=DEFAULT_PROJECTS)
    parser.add_argument("--out", type=Path, default=BENCHMARKS_PATH)
    args = parser.parse_args(argv)
    try:
        projects = read_projects(args.projects)
        commitments = None
        for folder in related_folders(args.projects):
            path = folder / RELATED_FILES["commitments"]
            if path.is_file():
                commitments = read_commitment_totals(path)
                break
    except PfsError as err:
        print(f"compute_deal_benchmarks: error: {err}", file=sys.stderr)
        return 2
    source = SOURCE.format(name=args.projects.name, count=len(projects)) + (
        "; maximum payments filled from original_projects_outcome_payment_commitments.csv "
        "where blank"
        if commitments is not None
        else ""
    )
    figures = compute_benchmarks(projects, source=source, commitments=commitments)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, ratio in figures["ratios"].items():
        counts = (
            ", ".join(
                f"{g}: n={f['n']}, median={f['median']:.4g}" for g, f in ratio["groups"].items()
            )
            or "too few deals"
        )
        print(f"{name}: {counts}")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
