"""Reports: the Excel workbook, the HTML page, chart images and `pfs report`."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pfs
from pfs.cli import main
from pfs.formatting import format_value
from pfs.reports import (
    chart_images,
    charts_zip,
    html_report,
    workbook_bytes,
    write_chart_images,
)
from pfs.reports.charts import chart_spec, investor_chart, render
from pfs.reports.content import (
    HEADLINE_ROWS,
    budget_table,
    headline_table,
    input_rows,
    quantile_standard_error,
    reading,
    uncertain_rows,
)
from pfs.reports.excel import HEADER_ROW, SHEETS, number_format
from tests.helpers import RIKERS, TEACHING

openpyxl = pytest.importorskip("openpyxl")

PATHS = 2000
SAMPLE = 150
HEADER = HEADER_ROW + 1  # openpyxl rows are 1-based


@pytest.fixture(scope="module")
def res() -> pfs.Results:
    return pfs.simulate(pfs.load_scenario(TEACHING), paths=PATHS, seed=5)


@pytest.fixture(scope="module")
def sensitivity() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input": ["outcomes.bed_days.effect", "program.cost_per_participant"],
            "low": [1.2e6, 2.1e6],
            "high": [3.9e6, 2.6e6],
            "base": [2.4e6, 2.4e6],
        }
    )


@pytest.fixture(scope="module")
def tornado_table() -> pd.DataFrame:
    """A table in the shape of pfs.analysis tornado tables (made-up numbers)."""
    rows = []
    for metric, label, base, swings in (
        ("gov_net_savings_pv", "Government net savings (PV)", 2.4e6, (4.0e6, -0.4e6)),
        ("investor_irr", "Investor IRR (annual)", 0.01, (0.11, -0.01)),
    ):
        for rank, (name, text, lo, hi) in enumerate(
            (
                ("outcomes.bed_days.effect", "Jail bed-days: true effect", 0.1, 0.4),
                ("program.cost_per_participant", "Cost per participant", 3800.0, 4600.0),
            ),
            start=1,
        ):
            swing = swings[rank - 1]
            rows.append(
                {
                    "metric": metric,
                    "metric_label": label,
                    "input": name,
                    "label": text,
                    "kind": "input",
                    "low_value": lo,
                    "high_value": hi,
                    "base": base,
                    "at_low": base - swing / 2,
                    "at_high": base + swing / 2,
                    "swing": swing,
                    "swing_se": abs(swing) / 100,
                    "rank": rank,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def page(res) -> str:
    return html_report(res)


@pytest.fixture(scope="module")
def book(res, sensitivity):
    data = workbook_bytes(res, sensitivity=sensitivity, sample_paths=SAMPLE)
    return openpyxl.load_workbook(io.BytesIO(data))


def _table(ws) -> tuple[list[str], list[list[object]]]:
    """Header and data rows of a report sheet."""
    rows = list(ws.iter_rows(min_row=HEADER, values_only=True))
    return [str(h) for h in rows[0]], [list(r) for r in rows[1:]]


def _same(cell: object, expected: float) -> bool:
    if expected is None or (isinstance(expected, float) and not math.isfinite(expected)):
        return cell is None
    return cell == pytest.approx(expected, rel=1e-12, abs=1e-9)


# ----------------------------------------------------------------- workbook
def test_workbook_sheets_in_order(book):
    assert book.sheetnames == list(SHEETS)


def test_workbook_without_optional_sheets(res):
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(res, sample_paths=0, benchmarks=False)))
    assert book.sheetnames == [
        "Headline",
        "Summary",
        "Inputs",
        "Budget years",
        "Tranches",
        "Notes and sources",
    ]


def test_headline_sheet_equals_results(book, res):
    ws = book["Headline"]
    assert ws["A1"].value == res.scenario.name
    assert f"{PATHS:,} simulated futures" in ws["A2"].value
    header, rows = _table(ws)
    assert header == ["Headline", "Value", "± std. error", "Key", "What it means"]
    by_key = {r[3]: r for r in rows if r[3]}
    headline = res.headline()
    summary = res.summary()
    assert set(by_key) == {row.key for row in HEADLINE_ROWS}
    for key, row in by_key.items():
        assert _same(row[1], headline[key]), key
    for key in ("p_investor_repaid", "p_gov_net_negative", "p_paid_without_true_effect"):
        assert _same(by_key[key][2], summary.loc[key, "std_error"])
    assert _same(by_key["outcome_payments_mean"][2], summary.loc["outcome_payments", "std_error"])
    assert by_key["investor_irr_p50"][2] > 0
    # Formats: money with the dollar sign, shares as percentages.
    money_row = next(ws.iter_rows(min_row=HEADER + 1, max_row=HEADER + 1))
    assert "$" in money_row[1].number_format
    share_row = next(
        r for r in ws.iter_rows(min_row=HEADER + 1) if r[3].value == "p_investor_repaid"
    )
    assert "%" in share_row[1].number_format
    assert ws.freeze_panes == f"B{HEADER + 1}"
    assert any("pays" in str(c.value) for c in ws["A"] if c.value)  # the reading


def test_summary_sheet_equals_summary(book, res):
    header, rows = _table(book["Summary"])
    assert header == ["Metric", "Description", "Mean", "Std. error", "P5", "Median", "P95", "N"]
    summary = res.summary()
    assert [r[0] for r in rows] == list(summary.index)
    for row in rows:
        expected = summary.loc[row[0]]
        for cell, column in zip(row[2:7], ("mean", "std_error", "p05", "p50", "p95"), strict=True):
            assert _same(cell, float(expected[column])), (row[0], column)
        assert row[7] == expected["n"]


def test_summary_formats_follow_the_metric(book):
    ws = book["Summary"]
    formats = {r[0].value: r[2].number_format for r in ws.iter_rows(min_row=HEADER + 1)}
    assert "$" in formats["gov_net_savings_pv"]
    assert "%" in formats["investor_irr"] and "%" in formats["p_investor_loss"]
    assert "×" in formats["investor_moic"]


def test_inputs_sheet_lists_every_value(book, res):
    header, rows = _table(book["Inputs"])
    assert header[:4] == ["Field", "Value", "Uncertain", "Distribution"]
    by_field = {r[0]: r for r in rows}
    effect = by_field["outcomes.bed_days.effect"]
    assert effect[1] == pytest.approx(0.25) and effect[2] == "yes"
    assert effect[3] == "normal(mean=0.25, sd=0.12)"
    assert effect[4] == pytest.approx(0.25 - 1.6448536 * 0.12, rel=1e-6)
    assert by_field["capital.tranches.senior.amount"][1:3] == [3_200_000, "no"]
    assert by_field["program.cohorts.1.size"][1] == 300
    assert by_field["payers.county.total_cap"][1] == 7_000_000
    assert by_field["program.fixed_costs.intermediary.periods"][1] == "0, 1, 2, 3, 4"
    uncertain = {r[0] for r in rows if r[2] == "yes"}
    assert uncertain == set(res.scenario.uncertain_inputs())


def test_budget_sheet_equals_by_year(book, res):
    header, rows = _table(book["Budget years"])
    years = res.by_year().set_index(["series", "year"])
    assert header[0] == "Year"
    assert header[1:5] == [f"Outcome payments — {s}" for s in ("P5", "Median", "P95", "Mean")]
    assert [r[0] for r in rows] == sorted(res.by_year()["year"].unique())
    wide = budget_table(res)
    for row in rows:
        for cell, (series, stat) in zip(row[1:], wide.columns, strict=True):
            assert _same(cell, float(years.loc[(series, row[0]), stat])), (series, stat)


def test_tranche_sheet_equals_tranches(book, res):
    header, rows = _table(book["Tranches"])
    assert header[:4] == ["Tranche", "Kind", "Seniority", "Commitment"]
    assert [r[0] for r in rows] == list(res.tranches.index)
    for row in rows:
        expected = res.tranches.loc[row[0]]
        assert _same(row[header.index("Commitment")], float(expected["commitment"]))
        assert _same(row[header.index("IRR median")], float(expected["irr_p50"]))
        assert _same(row[header.index("P(loss)")], float(expected["p_loss"]))
        assert _same(row[header.index("Expected loss")], float(expected["expected_loss"]))


def test_sensitivity_sheet_as_given(book, sensitivity):
    header, rows = _table(book["Sensitivity"])
    assert header == list(sensitivity.columns)
    assert rows == sensitivity.to_numpy().tolist()


def test_tornado_sheet_formats_each_row(res, tornado_table):
    book = openpyxl.load_workbook(
        io.BytesIO(workbook_bytes(res, sensitivity=tornado_table, sample_paths=0))
    )
    ws = book["Sensitivity"]
    header, rows = _table(ws)
    assert header == list(tornado_table.columns)
    assert rows == tornado_table.to_numpy().tolist()
    cells = list(ws.iter_rows(min_row=HEADER + 1))
    at_low = header.index("at_low")
    assert "$" in cells[0][at_low].number_format  # net savings in dollars
    assert "%" in cells[2][at_low].number_format  # IRR as a percentage
    assert "%" in cells[0][header.index("low_value")].number_format  # an effect
    assert "$" in cells[1][header.index("low_value")].number_format  # a cost


def test_paths_sample(book, res):
    ws = book["Paths sample"]
    header, rows = _table(ws)
    assert len(rows) == SAMPLE
    assert header[0] == "path" and header[1:] == list(res.paths.columns)
    for column in ("outcome_payments", "investor_irr", "true_effect.bed_days"):
        j = header.index(column)
        expected = res.paths[column].to_numpy()[:SAMPLE]
        assert all(_same(r[j], float(v)) for r, v in zip(rows, expected, strict=True))
    assert ws.freeze_panes == f"B{HEADER + 1}"


def test_benchmark_and_notes_sheets(book, res):
    _, rows = _table(book["Benchmarks"])
    assert [r[0] for r in rows] == [
        "Capital per participant (USD)",
        "Maximum outcome payment ÷ capital",
        "Service term (years)",
    ]
    assert rows[2][1] == 3  # three yearly cohorts of one-period service
    assert "INDIGO" in book["Benchmarks"]["A2"].value
    _, notes = _table(book["Notes and sources"])
    assert ["note", res.scenario.notes[0]] in notes


def test_column_widths_are_set(book):
    for name in ("Headline", "Summary", "Inputs", "Budget years"):
        ws = book[name]
        assert ws.column_dimensions["A"].width >= 7
        assert ws.column_dimensions["B"].width >= 10


def test_number_formats():
    assert number_format("money", "USD") == '"$"#,##0;-"$"#,##0'
    assert number_format("money", "GBP", precise=True).startswith('"£"#,##0.00')
    assert number_format("money", "NZD") == '"NZ$"#,##0;-"NZ$"#,##0'
    assert number_format("money", "CHF") == '#,##0 "CHF"'  # no symbol: the code
    assert number_format("share", "USD") == "0.0%"


def test_sample_paths_must_not_be_negative(res):
    with pytest.raises(pfs.PfsError, match="sample_paths"):
        workbook_bytes(res, sample_paths=-1)


def test_workbook_opens_in_libreoffice(res, tmp_path):
    """Convert the workbook headless with LibreOffice and read every sheet back."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        message = "LibreOffice (soffice) not installed: apt-get install libreoffice-calc-nogui"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    book = tmp_path / "report.xlsx"
    book.write_bytes(workbook_bytes(res, sample_paths=50))
    every_sheet = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    done = subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            every_sheet,
            "--outdir",
            str(tmp_path / "csv"),
            str(book),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = {p.name for p in (tmp_path / "csv").glob("*.csv")}
    assert written == {f"report-{name}.csv" for name in SHEETS if name != "Sensitivity"}
    with (tmp_path / "csv" / "report-Summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[HEADER:]
    summary = res.summary()
    checked = 0
    for row in rows:
        if row[2]:
            checked += 1
            assert _csv_number(row[2]) == pytest.approx(
                float(summary.loc[row[0], "mean"]), rel=1e-9
            ), row
    assert checked == int(summary["mean"].notna().sum())


def _csv_number(text: str) -> float:
    """A number as LibreOffice writes it to CSV (a percentage keeps its sign)."""
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text.replace("$", "").replace("×", ""))


