"""Finance stage of the pipeline: vectorised money-weighted metrics.

This module takes the cash-flow arrays produced by the contract/payment stage
and turns them into per-path investor metrics.  Every public function accepts
either a single cash-flow vector of shape ``[periods]`` (returning a 0-d
float64 array, usable as a scalar: ``float(x)``) or a Monte Carlo matrix of
shape ``[paths, periods]`` (returning one value per path, shape ``[paths]``),
in the spirit of ``empyrical``.  Returns are always typed
``NDArray[np.float64]`` (status codes ``NDArray[np.int8]``).

Cash flows are signed from the investor's point of view: outflows (capital
deployed) are negative, inflows (outcome payments, repayments) are positive.
Period ``t`` (``0 <= t < periods``) is ``t`` equally spaced periods after the
first column; the flow at period 0 is never discounted.

Internal rate of return conventions (see :func:`irr` and :func:`irr_status`):

* **total loss** -- a row with at least one outflow and no inflow returns
  exactly ``-1.0`` (status :data:`IRR_TOTAL_LOSS`);
* **undefined** -- a row without any outflow (all ``>= 0``, including all
  zeros) returns ``NaN`` (status :data:`IRR_UNDEFINED`);
* **one sign change** -- the unique root in ``(-1, inf)``, found by a
  vectorised safeguarded Halley iteration on ``ln(1 + r)`` with a rigorous
  bracket (status :data:`IRR_OK`);
* **several sign changes** -- the root ``numpy_financial.irr`` returns, i.e.
  the real root closest to zero.  The NPV and its slope are evaluated on a
  fixed grid of 81 rates in ``(-0.99995, 22025)`` (two small matrix
  products); when the NPV changes sign exactly once and no grid cell nearer
  to zero can hide a pair of roots (slope test plus a cubic Hermite model of
  the cell), the bracketed root is refined by safeguarded Halley steps.
  Every other row (no or several crossings, a possibly hidden pair, a root
  beyond the grid) gets all its roots from batched companion-matrix
  eigenvalues, exactly as ``numpy_financial.irr`` computes them.  ``NaN``
  when there is no real root in ``(-1, inf)`` (status :data:`IRR_NO_ROOT`).
  The result can differ from ``numpy_financial.irr`` only if extra roots
  hide in a grid cell in a way the cubic model misses (none in 50,000
  random multi-root test rows);
* rows containing ``NaN`` or ``inf`` return ``NaN`` (status
  :data:`IRR_NO_ROOT`).

Everything is vectorised over paths: Python loops run only over periods
(Horner's scheme), solver iterations, polynomial degrees and cache-sized
blocks of :data:`_BLOCK_PATHS` paths (cache blocking keeps temporaries small;
each block is one vectorised computation, there is no per-path loop).  On
100,000 eight-period rows this is roughly ten times faster than a Python loop
of ``pyxirr.irr`` and agrees with ``numpy_financial.irr`` to ~1e-13 (see
``benchmarks/bench_irr.py``).
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "IRR_NO_ROOT",
    "IRR_OK",
    "IRR_TOTAL_LOSS",
    "IRR_UNDEFINED",
    "annualise",
    "discount_factors",
    "irr",
    "irr_status",
    "irr_with_status",
    "moic",
    "npv",
]

FloatArray: TypeAlias = NDArray[np.float64]
"""Float64 array type used throughout the module."""

Int8Array: TypeAlias = NDArray[np.int8]
"""Int8 array type of the IRR status codes."""

IRR_OK: int = 0
"""Status code: a regular root was found."""
IRR_TOTAL_LOSS: int = 1
"""Status code: outflows but no inflow, the IRR is exactly -100%."""
IRR_UNDEFINED: int = 2
"""Status code: no outflow (no sign change, or all zeros); IRR is NaN."""
IRR_NO_ROOT: int = 3
"""Status code: no root in (-1, inf) found (or non-finite flows); IRR is NaN."""


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _as_2d(flows: ArrayLike) -> tuple[FloatArray, bool]:
    """Convert cash flows to a float64 matrix.

    Args:
        flows: Cash flows, shape ``[periods]`` or ``[paths, periods]``; any
            real dtype (float32 is upcast to float64).

    Returns:
        A tuple ``(matrix, was_1d)`` where ``matrix`` has shape
        ``[paths, periods]`` and ``was_1d`` tells whether the input was a
        single ``[periods]`` vector.

    Raises:
        ValueError: If ``flows`` is not 1-D or 2-D.
    """
    arr = np.asarray(flows, dtype=np.float64)
    if arr.ndim == 1:
        return arr[np.newaxis, :], True
    if arr.ndim == 2:
        return arr, False
    raise ValueError(f"flows must have shape [periods] or [paths, periods], got ndim={arr.ndim}")


def _first_true(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Return the column index of the first ``True`` of each row.

    Args:
        mask: Boolean matrix, shape ``[paths, periods]``.

    Returns:
        Index array, shape ``[paths]`` (0 for rows without any ``True``).
    """
    first: NDArray[np.intp] = np.argmax(mask, axis=1)
    return first


