"""Tests for pfs.finance: vectorised IRR, NPV, MOIC and friends."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pfs import finance
from pfs.finance import (
    IRR_NO_ROOT,
    IRR_OK,
    IRR_TOTAL_LOSS,
    IRR_UNDEFINED,
    annualise,
    discount_factors,
    irr,
    irr_status,
    irr_with_status,
    moic,
    npv,
)

MAX_PERIODS = 12


def conventional_rows(
    rng: np.random.Generator, n: int, min_len: int = 3, max_len: int = MAX_PERIODS
) -> list[np.ndarray]:
    """Random conventional rows: a block of outflows, then inflows.

    Lengths are uniform in [min_len, max_len]; the inflow multiple spans
    five orders of magnitude (large losses to large gains) and some inflows
    are zero, but the last one is positive.
    """
    rows = []
    for _ in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        n_out = int(rng.integers(1, min(3, length - 1) + 1))
        out = -rng.lognormal(4.0, 1.0, n_out)
        inflow = rng.lognormal(0.0, 1.0, length - n_out)
        inflow[rng.random(length - n_out) < 0.2] = 0.0
        inflow[-1] = max(inflow[-1], 0.1)
        multiple = 10.0 ** rng.uniform(-3.0, 2.0)  # total inflow / total outflow
        inflow *= multiple * -out.sum() / inflow.sum()
        rows.append(np.concatenate([out, inflow]))
    return rows


def pad(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Stack rows into a matrix, padding with trailing zeros."""
    mat = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        mat[i, : row.size] = row
    return mat


def npf_irr(rows: list[np.ndarray]) -> np.ndarray:
    return np.array([npf.irr(row) for row in rows])


# --------------------------------------------------------------------------
# agreement with numpy_financial
# --------------------------------------------------------------------------
def test_irr_matches_numpy_financial_on_random_conventional_rows() -> None:
    rng = np.random.default_rng(20240601)
    rows = conventional_rows(rng, 3000)
    expected = npf_irr(rows)
    got = irr(pad(rows, MAX_PERIODS))
    assert got.shape == (3000,)
    assert np.isfinite(expected).all()
    # The sample really contains large losses and large gains.
    assert expected.min() < -0.5
    assert expected.max() > 1.0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert (irr_status(pad(rows, MAX_PERIODS)) == IRR_OK).all()


def test_irr_matches_numpy_financial_with_leading_zeros() -> None:
    rng = np.random.default_rng(7)
    rows = [
        np.concatenate([np.zeros(int(rng.integers(1, 4))), row])
        for row in conventional_rows(rng, 1000, max_len=MAX_PERIODS - 3)
    ]
    np.testing.assert_allclose(irr(pad(rows, MAX_PERIODS)), npf_irr(rows), rtol=0, atol=1e-9)


def test_irr_matches_numpy_financial_on_loan_shaped_rows() -> None:
    # Inflow first, repayments after: one sign change the other way round.
    rng = np.random.default_rng(11)
    rows = [-row for row in conventional_rows(rng, 500)]
    np.testing.assert_allclose(irr(pad(rows, MAX_PERIODS)), npf_irr(rows), rtol=0, atol=1e-9)


def test_irr_matches_numpy_financial_on_several_sign_changes() -> None:
    # A second capital call in the middle of the payment stream.
    rng = np.random.default_rng(3)
    n = 2000
    flows = np.zeros((n, 10))
    flows[:, 0] = -100.0
    flows[:, 1:4] = rng.lognormal(2.0, 1.0, (n, 3))
    flows[:, 4] = -rng.lognormal(3.0, 0.7, n)
    flows[:, 5:] = rng.lognormal(2.5, 1.0, (n, 5))
    expected = npf_irr(list(flows))
    got = irr(flows)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_irr_matches_numpy_financial_on_arbitrary_sign_patterns() -> None:
    # Rows with many sign changes: several or no real roots.  Where
    # numpy_financial finds a root we return the same one; total losses
    # (no positive flow) are -1 by convention where numpy_financial is NaN.
    rng = np.random.default_rng(5)
    flows = rng.normal(size=(3000, 8)) * rng.lognormal(0.0, 1.0, (3000, 8))
    expected = npf_irr(list(flows))
    got = irr(flows)
    status = irr_status(flows)
    total_loss = (flows <= 0).all(axis=1)
    assert (got[total_loss] == -1.0).all()
    assert (status[total_loss] == IRR_TOTAL_LOSS).all()
    no_outflow = (flows >= 0).all(axis=1)
    assert np.isnan(got[no_outflow]).all()
    assert (status[no_outflow] == IRR_UNDEFINED).all()
    both = ~total_loss & ~no_outflow
    assert np.array_equal(np.isnan(got[both]), np.isnan(expected[both]))
    np.testing.assert_allclose(got[both], expected[both], rtol=0, atol=1e-9)
    assert (status[both & np.isnan(got)] == IRR_NO_ROOT).all()
    assert (status[both & ~np.isnan(got)] == IRR_OK).all()
    # The sample exercises both outcomes.
    assert np.isnan(got[both]).sum() > 100
    assert (~np.isnan(got[both])).sum() > 100


