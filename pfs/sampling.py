"""Seeded, blocked random streams: the one place random numbers are drawn.

Stage: sample. Takes a :class:`~pfs.scenario.Scenario`, a seed and a path range and
returns :class:`Draws` (uniforms turned into values, arrays ``[paths]`` per input).

Every uncertain input has its own stream keyed by ``(seed, input name, block)`` with
blocks of ``BLOCK = 2**16`` paths, so a path's draws do not depend on how paths are
chunked or which backend runs them, and two scenarios that share an input name share
its draws (common random numbers). Methods: ``random`` (independent uniforms),
``lhs`` (Latin hypercube stratified within each block), ``sobol`` (one scrambled
Sobol' sequence over all inputs, in sorted-name order, fast-forwarded to the range).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.stats import qmc

from pfs.distributions import value_ppf
from pfs.scenario import Measurement, Sampling, Scenario

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


def sobol_uniforms(
    seed: int, dims: dict[str, int], start: int, stop: int
) -> dict[str, FloatArray]:
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
        groups = 1 if o.evaluation.measurement == Measurement.pooled else len(sc.program.cohorts)
        dims[noise_name(o.id)] = groups
    return dims


def sample(
    sc: Scenario,
    start: int,
    stop: int,
    seed: int,
    method: Sampling | str = Sampling.random,
) -> Draws:
    """Draw every uncertain input of ``sc`` for paths ``[start, stop)``."""
    method = Sampling(method)
    specs = sc.uncertain_inputs()
    dims = stream_dims(sc)
    if method == Sampling.sobol:
        uniforms = sobol_uniforms(seed, dims, start, stop)
    else:
        uniforms = {n: stream_uniforms(seed, n, start, stop, d, method) for n, d in dims.items()}
    draws = Draws(start=start, n=stop - start)
    from scipy.special import ndtri

    for name, u in uniforms.items():
        if name in specs:
            draws.values[name] = value_ppf(specs[name], u[:, 0])
        else:
            draws.noise[name.split(".")[1]] = ndtri(u)
    return draws
