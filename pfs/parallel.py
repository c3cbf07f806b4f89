"""Scale-out: execution backends, split single runs and streaming summaries.

Stage: orchestration, beside :mod:`pfs.engine`. Three things live here:

- **Backends** (:func:`open_backend`): ``serial`` (in-process), ``processes``
  (:class:`concurrent.futures.ProcessPoolExecutor`, spawn-safe top-level task
  functions) and ``dask`` (a ``distributed.Client`` on a scheduler address, on a
  ``LocalCluster`` started for the run, or on a client the caller already holds).
  Each maps a top-level function over task arguments and yields results in
  submission order.
- **Split single runs** (:func:`simulate_split`): one scenario's path range is cut
  into blocks (whole multiples of the engine's chunk), each block runs
  :func:`pfs.sampling.sample` and :func:`pfs.engine.run_chunk` chunk by chunk on a
  worker, and the client joins the per-path arrays in path order into a
  :class:`~pfs.results.Results`. Random streams are keyed by (seed, input, block of
  ``2**16`` paths) and chunk boundaries are those of :func:`pfs.simulate`, so the
  result is bit-identical to :func:`pfs.simulate` whatever the backend.
- **Streaming summaries** (:func:`simulate_summary`): for runs too large to keep
  per-path arrays (1e7 paths), each block is reduced on its worker to mergeable
  summaries (count, mean and sum of squared deviations per metric, exact counts for
  the probabilities, log-bucketed quantile sketches with a guaranteed relative
  accuracy, optional float32 copies of chosen metrics) and the client merges them in
  block order, so memory stays bounded and the answer does not depend on the backend.

Workers receive the scenario as plain data (``Scenario.model_dump()``), never
pickled model objects, and send back arrays of their own blocks only.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing import get_context
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pfs.engine import DEFAULT_CHUNK, run_chunk
from pfs.government import by_fiscal_year
from pfs.results import (
    INVESTOR_PROBABILITIES,
    QUANTILES,
    PeriodArrays,
    Results,
    has_investors,
    tranche_loss_flags,
    tranche_row,
)
from pfs.sampling import sample
from pfs.scenario import PfsError, Sampling, Scenario, scenario_from_dict

FloatArray = NDArray[np.float64]
T = TypeVar("T")

DEFAULT_ALPHA = 1e-3
"""Relative accuracy of streamed quantiles (0.1%: below what any table shows)."""

ZERO_BAND = 1e-9
"""Values smaller than this in magnitude count as zero in the quantile sketches."""

DASK_CONNECT_TIMEOUT = "10s"

SINGLE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

LOCAL_CLUSTER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""Dask config for the ``LocalCluster`` pfs starts.

Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers, which also pins
glibc's mmap threshold at 128 kB: every engine temporary is then a fresh ``mmap``
and the engine runs about twice as slowly (measured on the teaching scenario). Its
other settings (one BLAS/OpenMP thread per worker) are kept. Workers started
outside pfs (``--scheduler``) should unset it the same way in their Dask config.
"""


# ----------------------------------------------------------------------- backends
class BackendName(StrEnum):
    """Where the work runs."""

    serial = "serial"
    processes = "processes"
    dask = "dask"


def resolve_backend(
    backend: BackendName | str | None, workers: int | None, scheduler: object | None
) -> BackendName:
    """Check a backend choice and fill in the default.

    Without an explicit ``backend``: ``dask`` when a scheduler or a number of
    workers is given (a ``LocalCluster`` of that many workers), else ``serial``.

    Raises:
        PfsError: unknown backend, or options that do not fit it.
    """
    if backend is None:
        wants_dask = scheduler is not None or workers is not None
        chosen = BackendName.dask if wants_dask else BackendName.serial
    else:
        try:
            chosen = BackendName(str(backend))
        except ValueError:
            names = ", ".join(b.value for b in BackendName)
            raise PfsError(f"unknown backend {backend!r} (choose {names})") from None
    if workers is not None and workers < 1:
        raise PfsError(f"workers must be at least 1, got {workers}")
    if scheduler is not None and chosen != BackendName.dask:
        raise PfsError(f"a scheduler address needs the dask backend, not {chosen.value}")
    if scheduler is not None and workers is not None:
        raise PfsError("give either a scheduler address or a number of workers, not both")
    if workers is not None and chosen == BackendName.serial:
        raise PfsError("workers needs the processes or dask backend (serial runs in-process)")
    return chosen


