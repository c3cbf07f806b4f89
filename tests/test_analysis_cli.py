"""The analysis commands of the pfs CLI: output, JSON, exit codes."""

from __future__ import annotations

import json

import pytest

from pfs.cli import main
from tests.helpers import write_yaml

LINEAR = {
    "name": "linear",
    "horizon": 2,
    "program": {"cohorts": [{"period": 0, "size": 1000}], "cost_per_participant": 1000},
    "outcomes": [
        {
            "id": "outcome",
            "baseline": 40.0,
            "effect": {"dist": "normal", "mean": 0.6, "sd": 0.1},
            "measured_after": 1,
            "evaluation": {"standard_error": 0.05},
            "payment": {"payer": "payer", "rule": "rate_card", "price_per_unit": 50, "lag": 0},
        }
    ],
    "payers": [{"id": "payer", "discount_rate": 0.0}],
    "capital": {"tranches": [{"id": "investor", "amount": 1000000}], "residual": "investor"},
}


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sensitivity_prints_a_tornado(capsys):
    code, out, err = _run(
        capsys,
        "sensitivity",
        "-n",
        "1500",
        "-m",
        "investor_irr",
        "--swing",
        "outcomes.bed_days.payment.price_per_unit=150,210",
    )
    assert code == 0, err
    assert "Investor IRR (annual)" in out
    assert "Jail bed-days avoided: true effect" in out
    assert "price per unit" in out and "█" in out


def test_sensitivity_json_with_sobol(capsys):
    code, out, err = _run(
        capsys, "sensitivity", "-n", "256", "-m", "gov_net_savings_pv", "--sobol", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["settings"]["paths"] == 256
    assert {r["input"] for r in data["tornado"]} >= {"outcomes.bed_days.effect"}
    assert data["sobol"][0]["metric"] == "gov_net_savings_pv"
    assert data["sobol_settings"]["evaluations"] == 256 * 10


def test_breakeven_json_has_the_analytic_answer(capsys, tmp_path):
    path = write_yaml(tmp_path, LINEAR)
    code, out, err = _run(capsys, "breakeven", str(path), "--mode", "deterministic", "--json")
    assert code == 0, err
    rows = {r["question"]: r for r in json.loads(out)["breakeven"]}
    assert rows["Investors get their money back"]["effect"] == pytest.approx(0.5)


def test_breakeven_table(capsys):
    code, out, err = _run(capsys, "breakeven", "-n", "1000")
    assert code == 0, err
    assert "Investors get their money back" in out and "expected (mean effect)" in out
    assert "E[investor_irr]" in out or "not reached" in out


def test_price_with_frontier(capsys, tmp_path):
    path = write_yaml(tmp_path, LINEAR)
    code, out, err = _run(
        capsys,
        "price",
        str(path),
        "--target-repaid",
        "0.5",
        "-n",
        "2000",
        "--scales",
        "0.8,1,1.2",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["found"] and data["metric"] == "p_investor_repaid"
    # repaid when price * 1000 * 40 * measured >= 1e6; half the time at measured = 0.6
    assert data["prices"]["price_per_unit.outcome"] == pytest.approx(1e6 / 40_000 / 0.6, rel=0.03)
    assert [r["scale"] for r in data["frontier"]] == [0.8, 1.0, 1.2]
    code, out, err = _run(capsys, "price", "-n", "1000", "--target-irr", "0.01")
    assert code == 0, err
    assert "What the government keeps" in out


def test_evaluation_risk_command(capsys):
    code, out, err = _run(capsys, "evaluation-risk", "-n", "1000", "--se", "0.05,0.1")
    assert code == 0, err
    assert "Chance of the wrong decision" in out and "0.05" in out


def test_convergence_command(capsys):
    code, out, err = _run(
        capsys,
        "convergence",
        "--start-paths",
        "1000",
        "--max-paths",
        "4000",
        "-m",
        "gov_net_savings_pv",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["paths"] <= 4000 and data["table"][0]["metric"] == "gov_net_savings_pv"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["breakeven", "--outcome", "nope", "-n", "10"], "no outcome 'nope'"),
        (["sensitivity", "--swing", "price", "-n", "10"], "expected path=low,high"),
        (["price", "--target-irr", "0.1", "--target-repaid", "0.5"], "not both"),
        (["evaluation-risk", "--se", "a,b", "-n", "10"], "comma-separated"),
        (["breakeven", "--mode", "always"], "--mode"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, args, message):
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
