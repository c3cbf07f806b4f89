"""Seeded, blocked random streams: the one place random numbers are drawn.

Stage: sample. Takes a :class:`~pfs.scenario.Scenario`, a seed and a path range and
returns :class:`Draws` (uniforms turned into values, arrays ``[paths]`` per input).

Every uncertain input has its own stream keyed by ``(seed, input name, block)`` with
blocks of ``BLOCK = 2**16`` paths, so a path's draws do not depend on how paths are
chunked or which backend runs them, and two scenarios that share an input name share
its draws (common random numbers). Methods: ``random`` (independent uniforms),
``lhs`` (Latin hypercube stratified within each block), ``sobol`` (one scrambled
Sobol' sequence over all inputs, in sorted-name order, fast-forwarded to the range).

Correlated inputs (``Scenario.correlations``) are joined by a Gaussian copula applied
path by path to the uniforms, after they are drawn: the uniforms become normal
scores, the scores of the correlated inputs are mixed by a lower-triangular factor
of their normal-score correlation matrix, and mapped back to uniforms. Marginals are
unchanged, results stay independent of chunking, inputs outside any correlation keep
their draws exactly (common random numbers), and so does the first correlated input
in sorted-name order. ``rho`` is Spearman's rank correlation; the normal-score
correlation that gives it is ``2 sin(pi rho / 6)``. Under ``lhs`` the other correlated
inputs lose the exact stratification (their marginals stay exact in distribution);
under ``sobol`` the copula mixes columns of the same low-discrepancy point.

Limits, by design of the blocked streams: Latin hypercube strata span a whole block
of 65,536 paths, so a run of fewer paths is stratified only in part (it is still a
valid random sample); Sobol' points are shared between two scenarios only when they
have the same uncertain inputs (the sequence's dimensions are all inputs together),
so comparisons that need common random numbers should use ``random`` or ``lhs``.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri
from scipy.stats import qmc

from pfs.distributions import value_ppf
from pfs.scenario import Sampling, Scenario

BLOCK = 2**16
_EPS = np.finfo(np.float64).eps

FloatArray = NDArray[np.float64]


def stream_key(name: str) -> int:
    """A stable 64-bit key for an input name (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def _block_rng(seed: int, name: str, block: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream_key(name), block]))


def _block_uniforms(
    seed: int, name: str, block: int, dim: int, method: Sampling, rows: int = BLOCK
) -> FloatArray:
    """The first ``rows`` rows of a block (a prefix is the same numbers as the whole)."""
    rng = _block_rng(seed, name, block)
    if method == Sampling.lhs:
        strata = np.stack([rng.permutation(BLOCK) for _ in range(dim)], axis=1)
        return ((strata + rng.random((BLOCK, dim))) / BLOCK)[:rows]
    return rng.random((rows, dim))


def stream_uniforms(
    seed: int, name: str, start: int, stop: int, dim: int = 1, method: Sampling = Sampling.random
) -> FloatArray:
    """Uniforms in (0, 1) for paths ``[start, stop)`` of one named stream.

    Returns:
        Array ``[stop - start, dim]``.
    """
    first, last = start // BLOCK, (stop - 1) // BLOCK
    parts = [
        _block_uniforms(seed, name, b, dim, method, min(BLOCK, stop - b * BLOCK))
        for b in range(first, last + 1)
    ]
    joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
    offset = start - first * BLOCK
    out = joined[offset : offset + (stop - start)]
    return np.clip(out, _EPS, 1 - _EPS)


def sobol_uniforms(seed: int, dims: dict[str, int], start: int, stop: int) -> dict[str, FloatArray]:
    """Scrambled Sobol' points ``[start, stop)`` split into named input columns."""
    names = sorted(dims)
    total = sum(dims[n] for n in names)
    key = stream_key("|".join(f"{n}:{dims[n]}" for n in names))
    engine = qmc.Sobol(d=total, scramble=True, seed=np.random.default_rng([seed, key]))
    if start:
        engine.fast_forward(start)
    with warnings.catch_warnings():  # chunks need not be powers of two
        warnings.simplefilter("ignore", UserWarning)
        points = np.clip(engine.random(stop - start), _EPS, 1 - _EPS)
    out, col = {}, 0
    for n in names:
        out[n] = points[:, col : col + dims[n]]
        col += dims[n]
    return out


def noise_name(outcome_id: str) -> str:
    """Stream name of an outcome's evaluation sampling error."""
    return f"outcomes.{outcome_id}.evaluation.noise"


@dataclass
class Draws:
    """Sampled inputs for a range of paths.

    Attributes:
        start: first path index (global).
        n: number of paths.
        values: input name -> values ``[n]`` (uncertain inputs only).
        noise: outcome id -> standard-normal evaluation errors ``[n, groups]``.
    """

    start: int
    n: int
    values: dict[str, FloatArray] = field(default_factory=dict)
    noise: dict[str, FloatArray] = field(default_factory=dict)

    def get(self, name: str, fixed: float) -> FloatArray | float:
        """The drawn values of ``name``, or the fixed number when it is not uncertain."""
        return self.values.get(name, fixed)


def stream_dims(sc: Scenario) -> dict[str, int]:
    """Every random stream of a scenario with its dimension."""
    dims = dict.fromkeys(sc.uncertain_inputs(), 1)
    for o in sc.outcomes:
        # one column per cohort whatever the measurement, so that pooled and per-cohort
        # versions of a deal share their evaluation noise (common random numbers)
        dims[noise_name(o.id)] = len(sc.program.cohorts)
    return dims


