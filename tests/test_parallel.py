"""Backends, split single runs (bit-identical to simulate) and streaming summaries."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

import pfs
from pfs.parallel import (
    LOCAL_CLUSTER_CONFIG,
    BackendName,
    QuantileSketch,
    RunningStats,
    open_backend,
    resolve_backend,
    run_settings,
    scenario_from_payload,
    scenario_payload,
    simulate_split,
    simulate_summary,
)
from pfs.results import PeriodArrays
from pfs.scenario import PfsError
from tests.helpers import RIKERS, teaching, teaching_data

# small chunks so a few thousand paths make several chunks and blocks, one of them ragged
CHUNK = 1024
PATHS = 5000


@pytest.fixture(scope="module")
def base() -> pfs.Scenario:
    return teaching()


@pytest.fixture(scope="module")
def reference(base) -> pfs.Results:
    return pfs.simulate(base, paths=PATHS, seed=7, chunk_size=CHUNK)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import dask

    with (
        dask.config.set(LOCAL_CLUSTER_CONFIG),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def assert_same_results(expected: pfs.Results, actual: pfs.Results) -> None:
    assert list(expected.metrics) == list(actual.metrics)
    for name, values in expected.metrics.items():
        np.testing.assert_array_equal(values, actual.metrics[name], err_msg=name)
    for f in fields(PeriodArrays):
        np.testing.assert_array_equal(
            getattr(expected.periods, f.name), getattr(actual.periods, f.name), err_msg=f.name
        )
    assert (expected.seed, expected.sampling) == (actual.seed, actual.sampling)
    pd.testing.assert_frame_equal(expected.summary(), actual.summary(), check_exact=True)


# ------------------------------------------------------------------- backends
def test_resolve_backend_defaults_and_rules():
    assert resolve_backend(None, None, None) == BackendName.serial
    assert resolve_backend(None, 2, None) == BackendName.dask
    assert resolve_backend(None, None, "tcp://h:1") == BackendName.dask
    assert resolve_backend("processes", 2, None) == BackendName.processes
    for args, message in [
        (("serial", 2, None), "workers needs"),
        (("processes", None, "tcp://h:1"), "needs the dask backend"),
        (("dask", 2, "tcp://h:1"), "not both"),
        (("dask", 0, None), "at least 1"),
        (("threads", None, None), "unknown backend"),
    ]:
        with pytest.raises(PfsError, match=message):
            resolve_backend(*args)


def test_serial_backend_maps_in_order():
    with open_backend("serial") as pool:
        assert list(pool.map(pow, [2, 3, 4], [2, 2, 2])) == [4, 9, 16]


@pytest.mark.parametrize("path", sorted(pfs.scenarios_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_payload_is_plain_data_that_round_trips(path):
    sc = pfs.load_scenario(path)
    payload = scenario_payload(sc)
    assert json.loads(json.dumps(payload)) == payload
    assert scenario_from_payload(payload) == sc


def test_payload_round_trips_infinite_bounds():
    data = teaching_data()
    data["outcomes"][0]["effect"] = {
        "dist": "truncnormal",
        "mean": 0.25,
        "sd": 0.12,
        "low": 0.0,
    }  # high defaults to +inf
    sc = pfs.scenario_from_dict(data)
    assert scenario_from_payload(scenario_payload(sc)) == sc


def test_run_settings_checks():
    sc = teaching()
    settings = run_settings(sc, 2500, None, None, chunk_size=1000, block_size=2000)
    assert settings.seed == sc.simulation.seed
    assert settings.blocks() == [(0, 2000), (2000, 2500)]
    with pytest.raises(PfsError, match="multiple of chunk_size"):
        run_settings(sc, 100, 1, None, chunk_size=1000, block_size=1500)
    with pytest.raises(PfsError, match="paths"):
        run_settings(sc, 0, 1, None)
    with pytest.raises(PfsError, match="sampling"):
        run_settings(sc, 10, 1, "halton")


# ------------------------------------------------------------ split single run
@pytest.mark.parametrize("block_chunks", [1, 3])
def test_split_serial_is_bit_identical_to_simulate(base, reference, block_chunks):
    split = simulate_split(
        base, paths=PATHS, seed=7, chunk_size=CHUNK, block_size=block_chunks * CHUNK
    )
    assert_same_results(reference, split)


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_split_other_sampling_methods(sampling):
    sc = pfs.load_scenario(RIKERS)
    expected = pfs.simulate(sc, paths=3000, seed=2, sampling=sampling, chunk_size=CHUNK)
    split = simulate_split(
        sc, paths=3000, seed=2, sampling=sampling, chunk_size=CHUNK, block_size=2 * CHUNK
    )
    assert_same_results(expected, split)


def test_split_over_processes_is_bit_identical(base, reference):
    split = simulate_split(
        base,
        paths=PATHS,
        seed=7,
        chunk_size=CHUNK,
        block_size=2 * CHUNK,
        backend="processes",
        workers=2,
    )
    assert_same_results(reference, split)


def test_split_over_dask_is_bit_identical(base, reference, dask_client):
    split = simulate_split(base, paths=PATHS, seed=7, chunk_size=CHUNK, scheduler=dask_client)
    assert_same_results(reference, split)


# ---------------------------------------------------------------- streaming
def test_sketch_quantiles_within_relative_accuracy():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(0.03, 0.1, 40_000),
            np.zeros(5000),
            rng.lognormal(14, 1, 20_000),
            -rng.lognormal(12, 2, 5000),
        ]
    )
    rng.shuffle(values)
    sketch = QuantileSketch(1e-3)
    for part in np.array_split(values, 7):
        sketch.add(part)
    qs = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
    exact = np.quantile(values, qs, method="lower")
    got = sketch.quantiles(qs)
    np.testing.assert_allclose(got, exact, rtol=1e-3, atol=1e-9)
    assert got[0] == values.min() and got[-1] == values.max()
    # merging is exact and order-free: same answer from one big add
    whole = QuantileSketch(1e-3)
    whole.add(values[::-1])
    np.testing.assert_array_equal(whole.quantiles(qs), got)
    assert whole.count == values.size and sketch.nbytes() < 1_000_000


def test_sketch_ignores_non_finite_and_handles_empty():
    sketch = QuantileSketch()
    assert np.isnan(sketch.quantiles([0.5])).all()
    sketch.add(np.array([np.nan, np.inf, 2.0, -np.inf]))
    assert sketch.count == 1 and sketch.quantiles([0.05, 0.95]).tolist() == [2.0, 2.0]


def test_running_stats_match_numpy():
    rng = np.random.default_rng(1)
    values = rng.normal(5e6, 1e6, 50_000)
    values[::97] = np.nan
    stats = RunningStats()
    for part in np.array_split(values, 9):
        stats.add(part)
    finite = values[np.isfinite(values)]
    out = stats.stats()
    assert out["n"] == finite.size
    assert math.isclose(out["mean"], finite.mean(), rel_tol=1e-13)
    assert math.isclose(
        out["std_error"], finite.std(ddof=1) / math.sqrt(finite.size), rel_tol=1e-11
    )


def test_streamed_summary_agrees_with_simulate(base, reference):
    streamed = simulate_summary(
        base, paths=PATHS, seed=7, chunk_size=CHUNK, keep=["investor_irr", "outcome_payments"]
    )
    assert streamed.n_paths == PATHS
    exact, approx = reference.summary(), streamed.summary()
    assert set(exact.index) == set(approx.index)
    approx = approx.loc[exact.index]
    np.testing.assert_allclose(approx["mean"], exact["mean"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(approx["std_error"], exact["std_error"], rtol=1e-8, atol=1e-12)
    assert (approx["n"] == exact["n"]).all()
    probabilities = [k for k in exact.index if k.startswith("p_")]
    assert (approx.loc[probabilities, "mean"] == exact.loc[probabilities, "mean"]).all()
    for name, values in reference.metrics.items():
        if name.startswith("input."):
            continue
        finite = values[np.isfinite(values)]
        if finite.size:
            lower = np.quantile(finite, [0.05, 0.5, 0.95], method="lower")
            got = approx.loc[name, ["p05", "p50", "p95"]].to_numpy(dtype=float)
            np.testing.assert_allclose(got, lower, rtol=1.01e-3, atol=1e-9, err_msg=name)
    for name in ("investor_irr", "outcome_payments"):
        np.testing.assert_array_equal(
            streamed.kept[name], reference.metrics[name].astype(np.float32)
        )
    head_exact, head_stream = reference.headline(), streamed.headline()
    assert head_exact.keys() == head_stream.keys()
    for key, value in head_exact.items():
        assert math.isclose(head_stream[key], value, rel_tol=2e-3, abs_tol=1e-9), key
    for table in ("by_period", "by_year"):
        a, b = getattr(reference, table)(), getattr(streamed, table)()
        assert a.shape == b.shape and (a.iloc[:, :2] == b.iloc[:, :2]).all().all()
        np.testing.assert_allclose(b["mean"], a["mean"], rtol=1e-6, atol=1e-3)


def test_streamed_tranche_table_agrees_with_simulate(base, reference):
    streamed = simulate_summary(base, paths=PATHS, seed=7, chunk_size=CHUNK)
    exact, approx = reference.tranches, streamed.tranches
    assert list(approx.index) == list(exact.index) and list(approx.columns) == list(exact.columns)
    counts = ["p_loss", "p_loss_over_half"]  # exact: counts of paths
    assert (approx[counts] == exact[counts]).all().all()
    assert 0 < exact.loc["junior", "p_loss"] < 1  # the test sees both outcomes
    means = ["mean_drawn", "mean_received", "expected_loss", "irr_mean", "moic_mean"]
    np.testing.assert_allclose(approx[means], exact[means], rtol=1e-12, atol=1e-9)
    for tid in exact.index:  # quantiles within the sketch's relative accuracy
        irr = reference.metrics[f"irr.{tid}"]
        lower = np.quantile(irr[np.isfinite(irr)], [0.05, 0.5, 0.95], method="lower")
        got = approx.loc[tid, ["irr_p05", "irr_p50", "irr_p95"]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, lower, rtol=1.01e-3, atol=1e-9)


def test_streamed_investor_odds_are_undefined_without_investors(base):
    grants = base.with_overrides(
        {
            "capital.tranches": [{"id": "gift", "kind": "grant", "amount": 6e6}],
            "capital.guarantees": [],
        }
    )
    full = pfs.simulate(grants, paths=2000, seed=1)
    streamed = simulate_summary(grants, paths=2000, seed=1)
    for name in ("p_investor_repaid", "p_investor_loss"):
        assert math.isnan(full.probabilities()[name])
        assert math.isnan(streamed.probabilities()[name])
        assert streamed.summary().loc[name, ["mean", "std_error"]].isna().all()
    assert math.isnan(streamed.headline()["p_investor_repaid"])


def test_result_bytes_matches_what_simulate_keeps(base):
    res = pfs.simulate(base, paths=4096, seed=1)
    kept = sum(v.nbytes for v in res.metrics.values())
    kept += sum(a.nbytes for a in vars(res.periods).values())
    assert pfs.engine.result_bytes(base, 4096) == kept
    no_inputs = pfs.simulate(base, paths=4096, seed=1, keep_inputs=False)
    expected = sum(v.nbytes for v in no_inputs.metrics.values())
    expected += sum(a.nbytes for a in vars(no_inputs.periods).values())
    assert pfs.engine.result_bytes(base, 4096, keep_inputs=False) == expected


def test_cli_run_streams_when_results_would_not_fit(capsys, monkeypatch):
    from pfs import cli

    code = cli.main(["run", "--paths", "3000"])
    printed = capsys.readouterr().out
    assert code == 0 and "streamed" not in printed and "Capital stack" in printed
    monkeypatch.setattr(cli, "STREAM_ABOVE_BYTES", 1000)  # as if 3,000 paths were too many
    code = cli.main(["run", "--paths", "3000"])
    printed = capsys.readouterr().out
    assert code == 0 and "streamed: quantiles within 0.1%" in printed
    for table in ("Results", "Chances", "Capital stack", "Budget years"):
        assert table in printed
    code = cli.main(["run", "--paths", "3000", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["paths"] == 3000
    assert [row["tranche"] for row in data["tranches"]] == ["senior", "junior", "grant"]
    code = cli.main(["run", "--paths", "3000", "--no-stream", "--json"])
    assert code == 0 and "quantile_accuracy" not in json.loads(capsys.readouterr().out)
    code = cli.main(["run", "--paths", "100", "--stream", "--csv", "x.csv"])
    err = capsys.readouterr().err
    assert code == 2 and "--csv" in err and err.count("\n") == 1


def test_streamed_summary_is_the_same_on_every_backend(base, dask_client):
    kwargs = {"paths": PATHS, "seed": 3, "chunk_size": CHUNK, "keep": ["investor_irr"]}
    serial = simulate_summary(base, **kwargs)
    dask = simulate_summary(base, scheduler=dask_client, **kwargs)
    pd.testing.assert_frame_equal(serial.summary(), dask.summary(), check_exact=True)
    pd.testing.assert_frame_equal(serial.by_year(), dask.by_year(), check_exact=True)
    assert serial.headline() == dask.headline()
    np.testing.assert_array_equal(serial.kept["investor_irr"], dask.kept["investor_irr"])


def test_streamed_summary_errors(base):
    with pytest.raises(PfsError, match="unknown metric 'nope'"):
        simulate_summary(base, paths=100, keep=["nope"])
    with pytest.raises(PfsError, match="alpha"):
        simulate_summary(base, paths=100, alpha=1.5)


def test_simulate_backend_option_delegates_and_is_bit_identical(capsys):
    from pfs.cli import main

    sc = pfs.load_scenario(pfs.default_scenario_path())
    serial = pfs.simulate(sc, paths=3000, seed=4, chunk_size=1024)
    split = pfs.simulate(sc, paths=3000, seed=4, chunk_size=1024, backend="processes", workers=2)
    assert set(split.metrics) == set(serial.metrics)
    for name, values in serial.metrics.items():
        np.testing.assert_array_equal(split.metrics[name], values, err_msg=name)
    code = main(["run", "--paths", "2000", "--backend", "processes", "--workers", "2", "--json"])
    assert code == 0
    assert '"paths": 2000' in capsys.readouterr().out