def _last_true(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Return the column index of the last ``True`` of each row.

    Args:
        mask: Boolean matrix, shape ``[paths, periods]``.

    Returns:
        Index array, shape ``[paths]`` (``periods - 1`` for rows without any
        ``True``).
    """
    n_periods = mask.shape[1]
    return np.asarray(n_periods - 1 - np.argmax(mask[:, ::-1], axis=1), dtype=np.intp)


def _block_bounds(mask_pm: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Return the first and last period where a period-major mask is true.

    Args:
        mask_pm: Boolean mask, shape ``[periods, paths]``.

    Returns:
        ``(first, last)``, each of shape ``[paths]``; ``first = periods`` and
        ``last = -1`` for paths where the mask is never true.
    """
    n_periods = mask_pm.shape[0]
    dtype = np.int8 if n_periods < 127 else np.int32  # small = fast
    weight = np.arange(1, n_periods + 1, dtype=dtype)[:, np.newaxis]
    last = (mask_pm * weight).max(axis=0).astype(np.intp) - 1
    first = n_periods - (mask_pm * weight[::-1]).max(axis=0).astype(np.intp)
    return first, last


def _pow2_scale(magnitude: FloatArray) -> FloatArray:
    """Per-path power of two bringing ``magnitude`` near 1 (exact rescaling).

    Args:
        magnitude: Largest absolute flow per path, shape ``[paths]``.

    Returns:
        Scale factors ``2**-e``, shape ``[paths]`` (1 where magnitude is 0).
    """
    _, exponent = np.frexp(np.where(magnitude > 0, magnitude, 1.0))
    return np.ldexp(1.0, -exponent)


def _period_moments(coef_pm: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Sum, mean time and variance of time of period-major weights.

    Accumulates period by period (elementwise), so each path's result does
    not depend on the other paths in the array.

    Args:
        coef_pm: Non-negative weights, shape ``[periods, paths]``.

    Returns:
        ``(total, mean, var)``, each of shape ``[paths]``.
    """
    total = np.zeros(coef_pm.shape[1])
    first = np.zeros_like(total)
    second = np.zeros_like(total)
    for k in range(coef_pm.shape[0]):
        total += coef_pm[k]
        first += k * coef_pm[k]
        second += (k * k) * coef_pm[k]
    mean = first / total
    return total, mean, second / total - mean * mean


def _halley_step(h: FloatArray, slope: FloatArray, curv: FloatArray) -> FloatArray:
    """Return the (damped) Halley step ``s - s_new`` for ``h(s) = 0``.

    Args:
        h: Function values, shape ``[paths]``.
        slope: First derivatives ``h'``, shape ``[paths]`` (positive).
        curv: Second derivatives ``h''``, shape ``[paths]``.

    Returns:
        Step, shape ``[paths]``: ``n / (1 - c)`` with Newton step
        ``n = h / h'`` and ``c = n h'' / (2 h')`` clipped to ``[-0.5, 0.5]``.
    """
    newton = h / slope
    corr = newton * curv
    corr /= -2.0 * slope
    np.maximum(corr, -0.5, out=corr)
    np.minimum(corr, 0.5, out=corr)
    corr += 1.0
    newton /= corr
    return newton


def _horner_moments(coef: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Evaluate a polynomial block and its discounted time moments.

    Args:
        coef: Non-negative coefficients ``c_j``, period-major: shape
            ``[periods, paths]`` (``j`` counted from the block start).
        v: Discount factor per path, shape ``[paths]``.

    Returns:
        ``(p, mean, var)``, each of shape ``[paths]``: ``p = sum c_j v^j``
        and the mean and variance of ``j`` under weights ``c_j v^j``.
    """
    p = coef[-1].copy()
    d1 = np.zeros_like(p)  # p'(v)
    d2 = np.zeros_like(p)  # p''(v) / 2
    for k in range(coef.shape[0] - 2, -1, -1):  # Horner over periods
        d2 *= v
        d2 += d1
        d1 *= v
        d1 += p
        p *= v
        p += coef[k]
    d1 *= v
    d1 /= p  # mean = v p' / p
    d2 *= 2.0 * v * v
    d2 /= p  # E[j (j - 1)] = v^2 p'' / p
    d2 += d1
    d2 -= d1 * d1  # variance
    return p, d1, d2


def _single_change_irr(
    flows_pm: FloatArray,
    outflow_first: NDArray[np.bool_],
    bounds: NDArray[np.intp],
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Solve paths having exactly one sign change (safeguarded Halley).

    Each path is oriented so that its first sign block (magnitudes ``a_t``,
    the "outflows") precedes its second block (magnitudes ``b_t``).  With
    ``s = ln v = -ln(1 + r)`` the IRR is the unique root of::

        h(s) = ln(sum_t b_t e^{t s}) - ln(sum_t a_t e^{t s})

    ``h`` is increasing: ``h'`` is the difference of the discounted mean
    times of the two blocks and ``h''`` the difference of their variances.
    ``h'`` lies in ``[gap, span]`` with ``gap = first_b - last_a >= 1`` and
    ``span = last_b - first_a``, so every evaluation yields a rigorous
    bracket ``[s - h/gap, s - h/span]`` (ordered) for the root.  Halley steps
    (cubic convergence) leaving the running bracket are replaced by
    bisection.  The first step, from ``r = 0``, uses closed-form moments
    (a second-order refinement of ``MOIC ** (1 / duration) - 1``).  The power
    sums and their derivatives are evaluated by Horner's scheme (a loop over
    periods, vectorised over paths) and ``|s|`` is kept below
    ``500 / (periods - 1)`` so that nothing overflows; paths whose root lies
    beyond that range are reported as not converged.

    Args:
        flows_pm: Cash flows with exactly one sign change per path,
            period-major: shape ``[periods, paths]``.
        outflow_first: Whether each path's negative block comes first,
            shape ``[paths]``.
        bounds: First/last index of the negative and positive blocks, shape
            ``[4, paths]`` (``first_neg, last_neg, first_pos, last_pos``).
        tol: Tolerance on the estimated absolute error of ``r``
            (``(1 + r)`` times the error of ``s``).
        max_iter: Maximum number of Halley/bisection iterations.

    Returns:
        A tuple ``(rates, converged)``, both of shape ``[paths]``.
    """
    n_periods, n_rows = flows_pm.shape
    if n_rows == 0:
        return np.full(0, np.nan), np.zeros(0, dtype=np.bool_)

    first_neg, last_neg, first_pos, last_pos = bounds
    conventional = bool(outflow_first.all())
    if conventional:
        first_a, last_a, first_b, last_b = first_neg, last_neg, first_pos, last_pos
    else:
        first_a = np.where(outflow_first, first_neg, first_pos)
        last_a = np.where(outflow_first, last_neg, last_pos)
        first_b = np.where(outflow_first, first_pos, first_neg)
        last_b = np.where(outflow_first, last_pos, last_neg)
    gap = (first_b - last_a).astype(np.float64)
    span = (last_b - first_a).astype(np.float64)
    # Error constant of a Halley step (err_new <= c_err * err^3) from the
    # bounds |h''| / (2 h') <= span^2 / (8 gap) and
    # |h'''| / (6 h') <= span^3 / (8 gap).
    k2 = span * span / (8.0 * gap)
    c_err = k2 * k2 + span * k2
    inv_gap, inv_span = 1.0 / gap, 1.0 / span

    # Block magnitudes, period-major so that each Horner step reads a
    # contiguous row: a_t lives in periods < len_a, b_t in periods >= off_b.
    # (In-place operations: fresh multi-megabyte temporaries are slow.)
    # Full-length blocks (not the batch's extreme block bounds): a path's
    # arithmetic must not depend on which other paths share its batch, so that
    # results are bit-identical whatever the chunking.
    off_b = 0
    if conventional:
        coef_a = np.negative(flows_pm)
        coef_b = flows_pm.copy()
    else:
        orient = np.where(outflow_first, -1.0, 1.0)
        coef_a = flows_pm * orient
        coef_b = flows_pm * -orient
    np.maximum(coef_a, 0.0, out=coef_a)
    np.maximum(coef_b, 0.0, out=coef_b)
    # Only the ratio of the blocks matters: scale each path by a power of two
    # (exact) so magnitudes cannot overflow or underflow once multiplied by v^t.
    scale = _pow2_scale(np.maximum(coef_a.max(axis=0), coef_b.max(axis=0)))
    coef_a *= scale
    coef_b *= scale
    s_max = 500.0 / max(n_periods - 1, 1)

    with np.errstate(all="ignore"):
        # Closed-form evaluation at s = 0 (r = 0): h = ln MOIC and the
        # undiscounted moments, accumulated period by period (elementwise,
        # so independent of the batch).
        sum_a, mean_a, var_a = _period_moments(coef_a)
        sum_b, mean_b, var_b = _period_moments(coef_b)
        h0 = np.log(sum_b / sum_a)
        c1, c2 = -h0 * inv_gap, -h0 * inv_span
        lo, hi = np.minimum(c1, c2), np.maximum(c1, c2)
        s = -_halley_step(h0, mean_b - mean_a, var_b - var_a)
        s = np.where((s > lo) & (s < hi), s, 0.5 * (lo + hi))
        np.clip(s, -s_max, s_max, out=s)

        s_final = np.zeros(n_rows)  # root in s, per original path
        ok_final = np.zeros(n_rows, dtype=np.bool_)
        idx = np.arange(n_rows)  # original path of each table column
        active = np.ones(n_rows, dtype=np.bool_)
        s_res = np.zeros(n_rows)
        ok = np.zeros(n_rows, dtype=np.bool_)
        for _ in range(max_iter):
            n_active = int(np.count_nonzero(active))
            if n_active == 0:
                break
            if n_active <= idx.size // 2:  # flush results, compact the rest
                s_final[idx] = s_res
                ok_final[idx] = ok
                idx, s, lo, hi = idx[active], s[active], lo[active], hi[active]
                inv_gap, inv_span = inv_gap[active], inv_span[active]
                c_err = c_err[active]
                coef_a, coef_b = coef_a[:, active], coef_b[:, active]
                s_res = np.zeros(n_active)
                ok = np.zeros(n_active, dtype=np.bool_)
                active = np.ones(n_active, dtype=np.bool_)

            v = np.exp(s)
            p_a, mean_a, var_a = _horner_moments(coef_a, v)
            p_b, mean_b, var_b = _horner_moments(coef_b, v)
            # h = ln(B / A) with B = v^off_b p_b (the b table starts at off_b).
            p_b /= p_a
            h = np.log(p_b)
            h += off_b * s
            mean_b -= mean_a
            mean_b += off_b
            var_b -= var_a
            step = _halley_step(h, mean_b, var_b)

            c1 = h * inv_gap
            np.subtract(s, c1, out=c1)
            c2 = h * inv_span
            np.subtract(s, c2, out=c2)
            np.maximum(lo, np.minimum(c1, c2), out=lo)
            np.minimum(hi, np.maximum(c1, c2), out=hi)
            s_new = s - step
            # The analytic bracket can be as tight as the rounding of s: allow
            # a few ulps of slack before falling back to bisection.
            slack = np.abs(s)
            slack += 4.0
            slack *= 1e-15
            inside = (s_new > lo - slack) & (s_new < hi + slack)
            if not inside.all():
                s_new = np.where(inside, s_new, 0.5 * (lo + hi))
            np.clip(s_new, -s_max, s_max, out=s_new)
            np.abs(step, out=step)
            step *= step * step
            step *= c_err
            # Estimated error of r = e^-s - 1 is (1 + r) times that of s.
            step /= np.minimum(v, 1.0)
            done = step <= tol
            done &= inside
            done |= hi - lo <= tol
            failed = ~((lo <= s_max) & (hi >= -s_max))  # also catches NaN
            done &= active
            failed &= active
            done &= ~failed
            if done.any():
                np.copyto(s_res, s_new, where=done)
                ok |= done
                active &= ~done
            if failed.any():
                active &= ~failed
            s = s_new

        s_final[idx] = s_res
        ok_final[idx] = ok
        rates = np.where(ok_final, np.expm1(-s_final) + 0.0, np.nan)  # no -0.0

    return rates, ok_final


def _grid_s() -> FloatArray:
    """Return the fixed root-scanning grid in ``s = -ln(1 + r)``.

    Returns:
        Increasing grid, shape ``[81]``, spanning ``[-10, 10]`` (rates from
        about ``-0.99995`` to ``22025`` per period), densest around ``r = 0``
        (spacing about 0.075 there) and containing ``s = 0`` exactly.
    """
    u = np.linspace(-3.0, 3.0, 81)
    grid: FloatArray = _GRID_LIMIT * np.sinh(u) / np.sinh(3.0)
    grid[40] = 0.0
    return grid


_BLOCK_PATHS = 32768
_DUST = 1e-12
"""Number of paths solved together (cache blocking, see ``_irr_core``)."""

_GRID_LIMIT = 10.0
_GRID_S = _grid_s()
_ZERO_INDEX = 40  # _GRID_S[_ZERO_INDEX] == 0
_HERMITE_X = np.arange(1, 8) / 8.0
_HERMITE = np.stack(
    [
        2 * _HERMITE_X**3 - 3 * _HERMITE_X**2 + 1,
        _HERMITE_X**3 - 2 * _HERMITE_X**2 + _HERMITE_X,
        -2 * _HERMITE_X**3 + 3 * _HERMITE_X**2,
        _HERMITE_X**3 - _HERMITE_X**2,
    ]
)  # cubic Hermite basis at 7 interior points of a cell: [4, 7]


def _bracketed_poly_root(
    coef: FloatArray,
    w_lo: FloatArray,
    w_hi: FloatArray,
    p_lo: FloatArray,
    p_hi: FloatArray,
    inverse: bool,
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Refine a bracketed root of ``p(w) = sum_j coef[j] w^j`` on ``(0, 1]``.

    Safeguarded Halley iteration started at the regula-falsi point: steps
    leaving the running bracket are replaced by bisection, and the bracket
    shrinks with every evaluation.

    Args:
        coef: Polynomial coefficients, period-major: shape
            ``[periods, paths]`` (ascending powers).
        w_lo: Lower bracket end, shape ``[paths]``, ``0 < w_lo``.
        w_hi: Upper bracket end, shape ``[paths]``, ``w_hi <= 1``.
        p_lo: ``p(w_lo)``, shape ``[paths]``.
        p_hi: ``p(w_hi)``, shape ``[paths]``, of opposite sign to ``p_lo``.
        inverse: ``True`` if ``w = 1 / (1 + r)``, ``False`` if ``w = 1 + r``
            (sets how the tolerance on ``r`` maps to ``w``).
        tol: Tolerance on the rate ``r`` (absolute).
        max_iter: Maximum number of iterations.

    Returns:
        A tuple ``(w, converged)``, both of shape ``[paths]``.
    """
    n_rows = coef.shape[1]
    # Orient so that p(w_lo) < 0 < p(w_hi).
    orient = np.where(p_lo > 0, -1.0, 1.0)
    coef = coef * orient
    p_lo, p_hi = p_lo * orient, p_hi * orient
    lo, hi = w_lo.copy(), w_hi.copy()
    w = lo - (hi - lo) * p_lo / (p_hi - p_lo)
    w = np.where((w > lo) & (w < hi), w, 0.5 * (lo + hi))

    w_final = np.full(n_rows, np.nan)
    ok_final = np.zeros(n_rows, dtype=np.bool_)
    idx = np.arange(n_rows)
    active = np.ones(n_rows, dtype=np.bool_)
    w_res = np.zeros(n_rows)
    ok = np.zeros(n_rows, dtype=np.bool_)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            n_active = int(np.count_nonzero(active))
            if n_active == 0:
                break
            if n_active <= idx.size // 2:  # flush results, compact the rest
                w_final[idx] = w_res
                ok_final[idx] = ok
                idx, w, lo, hi = idx[active], w[active], lo[active], hi[active]
                coef = coef[:, active]
                w_res = np.zeros(n_active)
                ok = np.zeros(n_active, dtype=np.bool_)
                active = np.ones(n_active, dtype=np.bool_)

            val = coef[-1].copy()
            d1 = np.zeros_like(val)  # p'(w)
            d2 = np.zeros_like(val)  # p''(w) / 2
            for k in range(coef.shape[0] - 2, -1, -1):  # Horner over periods
                d2 *= w
                d2 += d1
                d1 *= w
                d1 += val
                val *= w
                val += coef[k]
            neg = val < 0
            np.copyto(lo, w, where=neg)
            np.copyto(hi, w, where=~neg)
            step = _halley_step(val, d1, 2.0 * d2)
            d2 /= d1  # p'' / (2 p')
            w_new = w - step
            inside = (w_new > lo) & (w_new < hi)
            if not inside.all():
                w_new = np.where(inside, w_new, 0.5 * (lo + hi))
            # Halley error estimate ~ (c2^2 + 1) |step|^3 with c2 = p''/(2p').
            np.abs(step, out=step)
            d2 *= d2
            d2 += 1.0
            d2 *= step * step * step
            # Error on r: |dw| if w = 1 + r, |dw| / w^2 if w = 1 / (1 + r).
            done = (d2 <= (tol * w * w if inverse else tol)) & inside
            done |= hi - lo <= tol * w
            exact = val == 0
            if exact.any():
                w_new = np.where(exact, w, w_new)
                done |= exact
            done &= active
            if done.any():
                np.copyto(w_res, w_new, where=done)
                ok |= done
                active &= ~done
            w = w_new
        w_final[idx] = w_res
        ok_final[idx] = ok
    return np.where(ok_final, w_final, np.nan), ok_final


def _hidden_roots(
    rates: FloatArray,
    values: FloatArray,
    slopes: FloatArray,
    slope_zero_u: FloatArray,
    turns: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Flag paths whose NPV may hide roots closer to zero than the one found.

    Only grid cells nearer to ``r = 0`` than ``|rate|`` matter (they form a
    contiguous range of cells) and, by Rolle's theorem, only those where the
    NPV slope changes sign.  In such a cell the NPV is modelled by the cubic
    Hermite interpolant of its end values and slopes, sampled at 7 interior
    points: the path is flagged if that cubic crosses zero more often than
    the end values imply, or comes within 5% of zero without crossing.

    Args:
        rates: Root found per path, NaN for paths not to examine, shape
            ``[paths]``.
        values: Scaled NPV on the grid, shape ``[grid, paths]``.
        slopes: Its derivative in ``s``, shape ``[grid, paths]``.
        slope_zero_u: Derivative at ``s = 0`` in the ``u``-scaling used for
            the cell right of zero, shape ``[paths]``.
        turns: Cells where the slope changes sign, shape ``[grid - 1, paths]``.

    Returns:
        Boolean flags, shape ``[paths]``.
    """
    grid = _GRID_S
    flags = np.zeros(rates.size, dtype=np.bool_)
    cell, col = np.nonzero(turns)
    rho = np.abs(rates[col])  # NaN (not examined) fails every test below
    with np.errstate(divide="ignore", invalid="ignore"):
        s_near = -np.log1p(rho)  # s of r = +rho
        s_far = np.where(rho < 1.0, -np.log1p(-rho), np.inf)  # s of r = -rho
    # Cell [grid[g], grid[g + 1]] is nearer to r = 0 than rho if it meets
    # the open interval (s_near, s_far).
    near = (grid[cell + 1] > s_near) & (grid[cell] < s_far)
    cell, col = cell[near], col[near]
    if cell.size == 0:
        return flags
    f0, f1 = values[cell, col], values[cell + 1, col]
    d0 = np.where(cell == _ZERO_INDEX, slope_zero_u[col], slopes[cell, col])
    d1 = slopes[cell + 1, col]
    width = grid[cell + 1] - grid[cell]
    ends = np.stack([f0, width * d0, f1, width * d1], axis=1)
    cubic = sum(ends[:, b, np.newaxis] * _HERMITE[b] for b in range(4))  # [pairs, 7]
    samples = np.concatenate([f0[:, None], cubic, f1[:, None]], axis=1)
    positive = samples > 0
    crossings = np.count_nonzero(positive[:, 1:] != positive[:, :-1], axis=1)
    expected = (f0 > 0) != (f1 > 0)
    scale = np.maximum(np.abs(f0), np.abs(f1))
    grazing = ~expected & (np.abs(cubic).min(axis=1) < 0.05 * scale)
    suspicious = (crossings != expected) | grazing | (f0 == 0) | (f1 == 0)
    flags[col[suspicious]] = True
    return flags


def _multi_change_irr(
    flows_pm: FloatArray, tol: float, max_iter: int
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Solve paths with several sign changes.

    The scaled NPV and its slope are evaluated on the fixed grid
    :data:`_GRID_S` (matrix products over all paths).  Paths showing exactly
    one sign change (or one exact zero) on the grid have their root refined
    by :func:`_bracketed_poly_root`, working in ``v = 1/(1+r)`` for
    ``r >= 0`` and ``u = 1 + r`` for ``r < 0`` so that powers never exceed 1.
    All other paths (no or several grid sign changes, a possible pair of
    roots nearer to zero flagged by :func:`_hidden_roots`, or a root at
    ``r < -0.9999`` where the grid ends) fall back to :func:`_roots_irr`,
    which reproduces ``numpy_financial.irr`` exactly.

    Args:
        flows_pm: Cash flows, period-major: shape ``[periods, paths]``; each
            path contains both signs.
        tol: Tolerance on the estimated absolute error of ``r``.
        max_iter: Maximum refinement iterations.

    Returns:
        A tuple ``(rates, found)``, both of shape ``[paths]``.
    """
    n_periods, n_rows = flows_pm.shape
    rates = np.full(n_rows, np.nan)
    found = np.zeros(n_rows, dtype=np.bool_)
    if n_rows == 0:
        return rates, found

    c = flows_pm * _pow2_scale(np.abs(flows_pm).max(axis=0))
    t = np.arange(n_periods, dtype=np.float64)[:, np.newaxis]
    grid = _GRID_S
    # Column g: v^t for v = e^s <= 1, else u^(T-1-t) with u = 1/v: same sign
    # as the NPV and no power exceeds 1.
    powers = np.where(grid <= 0, np.exp(t * grid), np.exp((n_periods - 1 - t) * -grid))
    # Derivative in s of the same (positively rescaled) NPV: two roots hidden
    # in one grid cell force a sign change of the derivative there (Rolle).
    weight = np.where(grid <= 0, t, t - (n_periods - 1))
    # Period by period (not a matrix product): each path's sums must not
    # depend on its batch, so results are identical whatever the chunking.
    basis = np.concatenate([powers, powers * weight], axis=1)  # [periods, 2 grid]
    both = np.zeros((basis.shape[1], n_rows))
    for k in range(n_periods):
        both += basis[k][:, np.newaxis] * c[k]
    values, slopes = both[: grid.size], both[grid.size :]  # [grid, paths] each
    rising = slopes > 0
    turns = rising[1:] != rising[:-1]  # [grid - 1, paths]
    # The cell right of s = 0 mixes both scalings: use the u-form at s = 0
    # (the values agree there, the slopes do not).
    slope_zero_u = np.zeros(n_rows)
    for k in range(n_periods):
        slope_zero_u += (k - (n_periods - 1)) * c[k]
    turns[_ZERO_INDEX] = (slope_zero_u > 0) != rising[_ZERO_INDEX + 1]
    positive = values > 0
    flips = positive[1:] != positive[:-1]  # [grid - 1, paths]
    n_flips = np.add.reduce(flips, axis=0, dtype=np.int32)
    zeros = values == 0
    has_zero = np.logical_or.reduce(zeros, axis=0)
    if has_zero.any():
        sgn = np.sign(values[:, has_zero])
        n_flips[has_zero] = np.count_nonzero(sgn[1:] * sgn[:-1] < 0, axis=0) + np.count_nonzero(
            sgn == 0, axis=0
        )

    one = n_flips == 1
    # Exact zero on a grid point.
    exact = one & has_zero
    if exact.any():
        g = np.argmax(zeros[:, exact], axis=0)
        rates[exact] = np.expm1(-grid[g]) + 0.0  # + 0.0: no negative zero
        found[exact] = True
    bracketed = one & ~has_zero
    if bracketed.any():
        rows = np.flatnonzero(bracketed)
        # Index of the single flip: sum of flip * position.
        position = np.arange(grid.size - 1, dtype=np.int16)[:, np.newaxis]
        g = np.add.reduce(flips * position, axis=0)[rows]
        f_lo, f_hi = values[g, rows], values[g + 1, rows]
        s_lo, s_hi = grid[g], grid[g + 1]
        v_side = s_hi <= 0  # root has r >= 0: work in v = e^s in (0, 1]
        for use_v in (True, False):
            sel = v_side == use_v
            if not sel.any():
                continue
            sub = rows[sel]
            if use_v:
                coef = c[:, sub]
                w_lo, w_hi = np.exp(s_lo[sel]), np.exp(s_hi[sel])
                p_lo, p_hi = f_lo[sel], f_hi[sel]
            else:
                coef = c[::-1, sub]
                w_lo, w_hi = np.exp(-s_hi[sel]), np.exp(-s_lo[sel])
                p_lo, p_hi = f_hi[sel], f_lo[sel]
            w, ok = _bracketed_poly_root(coef, w_lo, w_hi, p_lo, p_hi, use_v, tol, max_iter)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = 1.0 / w - 1.0 if use_v else w - 1.0
            rates[sub[ok]] = r[ok]
            found[sub[ok]] = True
    # A root beyond the negative end of the grid could be closer to zero.
    rest = ~found | (found & (np.abs(rates) >= -np.expm1(-_GRID_LIMIT)))
    # So could a pair of roots inside a cell closer to zero than the root
    # found; the derivative then changes sign in that cell.
    if (found & ~rest).any():
        examine = np.where(found & ~rest, rates, np.nan)
        rest |= _hidden_roots(examine, values, slopes, slope_zero_u, turns)
    if rest.any():
        rows = np.flatnonzero(rest)
        r, ok = _roots_irr(flows_pm[:, rows].T)
        rates[rows] = r
        found[rows] = ok
    return rates, found


def _roots_irr(flows: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Compute IRRs exactly like ``numpy_financial.irr``, vectorised.

    For every row the NPV polynomial ``sum_t c_t x^t`` (``x = 1/(1+r)``) is
    stripped of leading/trailing zero coefficients as ``np.roots`` does, all
    its roots are obtained at once from batched companion-matrix eigenvalues
    (rows are grouped by polynomial degree, a loop over at most ``periods``
    degrees, never over paths), and the rate ``1/x - 1`` closest to zero
    among exactly-real, positive roots ``x`` is returned.  The chosen root
    is then polished with a few guarded Newton steps.

    Args:
        flows: Cash flows, shape ``[paths, periods]``; each row contains
            both signs.

    Returns:
        A tuple ``(rates, found)``, both of shape ``[paths]``; ``rates`` is
        NaN where ``found`` is ``False``.
    """
    n_rows, n_periods = flows.shape
    rates = np.full(n_rows, np.nan)
    found = np.zeros(n_rows, dtype=np.bool_)
    if n_rows == 0:
        return rates, found

    nonzero = flows != 0
    first = _first_true(nonzero)
    last = _last_true(nonzero)
    degree = last - first
    cols = np.arange(n_periods)

    for deg in np.unique(degree):
        d = int(deg)
        if d < 1:
            continue
        rows = np.flatnonzero(degree == d)
        m = rows.size
        # Polynomial coefficients, highest power first: c_last ... c_first.
        take = last[rows, None] - cols[None, : d + 1]
        poly = flows[rows[:, None], take]
        comp = np.zeros((m, d, d))
        with np.errstate(all="ignore"):
            comp[:, 0, :] = -poly[:, 1:] / poly[:, :1]
        usable = np.isfinite(comp[:, 0, :]).all(axis=1)
        comp[~usable] = 0.0  # no roots reported for these rows (status: no root)
        if d > 1:
            sub = np.arange(1, d)
            comp[:, sub, sub - 1] = 1.0
        roots = np.linalg.eigvals(comp)
        roots[~usable] = np.nan
        valid = (roots.imag == 0) & (roots.real > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = 1.0 / roots.real - 1.0
        cand = np.where(valid, cand, np.inf)
        best = np.argmin(np.abs(cand), axis=1)
        ok = valid.any(axis=1)
        x = roots.real[np.arange(m), best]

        # Guarded Newton polish of f(x) = sum_k c_{first+k} x^k.
        ascending = poly[:, ::-1] / np.max(np.abs(poly), axis=1, keepdims=True)
        powers = np.arange(d + 1, dtype=np.float64)
        with np.errstate(all="ignore"):
            for _ in range(3):
                val = np.zeros(m)
                der = np.zeros(m)
                for k in range(d, -1, -1):  # Horner over periods
                    der = der * x + val
                    val = val * x + ascending[:, k]
                x_new = x - val / der
                new_val = np.sum(ascending * np.power(x_new[:, None], powers[None, :]), axis=1)
                accept = (
                    np.isfinite(x_new)
                    & (x_new > 0)
                    & (np.abs(new_val) < np.abs(val))
                    & (np.abs(x_new - x) <= 1e-8 * np.abs(x))
                )
                x = np.where(accept, x_new, x)
            rate = 1.0 / x - 1.0
        good = ok & np.isfinite(rate)
        rates[rows[good]] = rate[good]
        found[rows[good]] = True

    return rates, found


def _irr_core(flows: FloatArray, tol: float, max_iter: int) -> tuple[FloatArray, NDArray[np.int8]]:
    """Compute IRR and status codes for a cash-flow matrix.

    Paths are processed in cache-sized blocks of :data:`_BLOCK_PATHS` (each
    block fully vectorised).  This is cache blocking, not a per-path loop:
    it keeps every temporary small enough to be recycled by the allocator,
    which avoids page-faulting tens of megabytes per call and roughly halves
    the run time on large inputs.

    Args:
        flows: Cash flows, shape ``[paths, periods]``, float64.
        tol: Tolerance on the estimated absolute error of the rate.
        max_iter: Maximum number of iterations of the safeguarded solver.

    Returns:
        A tuple ``(rates, status)``, both of shape ``[paths]``.

    Raises:
        ValueError: If ``tol`` is negative or ``max_iter`` is not positive.
    """
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    n_rows = flows.shape[0]
    # Flows below 1e-12 of a path's largest flow are rounding dust (for example
    # a subnormal residue): they would only add spurious sign changes.
    with np.errstate(invalid="ignore"):
        dust = np.abs(flows) < _DUST * np.abs(flows).max(axis=1, keepdims=True)
    if dust.any():
        flows = np.where(dust, 0.0, flows)
    if n_rows <= _BLOCK_PATHS:
        return _irr_block(flows, tol, max_iter)
    rates = np.empty(n_rows)
    status = np.empty(n_rows, dtype=np.int8)
    for start in range(0, n_rows, _BLOCK_PATHS):
        block = slice(start, start + _BLOCK_PATHS)
        rates[block], status[block] = _irr_block(flows[block], tol, max_iter)
    return rates, status


def _irr_block(flows: FloatArray, tol: float, max_iter: int) -> tuple[FloatArray, NDArray[np.int8]]:
    """Compute IRR and status codes for one block of paths.

    Args:
        flows: Cash flows, shape ``[paths, periods]``, float64.
        tol: Tolerance on the estimated absolute error of the rate.
        max_iter: Maximum number of iterations of the safeguarded solver.

    Returns:
        A tuple ``(rates, status)``, both of shape ``[paths]``.
    """
    n_rows = flows.shape[0]
    rates = np.full(n_rows, np.nan)
    status = np.full(n_rows, IRR_NO_ROOT, dtype=np.int8)
    if n_rows == 0:
        return rates, status

    n_periods = flows.shape[1]
    if n_periods == 0:  # no flow at all: nothing invested
        status[:] = IRR_UNDEFINED
        return rates, status
    flows_pm = np.ascontiguousarray(flows.T)  # period-major [periods, paths]
    finite = np.isfinite(flows_pm.sum(axis=0))
    if not finite.all():  # the cheap test above may overflow for huge flows
        maybe = np.flatnonzero(~finite)
        finite[maybe] = np.isfinite(flows[maybe]).all(axis=1)
    neg = flows_pm < 0
    pos = flows_pm > 0
    first_neg, last_neg = _block_bounds(neg)
    first_pos, last_pos = _block_bounds(pos)
    has_neg = (first_neg < n_periods) & finite
    has_pos = (first_pos < n_periods) & finite

    total_loss = has_neg & ~has_pos
    rates[total_loss] = -1.0
    status[total_loss] = IRR_TOTAL_LOSS
    status[finite & ~has_neg] = IRR_UNDEFINED

    both = has_neg & has_pos
    if not both.any():
        return rates, status
    # Exactly one sign change <=> one sign block entirely precedes the other.
    outflow_first = last_neg < first_pos
    single = both & (outflow_first | (last_pos < first_neg))
    multi = both & ~single

    fallback = np.zeros(n_rows, dtype=np.bool_)
    if single.any():
        rows = np.flatnonzero(single)
        bounds = np.stack([first_neg, last_neg, first_pos, last_pos])
        if rows.size == n_rows:
            sub, first_block = flows_pm, outflow_first
        else:
            sub = flows_pm[:, rows]
            first_block, bounds = outflow_first[rows], bounds[:, rows]
        r, ok = _single_change_irr(sub, first_block, bounds, tol, max_iter)
        rates[rows] = r
        status[rows[ok]] = IRR_OK
        fallback[rows[~ok]] = True
    if multi.any():
        rows = np.flatnonzero(multi)
        r, ok = _multi_change_irr(flows_pm[:, rows], tol, max_iter)
        rates[rows] = r
        status[rows[ok]] = IRR_OK
    if fallback.any():
        # Single-change roots out of the safe exponent range (extreme rates).
        rows = np.flatnonzero(fallback)
        r, ok = _roots_irr(flows[rows])
        rates[rows] = r
        status[rows[ok]] = IRR_OK
    return rates, status


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def irr_with_status(
    flows: ArrayLike, *, tol: float = 1e-12, max_iter: int = 100
) -> tuple[FloatArray, Int8Array]:
    """Compute the per-period IRR and its status code in one pass.

    Args:
        flows: Cash flows at periods ``0..T-1``, shape ``[periods]`` or
            ``[paths, periods]``.
        tol: Tolerance on the estimated absolute error of the rate.
        max_iter: Maximum Halley/bisection iterations.

    Returns:
        ``(rates, status)`` with shape ``flows.shape[:-1]``: 0-d arrays for
        ``[periods]`` input, shape ``[paths]`` otherwise.  See :func:`irr`
        and :func:`irr_status`.

    Raises:
        ValueError: If ``flows`` is not 1-D/2-D, ``tol < 0`` or
            ``max_iter < 1``.
    """
    mat, was_1d = _as_2d(flows)
    rates, status = _irr_core(mat, tol, max_iter)
    if was_1d:
        return rates.reshape(()), status.reshape(())
    return rates, status


def irr(flows: ArrayLike, *, tol: float = 1e-12, max_iter: int = 100) -> FloatArray:
    """Compute the per-period internal rate of return of each path.

    Fully vectorised over paths (Python loops run only over periods,
    iterations, polynomial degrees and cache-sized blocks of paths).  The
    rate ``r`` solves ``sum_t flows[t] / (1 + r)**t = 0``.  Leading,
    trailing and inner zero flows are fine.

    Semantics per row (see the module docstring for the algorithms):

    * outflows but no inflow (total loss): exactly ``-1.0``;
    * no outflow (all ``>= 0``, including all zeros): ``NaN``;
    * exactly one sign change: the unique root in ``(-1, inf)``;
    * several sign changes: the root ``numpy_financial.irr`` returns (the
      real root closest to zero); ``NaN`` if there is no real root;
    * any non-finite flow: ``NaN``.

    Use :func:`irr_status` (or :func:`irr_with_status`) to tell these cases
    apart.

    Args:
        flows: Cash flows at equally spaced periods ``0..T-1``, shape
            ``[periods]`` or ``[paths, periods]``; float32 (or integer) input
            is computed in float64.
        tol: Convergence tolerance: estimated absolute error of the
            per-period rate, from the last (cubically convergent) Halley
            step.  The result is usually accurate to a few ulps.
        max_iter: Maximum Halley/bisection iterations; rows not converged
            (practically never with the defaults) are handed to the
            eigenvalue solver.

    Returns:
        Per-period IRR, float64 with shape ``flows.shape[:-1]``: a 0-d array
        for ``[periods]`` input (use ``float()`` for a Python float), shape
        ``[paths]`` for ``[paths, periods]`` input.

    Raises:
        ValueError: If ``flows`` is not 1-D/2-D, ``tol < 0`` or
            ``max_iter < 1``.
    """
    return irr_with_status(flows, tol=tol, max_iter=max_iter)[0]


def irr_status(flows: ArrayLike, *, tol: float = 1e-12, max_iter: int = 100) -> Int8Array:
    """Classify the IRR of each path.

    Codes: ``0`` (:data:`IRR_OK`) regular root; ``1``
    (:data:`IRR_TOTAL_LOSS`) total loss, IRR is -100%; ``2``
    (:data:`IRR_UNDEFINED`) no outflow / no sign change, IRR undefined;
    ``3`` (:data:`IRR_NO_ROOT`) no root found (several sign changes without a
    real root in ``(-1, inf)``, or non-finite flows).

    Args:
        flows: Cash flows, shape ``[periods]`` or ``[paths, periods]``.
        tol: Same as in :func:`irr`.
        max_iter: Same as in :func:`irr`.

    Returns:
        int8 codes with shape ``flows.shape[:-1]`` (0-d for ``[periods]``
        input, ``[paths]`` otherwise).
    """
    return irr_with_status(flows, tol=tol, max_iter=max_iter)[1]


def annualise(rate_per_period: ArrayLike, periods_per_year: float) -> FloatArray:
    """Convert a per-period rate to an effective annual rate.

    Computes ``(1 + r) ** periods_per_year - 1`` (via ``expm1``/``log1p`` for
    accuracy).  ``NaN`` stays ``NaN`` and ``-1`` stays ``-1``; rates below
    ``-1`` give ``NaN``.

    Args:
        rate_per_period: Per-period rate(s), any shape (e.g. ``[paths]``).
        periods_per_year: Number of periods per year (e.g. 4 for quarterly).

    Returns:
        Annual rate(s), float64 with the shape of ``rate_per_period`` (0-d
        for scalar input).

    Raises:
        ValueError: If ``periods_per_year`` is not positive.
    """
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be > 0, got {periods_per_year!r}")
    r = np.asarray(rate_per_period, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.expm1(periods_per_year * np.log1p(r))
    return np.asarray(out, dtype=np.float64)


def discount_factors(n_periods: int, annual_rate: float, periods_per_year: float = 1) -> FloatArray:
    """Compute discount factors for periods ``0..n_periods-1``.

    The factor for period ``t`` is
    ``(1 + annual_rate) ** (-t / periods_per_year)``.

    Args:
        n_periods: Number of periods ``T``.
        annual_rate: Effective annual discount rate (``> -1``).
        periods_per_year: Number of periods per year.

    Returns:
        Discount factors, shape ``[periods]``; the first one is ``1.0``.

    Raises:
        ValueError: If ``n_periods < 0``, ``annual_rate <= -1`` or
            ``periods_per_year <= 0``.
    """
    if n_periods < 0:
        raise ValueError(f"n_periods must be >= 0, got {n_periods!r}")
    if not annual_rate > -1:
        raise ValueError(f"annual_rate must be > -1, got {annual_rate!r}")
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be > 0, got {periods_per_year!r}")
    t = np.arange(n_periods, dtype=np.float64)
    return np.asarray(np.exp(-(t / periods_per_year) * np.log1p(annual_rate)))


def npv(flows: ArrayLike, annual_rate: float, periods_per_year: float = 1) -> FloatArray:
    """Compute the net present value of each path.

    ``npv = sum_t flows[t] * (1 + annual_rate) ** (-t / periods_per_year)``;
    the flow at period 0 is not discounted.  NaN flows propagate.

    Args:
        flows: Cash flows, shape ``[periods]`` or ``[paths, periods]``.
        annual_rate: Effective annual discount rate (``> -1``).
        periods_per_year: Number of periods per year.

    Returns:
        NPV, float64 with shape ``flows.shape[:-1]`` (0-d for ``[periods]``
        input, ``[paths]`` otherwise).

    Raises:
        ValueError: As :func:`discount_factors`, or if ``flows`` is not
            1-D/2-D.
    """
    mat, was_1d = _as_2d(flows)
    factors = discount_factors(mat.shape[1], annual_rate, periods_per_year)
    out: FloatArray = (mat * factors).sum(axis=1)
    return out.reshape(()) if was_1d else out


def moic(flows: ArrayLike) -> FloatArray:
    """Compute the multiple on invested capital of each path.

    ``moic = sum(inflows) / sum(|outflows|)``, undiscounted; ``NaN`` where a
    path has no outflow (and where flows are NaN), ``0.0`` for a total loss.

    Args:
        flows: Cash flows, shape ``[periods]`` or ``[paths, periods]``.

    Returns:
        MOIC, float64 with shape ``flows.shape[:-1]`` (0-d for ``[periods]``
        input, ``[paths]`` otherwise).

    Raises:
        ValueError: If ``flows`` is not 1-D/2-D.
    """
    mat, was_1d = _as_2d(flows)
    inflow = np.maximum(mat, 0.0).sum(axis=1)  # NaN propagates
    outflow = np.maximum(-mat, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(outflow > 0, inflow / outflow, np.nan)
    return out.reshape(()) if was_1d else out