def test_two_real_roots_returns_the_one_closest_to_zero() -> None:
    # NPV = -100 + 230 v - 132 v^2 has roots r = 10% and r = 20%.
    assert irr([-100.0, 230.0, -132.0]) == pytest.approx(0.10, abs=1e-12)
    assert irr([-100.0, 230.0, -132.0]) == pytest.approx(npf.irr([-100, 230, -132]), abs=1e-12)


def test_pair_of_roots_inside_one_grid_cell_is_not_missed() -> None:
    # NPV with roots at r = 1%, 3% (closer together than the root-scanning
    # grid) and 12%: numpy_financial picks 1%, and so must we.
    v = 1.0 / (1.0 + np.array([0.01, 0.03, 0.12]))
    flows = -np.poly(v)[::-1]  # -(x - v1)(x - v2)(x - v3), ascending powers
    assert float(irr(flows)) == pytest.approx(0.01, abs=1e-9)
    assert float(irr(flows)) == pytest.approx(npf.irr(flows), abs=1e-12)
    # Longer horizon: the same polynomial times a positive factor (1 + x^4).
    longer = np.convolve(flows, [1.0, 0.0, 0.0, 0.0, 1.0])
    assert float(irr(longer)) == pytest.approx(0.01, abs=1e-9)


def test_numpy_financial_docstring_examples() -> None:
    for flows in ([-100, 39, 59, 55, 20], [-100, 0, 0, 74], [-100, 100, 0, -7],
                  [-100, 100, 0, 7], [-5, 10.5, 1, -8, 1]):  # fmt: skip
        assert float(irr(flows)) == pytest.approx(npf.irr(flows), abs=1e-12)


# --------------------------------------------------------------------------
# known values and conventions
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        ([-100.0, 110.0], 0.10),
        ([-100.0, 0.0, 121.0], 0.10),
        ([0.0, -100.0, 0.0, 121.0, 0.0], 0.10),
        ([100.0, -110.0], 0.10),
        ([-100.0, 100.0], 0.0),
        ([-100.0, 50.0, 50.0], 0.0),
        ([-100.0, 0.0, 25.0], -0.5),
        ([-1.0, 0.0, 0.0, 8.0], 1.0),
    ],
)
def test_irr_known_values(flows: list[float], expected: float) -> None:
    assert float(irr(flows)) == pytest.approx(expected, abs=1e-12)
    assert int(irr_status(flows)) == IRR_OK


def test_leading_and_trailing_zeros_are_handled() -> None:
    flows = [0.0, -100.0, 0.0, 110.0, 0.0]
    expected = math.sqrt(1.1) - 1.0
    assert float(irr(flows)) == pytest.approx(expected, abs=1e-12)
    assert float(irr(flows)) == pytest.approx(npf.irr(flows), abs=1e-12)
    # Trailing zero padding never changes the result.
    assert float(irr(flows + [0.0] * 7)) == float(irr(flows))


def test_total_loss_is_minus_one() -> None:
    assert float(irr([-100.0, 0.0, 0.0])) == -1.0
    assert float(irr([0.0, -50.0, -50.0])) == -1.0
    assert float(irr([-100.0])) == -1.0
    assert int(irr_status([-100.0, 0.0, 0.0])) == IRR_TOTAL_LOSS


