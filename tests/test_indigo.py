"""INDIGO importer: fixture files in INDIGO's column format, and the real copy if present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import pfs
from pfs.cli import main
from pfs.indigo import (
    IndigoProject,
    import_indigo,
    month_index,
    normalise_currency,
    parse_amount,
    read_commitment_totals,
    read_projects,
)
from tests.helpers import indigo_fixture_dir

FIXTURES = indigo_fixture_dir()
PROJECTS = FIXTURES / "original_projects.csv"
SHARED = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "indigo"
    / "archive"
    / "imported-data"
    / "impact-bonds"
)
NOTE_KINDS = ("from INDIGO: ", "approximate: ", "assumed: ")


def _notes(sc: pfs.Scenario, kind: str) -> list[str]:
    return [n for n in sc.notes if n.startswith(kind)]


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("7200000", 7_200_000),
        ("8629679.5", 8_629_679.5),
        ("$1,350,000", 1_350_000),
        ("$11.712M", 11_712_000),
        ("C$1.3M", 1_300_000),
        ("¥9.76 million", 9_760_000),
        ("CHF 290.000", 290_000),
        ("68,000,000 rubles", 68_000_000),
        ("$5,290,000 (housing stability); $6,130,000 (jail day reduction)", 11_420_000),
        ("", None),
        ("$", None),
        ("=D41-D36", None),
    ],
)
def test_parse_amount(text, amount):
    value, note = parse_amount(text)
    assert value == (pytest.approx(amount) if amount is not None else None)
    if text and not text.replace(".", "").isdigit():
        assert note  # anything but a plain number is explained


def test_month_index_and_currency_names():
    assert month_index("2017-06") == (2017 * 12 + 5, False)
    assert month_index("2021") == (2021 * 12, True)
    assert month_index("soon") == (None, False)
    assert normalise_currency(" NZ dollar ") == "NZD"
    assert normalise_currency("gbp") == "GBP"


def test_read_projects_of_fixture():
    projects = read_projects(PROJECTS)
    assert [p.id for p in projects] == [f"INDIGO-POJ-900{i}" for i in range(1, 6)]
    first = projects[0]
    assert (first.capital, first.max_payment, first.users_target) == (4e6, 6e6, 800)
    assert "\n" in first.intervention  # a quoted multi-line cell
    assert first.service_months() == (47.0, "start to anticipated end of service")
    assert projects[1].service_months() == (36.0, "anticipated duration")
    assert projects[2].service_months() == (None, "")
    assert projects[4].max_payment_currency == "NZD"


# --------------------------------------------------------------- importing
def test_import_full_project_reproduces_capital_and_max_payment():
    imported = import_indigo(PROJECTS, "INDIGO-POJ-9001")
    sc = imported.scenario
    assert sc.currency == "USD"
    assert sum(t.amount for t in sc.capital.tranches) == pytest.approx(4_000_000)
    assert sc.payers[0].total_cap == pytest.approx(6_000_000)
    assert sc.outcomes[0].payment.cap == pytest.approx(6_000_000)
    assert (imported.capital, imported.max_payment) == (4_000_000, 6_000_000)
    assert sum(c.size for c in sc.program.cohorts) == 800
    assert [c.period for c in sc.program.cohorts] == [0, 1, 2, 3]  # 47 months -> 4 years
    tranches = {t.id: t for t in sc.capital.tranches}
    assert tranches["senior"].amount == 2_500_000 and tranches["senior"].seniority == 1
    assert tranches["subordinate"].amount == 750_000 and tranches["subordinate"].seniority == 2
    assert tranches["recoverable_grant"].kind.value == "recoverable_grant"
    assert tranches["senior"].rate == pytest.approx(0.08)  # INDIGO's maximum return (IRR)
    assert "Example Bank" in tranches["senior"].label
    assert sc.payers[0].label == "Riverside County"
    assert sc.outcomes[0].evaluation.design.value == "rct"
    assert sc.outcomes[0].label.startswith("Sustained employment")
    assert sc.sources[0].startswith("INDIGO project INDIGO-POJ-9001")
    assert "https://example.org/riverside/evaluation" in sc.sources
    assert "https://example.org/riverside/annual-report.pdf" in sc.sources
    assert not any(s.startswith("file:") for s in sc.sources)


def test_every_note_says_where_the_value_comes_from():
    for pid in ("INDIGO-POJ-9001", "INDIGO-POJ-9002", "INDIGO-POJ-9003", "INDIGO-POJ-9004"):
        sc = import_indigo(PROJECTS, pid).scenario
        assert all(n.startswith(NOTE_KINDS) for n in sc.notes), pid
        assumed = " ".join(_notes(sc, "assumed: "))
        for what in (
            "prior normal(0.1, 0.08)",
            "rate card",
            "standard error",
            "cost per participant",
            "discount rate",
        ):
            assert what in assumed, (pid, what)
        assert all(n.endswith("— not in INDIGO") for n in _notes(sc, "assumed: "))


def test_import_round_trips_and_simulates():
    imported = import_indigo(PROJECTS, "indigo-poj-9001")  # ids are case-insensitive
    again = pfs.parse_scenario_text(imported.to_yaml(), "imported.yaml")
    assert again == imported.scenario
    res = pfs.simulate(again, paths=400, seed=2)
    assert res.metrics["outcome_payments"].max() <= 6_000_000 + 1e-6


def test_import_max_payment_from_commitments():
    imported = import_indigo(PROJECTS, "INDIGO-POJ-9002")
    sc = imported.scenario
    assert sc.currency == "GBP"
    assert imported.max_payment == pytest.approx(900_000 + 1_100_000)
    assert sum(t.amount for t in sc.capital.tranches) == pytest.approx(1_200_000)
    approximate = " ".join(_notes(sc, "approximate: "))
    assert "payment-commitments table" in approximate and "1 of 3 payer rows" in approximate
    assert "actual number engaged (150)" in approximate
    assert "equity" in approximate
    assert sum(c.size for c in sc.program.cohorts) == 150
    assert sc.outcomes[0].evaluation.design.value == "validated_administrative"


def test_import_sparse_project_assumes_everything():
    sc = import_indigo(PROJECTS, "INDIGO-POJ-9003").scenario
    assumed = " ".join(_notes(sc, "assumed: "))
    for what in (
        "currency USD",
        "500 participants",
        "capital USD 2,500,000",
        "maximum outcome payment",
        "4 years of service",
        "one senior loan",
    ):
        assert what in assumed
    assert [t.id for t in sc.capital.tranches] == ["investors"]


def test_import_capital_range_and_other_units():
    imported = import_indigo(PROJECTS, "INDIGO-POJ-9004")
    assert imported.capital == pytest.approx(1_500_000)
    assert imported.max_payment == pytest.approx(3_000_000)
    assert imported.scenario.currency == "EUR"
    approximate = " ".join(_notes(imported.scenario, "approximate: "))
    assert "midpoint" in approximate and "other than individuals" in approximate


def test_import_without_related_tables(tmp_path):
    alone = tmp_path / "export" / "original_projects.csv"
    alone.parent.mkdir()
    shutil.copy(PROJECTS, alone)
    imported = import_indigo(alone, "INDIGO-POJ-9001")
    assert imported.related_folder is None
    assert [t.id for t in imported.scenario.capital.tranches] == ["investors"]
    assert imported.scenario.outcomes[0].evaluation.design.value == "validated_administrative"
    assert imported.capital == 4_000_000 and imported.max_payment == 6_000_000


def test_commitment_totals():
    totals = read_commitment_totals(FIXTURES / "original_projects_outcome_payment_commitments.csv")
    assert totals["INDIGO-POJ-9001"] == {"USD": 6_000_000}
    assert totals["INDIGO-POJ-9002"] == {"GBP": 900_000, "": 1_100_000}


# ------------------------------------------------------------------ errors
def test_several_projects_need_an_id():
    with pytest.raises(pfs.PfsError, match=r"holds 5 projects; choose one with --id"):
        import_indigo(PROJECTS)


def test_unknown_id():
    with pytest.raises(pfs.PfsError, match=r"no project with id 'INDIGO-POJ-0000'"):
        import_indigo(PROJECTS, "INDIGO-POJ-0000")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,amount\nx,1\n", r"not an INDIGO export \(no 'ID' column\)"),
        ("ID,Impact Bond Name - (Value)\n", "holds no projects"),
        (b"\xff\xfe\x00bad", "cannot read file"),
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "projects.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(pfs.PfsError, match=message):
        import_indigo(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(pfs.PfsError, match="file not found"):
        import_indigo(tmp_path / "nope.csv")
    with pytest.raises(pfs.PfsError, match="is a folder"):
        import_indigo(tmp_path)
    with pytest.raises(pfs.PfsError, match="not a folder of INDIGO tables"):
        import_indigo(PROJECTS, "INDIGO-POJ-9001", related_dir=tmp_path / "nope")


# --------------------------------------------------------------------- CLI
def test_cli_import_writes_a_valid_scenario(tmp_path, capsys):
    out = tmp_path / "riverside.yaml"
    code = main(["import-indigo", str(PROJECTS), "--id", "INDIGO-POJ-9001", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "capital $4.00M, maximum outcome payment $6.00M" in captured.out
    assert out.read_text().startswith("# Scenario skeleton imported from INDIGO")
    assert main(["validate", str(out)]) == 0


def test_cli_import_prints_yaml_and_lists(capsys):
    assert main(["import-indigo", str(PROJECTS), "--id", "INDIGO-POJ-9005"]) == 0
    captured = capsys.readouterr()
    assert "currency: NZD" in captured.out and "Imported INDIGO-POJ-9005" in captured.err
    assert main(["import-indigo", str(PROJECTS), "--list"]) == 0
    listed = capsys.readouterr().out
    assert "INDIGO-POJ-9004" in listed and "EUR 3,000,000" in listed


def test_cli_import_errors_exit_2(tmp_path, capsys):
    code = main(["import-indigo", str(PROJECTS), "--id", "INDIGO-POJ-0000"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("pfs: error: ") and err.count("\n") == 1
    assert main(["import-indigo", str(tmp_path / "missing.csv")]) == 2
    assert "file not found" in capsys.readouterr().err


# ---------------------------------------------------------- the real copy
REAL = {
    # id: (currency, INDIGO capital, INDIGO maximum outcome payment)
    "INDIGO-POJ-0002": ("AUD", 9_000_000, 11_000_000),  # Aspire, Adelaide
    "INDIGO-POJ-0287": ("NZD", 6_000_000, 24_000_000),  # Reoffending, South Auckland
    "INDIGO-POJ-0178": ("GBP", 2_100_000, 8_629_679.5),  # Stronger Families Norfolk
    "INDIGO-POJ-0085": ("USD", 18_000_000, 27_000_000),  # Massachusetts (commitments)
    "INDIGO-POJ-0091": ("USD", 8_650_000, 11_420_000),  # Denver (commitments, one cell)
}


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared INDIGO copy is not beside the repo")
@pytest.mark.parametrize("project_id", list(REAL))
def test_real_copy_reproduces_capital_and_max_payment(project_id):
    currency, capital, max_payment = REAL[project_id]
    imported = import_indigo(SHARED / "key-datasets" / "original_projects.csv", project_id)
    sc = imported.scenario
    assert sc.currency == currency
    assert sum(t.amount for t in sc.capital.tranches) == pytest.approx(capital)
    assert sc.payers[0].total_cap == pytest.approx(max_payment)


def test_project_defaults_are_blank():
    p = IndigoProject(id="X", name="X")
    assert p.capital_in("USD") is None and p.max_payment_in("USD") is None
