"""The ``pfs`` command line: run, validate and compare scenarios.

User errors (bad files, bad overrides, bad options) exit with code 2 and one line on
stderr naming the file, field and problem; never a traceback.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from pfs.advice import advisories
from pfs.engine import compare as compare_scenarios
from pfs.engine import result_bytes, simulate
from pfs.formatting import metric_label, metric_value, money, percent
from pfs.parallel import BackendName, StreamedResults
from pfs.results import HEADLINE_METRICS, Results
from pfs.scenario import (
    PfsError,
    Sampling,
    Scenario,
    default_scenario_path,
    load_scenario,
    parse_override,
)

# `pfs run` streams (summaries only) when per-path results would need more than this.
STREAM_ABOVE_BYTES = 2 * 1024**3

app = typer.Typer(
    name="pfs",
    help="Simulate Pay for Success (social impact bond) contracts under uncertainty.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(width=140)

ScenarioArg = Annotated[
    Path | None,
    typer.Argument(help="Scenario YAML file (default: the teaching scenario).", show_default=False),
]
PathsOpt = Annotated[int | None, typer.Option("--paths", "-n", help="Monte Carlo paths.", min=1)]
SeedOpt = Annotated[int | None, typer.Option("--seed", "-s", help="Random seed.", min=0)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a field: path=value (repeatable), e.g. outcomes.bed_days.effect=0.1"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print results as JSON.")]
BackendOpt = Annotated[
    BackendName | None,
    typer.Option(
        "--backend",
        help="serial, processes or dask (default: dask when "
        "--workers or --scheduler is given, else serial).",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Worker processes (a Dask LocalCluster unless --backend processes).",
        min=1,
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786."
    ),
]

SamplingOpt = Annotated[Sampling | None, typer.Option("--sampling", help="random, lhs or sobol.")]


def load_with_overrides(path: Path | None, overrides: list[str] | None) -> Scenario:
    """Load a scenario (default when ``path`` is None) and apply ``--set`` overrides."""
    sc = load_scenario(path or default_scenario_path())
    if overrides:
        sc = sc.with_overrides(dict(parse_override(o) for o in overrides))
    return sc


@app.command()
def run(
    scenario: ScenarioArg = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Write per-path metrics to this CSV file.")
    ] = None,
    sampling: SamplingOpt = None,
    backend: BackendOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help="Keep summaries only, in bounded memory (quantiles within 0.1%). "
            "Default: when per-path results would need more than 2 GB and no --csv.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Simulate a scenario and print its summary (optionally split over Dask)."""
    sc = load_with_overrides(scenario, set_)
    if stream is None:
        n = sc.simulation.paths if paths is None else paths
        stream = csv is None and result_bytes(sc, n) > STREAM_ABOVE_BYTES
    if stream:
        if csv is not None:
            raise PfsError("--csv writes every path's metrics; it cannot be used with --stream")
        from pfs.cli_sweep import run_streamed  # registers on app; imports this module

        run_streamed(sc, paths, seed, sampling, backend, workers, scheduler, as_json)
        return
    res = simulate(
        sc,
        paths=paths,
        seed=seed,
        sampling=sampling,
        backend=backend,
        workers=workers,
        scheduler=scheduler,
    )
    if csv is not None:
        try:
            res.paths.to_csv(csv, index_label="path")
        except OSError as err:
            raise PfsError(f"{csv}: cannot write CSV ({err.strerror or err})") from None
    if as_json:
        sys.stdout.write(json.dumps(res.to_dict(), indent=2) + "\n")
        return
    print_results(res)
    if csv is not None:
        out.print(f"Per-path metrics written to {csv}")


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
) -> None:
    """Check scenario files; exit 2 if any is invalid."""
    failed = 0
    for path in scenarios:
        try:
            sc = load_scenario(path)
        except PfsError as err:
            failed += 1
            typer.echo(f"pfs: error: {err}", err=True)
        else:
            typer.echo(f"ok: {path} ({sc.name})")
            for note in advisories(sc):
                typer.echo(f"  note: {path}: {note}")
    if failed:
        raise typer.Exit(2)


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario files.")],
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare scenarios with common random numbers (differences are not noise)."""
    if len(scenarios) < 2:
        raise PfsError("compare needs at least two scenario files")
    loaded: dict[str, Scenario] = {}
    for path in scenarios:
        sc = load_with_overrides(path, set_)
        label = path.stem if path.stem not in loaded else str(path)
        loaded[label] = sc
    cmp = compare_scenarios(loaded, paths=paths, seed=seed)
    table = cmp.table()
    if as_json:
        records = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in row.items()
            }
            for row in table.reset_index().to_dict(orient="records")
        ]
        sys.stdout.write(json.dumps({"scenarios": list(loaded), "table": records}, indent=2) + "\n")
        return
    first = next(iter(loaded.values()))
    grid = Table(title="Comparison (common random numbers)", title_justify="left")
    grid.add_column("Metric")
    for col in table.columns:
        grid.add_column(str(col), justify="right")
    for metric, row in table.iterrows():
        name = str(metric)
        grid.add_row(
            metric_label(name),
            *[_fmt(name, float(v), first.currency, col) for col, v in row.items()],
        )
    out.print(grid)


def _fmt(metric: str, value: float, currency: str, column: Any) -> str:
    if str(column).startswith("se(") and metric.startswith("p_"):
        return percent(value, 2)
    return metric_value(metric, value, currency)


CHANCES = (
    "p_investor_repaid",
    "p_investor_loss",
    "p_gov_net_negative",
    "p_paid_without_true_effect",
    "p_not_paid_despite_true_effect",
)


def print_summary_tables(summary: pd.DataFrame, currency: str) -> None:
    """The headline metrics (mean, s.e., P5/P50/P95) and the chances, as two tables."""
    rows = summary.to_dict(orient="index")
    table = Table(title="Results", title_justify="left")
    for col in ("Metric", "Mean", "± s.e.", "P5", "Median", "P95"):
        table.add_column(col, justify="left" if col == "Metric" else "right")
    for name in HEADLINE_METRICS:
        row = rows[name]
        table.add_row(
            metric_label(name),
            *[
                metric_value(name, float(row[c]), currency, precise=c == "std_error")
                for c in ("mean", "std_error", "p05", "p50", "p95")
            ],
        )
    out.print(table)
    probs = Table(title="Chances", title_justify="left")
    probs.add_column("Event")
    probs.add_column("Probability", justify="right")
    probs.add_column("± s.e.", justify="right")
    for name in CHANCES:
        row = rows[name]
        probs.add_row(
            metric_label(name), percent(float(row["mean"])), percent(float(row["std_error"]), 2)
        )
    out.print(probs)


def print_results(res: Results | StreamedResults) -> None:
    """A readable summary: headline metrics, probabilities, tranches, budget years."""
    sc = res.scenario
    cur = sc.currency
    streamed = (
        f", streamed: quantiles within {res.alpha:.1%}" if isinstance(res, StreamedResults) else ""
    )
    out.print(
        f"[bold]{sc.name}[/bold]  ({res.n_paths:,} paths, seed {res.seed}, "
        f"{res.sampling.value} sampling, {res.elapsed:.2f}s{streamed})"
    )
    print_summary_tables(res.summary([*HEADLINE_METRICS, *CHANCES]), cur)  # what is shown
    tr = Table(title="Capital stack", title_justify="left")
    for col in (
        "Tranche",
        "Kind",
        "Seniority",
        "Commitment",
        "Mean drawn",
        "IRR P5",
        "IRR median",
        "IRR P95",
        "P(loss)",
        "Expected loss",
    ):
        tr.add_column(col, justify="left" if col in ("Tranche", "Kind") else "right")
    for tid, row in res.tranches.iterrows():
        tr.add_row(
            str(tid),
            row["kind"],
            str(row["seniority"]),
            money(row["commitment"], cur),
            money(row["mean_drawn"], cur),
            percent(row["irr_p05"]),
            percent(row["irr_p50"]),
            percent(row["irr_p95"]),
            percent(row["p_loss"]),
            money(row["expected_loss"], cur),
        )
    out.print(tr)
    years = res.by_year()
    pay = years[years["series"] == "outcome_payments"]
    sav = years[years["series"] == "gross_savings"].set_index("year")
    by = Table(title="Budget years: outcome payments and savings", title_justify="left")
    for col in ("Year", "Payments P5", "Median", "P95", "Mean", "Savings mean"):
        by.add_column(col, justify="right")
    for _, row in pay.iterrows():
        by.add_row(
            str(row["year"]),
            money(row["p05"], cur),
            money(row["p50"], cur),
            money(row["p95"], cur),
            money(row["mean"], cur),
            money(sav.loc[row["year"], "mean"], cur),
        )
    out.print(by)


# Typer >= 0.26 vendors its own click; older releases use click itself. Catch both.
_ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)
_CLICK_ERRORS: tuple[type[BaseException], ...] = (
    click.ClickException,
    getattr(typer, "TyperException", click.ClickException),
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pfs`` command; returns the exit code."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="pfs")
    except PfsError as err:
        typer.echo(f"pfs: error: {err}", err=True)
        return 2
    except _ABORTS:
        typer.echo("pfs: aborted", err=True)
        return 1
    except _CLICK_ERRORS as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # bare `pfs`: help was printed
            return 0
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        typer.echo(f"pfs: error: {message}", err=True)
        code = getattr(err, "exit_code", 2)
        return code if isinstance(code, int) else 2
    return result if isinstance(result, int) else 0


def entry_point() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


# Subcommands defined in their own modules register themselves on `app`.
from pfs import cli_analysis, cli_reports, cli_sweep  # noqa: E402,F401
