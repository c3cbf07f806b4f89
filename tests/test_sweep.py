"""Sweeps: grid and Latin hypercube designs, common random numbers, backends, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import pfs
import pfs.sweep
from pfs.cli import main
from pfs.scenario import PfsError
from pfs.sweep import (
    collect_items,
    grid_points,
    lhs_points,
    parse_grid_item,
    parse_lhs_item,
    sweep,
)
from tests.helpers import teaching

PRICE = "outcomes.bed_days.payment.price_per_unit"
SENIOR = "capital.tranches.senior.amount"
HEADLINE_KEYS = list(pfs.simulate(teaching(), paths=10, seed=1).headline())


@pytest.fixture(scope="module")
def base() -> pfs.Scenario:
    return teaching()


def test_grid_table_shape_and_columns(base):
    table = sweep(base, {PRICE: [150, 180, 210], SENIOR: [3e6, 3.5e6]}, paths=1000, seed=3)
    assert table.shape[0] == 6
    assert table.index.name == "point"
    assert list(table.columns[:2]) == [PRICE, SENIOR]
    assert list(table.columns[2 : 2 + len(HEADLINE_KEYS)]) == HEADLINE_KEYS
    assert {"investor_irr_mean", "investor_irr_se", "guarantee_paid_se"} <= set(table.columns)
    # first path varies slowest, as in itertools.product
    assert table[PRICE].tolist() == [150, 150, 180, 180, 210, 210]
    assert table[SENIOR].tolist() == [3e6, 3.5e6] * 3
    assert table.attrs["paths"] == 1000 and table.attrs["seed"] == 3
    assert table.attrs["backend"] == "serial" and table.attrs["overrides"] == [PRICE, SENIOR]
    assert np.isfinite(table.drop(columns=[PRICE, SENIOR]).to_numpy(dtype=float)).all()


def test_points_match_direct_simulation(base):
    table = sweep(base, {PRICE: [150, 210]}, paths=800, seed=9, metrics=["investor_moic"])
    for i, price in enumerate([150, 210]):
        res = pfs.simulate(base.with_overrides({PRICE: price}), paths=800, seed=9)
        for key, value in res.headline().items():
            assert table.at[i, key] == value, key
        se = res.summary(["investor_moic"]).at["investor_moic", "std_error"]
        assert table.at[i, "investor_moic_se"] == se


def test_higher_price_pays_more_at_common_random_numbers(base):
    table = sweep(base, {PRICE: [150, 180, 210]}, paths=3000, seed=11)
    payments = table["outcome_payments_mean"].to_numpy()
    assert (np.diff(payments) > 0).all()
    assert (np.diff(table["gov_net_savings_pv_mean"].to_numpy()) < 0).all()
    # savings follow the true effect, which the price does not touch: identical draws
    assert table["gross_savings_pv_mean"].nunique() == 1


def test_lhs_design_is_stratified_seeded_and_in_range(base):
    ranges = {PRICE: (100.0, 250.0), "horizon": (7, 10)}
    points = lhs_points(ranges, 8, seed=4, integer_paths={"horizon"})
    prices = np.array([p[PRICE] for p in points])
    assert ((prices >= 100) & (prices <= 250)).all()
    # one point in each of the 8 equal strata
    assert sorted(np.floor((prices - 100) / 150 * 8).astype(int)) == list(range(8))
    assert all(isinstance(p["horizon"], int) and 7 <= p["horizon"] <= 10 for p in points)
    assert lhs_points(ranges, 8, seed=4, integer_paths={"horizon"}) == points
    assert lhs_points(ranges, 8, seed=5, integer_paths={"horizon"}) != points

    table = sweep(base, lhs=ranges, points=4, paths=500, seed=2)
    assert len(table) == 4 and list(table.columns[:2]) == [PRICE, "horizon"]
    assert table["horizon"].map(type).eq(int).all()  # integer field detected and rounded


def test_serial_and_processes_are_bit_identical(base):
    grid = {PRICE: [150, 210], SENIOR: [3e6, 3.5e6]}
    serial = sweep(base, grid, paths=2000, seed=5)
    procs = sweep(base, grid, paths=2000, seed=5, backend="processes", workers=2)
    assert procs.attrs["backend"] == "processes"
    pd.testing.assert_frame_equal(serial, procs, check_exact=True)


def test_dask_local_cluster_is_bit_identical_to_serial(base):
    pytest.importorskip("distributed")
    grid = {PRICE: [150, 210], SENIOR: [3e6, 3.5e6]}
    serial = sweep(base, grid, paths=2000, seed=5, metrics=["investor_irr", "p_investor_loss"])
    dask = sweep(
        base, grid, paths=2000, seed=5, metrics=["investor_irr", "p_investor_loss"], workers=2
    )  # starts a LocalCluster with 2 worker processes
    assert dask.attrs["backend"] == "dask"
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)


# ------------------------------------------------------------------ bad input
@pytest.fixture
def no_work(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("work was sent for an invalid sweep")

    monkeypatch.setattr(pfs.sweep, "run_point", fail)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": {"outcomes.nope.effect": [0.1]}}, "no item 'nope'"),
        ({"grid": {PRICE: [150, -5]}}, "sweep point 1"),
        ({"grid": {PRICE: [150, "cheap"]}}, "price_per_unit"),
        ({"grid": {PRICE: []}}, "no values"),
        ({"grid": {PRICE: 150}}, "expected a list"),
        ({"grid": {}}, "empty"),
        ({"grid": {PRICE: [1]}, "lhs": {PRICE: (1, 2)}}, "not both"),
        ({"lhs": {PRICE: (1, 2)}}, "needs points"),
        ({"lhs": {PRICE: (3, 2)}, "points": 2}, "low must be below high"),
        ({"lhs": {PRICE: (1, 2)}, "points": 0}, "positive number of points"),
        ({"grid": {PRICE: [1]}, "metrics": ["nope"]}, "unknown metric 'nope'"),
        ({"grid": {PRICE: [1]}, "backend": "serial", "workers": 2}, "workers needs"),
        ({"grid": {PRICE: [1]}, "backend": "gpu"}, "unknown backend"),
        ({"grid": {PRICE: [1]}, "paths": 0}, "paths must be a positive number"),
    ],
)
def test_bad_input_fails_before_any_work(base, no_work, kwargs, message):
    with pytest.raises(PfsError, match=message):
        sweep(base, **kwargs)


def test_grid_points_guard_against_huge_grids():
    with pytest.raises(PfsError, match="limit"):
        grid_points({"a": list(range(1000)), "b": list(range(1000))})


def test_parse_grid_and_lhs_items():
    assert parse_grid_item(f"{PRICE}=150, 180,210") == (PRICE, [150, 180, 210])
    assert parse_grid_item(f"{SENIOR}=3e6,3.5e6") == (SENIOR, [3e6, 3.5e6])  # 3e6 is a float
    _, values = parse_grid_item(
        "outcomes.bed_days.effect=[0.1, {dist: normal, mean: 0.2, sd: 0.1}]"
    )
    assert values == [0.1, {"dist": "normal", "mean": 0.2, "sd": 0.1}]
    assert parse_grid_item("capital.residual=provider,retained_by_payer")[1] == [
        "provider",
        "retained_by_payer",
    ]
    assert parse_lhs_item(f"{PRICE}=100:250") == (PRICE, (100, 250))
    assert parse_lhs_item("outcomes.bed_days.effect=-0.1:0.2") == (
        "outcomes.bed_days.effect",
        (-0.1, 0.2),
    )
    for bad in ("novalue", f"{PRICE}=", f"{PRICE}=1,,2", f"{PRICE}=[1, 2"):
        with pytest.raises(PfsError):
            parse_grid_item(bad)
    for bad in (f"{PRICE}=1", f"{PRICE}=a:b", f"{PRICE}=2:1", f"{PRICE}=1:2:3"):
        with pytest.raises(PfsError):
            parse_lhs_item(bad)
    with pytest.raises(PfsError, match="twice"):
        collect_items([f"{PRICE}=1", f"{PRICE}=2"], parse_grid_item, "grid")


# ------------------------------------------------------------------------ CLI
def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_sweep_table_csv_and_json(capsys, tmp_path):
    csv = tmp_path / "sweep.csv"
    code, out, err = _run(
        capsys,
        "sweep",
        "--grid",
        f"{PRICE}=150,210",
        "--grid",
        f"{SENIOR}=3e6,3.5e6",
        "--paths",
        "500",
        "--csv",
        str(csv),
    )
    assert code == 0, err
    assert "Sweep: 4 points" in out and "P(repaid)" in out
    frame = pd.read_csv(csv, index_col="point")
    assert len(frame) == 4 and frame.columns[0] == PRICE

    code, out, err = _run(
        capsys,
        "sweep",
        "--lhs",
        f"{PRICE}=100:250",
        "--points",
        "3",
        "--paths",
        "300",
        "--seed",
        "4",
        "--metric",
        "irr.senior",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["paths"] == 300 and data["seed"] == 4 and len(data["points"]) == 3
    assert {"point", PRICE, "irr.senior_mean", "irr.senior_se"} <= set(data["points"][0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs --grid"),
        (["--grid", f"{PRICE}=1", "--lhs", f"{PRICE}=1:2"], "not both"),
        (["--lhs", f"{PRICE}=1:2"], "--points"),
        (["--grid", f"{PRICE}=1", "--points", "3"], "--points is for --lhs"),
        (["--grid", "outcomes.bed_days.payment.nope=1,2"], "has no field 'nope'"),
        (["--grid", f"{PRICE}=1", "--backend", "serial", "--workers", "2"], "workers"),
    ],
)
def test_cli_sweep_errors_are_one_line_exit_2(capsys, args, message):
    code, _, err = _run(capsys, "sweep", "--paths", "100", *args)
    assert code == 2
    assert err.startswith("pfs: error:") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_stream(capsys):
    code, out, err = _run(capsys, "stream", "--paths", "3000", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["paths"] == 3000
    assert {row["metric"] for row in data["summary"]} >= {"outcome_payments", "p_investor_loss"}
    code, out, _ = _run(capsys, "stream", "--paths", "1000")
    assert code == 0 and "streamed" in out and "Chances" in out
