"""Shared pieces of the analyses: metric statistics, labels, reusable sampled paths.

Stage: analysis (above the engine). An analysis asks the same question of many
variants of one scenario; :class:`PathSet` samples the paths once and pushes them
through :func:`pfs.engine.run_chunk` for every variant, so every variant sees the same
draws (common random numbers) and sampling is paid for once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pfs.distributions import value_mean, value_quantile
from pfs.engine import DEFAULT_CHUNK, run_chunk
from pfs.formatting import metric_label
from pfs.results import PeriodArrays, Results
from pfs.sampling import Draws, draws_from_uniforms, sample, stream_dims
from pfs.scenario import PfsError, Sampling, Scenario

FloatArray = NDArray[np.float64]

DEFAULT_METRICS = ("gov_net_savings_pv", "investor_irr", "p_investor_repaid")
"""The three questions of a tornado: government savings, investor return, repayment."""

STATISTICS = ("mean", "p05", "p10", "p25", "p50", "p75", "p90", "p95")


# ------------------------------------------------------------------------- metrics
def split_metric(spec: str) -> tuple[str, str]:
    """``"investor_irr:p50"`` -> ``("investor_irr", "p50")``; default statistic mean.

    Raises:
        PfsError: for an unknown statistic.
    """
    name, _, stat = spec.partition(":")
    stat = stat or "mean"
    if stat not in STATISTICS:
        raise PfsError(f"unknown statistic {stat!r} in {spec!r} (known: {', '.join(STATISTICS)})")
    return name, stat


def per_path(res: Results, name: str) -> FloatArray:
    """Per-path values of a metric (``investor_irr``) or 0/1 of a probability (``p_*``).

    Raises:
        PfsError: when the name is neither.
    """
    if name in res.metrics:
        return res.metrics[name]
    flags = res.flags()
    if name in flags:
        return flags[name].astype(np.float64)
    known = [k for k in res.metrics if not k.startswith("input.")]
    raise PfsError(
        f"unknown metric {name!r} (per-path metrics: {', '.join(known[:12])}, ...; "
        f"probabilities: {', '.join(k for k in flags if '.' not in k)})"
    )


def statistic(values: FloatArray, stat: str = "mean") -> float:
    """A statistic of per-path values over the finite ones (NaN IRRs are skipped)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan
    if stat == "mean":
        return float(finite.mean())
    return float(np.quantile(finite, int(stat[1:]) / 100))


def metric_stat(res: Results, spec: str) -> float:
    """The value of a metric spec (``name`` or ``name:stat``) for a run."""
    name, stat = split_metric(spec)
    return statistic(per_path(res, name), stat)


def metric_se(res: Results, spec: str) -> float:
    """Monte Carlo standard error of a mean metric (NaN for quantiles)."""
    name, stat = split_metric(spec)
    if stat != "mean":
        return math.nan
    values = per_path(res, name)
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size > 1 else math.nan


def paired_se(low: FloatArray, high: FloatArray) -> float:
    """Standard error of ``mean(high - low)`` over paths where both are finite."""
    diff = high - low
    diff = diff[np.isfinite(diff)]
    return float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else math.nan


def spec_label(spec: str) -> str:
    """Plain label of a metric spec, e.g. ``Investor IRR (annual) — median``."""
    name, stat = split_metric(spec)
    label = metric_label(name)
    if stat == "mean":
        return label
    return f"{label} — {'median' if stat == 'p50' else stat.upper()}"


# -------------------------------------------------------------------------- inputs
_FIELD_WORDS = {
    "enrollment_factor": "enrolment factor",
    "cost_per_participant": "cost per participant",
    "baseline": "baseline",
    "effect": "true effect",
    "value_per_unit": "value per unit",
    "evaluation.bias": "evaluation bias",
    "evaluation.noise": "evaluation noise",
    "evaluation.standard_error": "evaluation standard error",
    "payment.price_per_unit": "price per unit",
    "payment.threshold": "payment threshold",
    "payment.cap": "payment cap",
}