# ---------------------------------------------------------------- content
def test_headline_table_matches_headline(res):
    table = headline_table(res)
    for key, value in res.headline().items():
        assert table.loc[key, "value"] == pytest.approx(value, nan_ok=True)
    assert (table["std_error"] >= 0).all()


def test_quantile_standard_error_matches_theory():
    rng = np.random.default_rng(0)
    values = rng.normal(0.0, 1.0, 40_000)
    # Median of a normal sample: se = sqrt(pi / 2) / sqrt(n).
    expected = math.sqrt(math.pi / 2) / math.sqrt(values.size)
    assert quantile_standard_error(values, 0.5) == pytest.approx(expected, rel=0.15)
    assert math.isnan(quantile_standard_error(np.array([np.nan, 1.0]), 0.5))


def test_cost_per_unit_error_is_ratio_error(res):
    table = headline_table(res)
    assert (
        0
        < table.loc["cost_per_outcome_unit", "std_error"]
        < table.loc["cost_per_outcome_unit", "value"] / 10
    )


def test_input_rows_cover_uncertain_inputs():
    sc = pfs.load_scenario(RIKERS)
    fields = {r.field for r in uncertain_rows(sc)}
    assert fields == set(sc.uncertain_inputs())
    assert all(r.field not in ("name", "sources", "notes") for r in input_rows(sc))


