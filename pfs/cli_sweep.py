"""``pfs sweep`` and ``pfs stream``: many deal structures, and very large runs.

Registered on :data:`pfs.cli.app` (``pfs/cli.py`` imports this module). Both take
``--backend serial|processes|dask``, ``--workers N`` (processes, or a Dask
``LocalCluster``) and ``--scheduler tcp://host:port``. User errors raise
:class:`~pfs.scenario.PfsError`, which :func:`pfs.cli.main` prints as one line with
exit code 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from pfs.cli import (
    BackendOpt,
    JsonOpt,
    PathsOpt,
    SamplingOpt,
    ScenarioArg,
    SchedulerOpt,
    SeedOpt,
    SetOpt,
    WorkersOpt,
    app,
    load_with_overrides,
    out,
    print_results,
)
from pfs.formatting import metric_label, metric_value
from pfs.parallel import simulate_summary
from pfs.scenario import PfsError, Sampling, Scenario
from pfs.sweep import collect_items, parse_grid_item, parse_lhs_item
from pfs.sweep import sweep as run_sweep

TABLE_COLUMNS = (
    "p_investor_repaid",
    "investor_irr_p50",
    "outcome_payments_mean",
    "gov_net_savings_pv_mean",
    "p_gov_net_negative",
    "max_annual_outlay_p95",
)
COLUMN_LABELS = {
    "p_investor_repaid": "P(repaid)",
    "investor_irr_p50": "IRR median",
    "outcome_payments_mean": "Payments mean",
    "gov_net_savings_pv_mean": "Gov net savings PV",
    "p_gov_net_negative": "P(gov net < 0)",
    "max_annual_outlay_p95": "Max outlay P95",
}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): _finite(v) for k, v in row.items()}
        for row in frame.reset_index().to_dict(orient="records")
    ]


def _write_csv(frame: pd.DataFrame, csv: Path) -> None:
    try:
        frame.to_csv(csv)
    except OSError as err:
        raise PfsError(f"{csv}: cannot write CSV ({err.strerror or err})") from None


@app.command()
def sweep(
    scenario: ScenarioArg = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="path=v1,v2,... (repeatable; every combination is a "
            "point), e.g. outcomes.bed_days.payment.price_per_unit=150,180,210",
        ),
    ] = None,
    lhs: Annotated[
        list[str] | None,
        typer.Option(
            "--lhs",
            help="path=low:high (repeatable): a Latin hypercube over these ranges, with --points",
        ),
    ] = None,
    points: Annotated[
        int | None, typer.Option("--points", help="Latin hypercube points.", min=1)
    ] = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    sampling: SamplingOpt = None,
    set_: SetOpt = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Add this metric's mean and standard error "
            "(repeatable; default: the headline metrics).",
        ),
    ] = None,
    backend: BackendOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Write the table to this CSV file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a grid or Latin hypercube of deal structures (common random numbers)."""
    if not grid and not lhs:
        raise PfsError("sweep needs --grid path=v1,v2,... or --lhs path=low:high")
    if grid and lhs:
        raise PfsError("give --grid or --lhs, not both")
    if lhs and points is None:
        raise PfsError("--lhs needs --points N")
    if grid and points is not None:
        raise PfsError("--points is for --lhs; a grid has one point per combination")
    sc = load_with_overrides(scenario, set_)
    table = run_sweep(
        sc,
        collect_items(grid, parse_grid_item, "grid") if grid else None,
        lhs=collect_items(lhs, parse_lhs_item, "lhs") if lhs else None,
        points=points,
        paths=paths,
        seed=seed,
        sampling=sampling,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
        metrics=metric,
    )
    if csv is not None:
        _write_csv(table, csv)
    if as_json:
        data: dict[str, Any] = {str(k): _finite(v) for k, v in table.attrs.items()}
        data["points"] = _records(table)
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    print_sweep(table, sc.currency, metric or [])
    if csv is not None:
        out.print(f"Sweep table written to {csv}")


def print_sweep(table: pd.DataFrame, currency: str, metrics: list[str]) -> None:
    """The sweep as a readable table: overrides, then the main numbers per point."""
    attrs = table.attrs
    overrides = list(attrs.get("overrides", []))
    shown = [*TABLE_COLUMNS, *(f"{m}_mean" for m in metrics if f"{m}_mean" not in TABLE_COLUMNS)]
    grid = Table(
        title=f"Sweep: {len(table)} points × {attrs.get('paths', 0):,} paths, seed "
        f"{attrs.get('seed')} (common random numbers), {attrs.get('backend')} backend, "
        f"{attrs.get('elapsed', math.nan):.1f}s",
        title_justify="left",
    )
    grid.add_column("#", justify="right")
    for col in short_names(overrides):  # break long names at their dots, not mid-word
        grid.add_column(col.replace(".", ".\n"), justify="right", overflow="fold")
    for col in shown:
        label = COLUMN_LABELS.get(col) or metric_label(col.removesuffix("_mean"))
        grid.add_column(label, justify="right", overflow="fold")
    for point, row in table.iterrows():
        grid.add_row(
            str(point),
            *[_override_text(row[c]) for c in overrides],
            *[metric_value(c, float(row[c]), currency) for c in shown],
        )
    out.print(grid)


def short_names(paths: list[str]) -> list[str]:
    """The shortest dotted suffixes that still tell the paths apart.

    ``outcomes.bed_days.payment.price_per_unit`` -> ``payment.price_per_unit`` unless
    another path ends the same way, then ``bed_days.payment.price_per_unit``.
    """
    parts = [p.split(".") for p in paths]
    depth = [min(2, len(p)) for p in parts]
    while True:
        names = [".".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            return names
        grown = False
        for i, name in enumerate(names):
            if name in clashes and depth[i] < len(parts[i]):
                depth[i] += 1
                grown = True
        if not grown:
            return names


def _override_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@app.command()
def stream(
    scenario: ScenarioArg = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    sampling: SamplingOpt = None,
    set_: SetOpt = None,
    backend: BackendOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate very many paths in bounded memory (summaries only), optionally in parallel.

    Means, standard errors and probabilities are those of ``pfs run``; quantiles are
    within 0.1% (relative). Split over processes or Dask with --workers / --scheduler.
    """
    sc = load_with_overrides(scenario, set_)
    run_streamed(sc, paths, seed, sampling, backend, workers, scheduler, as_json)


def run_streamed(
    sc: Scenario,
    paths: int | None,
    seed: int | None,
    sampling: Sampling | None,
    backend: str | None,
    workers: int | None,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Simulate in bounded memory and print (or write as JSON) what ``pfs run`` shows."""
    res = simulate_summary(
        sc,
        paths=paths,
        seed=seed,
        sampling=sampling,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
    )
    if as_json:
        data = {
            "scenario": sc.name,
            "paths": res.n_paths,
            "seed": res.seed,
            "sampling": res.sampling.value,
            "currency": sc.currency,
            "quantile_accuracy": res.alpha,
            "elapsed": res.elapsed,
            "headline": {k: _finite(v) for k, v in res.headline().items()},
            "summary": _records(res.summary()),
            "tranches": _records(res.tranches),
            "by_year": _records(res.by_year()),
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    print_results(res)