@pytest.mark.parametrize(
    "flows",
    [[100.0, 50.0], [0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [5.0], [0.0]],
)
def test_no_outflow_is_nan_and_undefined(flows: list[float]) -> None:
    assert math.isnan(float(irr(flows)))
    assert int(irr_status(flows)) == IRR_UNDEFINED


def test_non_finite_flows_give_nan_no_root() -> None:
    flows = np.array([[-100.0, np.nan, 120.0], [-100.0, np.inf, 0.0], [-100.0, 50.0, 60.0]])
    rates, status = irr_with_status(flows)
    assert np.isnan(rates[:2]).all()
    assert (status[:2] == IRR_NO_ROOT).all()
    assert rates[2] == pytest.approx(npf.irr(flows[2]), abs=1e-12)
    assert status[2] == IRR_OK


def test_no_real_root_gives_nan_no_root() -> None:
    # 50 - 100 v + 60 v^2 > 0 for every discount factor v.
    assert math.isnan(float(irr([50.0, -100.0, 60.0])))
    assert int(irr_status([50.0, -100.0, 60.0])) == IRR_NO_ROOT


def test_1d_input_returns_scalar_and_2d_returns_per_path() -> None:
    one = irr([-100.0, 110.0])
    assert np.ndim(one) == 0
    assert isinstance(float(one), float)
    assert one.dtype == np.float64
    mat = np.array([[-100.0, 110.0], [-100.0, 121.0], [100.0, 50.0]])
    many = irr(mat)
    assert many.shape == (3,)
    assert many.dtype == np.float64
    np.testing.assert_allclose(many[:2], [0.10, 0.21], atol=1e-12)
    assert math.isnan(many[2])
    status = irr_status(mat)
    assert status.shape == (3,)
    assert status.dtype == np.int8
    assert np.ndim(irr_status([-100.0, 110.0])) == 0
    assert irr(np.zeros((0, 5))).shape == (0,)


def test_float32_and_integer_input_computed_in_float64() -> None:
    rng = np.random.default_rng(1)
    mat = pad(conventional_rows(rng, 200), MAX_PERIODS)
    np.testing.assert_allclose(
        irr(mat.astype(np.float32)), irr(mat.astype(np.float32).astype(np.float64)), atol=1e-15
    )
    assert irr(np.array([[-100, 110]], dtype=np.int64))[0] == pytest.approx(0.1, abs=1e-12)


def test_rows_are_independent_of_each_other_and_of_blocking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(9)
    mixed = np.concatenate(
        [
            pad(conventional_rows(rng, 300), MAX_PERIODS),
            -pad(conventional_rows(rng, 50), MAX_PERIODS),
            rng.normal(size=(100, MAX_PERIODS)),
            np.zeros((5, MAX_PERIODS)),
        ]
    )
    rng.shuffle(mixed)
    together = irr(mixed)
    one_by_one = np.array([float(irr(row)) for row in mixed])
    np.testing.assert_array_equal(np.isnan(together), np.isnan(one_by_one))
    np.testing.assert_allclose(together, one_by_one, rtol=0, atol=1e-12)
    monkeypatch.setattr(finance, "_BLOCK_PATHS", 37)
    np.testing.assert_allclose(irr(mixed), together, rtol=0, atol=1e-12)


def test_extreme_rates() -> None:
    # Almost total loss over a long horizon and a huge gain.
    long_loss = np.zeros(40)
    long_loss[0], long_loss[-1] = -1.0, 1e-10
    assert float(irr(long_loss)) == pytest.approx(1e-10 ** (1 / 39) - 1, rel=1e-12)
    assert float(irr([-1.0, 1e10])) == pytest.approx(1e10 - 1, rel=1e-12)
    # Reference from a 60-digit Newton iteration; numpy_financial gives
    # 178496.0000000331 here.
    huge = float(irr([-1.0, 178497.0, 0.0, 1160.0, 2.0]))
    assert huge == pytest.approx(178496.00000003640794, rel=1e-15)
    assert float(irr([-1e200, 2e200])) == pytest.approx(1.0, abs=1e-12)
    assert float(irr([-1e-200, 2e-200])) == pytest.approx(1.0, abs=1e-12)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="shape"):
        irr(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="tol"):
        irr([-1.0, 2.0], tol=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        irr([-1.0, 2.0], max_iter=0)


# --------------------------------------------------------------------------
# irr_status
# --------------------------------------------------------------------------
def test_irr_status_codes() -> None:
    flows = np.array(
        [
            [-100.0, 60.0, 60.0],  # regular
            [-100.0, 0.0, 0.0],  # total loss
            [100.0, 50.0, 0.0],  # no sign change
            [0.0, 0.0, 0.0],  # nothing at all
            [50.0, -100.0, 60.0],  # two sign changes, no real root
            [-100.0, np.nan, 0.0],  # broken input
        ]
    )
    status = irr_status(flows)
    np.testing.assert_array_equal(
        status, [IRR_OK, IRR_TOTAL_LOSS, IRR_UNDEFINED, IRR_UNDEFINED, IRR_NO_ROOT, IRR_NO_ROOT]
    )
    rates, status2 = irr_with_status(flows)
    np.testing.assert_array_equal(status, status2)
    np.testing.assert_array_equal(np.isnan(rates), status >= IRR_UNDEFINED)
    assert rates[1] == -1.0
    assert (IRR_OK, IRR_TOTAL_LOSS, IRR_UNDEFINED, IRR_NO_ROOT) == (0, 1, 2, 3)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------
amount = st.floats(min_value=1.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def conventional(draw: st.DrawFn) -> np.ndarray:
    outflows = draw(st.lists(amount, min_size=1, max_size=3))
    inflows = draw(st.lists(st.one_of(st.just(0.0), amount), min_size=0, max_size=8).map(list))
    last = draw(amount)
    return np.array([-x for x in outflows] + inflows + [last])


@given(conventional())
def test_npv_at_irr_is_zero(flows: np.ndarray) -> None:
    rate = float(irr(flows))
    assert irr_status(flows) == IRR_OK
    assert rate > -1.0
    factors = (1.0 + rate) ** -np.arange(flows.size)
    scale = np.abs(flows) @ factors
    assert abs(float(npv(flows, rate))) <= 1e-9 * scale
    assert abs(float(flows @ factors)) <= 1e-9 * scale


@given(conventional(), st.floats(min_value=1e-6, max_value=1e6))
def test_irr_is_scale_invariant(flows: np.ndarray, k: float) -> None:
    base = float(irr(flows))
    assert float(irr(k * flows)) == pytest.approx(base, rel=1e-9, abs=1e-12)


@given(conventional(), st.floats(min_value=1e-3, max_value=1e6))
def test_irr_increases_with_final_inflow(flows: np.ndarray, extra: float) -> None:
    more = flows.copy()
    more[-1] += extra
    before, after = float(irr(flows)), float(irr(more))
    assert after >= before - 1e-12 * (1.0 + abs(before))


def exact_irr(flows: np.ndarray, rate: float) -> float:
    """50-digit Newton iteration on the NPV started from ``rate``.

    For one sign change the root is unique, so this converges to the exact
    IRR of the (binary) flows from any reasonable start.
    """
    with localcontext() as ctx:
        ctx.prec = 50
        coef = [Decimal(float(x)) for x in flows]
        v = 1 / (1 + Decimal(rate))
        for _ in range(30):
            value = sum((c * v**t for t, c in enumerate(coef)), Decimal(0))
            slope = sum((t * c * v ** (t - 1) for t, c in enumerate(coef) if t), Decimal(0))
            v -= value / slope
        return float(1 / v - 1)


@given(conventional())
def test_vectorised_equals_numpy_financial(flows: np.ndarray) -> None:
    expected = npf.irr(flows)
    assume(np.isfinite(expected))
    # Absolute 1e-9; relative 1e-11 for absurd rates (a 1e3+ multiple in one
    # period), where the eigenvalue solver of numpy_financial is the less
    # accurate of the two (see test_irr_matches_high_precision_reference).
    got = float(irr(flows))
    if got != pytest.approx(expected, rel=1e-11, abs=1e-9):
        # numpy_financial can be off by more than 1e-11 (relative) at rates of
        # thousands per period: then we must be the closer to the exact root.
        exact = exact_irr(flows, got)
        assert got == pytest.approx(exact, rel=1e-13)
        assert abs(got - exact) < abs(expected - exact)


@given(conventional())
def test_irr_matches_high_precision_reference(flows: np.ndarray) -> None:
    # One sign change: the root is unique, so a 50-digit Newton iteration
    # started from our answer converges to the exact IRR.
    rate = float(irr(flows))
    assert rate == pytest.approx(exact_irr(flows, rate), rel=1e-13, abs=1e-14)


def test_absurd_rate_is_more_accurate_than_numpy_financial() -> None:
    # numpy_financial gives 6767.99999993978 (relative error 1.1e-11).
    flows = np.array([-1.0, 6769.0, 0.0, 0.0, 4135.0, 1.0])
    assert float(irr(flows)) == pytest.approx(exact_irr(flows, 6768.0), rel=1e-14)


# --------------------------------------------------------------------------
# npv / discount factors / moic / annualise
# --------------------------------------------------------------------------
def test_discount_factors_closed_form() -> None:
    np.testing.assert_allclose(discount_factors(4, 0.10), [1.0, 1 / 1.1, 1 / 1.21, 1 / 1.331])
    quarterly = discount_factors(5, 0.21, periods_per_year=4)
    np.testing.assert_allclose(quarterly, 1.21 ** (-np.arange(5) / 4))
    assert quarterly[4] == pytest.approx(1 / 1.21)
    assert discount_factors(0, 0.05).shape == (0,)
    with pytest.raises(ValueError):
        discount_factors(3, -1.0)
    with pytest.raises(ValueError):
        discount_factors(3, 0.1, periods_per_year=0)


def test_npv_closed_form() -> None:
    assert float(npv([-100.0, 110.0], 0.10)) == pytest.approx(0.0, abs=1e-12)
    assert float(npv([-100.0, 0.0, 121.0], 0.10)) == pytest.approx(0.0, abs=1e-12)
    assert float(npv([50.0], 0.5)) == 50.0  # period 0 not discounted
    mat = np.array([[-100.0, 60.0, 60.0], [10.0, 20.0, 30.0]])
    expected = [-100 + 60 / 1.05 + 60 / 1.05**2, 10 + 20 / 1.05 + 30 / 1.05**2]
    got = npv(mat, 0.05)
    assert got.shape == (2,)
    np.testing.assert_allclose(got, expected)
    # Quarterly flows discounted at an annual rate.
    np.testing.assert_allclose(
        npv(mat, 0.05, periods_per_year=4),
        mat @ (1.05 ** (-np.arange(3) / 4)),
    )
    # Same convention as numpy_financial: values[0] is at time 0.
    assert float(npv(mat[0], 0.07)) == pytest.approx(npf.npv(0.07, mat[0]))


def test_moic_closed_form() -> None:
    mat = np.array(
        [
            [-100.0, 50.0, 100.0],
            [-50.0, -50.0, 80.0],
            [-100.0, 0.0, 0.0],
            [10.0, 20.0, 0.0],
            [0.0, 0.0, 0.0],
            [-100.0, np.nan, 10.0],
        ]
    )
    got = moic(mat)
    np.testing.assert_allclose(got[:4], [1.5, 0.8, 0.0, np.nan])
    assert np.isnan(got[4:]).all()
    assert float(moic([-100.0, 250.0])) == pytest.approx(2.5)
    assert np.ndim(moic([-100.0, 250.0])) == 0


def test_annualise_closed_form() -> None:
    assert float(annualise(0.10, 1)) == pytest.approx(0.10)
    assert float(annualise(0.01, 12)) == pytest.approx(1.01**12 - 1, rel=1e-14)
    assert float(annualise(0.05, 4)) == pytest.approx(1.05**4 - 1, rel=1e-14)
    rates = np.array([0.02, -1.0, np.nan, 0.0, -0.5])
    got = annualise(rates, 4)
    assert got.shape == (5,)
    assert got[1] == -1.0
    assert np.isnan(got[2])
    assert got[3] == 0.0
    np.testing.assert_allclose(got[[0, 4]], [1.02**4 - 1, 0.5**4 - 1])
    assert np.isnan(float(annualise(-1.5, 2)))
    with pytest.raises(ValueError):
        annualise(0.1, 0)


def test_annualised_irr_of_quarterly_flows() -> None:
    # 100 in, 110.25 back after two quarters: 5% per quarter.
    rate = irr([-100.0, 0.0, 110.25])
    assert float(rate) == pytest.approx(0.05, abs=1e-12)
    assert float(annualise(rate, 4)) == pytest.approx(1.05**4 - 1, abs=1e-12)


def engine_shaped_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rows shaped like the engine's investor and tranche flows (9 periods).

    Capital drawn over three periods, an outcome payment, capital drawn
    again, later payments and trailing zeros (several sign changes, a unique
    root), loss rows ending on a small outflow (two sign changes: no root or
    two roots), capital repaid exactly (flows summing to zero), alternating
    draws and payments, conventional and loan-shaped rows, rounding dust.
    """
    k = n // 8
    draw = rng.lognormal(13.0, 0.1, (k, 1))
    recall = np.zeros((k, 9))
    recall[:, :3] = -draw * [1.0, 1.0, 1.08]
    recall[:, 3] = rng.lognormal(12.5, 1.0, k)
    recall[:, 4] = -rng.lognormal(12.0, 0.5, k)
    recall[:, 5:7] = rng.lognormal(13.5, 0.8, (k, 2)) * (rng.random((k, 2)) < 0.8)
    loss = -rng.lognormal(13.0, 0.5, (k, 9))
    loss[:, 6] = rng.lognormal(12.0, 1.5, k)
    loss[:, 7] = -rng.lognormal(10.0, 0.5, k)
    loss[:, 8] = 0.0
    repaid = recall.copy()
    repaid[:, 3] = -repaid[:, :3].sum(axis=1)  # capital returned exactly
    repaid[:, 5:] = 0.0
    repaid[:, 5] = -repaid[:, 4]
    alternating = -rng.lognormal(12.0, 0.5, (k, 9))
    alternating[:, 4:8:2] = rng.lognormal(12.5, 1.2, (k, 2))
    conventional = np.zeros((k, 9))
    conventional[:, :3] = -draw
    conventional[:, 3:7] = rng.lognormal(12.5, 1.0, (k, 4))
    loan = -np.roll(conventional, 2, axis=1)
    dusty = recall.copy()
    dusty[:, 8] = -(2.0**-80)  # rounding residue below the dust threshold
    near_zero = conventional.copy()
    near_zero[:, 6] -= near_zero.sum(axis=1)  # sums to zero up to rounding
    return np.concatenate([recall, loss, repaid, alternating, conventional, loan, dusty, near_zero])


def test_each_rows_irr_does_not_depend_on_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bit-identical results whatever the chunking (engine contract)."""
    rng = np.random.default_rng(42)
    conventional = np.concatenate(
        [-rng.uniform(1, 1e6, (300, 3)), rng.uniform(0, 2e6, (300, 4))], axis=1
    )
    irregular = rng.normal(0, 1e5, (300, 7))
    huge = conventional[:20] * 1e120
    rows = np.concatenate([conventional, irregular, huge])
    rows[::7, 0] = 0.0  # leading zeros
    rows = np.concatenate(
        [np.pad(rows, ((0, 0), (0, 2))), engine_shaped_rows(rng, 800), rng.normal(0, 1, (200, 9))]
    )
    rows = rows[rng.permutation(len(rows))]
    whole = irr(rows)
    alone = np.array([float(irr(r)) for r in rows])
    parts = np.concatenate([irr(rows[i : i + 37]) for i in range(0, len(rows), 37)])
    np.testing.assert_array_equal(whole, alone)
    np.testing.assert_array_equal(whole, parts)
    # Period-major storage (as the engine passes it) and small blocks, whose
    # rows with several sign changes are gathered and solved after the rest.
    period_major = np.ascontiguousarray(rows.T).T
    np.testing.assert_array_equal(irr(period_major), whole)
    monkeypatch.setattr(finance, "_BLOCK_PATHS", 64)
    np.testing.assert_array_equal(irr(period_major), whole)
    np.testing.assert_array_equal(irr(rows[::-1])[::-1], whole)


def test_engine_shaped_rows_match_numpy_financial() -> None:
    rng = np.random.default_rng(8)
    rows = engine_shaped_rows(rng, 4000)
    # Rounding dust counts as zero (numpy_financial would see a tiny leading
    # coefficient of a higher-degree polynomial).
    dust = np.abs(rows) < 1e-12 * np.abs(rows).max(axis=1, keepdims=True)
    expected = npf_irr(list(np.where(dust, 0.0, rows)))
    got, status = irr_with_status(rows)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert (status[np.isnan(got)] == IRR_NO_ROOT).all()
    assert (status[~np.isnan(got)] == IRR_OK).all()
    # Both outcomes of the two-sign-change loss rows occur.
    loss = slice(500, 1000)
    assert np.isnan(got[loss]).sum() > 50
    assert (~np.isnan(got[loss])).sum() > 50


def test_engine_shaped_rows_avoid_the_grid_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    # Performance contract: the certificates settle the engine's usual shapes
    # without the grid scan and eigenvalue fallback.
    def no_grid(*args: object) -> None:
        raise AssertionError("grid scan used")

    monkeypatch.setattr(finance, "_grid_irr", no_grid)
    monkeypatch.setattr(finance, "_roots_irr", no_grid)
    rng = np.random.default_rng(9)
    rows = engine_shaped_rows(rng, 4000)
    alternating = slice(1500, 2000)  # four sign changes: may need the grid
    keep = np.ones(len(rows), dtype=bool)
    keep[alternating] = False
    assert np.isfinite(irr(rows[keep])).sum() > 3000


def test_flows_summing_to_zero_have_irr_zero() -> None:
    # Capital drawn and returned exactly, with a second draw in between.
    flows = np.array([[-300.0, -200.0, 400.0, -100.0, 150.0, 50.0, 0.0]])
    assert float(irr(flows)[0]) == 0.0
    rng = np.random.default_rng(12)
    rows = engine_shaped_rows(rng, 800)[200:300]  # capital repaid exactly
    got = irr(rows)
    expected = npf_irr(list(rows))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert np.abs(got).max() < 1e-12


def test_two_sign_changes_pick_the_root_closest_to_zero() -> None:
    # -(x - v1)(x - v2) with roots r = -20% and 25%, straddling zero.
    for r1, r2 in ((-0.2, 0.25), (0.05, 0.3), (-0.5, -0.1), (0.3, -0.29)):
        flows = -np.poly(1.0 / (1.0 + np.array([r1, r2])))[::-1]
        expected = min((r1, r2), key=abs)
        assert float(irr(flows)) == pytest.approx(expected, abs=1e-12)
        assert float(irr(flows)) == pytest.approx(npf.irr(flows), abs=1e-12)
        assert float(irr(-flows)) == pytest.approx(expected, abs=1e-12)
    # Longer rows with a + - + pattern and no real root.
    flows = np.array([5.0, 2.0, -3.0, -4.0, 0.0, 6.0, 1.0])
    assert np.isnan(npf.irr(flows))
    assert int(irr_status(flows)) == IRR_NO_ROOT


def test_side_root_counts() -> None:
    cases = [
        # flows, roots with r > 0, roots with -1 < r < 0
        ([-100.0, 60.0, -10.0, 70.0], 1, 0),  # cumulative -100, -40, -50, 20
        ([-100.0, 60.0, -10.0, 40.0], 0, 1),  # loses money: a negative rate
        ([-100.0, 30.0, -10.0, 10.0], 0, 1),  # backward sums 10, 0, 30, -70: order 2
        ([-100.0, 30.0, -10.0, -5.0], 0, 0),  # no root at all
    ]
    for flows, n_pos, n_neg in cases:
        flows_pm = np.array(flows)[:, np.newaxis]
        last = np.array([len(flows) - 1])
        certain, pos, neg = finance._side_root_counts(flows_pm, np.array([0]), last)
        assert bool(certain[0])
        assert (int(pos[0]), int(neg[0])) == (n_pos, n_neg)
        assert np.isnan(npf.irr(flows)) == (n_pos + n_neg == 0)
    # A sum within rounding of zero certifies nothing.
    certain, pos, neg = finance._side_root_counts(
        np.array([[-0.1], [-0.2], [0.3], [-1.0], [1.0]]), np.array([0]), np.array([4])
    )
    assert not certain[0]
    assert (int(pos[0]), int(neg[0])) == (-1, -1)


def test_pow2_scale_is_exact() -> None:
    mag = np.array([0.0, 5e-324, 1e-300, 0.75, 1.0, 3.0, 1e300, 1.7e308])
    scale = finance._pow2_scale(mag)
    mantissa, _ = np.frexp(scale)
    assert (mantissa == 0.5).all()  # powers of two
    scaled = mag * scale
    assert ((scaled[2:-1] >= 1.0) & (scaled[2:-1] < 2.0)).all()
    assert 1.0 <= scaled[-1] < 4.0  # 2**-1022 is the smallest normal scale
    assert (scaled[:2] < 2.0).all()
