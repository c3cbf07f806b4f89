"""The sort-based quantiles of the summaries equal ``np.quantile`` bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pfs.results import QUANTILES, quantiles

finite64 = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False, width=64)
finite32 = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False, width=32)
levels = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    values=st.one_of(
        arrays(np.float64, st.integers(1, 300), elements=finite64),
        arrays(np.float32, st.integers(1, 300), elements=finite32),
        # many ties, as in metrics that are zero on most paths
        arrays(np.float64, st.integers(1, 300), elements=st.sampled_from([0.0, 1.5, -2.0])),
    ),
    qs=levels,
)
def test_equal_to_numpy_quantile(values, qs):
    expected = np.quantile(values, qs)
    got = quantiles(values, qs)
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=100, deadline=None)
@given(
    values=arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 200)), elements=finite32)
)
def test_rows_equal_numpy_quantile_along_the_last_axis(values):
    np.testing.assert_array_equal(
        quantiles(values, QUANTILES), np.quantile(values, QUANTILES, axis=-1)
    )


def test_large_runs_and_the_summary_levels():
    rng = np.random.default_rng(3)
    values = rng.lognormal(10, 2, size=1_000_003)
    values[::3] = 0.0
    np.testing.assert_array_equal(quantiles(values, QUANTILES), np.quantile(values, QUANTILES))