def spearman_to_normal(rho: FloatArray | float) -> FloatArray:
    """Normal-score (copula) correlation giving Spearman's rank correlation ``rho``."""
    return np.asarray(2.0 * np.sin(np.pi * np.asarray(rho, dtype=np.float64) / 6.0))


def correlation_matrix(sc: Scenario) -> tuple[list[str], FloatArray]:
    """The correlated inputs (sorted names) and their Spearman correlation matrix.

    Returns:
        ``(names, matrix)``; ``matrix`` is ``[k, k]`` with ones on the diagonal and
        zero where no correlation is given. Both are empty without correlations.
    """
    names = sorted({n for c in sc.correlations for n in c.inputs})
    matrix = np.eye(len(names))
    for c in sc.correlations:
        a, b = names.index(c.inputs[0]), names.index(c.inputs[1])
        matrix[a, b] = matrix[b, a] = c.rho
    return names, matrix


def _nearest_correlation(matrix: FloatArray) -> FloatArray:
    """Clip negative eigenvalues and rescale to a unit diagonal (a PSD repair)."""
    values, vectors = np.linalg.eigh(matrix)
    if values.min() >= -1e-12:
        return matrix
    fixed = (vectors * np.maximum(values, 0.0)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return np.asarray(fixed / np.outer(scale, scale), dtype=np.float64)


def copula_factor(spearman: FloatArray) -> FloatArray:
    """Lower-triangular factor ``L`` with ``L @ L.T`` = the normal-score correlation.

    A semi-definite Cholesky: a perfectly dependent input (``rho = ±1``) gets a zero
    pivot instead of an error. Each row has unit length, so every mixed score is
    standard normal and every marginal is exactly preserved.

    Args:
        spearman: Spearman correlation matrix ``[k, k]``.

    Returns:
        ``L`` ``[k, k]``; row ``i`` mixes the scores of inputs ``0..i``.
    """
    target = _nearest_correlation(spearman_to_normal(spearman))
    np.fill_diagonal(target, 1.0)
    k = target.shape[0]
    factor = np.zeros((k, k))
    for j in range(k):
        pivot = target[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot > 1e-12:
            factor[j, j] = np.sqrt(pivot)
            factor[j + 1 :, j] = (target[j + 1 :, j] - factor[j + 1 :, :j] @ factor[j, :j]) / (
                factor[j, j]
            )
    norms = np.linalg.norm(factor, axis=1)
    return np.asarray(factor / np.where(norms > 0, norms, 1.0)[:, None], dtype=np.float64)


def correlate_uniforms(
    uniforms: dict[str, FloatArray], names: list[str], factor: FloatArray
) -> dict[str, FloatArray]:
    """Apply the Gaussian copula to the uniforms of ``names`` (path by path).

    Args:
        uniforms: stream name -> uniforms ``[paths, dim]`` (correlated inputs have
            ``dim == 1``); not modified.
        names: the correlated inputs, in the order of ``factor``'s rows.
        factor: output of :func:`copula_factor`.

    Returns:
        A new mapping where each correlated input whose row of ``factor`` is not a
        unit vector is replaced; every other stream is the same array as before.
    """
    if not names:
        return uniforms
    out = dict(uniforms)
    scores = ndtri(np.stack([uniforms[n][:, 0] for n in names], axis=1))
    mixed = scores @ factor.T
    for i, name in enumerate(names):
        unit = np.zeros(len(names))
        unit[i] = 1.0
        if np.array_equal(factor[i], unit):
            continue
        out[name] = np.clip(ndtr(mixed[:, i]), _EPS, 1 - _EPS)[:, None]
    return out


def draws_from_uniforms(sc: Scenario, uniforms: dict[str, FloatArray], start: int) -> Draws:
    """Turn each stream's uniforms into values: inputs by their ppf, noise by ``ndtri``.

    Args:
        sc: the scenario whose streams these are.
        uniforms: stream name -> uniforms ``[paths, dim]`` (see :func:`stream_dims`).
        start: global index of the first path.

    Returns:
        The :class:`Draws` the engine consumes.
    """
    specs = sc.uncertain_inputs()
    n = next(iter(uniforms.values())).shape[0] if uniforms else 0
    draws = Draws(start=start, n=n)
    for name, u in uniforms.items():
        if name in specs:
            draws.values[name] = value_ppf(specs[name], u[:, 0])
        else:
            draws.noise[name.split(".")[1]] = ndtri(u)
    return draws


def sample(
    sc: Scenario,
    start: int,
    stop: int,
    seed: int,
    method: Sampling | str = Sampling.random,
) -> Draws:
    """Draw every uncertain input of ``sc`` for paths ``[start, stop)``.

    Correlated inputs are joined by the scenario's Gaussian copula (see the module
    docstring); path ``i`` gets the same values whatever the range asked for.
    """
    method = Sampling(method)
    dims = stream_dims(sc)
    if method == Sampling.sobol:
        uniforms = sobol_uniforms(seed, dims, start, stop)
    else:
        uniforms = {n: stream_uniforms(seed, n, start, stop, d, method) for n, d in dims.items()}
    if sc.correlations:
        names, spearman = correlation_matrix(sc)
        uniforms = correlate_uniforms(uniforms, names, copula_factor(spearman))
    draws = draws_from_uniforms(sc, uniforms, start)
    draws.n = stop - start
    return draws
