"""The pfs command: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from pfs.cli import main
from tests.helpers import RIKERS, TEACHING, teaching_data, write_yaml


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_default_scenario_prints_tables(capsys):
    code, out, err = _run(capsys, "run", "--paths", "2000")
    assert code == 0, err
    assert "Teaching example" in out
    for text in (
        "Government net savings (PV)",
        "Chance investors are repaid",
        "senior",
        "Budget years",
    ):
        assert text in out


def test_run_json_uses_metric_names(capsys):
    code, out, _ = _run(capsys, "run", str(RIKERS), "--paths", "1000", "--seed", "4", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["paths"] == 1000 and data["seed"] == 4
    names = {row["metric"] for row in data["summary"]}
    assert {"outcome_payments", "investor_irr", "p_investor_repaid", "irr.goldman"} <= names


def test_run_with_overrides_and_csv(capsys, tmp_path):
    csv = tmp_path / "paths.csv"
    code, _, err = _run(
        capsys,
        "run",
        str(RIKERS),
        "--paths",
        "300",
        "--csv",
        str(csv),
        "--set",
        "outcomes.bed_days.effect=0.10",
        "--set",
        "outcomes.bed_days.evaluation.standard_error=0",
        "--set",
        "outcomes.bed_days.evaluation.bias=0",
    )
    assert code == 0, err
    frame = pd.read_csv(csv)
    assert len(frame) == 300
    assert (frame["outcome_payments"] == 9_600_000).all()


def test_validate(capsys, tmp_path):
    code, out, _ = _run(capsys, "validate", str(TEACHING), str(RIKERS))
    assert code == 0 and out.count("ok:") == 2
    bad = write_yaml(tmp_path, {"name": "x"})
    code, out, err = _run(capsys, "validate", str(TEACHING), str(bad))
    assert code == 2
    assert "ok:" in out
    assert str(bad) in err and "required field is missing" in err


def test_compare(capsys, tmp_path):
    data = teaching_data()
    data["outcomes"][0]["payment"]["price_per_unit"] = 120
    cheaper = write_yaml(tmp_path, data, "cheaper.yaml")
    code, out, err = _run(
        capsys, "compare", str(TEACHING), str(cheaper), "--paths", "2000", "--json"
    )
    assert code == 0, err
    table = {row["metric"]: row for row in json.loads(out)["table"]}
    assert table["outcome_payments"]["cheaper − teaching_reentry"] < 0


def _bad_files(tmp_path):
    data = teaching_data()
    unknown = teaching_data()
    unknown["program"]["colour"] = "blue"
    negative = teaching_data()
    negative["capital"]["tranches"][0]["amount"] = -1
    tiers = yaml.safe_load(RIKERS.read_text())
    tiers["outcomes"][0]["payment"]["tiers"].reverse()
    missing = teaching_data()
    del missing["horizon"]
    return {
        "malformed": (write_yaml(tmp_path, "name: [x\n", "malformed.yaml"), "malformed YAML"),
        "missing": (write_yaml(tmp_path, missing, "missing.yaml"), "horizon: required field"),
        "unknown": (write_yaml(tmp_path, unknown, "unknown.yaml"), "program.colour: unknown"),
        "negative": (
            write_yaml(tmp_path, negative, "negative.yaml"),
            "capital.tranches[0].amount: Input should be greater than or equal to 0",
        ),
        "tiers": (
            write_yaml(tmp_path, tiers, "tiers.yaml"),
            "outcomes[0].payment.tiers: tiers must be in increasing order",
        ),
        "ok": (write_yaml(tmp_path, data, "ok.yaml"), None),
    }


@pytest.mark.parametrize("case", ["malformed", "missing", "unknown", "negative", "tiers"])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, case):
    path, message = _bad_files(tmp_path)[case]
    code, _, err = _run(capsys, "run", str(path), "--paths", "100")
    assert code == 2
    assert err.count("\n") == 1, err
    assert str(path) in err and message in err
    assert "Traceback" not in err


def test_override_naming_no_field_exits_2(capsys):
    code, _, err = _run(capsys, "run", "--paths", "100", "--set", "outcomes.bed_day.effect=0.1")
    assert code == 2
    assert err.strip() == (
        "pfs: error: <override>: outcomes.bed_day.effect: no item 'bed_day' in outcomes "
        "(ids: bed_days, employment)"
    )


def test_bad_option_and_missing_file_exit_2(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--paths", "0")
    assert code == 2 and err.count("\n") == 1
    code, _, err = _run(capsys, "run", str(tmp_path / "none.yaml"))
    assert code == 2 and "file not found" in err


def test_console_script_exit_code_and_no_traceback(tmp_path):
    bad = write_yaml(tmp_path, "horizon: -1\n", "bad.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "pfs", "run", str(bad)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bare_command_prints_help(capsys):
    code, out, _ = _run(capsys)
    assert code == 0
    assert "run" in out and "validate" in out and "compare" in out