class Backend:
    """Runs a top-level function over task arguments; results come in task order.

    Attributes:
        name: the backend's name.
        workers: how many tasks can run at once.
    """

    name: BackendName = BackendName.serial
    workers: int = 1

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> Iterator[T]:
        """``fn`` applied to each tuple of task arguments, in order."""
        return map(fn, *iterables)


class ProcessBackend(Backend):
    """Local worker processes (spawned, so tasks must be importable functions)."""

    name = BackendName.processes

    def __init__(self, pool: ProcessPoolExecutor, workers: int):
        self.pool = pool
        self.workers = workers

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> Iterator[T]:
        """``fn`` over the tasks on the pool, results in order."""
        return self.pool.map(fn, *iterables)


class DaskBackend(Backend):
    """A ``distributed.Client``: a remote scheduler or a ``LocalCluster``."""

    name = BackendName.dask

    def __init__(self, client: Any):
        self.client = client
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> Iterator[T]:
        """Submit every task, then yield results in order, releasing each when read."""
        futures = self.client.map(fn, *(list(i) for i in iterables), pure=False)
        futures.reverse()
        while futures:
            future = futures.pop()
            yield future.result()
            future.release()


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise PfsError(
            "the dask backend needs dask[distributed]: pip install 'pfs[distributed]'"
        ) from None
    return distributed


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """One BLAS/OpenMP thread in spawned workers (as Dask's nanny does), unless set.

    Each worker is one stream of work; letting every worker also start a thread per
    core oversubscribes the machine.
    """
    added = [k for k in SINGLE_THREAD_ENV if k not in os.environ]
    os.environ.update({k: "1" for k in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextmanager
def open_backend(
    backend: BackendName | str | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
) -> Iterator[Backend]:
    """Open a backend for the duration of a ``with`` block and always close it.

    Args:
        backend: ``serial``, ``processes`` or ``dask`` (default: see
            :func:`resolve_backend`).
        workers: processes in the pool, or workers of a Dask ``LocalCluster``
            (default: the machine's CPU count).
        scheduler: a Dask scheduler address (``tcp://host:port``) or an open
            ``distributed.Client`` (used as is and left open).

    Raises:
        PfsError: bad options, dask missing, or a scheduler that cannot be reached.
    """
    chosen = resolve_backend(backend, workers, scheduler)
    count = workers or os.cpu_count() or 1
    if chosen == BackendName.serial:
        yield Backend()
    elif chosen == BackendName.processes:
        with (
            _single_threaded_children(),
            ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn")) as pool,
        ):
            try:
                yield ProcessBackend(pool, count)
            except BrokenProcessPool as err:
                raise PfsError(
                    f"a worker process died ({err}); out of memory, or a script that starts "
                    "processes without an `if __name__ == '__main__':` guard?"
                ) from None
    else:
        distributed = _distributed()
        if scheduler is not None and not isinstance(scheduler, str):
            yield DaskBackend(scheduler)
        elif scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as err:
                raise PfsError(
                    f"cannot connect to the Dask scheduler at {scheduler}: {err}"
                ) from None
            with client:
                yield DaskBackend(client)
        else:
            import logging

            import dask

            with (
                dask.config.set(LOCAL_CLUSTER_CONFIG),
                distributed.LocalCluster(
                    n_workers=count,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                yield DaskBackend(client)


# ------------------------------------------------------------------ plain data
def scenario_payload(sc: Scenario) -> dict[str, Any]:
    """The scenario as plain JSON data (dicts, lists, numbers, strings) for workers.

    Built from the Python-mode dump through :mod:`json`, which keeps infinite bounds
    as ``inf`` (``model_dump(mode="json")`` turns them into ``None``, which does not
    validate back), so the payload always rebuilds the very same scenario.
    """
    data: dict[str, Any] = json.loads(json.dumps(sc.model_dump()))
    return data


def scenario_from_payload(payload: dict[str, Any]) -> Scenario:
    """Rebuild the scenario a worker was sent."""
    return scenario_from_dict(payload, source="<worker>")


@dataclass(frozen=True)
class RunSettings:
    """Resolved settings of one run (defaults taken from the scenario).

    Attributes:
        paths: number of paths.
        seed: random seed.
        sampling: sampling method.
        chunk_size: paths per engine chunk.
        block_size: paths per task (a whole number of chunks).
    """

    paths: int
    seed: int
    sampling: Sampling
    chunk_size: int
    block_size: int

    def blocks(self) -> list[tuple[int, int]]:
        """``(start, stop)`` path ranges of the tasks, in path order."""
        return [
            (start, min(start + self.block_size, self.paths))
            for start in range(0, self.paths, self.block_size)
        ]


def run_settings(
    sc: Scenario,
    paths: int | None,
    seed: int | None,
    sampling: Sampling | str | None,
    chunk_size: int = DEFAULT_CHUNK,
    block_size: int | None = None,
) -> RunSettings:
    """Fill in defaults from the scenario and check the run settings.

    Args:
        sc: the scenario.
        paths: number of paths (default: ``simulation.paths``).
        seed: random seed (default: ``simulation.seed``).
        sampling: sampling method (default: ``simulation.sampling``).
        chunk_size: paths per engine chunk.
        block_size: paths per task; a multiple of ``chunk_size`` so chunk boundaries
            are those of :func:`pfs.simulate` (default: one chunk).

    Raises:
        PfsError: non-positive sizes, a block that is not whole chunks, a bad method.
    """
    sim = sc.simulation
    paths = sim.paths if paths is None else int(paths)
    seed = sim.seed if seed is None else int(seed)
    try:
        method = Sampling(sampling if sampling is not None else sim.sampling)
    except ValueError:
        raise PfsError(
            f"unknown sampling method {sampling!r} (choose random, lhs or sobol)"
        ) from None
    block_size = chunk_size if block_size is None else int(block_size)
    if paths <= 0:
        raise PfsError(f"paths must be a positive number, got {paths}")
    if seed < 0:
        raise PfsError(f"seed must not be negative, got {seed}")
    if chunk_size <= 0:
        raise PfsError(f"chunk_size must be positive, got {chunk_size}")
    if block_size <= 0 or block_size % chunk_size:
        raise PfsError(
            f"block_size must be a positive multiple of chunk_size ({chunk_size}), got {block_size}"
        )
    return RunSettings(paths, seed, method, chunk_size, block_size)


# -------------------------------------------------------------- split single run
@dataclass
class BlockOutput:
    """Per-path outputs of one block of paths (what a worker sends back).

    Attributes:
        start: first path of the block.
        metrics: metric name -> values ``[block paths]``.
        periods: per-period arrays of the block.
        inputs: ``input.<name>`` -> sampled values ``[block paths]``.
    """

    start: int
    metrics: dict[str, FloatArray]
    periods: PeriodArrays
    inputs: dict[str, FloatArray]


def run_block(
    payload: dict[str, Any],
    start: int,
    stop: int,
    seed: int,
    sampling: str,
    chunk_size: int,
    keep_inputs: bool,
) -> BlockOutput:
    """Simulate paths ``[start, stop)`` chunk by chunk, as :func:`pfs.simulate` does.

    A top-level function so that process pools and Dask workers can import it.
    """
    sc = scenario_from_payload(payload)
    method = Sampling(sampling)
    metrics: dict[str, list[FloatArray]] = defaultdict(list)
    inputs: dict[str, list[FloatArray]] = defaultdict(list)
    periods: list[PeriodArrays] = []
    for lo in range(start, stop, chunk_size):
        draws = sample(sc, lo, min(lo + chunk_size, stop), seed, method)
        chunk = run_chunk(sc, draws)
        for name, values in chunk.metrics.items():
            metrics[name].append(values)
        periods.append(chunk.periods)
        if keep_inputs:
            for name, values in draws.values.items():
                inputs[f"input.{name}"].append(values)
    return BlockOutput(
        start=start,
        metrics={k: _join(v) for k, v in metrics.items()},
        periods=periods[0] if len(periods) == 1 else PeriodArrays.concatenate(periods),
        inputs={k: _join(v) for k, v in inputs.items()},
    )


def _join(parts: list[FloatArray]) -> FloatArray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def simulate_split(
    scenario: Scenario,
    paths: int | None = None,
    seed: int | None = None,
    *,
    sampling: Sampling | str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    block_size: int | None = None,
    keep_inputs: bool = True,
    backend: BackendName | str | None = None,
    workers: int | None = None,
    scheduler: Any = None,
) -> Results:
    """:func:`pfs.simulate` with the path range split into blocks over a backend.

    The per-path arrays of each block come back to the client and are joined in path
    order, so memory on the client is that of :func:`pfs.simulate`; for runs too big
    for that use :func:`simulate_summary`. The result is bit-identical to
    ``pfs.simulate(scenario, paths, seed, sampling=..., chunk_size=...)``.

    Args:
        scenario: the deal.
        paths: number of paths (default: the scenario's ``simulation.paths``).
        seed: random seed (default: the scenario's ``simulation.seed``).
        sampling: ``random``, ``lhs`` or ``sobol`` (default: the scenario's).
        chunk_size: paths per engine chunk.
        block_size: paths per task, a multiple of ``chunk_size`` (default: one chunk).
        keep_inputs: keep sampled inputs as ``input.<name>`` columns.
        backend: ``serial``, ``processes`` or ``dask`` (see :func:`open_backend`).
        workers: worker processes (processes, or a Dask ``LocalCluster``).
        scheduler: Dask scheduler address or an open ``distributed.Client``.

    Returns:
        The :class:`~pfs.results.Results` of the whole run.
    """
    settings = run_settings(scenario, paths, seed, sampling, chunk_size, block_size)
    payload = scenario_payload(scenario)
    blocks = settings.blocks()
    started = time.perf_counter()
    with open_backend(backend, workers=workers, scheduler=scheduler) as pool:
        outputs = list(
            pool.map(
                run_block,
                [payload] * len(blocks),
                [b[0] for b in blocks],
                [b[1] for b in blocks],
                [settings.seed] * len(blocks),
                [settings.sampling.value] * len(blocks),
                [settings.chunk_size] * len(blocks),
                [keep_inputs] * len(blocks),
            )
        )
    metrics = {k: _join([o.metrics[k] for o in outputs]) for k in outputs[0].metrics}
    for name in outputs[0].inputs:
        metrics[name] = _join([o.inputs[name] for o in outputs])
    periods = PeriodArrays.concatenate([o.periods for o in outputs])
    return Results(
        scenario=scenario,
        metrics=metrics,
        periods=periods,
        seed=settings.seed,
        sampling=settings.sampling,
        elapsed=time.perf_counter() - started,
    )


# ----------------------------------------------------------- streaming summaries
class QuantileSketch:
    """Mergeable quantile sketch with relative accuracy ``alpha``.

    Buckets are the leading bits of the IEEE-754 float64 pattern: the sign, the
    exponent and the first ``m`` mantissa bits, with ``2**-(m+1) <= alpha``. Within a
    power of two the buckets are equally wide, so each holds values within a ratio
    of ``1 + 2**-m`` and its midpoint is within ``alpha`` (relative) of every value
    in it; keys come from a bit shift, with no logarithm. Magnitudes below
    :data:`ZERO_BAND` count as zero. A quantile is read as the midpoint of the
    bucket holding the order statistic of rank ``floor(q * (n - 1))``, clipped to the
    observed min and max (which the 0 and 1 quantiles are exactly). Bucket edges do
    not depend on the data and counts are integers, so merging is exact and
    order-free: chunking never changes a sketch. Storage is sparse (occupied buckets
    only): a few thousand buckets for a money metric.

    Attributes:
        alpha: relative accuracy.
        count: values added (finite only).
        min: smallest value added.
        max: largest value added.
    """

    def __init__(self, alpha: float = DEFAULT_ALPHA):
        if not 0 < alpha < 1:
            raise PfsError(f"quantile accuracy must be in (0, 1), got {alpha}")
        self.alpha = alpha
        mantissa_bits = min(52, max(0, math.ceil(-math.log2(2 * alpha))))
        self._shift = 52 - mantissa_bits
        # keys at or below this are the zero band; stored keys are offsets from it
        self._zero = int(np.array(ZERO_BAND).view(np.int64)) >> self._shift
        self.count = 0
        self.min = math.inf
        self.max = -math.inf
        self._keys = np.zeros(0, dtype=np.int64)
        self._counts = np.zeros(0, dtype=np.int64)

    def _signed_keys(self, values: FloatArray) -> NDArray[np.int64]:
        """Monotone integer keys: 0 for the zero band, negative for negative values."""
        keys = np.abs(values).view(np.int64)
        keys >>= self._shift
        np.maximum(keys, self._zero, out=keys)
        keys -= self._zero
        return np.where(values < 0, -keys, keys) if values.min() < 0 else keys

    def add(self, values: FloatArray, finite: bool = False) -> None:
        """Add values ``[n]`` (non-finite ones are skipped unless ``finite`` says none)."""
        v = np.ascontiguousarray(values, dtype=np.float64).ravel()
        if not finite and not np.isfinite(v).all():
            v = v[np.isfinite(v)]
        if not v.size:
            return
        low, high = float(v.min()), float(v.max())
        self.count += int(v.size)
        self.min, self.max = min(self.min, low), max(self.max, high)
        if low == high:
            keys = self._signed_keys(v[:1])
            self._add_sparse(keys, np.array([v.size], dtype=np.int64))
            return
        keys = self._signed_keys(v)
        first = int(keys.min())
        dense = np.bincount(keys - first)
        occupied = np.flatnonzero(dense)
        self._add_sparse(occupied + first, dense[occupied])

    def _add_sparse(self, keys: NDArray[np.int64], counts: NDArray[np.int64]) -> None:
        if not self._keys.size:
            self._keys, self._counts = keys.astype(np.int64), counts.astype(np.int64)
            return
        merged, where = np.unique(np.concatenate([self._keys, keys]), return_inverse=True)
        totals = np.zeros(merged.size, dtype=np.int64)
        np.add.at(totals, where, np.concatenate([self._counts, counts]))
        self._keys, self._counts = merged, totals

    def merge(self, other: QuantileSketch) -> None:
        """Add another sketch's counts (same ``alpha``)."""
        if other.alpha != self.alpha:
            raise ValueError("cannot merge sketches of different accuracy")
        if not other.count:
            return
        self.count += other.count
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        self._add_sparse(other._keys, other._counts)

    def _midpoints(self, keys: NDArray[np.int64]) -> FloatArray:
        magnitude = np.abs(keys) + self._zero
        lower = (magnitude << self._shift).view(np.float64)
        upper = ((magnitude + 1) << self._shift).view(np.float64)
        middle = np.where(keys == 0, 0.0, (lower + upper) / 2)
        return np.where(keys < 0, -middle, middle)

    def quantiles(self, qs: Sequence[float]) -> FloatArray:
        """Quantiles ``qs`` (NaN when the sketch is empty)."""
        if not self.count:
            return np.full(len(qs), math.nan)
        ranks = np.floor(np.asarray(qs, dtype=np.float64) * (self.count - 1))
        bucket = np.searchsorted(np.cumsum(self._counts), ranks + 1)
        found = np.clip(self._midpoints(self._keys[bucket]), self.min, self.max)
        found[ranks <= 0] = self.min  # the extremes are known exactly
        found[ranks >= self.count - 1] = self.max
        return found

    def nbytes(self) -> int:
        """Memory held by the occupied buckets."""
        return int(self._keys.nbytes + self._counts.nbytes)


class RunningStats:
    """Streaming count, mean, standard error and quantiles of one metric.

    Mean and sum of squared deviations are merged with Chan's parallel formula;
    non-finite values are skipped (as :meth:`pfs.Results.summary` does).

    Attributes:
        n: finite values seen.
        mean: their mean.
        m2: their sum of squared deviations from the mean.
        sketch: quantile sketch (``None`` when quantiles are not tracked).
    """

    def __init__(self, alpha: float | None = DEFAULT_ALPHA):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sketch = QuantileSketch(alpha) if alpha is not None else None

    def add(self, values: FloatArray) -> None:
        """Add a batch of values ``[n]``."""
        v = np.ascontiguousarray(values, dtype=np.float64)
        if not np.isfinite(v).all():
            v = v[np.isfinite(v)]
        if v.size:
            mean = float(v.mean())
            squares = v - mean
            np.square(squares, out=squares)  # not a BLAS dot: its threads change the sum
            self._combine(int(v.size), mean, float(squares.sum()))
            if self.sketch is not None:
                self.sketch.add(v, finite=True)

    def _combine(self, n: int, mean: float, m2: float) -> None:
        if not n:
            return
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total

    def merge(self, other: RunningStats) -> None:
        """Merge another accumulator (from later paths, to keep a fixed order)."""
        self._combine(other.n, other.mean, other.m2)
        if self.sketch is not None and other.sketch is not None:
            self.sketch.merge(other.sketch)

    def stats(self) -> dict[str, float]:
        """``mean``, ``std_error``, ``p05``, ``p50``, ``p95``, ``n`` like the summary."""
        if not self.n:
            return {
                "mean": math.nan,
                "std_error": math.nan,
                "p05": math.nan,
                "p50": math.nan,
                "p95": math.nan,
                "n": 0,
            }
        se = math.sqrt(self.m2 / (self.n - 1) / self.n) if self.n > 1 else math.nan
        q = (
            self.sketch.quantiles(QUANTILES)
            if self.sketch is not None
            else np.full(len(QUANTILES), math.nan)
        )
        return {
            "mean": self.mean,
            "std_error": se,
            "p05": float(q[0]),
            "p50": float(q[1]),
            "p95": float(q[2]),
            "n": self.n,
        }


def _period_series(sc: Scenario, periods: PeriodArrays) -> dict[str, NDArray[Any]]:
    """The per-period series of :meth:`pfs.Results.by_period`, ``[periods, paths]``."""
    payments = periods.payments.sum(axis=0)
    savings = periods.savings.sum(axis=0)
    series: dict[str, NDArray[Any]] = {
        "outcome_payments": payments,
        "gross_savings": savings,
        "net_savings": savings - payments,
        "programme_costs": periods.costs,
        "investor_net_flow": periods.investor_flows,
    }
    if len(sc.payers) > 1:
        for i, payer in enumerate(sc.payers):
            series[f"outcome_payments.{payer.id}"] = periods.payments[i]
            series[f"gross_savings.{payer.id}"] = periods.savings[i]
    return series


@dataclass
class SummaryParts:
    """Mergeable summaries of a range of paths (what a streamed run accumulates).

    Attributes:
        alpha: relative accuracy of the quantiles.
        metrics: metric name -> running stats over paths.
        flag_counts: probability name -> number of paths where the event happened.
        paths: paths summarised.
        by_period: series name -> running stats per period.
        by_year: series name -> running stats per budget year (empty when a year is
            one period: the per-period stats are then the per-year stats).
        tranche_counts: ``loss.<id>`` / ``loss_over_half.<id>`` -> paths where the
            tranche lost principal (beyond rounding) / more than half of what it drew.
    """

    alpha: float = DEFAULT_ALPHA
    metrics: dict[str, RunningStats] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    tranche_counts: dict[str, int] = field(default_factory=dict)
    paths: int = 0
    by_period: dict[str, list[RunningStats]] = field(default_factory=dict)
    by_year: dict[str, list[RunningStats]] = field(default_factory=dict)

    def add_chunk(
        self, sc: Scenario, metrics: dict[str, FloatArray], periods: PeriodArrays
    ) -> None:
        """Fold one chunk of engine output (``run_chunk``) into the summaries."""
        for name, values in metrics.items():
            self.metrics.setdefault(name, RunningStats(self.alpha)).add(values)
        chunk = Results(sc, metrics, periods, 0, Sampling.random, 0.0)
        for name, flags in chunk.flags().items():
            self.flag_counts[name] = self.flag_counts.get(name, 0) + int(flags.sum())
        for name, flags in tranche_loss_flags(sc, metrics).items():
            self.tranche_counts[name] = self.tranche_counts.get(name, 0) + int(flags.sum())
        self.paths += int(next(iter(metrics.values())).size)
        for name, series in _period_series(sc, periods).items():
            self._add_columns(self.by_period, name, series)
            if sc.periods_per_year > 1:  # with one period a year the tables are equal
                self._add_columns(self.by_year, name, by_fiscal_year(series, sc.periods_per_year))

    def _add_columns(
        self, table: dict[str, list[RunningStats]], name: str, values: NDArray[Any]
    ) -> None:
        if name not in table:
            table[name] = [RunningStats(self.alpha) for _ in range(values.shape[0])]
        columns = np.ascontiguousarray(values, dtype=np.float64)  # [periods, paths]
        for column, stats in zip(columns, table[name], strict=True):
            stats.add(column)

    def merge(self, other: SummaryParts) -> None:
        """Merge the summaries of the next range of paths (order matters to rounding)."""
        for name, stats in other.metrics.items():
            self.metrics.setdefault(name, RunningStats(self.alpha)).merge(stats)
        for name, count in other.flag_counts.items():
            self.flag_counts[name] = self.flag_counts.get(name, 0) + count
        for name, count in other.tranche_counts.items():
            self.tranche_counts[name] = self.tranche_counts.get(name, 0) + count
        self.paths += other.paths
        for own, theirs in ((self.by_period, other.by_period), (self.by_year, other.by_year)):
            for name, columns in theirs.items():
                if name not in own:
                    own[name] = [RunningStats(self.alpha) for _ in columns]
                for mine, stats in zip(own[name], columns, strict=True):
                    mine.merge(stats)


@dataclass
class StreamedResults:
    """Summaries of a run kept without per-path arrays (see :func:`simulate_summary`).

    Its tables have the columns of the matching :class:`pfs.Results` tables.

    Attributes:
        scenario: the simulated scenario.
        seed: the seed used.
        sampling: the sampling method used.
        parts: the merged summaries.
        kept: metric name -> per-path values in float32 (only metrics asked for).
        elapsed: wall time in seconds.
    """

    scenario: Scenario
    seed: int
    sampling: Sampling
    parts: SummaryParts
    kept: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def n_paths(self) -> int:
        """Number of paths summarised."""
        return self.parts.paths

    @property
    def alpha(self) -> float:
        """Relative accuracy of the quantiles."""
        return self.parts.alpha

    def probabilities(self) -> dict[str, float]:
        """Summary probabilities by name (exact: counts of paths).

        Investor odds are NaN when nobody invests, as in :meth:`pfs.Results.probabilities`.
        """
        n = max(self.parts.paths, 1)
        undefined = () if has_investors(self.scenario) else INVESTOR_PROBABILITIES
        return {
            k: math.nan if k in undefined else count / n
            for k, count in self.parts.flag_counts.items()
        }

    def summary(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Same table as :meth:`pfs.Results.summary` (quantiles within ``alpha``)."""
        stats = self.parts.metrics
        names = metrics or list(stats)
        rows = [{"metric": k, **stats[k].stats()} for k in names if k in stats]
        n = self.parts.paths
        for k, p in self.probabilities().items():
            if metrics is None or k in metrics:
                se = math.sqrt(max(p * (1 - p), 0.0) / n) if n else math.nan
                rows.append(
                    {
                        "metric": k,
                        "mean": p,
                        "std_error": se,
                        "p05": math.nan,
                        "p50": math.nan,
                        "p95": math.nan,
                        "n": n,
                    }
                )
        return pd.DataFrame(rows).set_index("metric")

    @property
    def tranches(self) -> pd.DataFrame:
        """Per-tranche investor results, as :attr:`pfs.Results.tranches`."""
        m, n = self.parts.metrics, max(self.parts.paths, 1)
        rows = []
        counts = self.parts.tranche_counts
        for t in self.scenario.capital.tranches:
            rows.append(
                tranche_row(
                    t,
                    irr=m[f"irr.{t.id}"].stats(),
                    mean_drawn=m[f"drawn.{t.id}"].mean,
                    mean_received=m[f"received.{t.id}"].mean,
                    moic_mean=m[f"moic.{t.id}"].stats()["mean"],
                    p_loss=counts.get(f"loss.{t.id}", 0) / n,
                    expected_loss=m[f"loss.{t.id}"].mean,
                    p_loss_over_half=counts.get(f"loss_over_half.{t.id}", 0) / n,
                )
            )
        return pd.DataFrame(rows).set_index("tranche")

    def by_period(self) -> pd.DataFrame:
        """Per-period mean and P5/P50/P95, as :meth:`pfs.Results.by_period`."""
        return _quantile_table(self.parts.by_period, "period", 0)

    def by_year(self) -> pd.DataFrame:
        """The same by budget year, as :meth:`pfs.Results.by_year`."""
        by_year = (
            self.parts.by_year if self.scenario.periods_per_year > 1 else (self.parts.by_period)
        )
        return _quantile_table(by_year, "year", 1)

    def headline(self) -> dict[str, float]:
        """The numbers of :meth:`pfs.Results.headline` (quantiles within ``alpha``)."""
        m, probs = self.parts.metrics, self.probabilities()
        irr = m["investor_irr"].stats()
        units = sum(m[f"true_units.{o.id}"].mean for o in self.scenario.outcomes)
        payments = m["outcome_payments"].mean
        return {
            "p_investor_repaid": probs["p_investor_repaid"],
            "p_investor_loss": probs["p_investor_loss"],
            "investor_irr_p50": irr["p50"],
            "investor_irr_p05": irr["p05"],
            "gov_net_savings_pv_mean": m["gov_net_savings_pv"].mean,
            "p_gov_net_negative": probs["p_gov_net_negative"],
            "max_annual_outlay_p95": m["max_annual_outlay"].stats()["p95"],
            "outcome_payments_mean": payments,
            "cost_per_outcome_unit": payments / units if units > 0 else math.nan,
            "pfs_vs_ffs_pv_mean": m["pfs_vs_ffs_pv"].mean,
            "p_paid_without_true_effect": probs["p_paid_without_true_effect"],
            "p_not_paid_despite_true_effect": probs["p_not_paid_despite_true_effect"],
        }


def _quantile_table(
    table: dict[str, list[RunningStats]], axis_name: str, start: int
) -> pd.DataFrame:
    rows = []
    for name, columns in table.items():
        for i, stats in enumerate(columns):
            s = stats.stats()
            rows.append(
                {
                    axis_name: start + i,
                    "series": name,
                    "mean": s["mean"],
                    "p05": s["p05"],
                    "p50": s["p50"],
                    "p95": s["p95"],
                }
            )
    return pd.DataFrame(rows)


@dataclass
class StreamBlock:
    """What a worker sends back for one block in a streamed run.

    Attributes:
        parts: the block's summaries.
        kept: metric name -> float32 values of the block's paths.
    """

    parts: SummaryParts
    kept: dict[str, NDArray[np.float32]]


def summarise_block(
    payload: dict[str, Any],
    start: int,
    stop: int,
    seed: int,
    sampling: str,
    chunk_size: int,
    alpha: float,
    keep: Sequence[str],
) -> StreamBlock:
    """Simulate paths ``[start, stop)`` chunk by chunk and keep only summaries.

    A top-level function so that process pools and Dask workers can import it.
    """
    sc = scenario_from_payload(payload)
    method = Sampling(sampling)
    parts = SummaryParts(alpha=alpha)
    kept: dict[str, list[NDArray[np.float32]]] = defaultdict(list)
    for lo in range(start, stop, chunk_size):
        chunk = run_chunk(sc, sample(sc, lo, min(lo + chunk_size, stop), seed, method))
        parts.add_chunk(sc, chunk.metrics, chunk.periods)
        for name in keep:
            kept[name].append(chunk.metrics[name].astype(np.float32))
    return StreamBlock(parts, {k: np.concatenate(v) for k, v in kept.items()})


def simulate_summary(
    scenario: Scenario,
    paths: int | None = None,
    seed: int | None = None,
    *,
    sampling: Sampling | str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    block_size: int | None = None,
    alpha: float = DEFAULT_ALPHA,
    keep: Sequence[str] = (),
    backend: BackendName | str | None = None,
    workers: int | None = None,
    scheduler: Any = None,
) -> StreamedResults:
    """Simulate in bounded memory, keeping summaries instead of per-path arrays.

    Memory is one chunk's working set per worker plus the summaries (a few MB) and
    4 bytes per path for each metric in ``keep``. Means, standard errors and
    probabilities agree with :func:`pfs.simulate` to rounding (probabilities exactly);
    quantiles are within relative accuracy ``alpha`` of the exact order statistic.
    Block summaries are merged in path order, so the answer is the same on every
    backend for a given ``block_size``.

    Args:
        scenario: the deal.
        paths: number of paths (default: the scenario's ``simulation.paths``).
        seed: random seed (default: the scenario's ``simulation.seed``).
        sampling: ``random``, ``lhs`` or ``sobol`` (default: the scenario's).
        chunk_size: paths per engine chunk.
        block_size: paths per task, a multiple of ``chunk_size`` (default: one chunk).
        alpha: relative accuracy of quantiles.
        keep: metrics whose per-path values are kept (float32).
        backend: ``serial``, ``processes`` or ``dask`` (see :func:`open_backend`).
        workers: worker processes (processes, or a Dask ``LocalCluster``).
        scheduler: Dask scheduler address or an open ``distributed.Client``.

    Returns:
        The :class:`StreamedResults`.

    Raises:
        PfsError: bad settings or an unknown metric in ``keep``.
    """
    settings = run_settings(scenario, paths, seed, sampling, chunk_size, block_size)
    if not 0 < alpha < 1:
        raise PfsError(f"alpha must be in (0, 1), got {alpha}")
    keep = list(keep)
    if keep:
        probe = run_chunk(scenario, sample(scenario, 0, 1, settings.seed, settings.sampling))
        unknown = [k for k in keep if k not in probe.metrics]
        if unknown:
            raise PfsError(
                f"unknown metric {unknown[0]!r} to keep (metrics: {', '.join(probe.metrics)})"
            )
    payload = scenario_payload(scenario)
    blocks = settings.blocks()
    total = StreamedResults(
        scenario=scenario,
        seed=settings.seed,
        sampling=settings.sampling,
        parts=SummaryParts(alpha=alpha),
        kept={k: np.empty(settings.paths, dtype=np.float32) for k in keep},
    )
    started = time.perf_counter()
    with open_backend(backend, workers=workers, scheduler=scheduler) as pool:
        parts = pool.map(
            summarise_block,
            [payload] * len(blocks),
            [b[0] for b in blocks],
            [b[1] for b in blocks],
            [settings.seed] * len(blocks),
            [settings.sampling.value] * len(blocks),
            [settings.chunk_size] * len(blocks),
            [alpha] * len(blocks),
            [keep] * len(blocks),
        )
        for (start, stop), part in zip(blocks, parts, strict=True):
            total.parts.merge(part.parts)
            for name, values in part.kept.items():
                total.kept[name][start:stop] = values
    total.elapsed = time.perf_counter() - started
    return total


__all__ = [
    "Backend",
    "BackendName",
    "BlockOutput",
    "QuantileSketch",
    "RunSettings",
    "RunningStats",
    "StreamBlock",
    "StreamedResults",
    "SummaryParts",
    "open_backend",
    "resolve_backend",
    "run_block",
    "run_settings",
    "scenario_from_payload",
    "scenario_payload",
    "simulate_split",
    "simulate_summary",
    "summarise_block",
]