def input_label(sc: Scenario, name: str) -> str:
    """Plain label of an input or parameter by dotted name.

    ``outcomes.bed_days.effect`` -> ``Jail bed-days avoided: true effect``.
    """
    parts = name.split(".")
    if parts[0] == "program" and len(parts) == 2:
        return _FIELD_WORDS.get(parts[1], parts[1].replace("_", " ")).capitalize()
    if parts[:2] == ["program", "fixed_costs"] and len(parts) >= 4:
        return f"Fixed cost {parts[2]}: {parts[3].replace('_', ' ')}"
    if parts[0] == "outcomes" and len(parts) >= 3:
        known = {o.id: (o.label or o.id) for o in sc.outcomes}
        rest = ".".join(parts[2:])
        words = _FIELD_WORDS.get(rest, rest.replace(".", " ").replace("_", " "))
        return f"{known.get(parts[1], parts[1])}: {words}"
    return name


def effect_input(sc: Scenario, outcome_id: str | None) -> str:
    """Dotted name of an outcome's true effect (first outcome by default).

    Raises:
        PfsError: when there is no such outcome.
    """
    ids = [o.id for o in sc.outcomes]
    outcome_id = outcome_id or ids[0]
    if outcome_id not in ids:
        raise PfsError(f"no outcome {outcome_id!r} (outcomes: {', '.join(ids)})")
    return f"outcomes.{outcome_id}.effect"


def current_value(sc: Scenario, name: str) -> object:
    """The value at a dotted path of the scenario (a number, a dist, ...).

    Raises:
        PfsError: when the path names no field.
    """
    node: object = sc.model_dump(mode="json")
    for part in name.split("."):
        if isinstance(node, list):
            match = [
                item
                for item in node
                if isinstance(item, dict) and part in (item.get("id"), item.get("name"))
            ]
            if not match and part.isdigit() and int(part) < len(node):
                match = [node[int(part)]]
            if not match:
                raise PfsError(f"{name}: no item {part!r}")
            node = match[0]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise PfsError(f"{name}: no field {part!r}")
    return node


def central_values(sc: Scenario, at: str = "median") -> dict[str, float]:
    """Every uncertain input at its median (``at="median"``) or mean (``"mean"``)."""
    if at not in ("median", "mean"):
        raise PfsError(f"'at' must be 'median' or 'mean', got {at!r}")
    specs = sc.uncertain_inputs()
    if at == "mean":
        return {name: value_mean(spec) for name, spec in specs.items()}
    return {name: value_quantile(spec, 0.5) for name, spec in specs.items()}


def central_draws(sc: Scenario, n: int, at: str = "median") -> Draws:
    """``n`` identical deterministic paths: inputs at their centre, no evaluation noise."""
    uniforms = {name: np.full((n, dim), 0.5) for name, dim in stream_dims(sc).items()}
    draws = draws_from_uniforms(sc, uniforms, 0)
    draws.n = n
    for name, value in central_values(sc, at).items():
        draws.values[name] = np.full(n, value)
    for o in sc.outcomes:
        draws.noise[o.id] = np.zeros_like(draws.noise[o.id])
    return draws


# ----------------------------------------------------------------------- path sets
def results_from_chunks(
    sc: Scenario,
    chunks: list[tuple[dict[str, FloatArray], PeriodArrays]],
    seed: int,
    method: Sampling,
    started: float,
) -> Results:
    """Join chunk outputs into a :class:`Results` (as :func:`pfs.simulate` would)."""
    metrics = {k: np.concatenate([m[k] for m, _ in chunks]) for k in chunks[0][0]}
    periods = PeriodArrays.concatenate([p for _, p in chunks])
    return Results(sc, metrics, periods, seed, method, time.perf_counter() - started)