def test_reading_quotes_the_results(res):
    text = " ".join(reading(res))
    h = res.headline()
    cur = res.scenario.currency
    assert format_value(h["p_investor_repaid"], "share", cur) in text
    assert format_value(h["max_annual_outlay_p95"], "money", cur) in text
    assert "On average, the County pays" in text


# ------------------------------------------------------------------- HTML
def test_html_report_shows_headline_numbers(res, page):
    table = headline_table(res)
    for key, row in table.iterrows():
        shown = format_value(row["value"], row["kind"], res.scenario.currency)
        assert f'data-metric="{key}"' in page
        assert f'<div class="value">{shown}</div>' in page, key
    for paragraph in reading(res):
        assert paragraph.replace("'", "&#x27;") in page


def test_html_report_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'src="(?!data:)', page)
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/svg\+xml;base64,', page)) == 4
    for section in (
        "reading",
        "headline",
        "charts",
        "budget",
        "tranches",
        "benchmarks",
        "assumptions",
    ):
        assert f'<section id="{section}"' in page
    assert "normal(mean=0.25, sd=0.12)" in page  # an uncertain input and its distribution
    assert "Illustrative numbers, not a real deal." in page  # the scenario's notes


def test_html_report_lists_sources_and_escapes():
    sc = pfs.load_scenario(RIKERS)
    sc = sc.with_overrides({"name": "Rikers <test> & co"})
    page = html_report(pfs.simulate(sc, paths=500, seed=1), benchmarks=False)
    assert "<title>Rikers &lt;test&gt; &amp; co — pfs report</title>" in page
    assert f'<a href="{sc.sources[0]}">' in page
    assert '<section id="benchmarks"' not in page


