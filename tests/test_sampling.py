"""Random streams: reproducible, independent of chunking, common across scenarios."""

from __future__ import annotations

import numpy as np
import pytest

import pfs
from pfs.sampling import BLOCK, sample, stream_uniforms
from tests.helpers import teaching


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_stream_slices_do_not_depend_on_range(method):
    whole = stream_uniforms(7, "x", 0, 3 * BLOCK + 100, dim=2, method=method)
    part = stream_uniforms(7, "x", BLOCK - 5, 2 * BLOCK + 17, dim=2, method=method)
    np.testing.assert_array_equal(part, whole[BLOCK - 5 : 2 * BLOCK + 17])
    assert whole.shape == (3 * BLOCK + 100, 2)
    assert (whole > 0).all() and (whole < 1).all()


def test_streams_differ_by_name_and_seed():
    a = stream_uniforms(1, "a", 0, 1000)
    assert not np.array_equal(a, stream_uniforms(1, "b", 0, 1000))
    assert not np.array_equal(a, stream_uniforms(2, "a", 0, 1000))
    np.testing.assert_array_equal(a, stream_uniforms(1, "a", 0, 1000))


def test_lhs_is_stratified_within_each_block():
    u = stream_uniforms(3, "lhs", 0, BLOCK, method="lhs")[:, 0]
    counts = np.bincount((u * 256).astype(int), minlength=256)
    assert (counts == BLOCK // 256).all()


@pytest.mark.parametrize("method", ["random", "lhs", "sobol"])
def test_results_do_not_depend_on_chunk_size(method):
    sc = teaching()
    a = pfs.simulate(sc, paths=5000, seed=11, sampling=method, chunk_size=5000)
    b = pfs.simulate(sc, paths=5000, seed=11, sampling=method, chunk_size=1234)
    for name in a.metrics:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name], err_msg=name)


def test_same_seed_identical_different_seed_not():
    sc = teaching()
    a = pfs.simulate(sc, paths=3000, seed=5)
    b = pfs.simulate(sc, paths=3000, seed=5)
    c = pfs.simulate(sc, paths=3000, seed=6)
    np.testing.assert_array_equal(a.paths.to_numpy(), b.paths.to_numpy())
    assert not np.array_equal(a.metrics["investor_irr"], c.metrics["investor_irr"])


def test_common_random_numbers_across_scenarios():
    sc = teaching()
    cheaper = sc.with_overrides({"outcomes.bed_days.payment.price_per_unit": 120})
    a = sample(sc, 0, 2000, seed=9)
    b = sample(cheaper, 0, 2000, seed=9)
    for name in a.values:
        np.testing.assert_array_equal(a.values[name], b.values[name])
    # an input that becomes fixed in one scenario leaves the other inputs' draws alone
    fixed = sample(sc.with_overrides({"program.enrollment_factor": 1.0}), 0, 2000, seed=9)
    np.testing.assert_array_equal(
        fixed.values["outcomes.bed_days.effect"], a.values["outcomes.bed_days.effect"]
    )


def test_sampled_distributions_match_their_specs():
    sc = teaching()
    d = sample(sc, 0, 200_000, seed=1)
    effect = d.values["outcomes.bed_days.effect"]
    assert effect.mean() == pytest.approx(0.25, abs=0.002)
    assert effect.std() == pytest.approx(0.12, rel=0.01)
    enrol = d.values["program.enrollment_factor"]
    assert enrol.min() >= 0.8 and enrol.max() <= 1.0
    cost = d.values["program.cost_per_participant"]
    assert cost.mean() == pytest.approx((3500 + 4000 + 5000) / 3, rel=0.002)
    assert d.noise["bed_days"].shape == (200_000, 3)  # per-cohort measurement
    assert d.noise["employment"].shape == (200_000, 3)  # pooled: built from cohort columns


def test_pooled_and_per_cohort_variants_share_evaluation_noise():
    sc = teaching()
    pooled = sc.with_overrides({"outcomes.bed_days.evaluation.measurement": "pooled"})
    a = pfs.simulate(sc, paths=20_000, seed=3).metrics
    b = pfs.simulate(pooled, paths=20_000, seed=3).metrics
    # the pooled estimate is the participant-weighted mean of the per-cohort ones
    np.testing.assert_allclose(
        b["measured_effect.bed_days"], a["measured_effect.bed_days"], rtol=0, atol=1e-12
    )
    spread = b["measured_effect.bed_days"] - b["true_effect.bed_days"]
    assert spread.std() == pytest.approx(sc.standard_error(sc.outcome("bed_days")), rel=0.03)