@dataclass
class PathSet:
    """Paths sampled once, reused for every variant of a scenario.

    Variants whose random streams are the scenario's own (a price, a cap, a standard
    error) reuse the draws; an input can also be pinned to a value or shifted, path by
    path. A variant with other streams is sampled afresh with the same seed (common
    random numbers by input name). Results equal :func:`pfs.simulate`'s on the same
    scenario, paths, seed and sampling.

    Attributes:
        scenario: the base scenario.
        seed: the random seed.
        sampling: the sampling method.
        chunk_size: paths per chunk.
        chunks: the sampled draws, chunk by chunk.
    """

    scenario: Scenario
    seed: int
    sampling: Sampling
    chunk_size: int
    chunks: list[Draws]

    @classmethod
    def draw(
        cls,
        sc: Scenario,
        paths: int | None = None,
        seed: int | None = None,
        sampling: Sampling | str | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> PathSet:
        """Sample ``paths`` paths of ``sc`` (defaults: the scenario's settings).

        Raises:
            PfsError: for a non-positive number of paths.
        """
        sim = sc.simulation
        paths = sim.paths if paths is None else int(paths)
        if paths <= 0:
            raise PfsError(f"paths must be a positive number, got {paths}")
        out = cls(
            scenario=sc,
            seed=sim.seed if seed is None else int(seed),
            sampling=Sampling(sampling if sampling is not None else sim.sampling),
            chunk_size=chunk_size,
            chunks=[],
        )
        out.extend(paths)
        return out

    @property
    def n_paths(self) -> int:
        """Number of sampled paths."""
        return sum(d.n for d in self.chunks)

    def extend(self, paths: int) -> None:
        """Sample more paths so there are ``paths`` in all (the first ones unchanged)."""
        start = self.n_paths
        while start < paths:
            stop = min((start // self.chunk_size + 1) * self.chunk_size, paths)
            self.chunks.append(sample(self.scenario, start, stop, self.seed, self.sampling))
            start = stop

    def run(
        self,
        variant: Scenario | None = None,
        *,
        pin: Mapping[str, float] | None = None,
        shift: Mapping[str, float] | None = None,
    ) -> Results:
        """Simulate a variant on these paths.

        Args:
            variant: a scenario differing from the base in deterministic fields
                (default: the base scenario).
            pin: input name -> value for every path (the input need not be
                uncertain: a fixed field the engine reads by that name works too).
            shift: input name -> amount added to its value on every path.

        Returns:
            The variant's :class:`~pfs.results.Results`.
        """
        sc = variant or self.scenario
        started = time.perf_counter()
        outputs = []
        for draws in self.draws_for(variant, pin=pin, shift=shift):
            result = run_chunk(sc, draws)
            outputs.append((result.metrics, result.periods))
        return results_from_chunks(sc, outputs, self.seed, self.sampling, started)

    def draws_for(
        self,
        variant: Scenario | None = None,
        *,
        pin: Mapping[str, float] | None = None,
        shift: Mapping[str, float] | None = None,
    ) -> Iterator[Draws]:
        """The draws of each chunk for a variant, pinned and shifted (see :meth:`run`)."""
        sc = variant or self.scenario
        check_inputs(sc, [*(pin or {}), *(shift or {})])
        resample = variant is not None and stream_dims(variant) != stream_dims(self.scenario)
        for draws in self.chunks:
            if resample:
                draws = sample(sc, draws.start, draws.start + draws.n, self.seed, self.sampling)
            yield _adjust(sc, draws, pin or {}, shift or {})


def _adjust(
    sc: Scenario, draws: Draws, pin: Mapping[str, float], shift: Mapping[str, float]
) -> Draws:
    if not pin and not shift:
        return draws
    values = dict(draws.values)
    for name, value in pin.items():
        values[name] = np.full(draws.n, float(value))
    for name, delta in shift.items():
        base = values.get(name)
        if base is None:
            fixed = current_value(sc, name)
            if not isinstance(fixed, int | float):
                raise PfsError(f"{name}: cannot shift a value that is not a number")
            base = np.full(draws.n, float(fixed))
        values[name] = base + float(delta)
    return Draws(start=draws.start, n=draws.n, values=values, noise=draws.noise)


def input_names(sc: Scenario) -> list[str]:
    """Every input the engine reads by dotted name, uncertain or fixed.

    These are the names a :class:`PathSet` can pin or shift, and the names
    :meth:`~pfs.scenario.Scenario.uncertain_inputs` uses when they are uncertain.
    """
    names = ["program.enrollment_factor", "program.cost_per_participant"]
    names += [f"program.fixed_costs.{fc.name}.per_period" for fc in sc.program.fixed_costs]
    for o in sc.outcomes:
        names += [
            f"outcomes.{o.id}.{field}"
            for field in ("baseline", "effect", "value_per_unit", "evaluation.bias")
        ]
    return names


def check_inputs(sc: Scenario, names: Iterable[str], *, uncertain: bool = False) -> list[str]:
    """Check that each name is an input of ``sc`` (an uncertain one if ``uncertain``).

    Raises:
        PfsError: naming the first unknown input and listing the allowed ones.
    """
    allowed = list(sc.uncertain_inputs()) if uncertain else input_names(sc)
    out = []
    for name in names:
        if name not in allowed:
            kind = "an uncertain input" if uncertain else "an input"
            raise PfsError(f"{name!r} is not {kind} (known: {', '.join(allowed) or 'none'})")
        out.append(name)
    return out