def test_html_report_with_sensitivity(res, sensitivity):
    page = html_report(res, sensitivity=sensitivity)
    assert '<section id="sensitivity"' in page and 'id="chart-sensitivity"' in page
    assert "program.cost_per_participant" in page


def test_html_report_with_tornado_table(res, tornado_table):
    page = html_report(res, sensitivity=tornado_table, benchmarks=False)
    assert 'id="chart-sensitivity_gov_net_savings_pv"' in page
    assert 'id="chart-sensitivity_investor_irr"' in page
    # Swing of net savings in money, of the IRR in percentage points, with their errors.
    assert "$4.00M ± $40.00k" in page and "11.0% ± 0.11%" in page
    assert "Jail bed-days: true effect" in page


# ----------------------------------------------------------------- charts
def test_chart_images_for_slides(res):
    pngs = chart_images(res, "png", scale=1)
    assert list(pngs) == ["budget", "net_savings", "investors", "evaluation"]
    assert all(data.startswith(b"\x89PNG") for data in pngs.values())


def test_chart_render_formats(res):
    spec = chart_spec(investor_chart(res))
    assert spec["config"]["axis"]["labelFontSize"] >= 14
    svg = render(spec, "svg")
    assert svg.lstrip().startswith(b"<svg") and b"(money back)" in svg
    assert render(spec, "pdf").startswith(b"%PDF")


def test_chart_images_unknown_format(res):
    with pytest.raises(pfs.PfsError, match="unknown chart format"):
        chart_images(res, "gif")  # type: ignore[arg-type]


def test_charts_zip(res):
    with zipfile.ZipFile(io.BytesIO(charts_zip(res, "svg"))) as archive:
        assert sorted(archive.namelist()) == [
            "budget.svg",
            "evaluation.svg",
            "investors.svg",
            "net_savings.svg",
        ]
        assert archive.read("budget.svg").lstrip().startswith(b"<svg")


def test_write_chart_images(res, tmp_path):
    written = write_chart_images(res, tmp_path / "charts", "svg")
    assert sorted(p.name for p in written) == [
        "budget.svg",
        "evaluation.svg",
        "investors.svg",
        "net_savings.svg",
    ]


# -------------------------------------------------------------------- CLI
def test_cli_report_writes_every_output(tmp_path, capsys):
    xlsx, page, charts = tmp_path / "r.xlsx", tmp_path / "r.html", tmp_path / "charts"
    code = main(
        [
            "report",
            str(RIKERS),
            "--paths",
            "800",
            "--seed",
            "3",
            "--xlsx",
            str(xlsx),
            "--html",
            str(page),
            "--charts",
            str(charts),
            "--chart-format",
            "svg",
            "--sample-paths",
            "20",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Excel workbook written" in out and "HTML report written" in out
    book = openpyxl.load_workbook(xlsx)
    assert book["Headline"]["A1"].value == pfs.load_scenario(RIKERS).name
    assert book["Paths sample"].max_row == HEADER + 20
    assert "NYC ABLE project" in page.read_text(encoding="utf-8")
    assert len(list(charts.glob("*.svg"))) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "at least one of --xlsx"),
        (["--html", "x.html", "--chart-format", "gif"], "--chart-format must be"),
        (["--xlsx", "/no/such/folder/r.xlsx", "--paths", "200"], "cannot write workbook"),
    ],
)
def test_cli_report_errors_are_one_line(args, message, capsys):
    code = main(["report", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_report_bad_scenario(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    code = main(["report", str(bad), "--html", str(tmp_path / "r.html")])
    assert code == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_reports_package_does_not_import_ui():
    source = "\n".join(
        p.read_text() for p in Path(pfs.__file__).parent.joinpath("reports").glob("*.py")
    )
    assert "pfs.ui" not in source and "streamlit" not in source
