"""``pfs report``, ``pfs import-indigo`` and ``pfs benchmark``.

Registered on :data:`pfs.cli.app` (``pfs/cli.py`` imports this module). User errors
raise :class:`~pfs.scenario.PfsError`, which :func:`pfs.cli.main` prints as one line
with exit code 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pfs.cli import PathsOpt, SamplingOpt, ScenarioArg, SeedOpt, SetOpt, app, load_with_overrides
from pfs.cli import out as console
from pfs.engine import simulate
from pfs.formatting import format_value
from pfs.scenario import PfsError, load_scenario

ChartFormatOpt = Annotated[
    str, typer.Option("--chart-format", help="png, svg or pdf (for --charts).")
]


@app.command()
def report(
    scenario: ScenarioArg = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write the Excel workbook here.")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    charts: Annotated[
        Path | None, typer.Option("--charts", help="Write the report's charts into this folder.")
    ] = None,
    chart_format: ChartFormatOpt = "png",
    sample_paths: Annotated[
        int, typer.Option("--sample-paths", help="Per-path rows in the workbook.", min=0)
    ] = 1000,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    sampling: SamplingOpt = None,
) -> None:
    """Simulate a scenario and write an Excel workbook, an HTML report and/or chart images."""
    from pfs.reports import write_chart_images, write_html_report, write_workbook

    if xlsx is None and html is None and charts is None:
        raise PfsError("report needs at least one of --xlsx FILE, --html FILE, --charts FOLDER")
    if chart_format not in ("png", "svg", "pdf"):
        raise PfsError(f"--chart-format must be png, svg or pdf, got {chart_format!r}")
    sc = load_with_overrides(scenario, set_)
    res = simulate(sc, paths=paths, seed=seed, sampling=sampling)
    if xlsx is not None:
        write_workbook(res, xlsx, sample_paths=sample_paths)
        console.print(f"Excel workbook written to {xlsx}")
    if html is not None:
        write_html_report(res, html)
        console.print(f"HTML report written to {html}")
    if charts is not None:
        written = write_chart_images(res, charts, chart_format)  # type: ignore[arg-type]
        console.print(
            f"{len(written)} chart(s) written to {charts}: " + ", ".join(p.name for p in written)
        )


@app.command("import-indigo")
def import_indigo_command(
    projects_csv: Annotated[
        Path, typer.Argument(help="INDIGO project export (original_projects.csv).")
    ],
    project_id: Annotated[
        str | None, typer.Option("--id", help="Project id, e.g. INDIGO-POJ-0083.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the scenario YAML here (default: print it)."),
    ] = None,
    related: Annotated[
        Path | None,
        typer.Option(
            "--related",
            help="Folder of INDIGO's related tables "
            "(default: beside the export, or all-data-by-type/).",
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the file's projects.")] = False,
) -> None:
    """Build a scenario skeleton from one project of the INDIGO impact bond data."""
    from pfs.indigo import import_indigo, read_projects

    if list_:
        grid = Table(title=f"Projects in {projects_csv}", title_justify="left")
        for col in ("ID", "Name", "Capital", "Max outcome payment", "Service users"):
            grid.add_column(col, justify="left" if col in ("ID", "Name") else "right")
        for p in read_projects(projects_csv):
            grid.add_row(
                p.id,
                p.name[:60],
                _amount(p.capital, p.capital_currency),
                _amount(p.max_payment, p.max_payment_currency),
                f"{p.users_target:,.0f}" if p.users_target else "–",
            )
        console.print(grid)
        return
    imported = import_indigo(projects_csv, project_id, related)
    text = imported.to_yaml()
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise PfsError(f"{output}: cannot write scenario ({err.strerror or err})") from None
    cur = imported.scenario.currency
    typer.echo(
        f"Imported {imported.project.id}: capital {format_value(imported.capital, 'money', cur)}, "
        f"maximum outcome payment {format_value(imported.max_payment, 'money', cur)}; "
        f"{len(imported.assumed)} assumed values listed in notes"
        + (f"; written to {output}" if output else ""),
        err=output is None,
    )


def _amount(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{currency} {value:,.0f}".strip()


@app.command()
def benchmark(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to place.")],
    group: Annotated[
        str, typer.Option("--group", help="Compare with all deals, or US or GB deals only.")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show where scenarios sit among real impact bonds (INDIGO summary figures)."""
    from pfs.benchmarking import benchmark_scenario, benchmark_source

    results: dict[str, Any] = {}
    for path in scenarios:
        sc = load_scenario(path)
        frame = benchmark_scenario(sc, group=group)
        results[str(path)] = (sc, frame)
    if as_json:
        payload = {
            "source": benchmark_source(),
            "group": group,
            "scenarios": {
                path: [
                    {
                        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                        for k, v in row.items()
                    }
                    for row in frame.reset_index().to_dict(orient="records")
                ]
                for path, (_, frame) in results.items()
            },
        }
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    for sc, frame in results.values():
        grid = Table(title=f"{sc.name} among real deals ({group})", title_justify="left")
        for col in ("Ratio", "This scenario", "P25", "Median", "P75", "Deals", "Reading"):
            grid.add_column(col, justify="left" if col in ("Ratio", "Reading") else "right")
        for _, row in frame.iterrows():
            kind = row["kind"]
            grid.add_row(
                row["label"],
                *[format_value(row[c], kind, "USD") for c in ("scenario", "p25", "median", "p75")],
                str(int(row["n"])),
                row["reading"],
            )
        console.print(grid)
    console.print(benchmark_source())
