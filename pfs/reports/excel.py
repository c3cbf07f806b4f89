"""Excel workbook of a simulation, for budget staff who live in spreadsheets.

Stage: reporting. :func:`workbook_bytes` takes :class:`~pfs.results.Results` (and an
optional sensitivity table) and returns an ``.xlsx`` file as bytes; :func:`write_workbook`
saves it. Every number is written as a number with a format (money in the scenario's
currency, shares as percentages, multiples as ``1.05×``), every sheet has a title, a
one-line note, a frozen header row and set column widths.

Sheets, in order: ``Headline``, ``Summary``, ``Inputs``, ``Budget years``,
``Tranches``, ``Sensitivity`` (only when given), ``Benchmarks`` (where the deal sits
among real deals), ``Paths sample``, ``Notes and sources``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pfs.formatting import CURRENCY_SYMBOLS
from pfs.reports.content import (
    Kind,
    budget_table,
    headline_table,
    input_kind,
    input_rows,
    is_tornado,
    metric_kind,
    reading,
    series_label,
    spec_kind,
    summary_table,
)
from pfs.results import Results
from pfs.scenario import PfsError

SHEETS = (
    "Headline",
    "Summary",
    "Inputs",
    "Budget years",
    "Tranches",
    "Sensitivity",
    "Benchmarks",
    "Paths sample",
    "Notes and sources",
)
#: Row (0-based) of every table's header; rows above hold the title and a note.
HEADER_ROW = 2
DEFAULT_SAMPLE_PATHS = 1000
_STAT_LABELS = {"p05": "P5", "p50": "Median", "p95": "P95", "mean": "Mean"}


@dataclass(frozen=True)
class Column:
    """How one column of a table is written.

    Attributes:
        header: the header text.
        kind: number format kind (see :func:`number_format`).
        width: column width in characters.
    """

    header: str
    kind: Kind
    width: float = 14


def number_format(kind: Kind, currency: str, precise: bool = False) -> str:
    """Excel number format of a kind of value.

    Args:
        kind: ``money``, ``share``, ``rate``, ``multiple``, ``count``, ``number`` or ``text``.
        currency: ISO code; a known symbol is shown before money (``$``, ``£``, ``€``).
        precise: more decimals (for standard errors).
    """
    if kind == "money":
        symbol = CURRENCY_SYMBOLS.get(currency.upper())
        body = "#,##0.00" if precise else "#,##0"
        if symbol:
            return f'"{symbol}"{body};-"{symbol}"{body}'
        return f'{body} "{currency.upper()}"'
    if kind in ("share", "rate"):
        return "0.00%" if precise else "0.0%"
    if kind == "multiple":
        return '0.000"×"' if precise else '0.00"×"'
    if kind == "count":
        return "#,##0"
    if kind == "number":
        return "General"
    return "@"


def _cell(value: Any) -> Any:
    """A value xlsxwriter can write: NaN and infinities become blank cells."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Book:
    """A thin wrapper over an xlsxwriter workbook with cached formats."""

    def __init__(self, buffer: io.BytesIO, currency: str):
        try:
            import xlsxwriter
        except ImportError:  # pragma: no cover - exercised only without the dependency
            raise PfsError(
                "writing Excel needs the xlsxwriter package (pip install xlsxwriter)"
            ) from None
        self.book = xlsxwriter.Workbook(
            buffer,
            {
                "in_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.currency = currency
        self._formats: dict[tuple[Any, ...], Any] = {}
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.note = self.book.add_format({"italic": True, "font_color": "#555555"})
        self.header = self.book.add_format(
            {
                "bold": True,
                "bg_color": "#1f4e9c",
                "font_color": "#ffffff",
                "text_wrap": True,
                "valign": "top",
                "border": 1,
            }
        )
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.bold = self.book.add_format({"bold": True})

    def fmt(self, kind: Kind, precise: bool = False) -> Any:
        key = (kind, precise)
        if key not in self._formats:
            self._formats[key] = self.book.add_format(
                {"num_format": number_format(kind, self.currency, precise), "valign": "top"}
            )
        return self._formats[key]

    def sheet(self, name: str, title: str, note: str, printable: bool = True) -> Any:
        ws = self.book.add_worksheet(name)
        if printable:  # print on landscape pages, one page wide
            ws.set_landscape()
            ws.fit_to_pages(1, 0)
            ws.repeat_rows(HEADER_ROW)
        ws.write_string(0, 0, title, self.title)
        ws.write_string(1, 0, note, self.note)
        return ws

    def table(
        self,
        ws: Any,
        columns: Sequence[Column],
        rows: Sequence[Sequence[Any]],
        kinds: Sequence[Sequence[Kind]] | None = None,
        precise: Sequence[bool] | None = None,
        freeze_columns: int = 1,
    ) -> None:
        """Header at :data:`HEADER_ROW`, then rows; frozen header, widths, autofilter.

        Args:
            ws: the worksheet.
            columns: the columns.
            rows: the cell values, row by row.
            kinds: per-cell kinds overriding the column's (same shape as ``rows``).
            precise: per-column flag for extra decimals (standard errors).
            freeze_columns: leading columns kept in view when scrolling right.
        """
        for j, col in enumerate(columns):
            ws.write_string(HEADER_ROW, j, col.header, self.header)
            ws.set_column(j, j, col.width)
        for i, values in enumerate(rows):
            r = HEADER_ROW + 1 + i
            for j, value in enumerate(values):
                kind = kinds[i][j] if kinds is not None else columns[j].kind
                value = _cell(value)
                if value is None:
                    ws.write_blank(r, j, None, self.fmt(kind))
                elif isinstance(value, str):
                    ws.write_string(r, j, value, self.wrap if len(value) > 40 else None)
                elif isinstance(value, bool):
                    ws.write_boolean(r, j, value)
                else:
                    ws.write_number(
                        r, j, float(value), self.fmt(kind, bool(precise and precise[j]))
                    )
        ws.freeze_panes(HEADER_ROW + 1, freeze_columns)
        if rows:
            ws.autofilter(HEADER_ROW, 0, HEADER_ROW + len(rows), len(columns) - 1)


# ------------------------------------------------------------------ sheets
def _headline_sheet(bk: _Book, res: Results) -> None:
    sc = res.scenario
    ws = bk.sheet(
        "Headline",
        sc.name,
        f"{res.n_paths:,} simulated futures, seed {res.seed}, "
        f"{res.sampling.value} sampling; money in {sc.currency}. Generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC by pfs.",
    )
    table = headline_table(res)
    columns = [
        Column("Headline", "text", 46),
        Column("Value", "number", 16),
        Column("± std. error", "number", 14),
        Column("Key", "text", 30),
        Column("What it means", "text", 70),
    ]
    rows = [[r.label, r.value, r.std_error, str(key), r.explanation] for key, r in table.iterrows()]
    kinds: list[list[Kind]] = [
        ["text", r.kind, r.kind, "text", "text"] for _, r in table.iterrows()
    ]
    bk.table(ws, columns, rows, kinds, precise=[False, False, True, False, False])
    r = HEADER_ROW + len(rows) + 2
    ws.write_string(r, 0, "Reading", bk.bold)
    for i, paragraph in enumerate(reading(res)):
        ws.merge_range(r + 1 + i, 0, r + 1 + i, 4, paragraph, bk.wrap)
        ws.set_row(r + 1 + i, 32)


def _summary_sheet(bk: _Book, res: Results) -> None:
    ws = bk.sheet(
        "Summary",
        "Every metric: mean, Monte Carlo standard error and quantiles",
        "std_error is the Monte Carlo error of the mean; p_* rows are probabilities "
        "(their mean is the probability). IRR rows use paths where the IRR exists (n).",
    )
    frame = summary_table(res)
    columns = [
        Column("Metric", "text", 34),
        Column("Description", "text", 52),
        Column("Mean", "number", 15),
        Column("Std. error", "number", 13),
        Column("P5", "number", 15),
        Column("Median", "number", 15),
        Column("P95", "number", 15),
        Column("N", "count", 9),
    ]
    rows, kinds = [], []
    for metric, r in frame.iterrows():
        kind: Kind = r["kind"]
        rows.append(
            [
                str(metric),
                r["label"],
                r["mean"],
                r["std_error"],
                r["p05"],
                r["p50"],
                r["p95"],
                r["n"],
            ]
        )
        kinds.append(["text", "text", kind, kind, kind, kind, kind, "count"])
    bk.table(
        ws, columns, rows, kinds, precise=[False, False, False, True, False, False, False, False]
    )


def _inputs_sheet(bk: _Book, res: Results) -> None:
    ws = bk.sheet(
        "Inputs",
        "Every scenario value (defaults included)",
        "Field paths are those `pfs run --set` takes. For uncertain values, Value is "
        "the mean of the distribution; P5 and P95 show its spread.",
    )
    columns = [
        Column("Field", "text", 46),
        Column("Value", "number", 16),
        Column("Uncertain", "text", 10),
        Column("Distribution", "text", 44),
        Column("P5", "number", 14),
        Column("P95", "number", 14),
    ]
    rows, kinds = [], []
    for row in input_rows(res.scenario):
        rows.append(
            [
                row.field,
                row.value,
                "yes" if row.uncertain else "no",
                row.distribution,
                row.p05,
                row.p95,
            ]
        )
        kinds.append(["text", row.kind, "text", "text", row.kind, row.kind])
    bk.table(ws, columns, rows, kinds)


def _budget_sheet(bk: _Book, res: Results) -> None:
    ws = bk.sheet(
        "Budget years",
        "Outlays and savings by budget (fiscal) year",
        "Each column is a quantile of that year's amount across futures: the P5 "
        "of each year do not add up to the P5 of the total.",
    )
    wide = budget_table(res)
    columns = [Column("Year", "count", 7)]
    for series, stat in (tuple(c) for c in wide.columns):
        label = series_label(str(series), res.scenario)
        columns.append(Column(f"{label} — {_STAT_LABELS[str(stat)]}", "money", 17))
    rows = [[int(year), *values] for year, values in zip(wide.index, wide.to_numpy(), strict=True)]
    bk.table(ws, columns, rows)
    ws.set_row(HEADER_ROW, 48)


def _tranche_sheet(bk: _Book, res: Results) -> None:
    ws = bk.sheet(
        "Tranches",
        "Investor results per tranche of the capital stack",
        "IRR and multiple are per tranche; p_loss is the chance of losing principal; "
        "expected loss is the average principal lost.",
    )
    spec: list[tuple[str, str, Kind, float]] = [
        ("kind", "Kind", "text", 18),
        ("seniority", "Seniority", "count", 10),
        ("commitment", "Commitment", "money", 15),
        ("rate", "Coupon", "rate", 9),
        ("mean_drawn", "Mean drawn", "money", 15),
        ("mean_received", "Mean received", "money", 15),
        ("irr_mean", "IRR mean", "rate", 10),
        ("irr_p05", "IRR P5", "rate", 10),
        ("irr_p50", "IRR median", "rate", 10),
        ("irr_p95", "IRR P95", "rate", 10),
        ("moic_mean", "Multiple mean", "multiple", 11),
        ("p_loss", "P(loss)", "share", 10),
        ("expected_loss", "Expected loss", "money", 15),
        ("p_loss_over_half", "P(lose over half)", "share", 12),
    ]
    columns = [Column("Tranche", "text", 18)] + [Column(h, k, w) for _, h, k, w in spec]
    rows = [[str(tid), *[r[key] for key, _, _, _ in spec]] for tid, r in res.tranches.iterrows()]
    bk.table(ws, columns, rows)


def _frame_kind(series: pd.Series) -> Kind:
    if not pd.api.types.is_numeric_dtype(series):
        return "text"
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if finite.size and np.all(np.isclose(finite, np.round(finite))) and np.abs(finite).max() < 1e3:
        return "count"
    if finite.size and np.abs(finite).max() >= 1000:
        return "money"
    return "number"


def _frame_sheet(
    bk: _Book,
    name: str,
    title: str,
    note: str,
    frame: pd.DataFrame,
    kinds: dict[str, Kind] | None = None,
) -> None:
    ws = bk.sheet(name, title, note)
    flat = (
        frame.reset_index()
        if frame.index.name or not isinstance(frame.index, pd.RangeIndex)
        else frame
    )
    col_kinds = [(kinds or {}).get(str(c)) or _frame_kind(flat[c]) for c in flat.columns]
    columns = [
        Column(str(c), k, max(12.0, min(48.0, len(str(c)) + 4)))
        for c, k in zip(flat.columns, col_kinds, strict=True)
    ]
    rows = [[_cell(v) for v in values] for values in flat.itertuples(index=False)]
    bk.table(ws, columns, rows)


_METRIC_COLUMNS = ("base", "at_low", "at_high", "swing", "swing_se")
_INPUT_COLUMNS = ("low_value", "high_value")


def _sensitivity_sheet(bk: _Book, sensitivity: pd.DataFrame, res: Results) -> None:
    title = "Sensitivity of the result to each uncertain input"
    if not is_tornado(sensitivity):
        _frame_sheet(
            bk,
            "Sensitivity",
            title,
            "As computed by the sensitivity analysis; large "
            "amounts are in the scenario's currency.",
            sensitivity,
        )
        return
    ws = bk.sheet(
        "Sensitivity",
        title,
        "One row per (metric, input): the metric with the "
        "input at its low and its high value; swing = at_high − at_low.",
    )
    flat = sensitivity.reset_index(drop=True)
    columns = [Column(str(c), "text", max(12.0, min(40.0, len(str(c)) + 4))) for c in flat.columns]
    rows, kinds = [], []
    for record in flat.to_dict(orient="records"):
        result_kind = spec_kind(str(record["metric"]), res.scenario)
        value_kind = input_kind(str(record["input"]), res.scenario)
        row_kinds: list[Kind] = []
        for column, value in record.items():
            if column in _METRIC_COLUMNS:
                row_kinds.append(result_kind)
            elif column in _INPUT_COLUMNS:
                row_kinds.append(value_kind)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                row_kinds.append("count" if column == "rank" else "number")
            else:
                row_kinds.append("text")
        rows.append([_cell(v) for v in record.values()])
        kinds.append(row_kinds)
    precise = [str(c) == "swing_se" for c in flat.columns]
    bk.table(ws, columns, rows, kinds, precise=precise)


def _benchmark_sheet(bk: _Book, res: Results) -> None:
    from pfs.benchmarking import benchmark_scenario, benchmark_source

    frame = benchmark_scenario(res.scenario)
    ws = bk.sheet("Benchmarks", "Where this deal sits among real impact bonds", benchmark_source())
    columns = [
        Column("Ratio", "text", 40),
        Column("This scenario", "number", 15),
        Column("Deals: P25", "number", 13),
        Column("Deals: median", "number", 13),
        Column("Deals: P75", "number", 13),
        Column("Deals counted", "count", 10),
        Column("Share of deals below", "share", 12),
        Column("Reading", "text", 60),
    ]
    rows, kinds = [], []
    for _, r in frame.iterrows():
        kind: Kind = r["kind"]
        rows.append(
            [
                r["label"],
                r["scenario"],
                r["p25"],
                r["median"],
                r["p75"],
                r["n"],
                r["share_below"],
                r["reading"],
            ]
        )
        kinds.append(["text", kind, kind, kind, kind, "count", "share", "text"])
    bk.table(ws, columns, rows, kinds)


def _paths_sheet(bk: _Book, res: Results, sample_paths: int) -> None:
    n = min(sample_paths, res.n_paths)
    ws = bk.sheet(
        "Paths sample",
        f"The first {n:,} of {res.n_paths:,} simulated futures",
        "One row per simulated future (paths are independent draws, so the first "
        "ones are a random sample). Column names are the metric names of the CLI.",
        printable=False,
    )
    frame = pd.DataFrame({name: values[:n] for name, values in res.metrics.items()})
    columns = [Column("path", "count", 7)] + [
        Column(str(c), metric_kind(str(c), res.scenario), max(12.0, min(26.0, len(str(c)) + 2)))
        for c in frame.columns
    ]
    rows = [[i, *values] for i, values in enumerate(frame.to_numpy())]
    bk.table(ws, columns, rows)
    ws.set_row(HEADER_ROW, 30)


def _notes_sheet(bk: _Book, res: Results) -> None:
    sc = res.scenario
    ws = bk.sheet(
        "Notes and sources", "Assumptions, notes and sources of the scenario", sc.description or ""
    )
    columns = [Column("Type", "text", 10), Column("Text", "text", 120)]
    rows = [["note", n] for n in sc.notes] + [["source", s] for s in sc.sources]
    if not rows:
        rows = [["note", "The scenario lists no notes or sources."]]
    bk.table(ws, columns, rows)


def workbook_bytes(
    results: Results,
    sensitivity: pd.DataFrame | None = None,
    sample_paths: int = DEFAULT_SAMPLE_PATHS,
    benchmarks: bool = True,
) -> bytes:
    """The Excel workbook of a simulation.

    Args:
        results: what :func:`pfs.simulate` returned.
        sensitivity: an optional sensitivity (tornado) table, written as its own sheet
            as given (index and columns kept; numbers stay numbers).
        sample_paths: how many per-path rows the ``Paths sample`` sheet holds.
        benchmarks: add the ``Benchmarks`` sheet (the deal among real impact bonds).

    Returns:
        The ``.xlsx`` file's bytes.

    Raises:
        PfsError: when xlsxwriter is not installed or ``sample_paths`` is negative.
    """
    if sample_paths < 0:
        raise PfsError(f"sample_paths must be zero or more, got {sample_paths}")
    buffer = io.BytesIO()
    bk = _Book(buffer, results.scenario.currency)
    _headline_sheet(bk, results)
    _summary_sheet(bk, results)
    _inputs_sheet(bk, results)
    _budget_sheet(bk, results)
    _tranche_sheet(bk, results)
    if sensitivity is not None:
        _sensitivity_sheet(bk, sensitivity, results)
    if benchmarks:
        _benchmark_sheet(bk, results)
    if sample_paths:
        _paths_sheet(bk, results, sample_paths)
    _notes_sheet(bk, results)
    bk.book.set_properties(
        {
            "title": results.scenario.name,
            "subject": "Pay for Success simulation",
            "comments": "Generated by pfs",
        }
    )
    bk.book.close()
    return buffer.getvalue()


def write_workbook(results: Results, path: str | Path, **options: Any) -> Path:
    """Write :func:`workbook_bytes` to ``path`` (options as there).

    Raises:
        PfsError: when the file cannot be written.
    """
    path = Path(path)
    data = workbook_bytes(results, **options)
    try:
        path.write_bytes(data)
    except OSError as err:
        raise PfsError(f"{path}: cannot write workbook ({err.strerror or err})") from None
    return path
