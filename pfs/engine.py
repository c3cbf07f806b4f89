"""The simulation engine: chunks of paths through the whole pipeline.

Stage: orchestration. :func:`simulate` takes a Scenario and returns
:class:`~pfs.results.Results`. Paths are processed in chunks (a multiple of the
sampling block), each chunk going sample -> outcomes -> (payments + waterfall, one
short Python loop over periods, vectorised over paths) -> government -> metrics; only
per-path metrics and compact per-period arrays are kept.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from pfs import finance
from pfs.capital import Stack
from pfs.government import (
    discounted,
    max_fiscal_year,
    payer_discount_factors,
    present_value,
    programme_costs,
    savings_by_payer,
)
from pfs.outcomes import OutcomePaths, outcomes, row_sum
from pfs.payments import PayerLedger, apply_outcome_cap, group_due
from pfs.results import Comparison, PeriodArrays, Results
from pfs.sampling import BLOCK, Draws, sample
from pfs.scenario import Measurement, Outcome, PaymentEvent, PfsError, Sampling, Scenario

FloatArray = NDArray[np.float64]

DEFAULT_CHUNK = 2 * BLOCK  # 131,072 paths: measured fastest on 2 cores
# Give tranches repaid exactly at their coupon that rate rather than solving for it
# (an identity, see Stack.repaid_at_coupon); switched off by a test to compare.
EXACT_COUPON_IRR = True


def _find_hugepage_switch() -> Callable[[bool], bool] | None:
    """NumPy's switch for asking the kernel for transparent huge pages (or None)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            switch = getattr(importlib.import_module(module), "_set_madvise_hugepage", None)
        except ImportError:
            continue
        if switch is not None:
            return cast(Callable[[bool], bool], switch)
    return None


_HUGEPAGE_SWITCH = _find_hugepage_switch()
_hugepage_lock = threading.Lock()
_hugepage_users = 0
_hugepage_before = True


@contextmanager
def _small_pages() -> Iterator[None]:
    """Allocate with ordinary pages while a simulation runs.

    NumPy asks Linux for transparent huge pages on every large array. Where the
    kernel compacts memory to satisfy that (``defrag=madvise``, common on VMs), the
    first touch of a fresh huge page costs far more than the page faults it saves:
    on the development machine a cold 1e6-path run took 3.8 s with huge pages and
    2.8 s without, warm runs being equal (``benchmarks/bench_engine.py``). The
    switch is process-wide; it is restored when the last concurrent run ends.
    """
    global _hugepage_users, _hugepage_before
    switch = _HUGEPAGE_SWITCH
    if switch is None:
        yield
        return
    with _hugepage_lock:
        if _hugepage_users == 0:
            _hugepage_before = switch(False)
        _hugepage_users += 1
    try:
        yield
    finally:
        with _hugepage_lock:
            _hugepage_users -= 1
            if _hugepage_users == 0:
                switch(_hugepage_before)


@dataclass
class ChunkResult:
    """Per-path metrics and per-period arrays of one chunk."""

    metrics: dict[str, FloatArray]
    periods: PeriodArrays


def _payment_schedule(sc: Scenario) -> dict[int, list[tuple[str, PaymentEvent]]]:
    """Payment events by the period they fall due, in assessment order."""
    schedule: dict[int, list[tuple[str, PaymentEvent]]] = defaultdict(list)
    for o in sc.outcomes:
        for event in sc.payment_events(o):
            schedule[event.due].append((o.id, event))
    return schedule


def _weighted_measured(sc: Scenario, op: OutcomePaths, outcome_id: str) -> FloatArray:
    """Participant-weighted average of an outcome's group estimates ``[paths]``.

    With ``per_cohort_or_pooled``, the pooled estimate (which is that average).
    """
    o = sc.outcome(outcome_id)
    groups = sc.measurement_groups(o)
    measured = op.by_outcome[outcome_id].measured_effect
    if len(groups) == 1 or o.evaluation.measurement == Measurement.per_cohort_or_pooled:
        return measured[:, -1]
    weights = np.stack([row_sum(op.participants[:, idx]) for _, idx in groups], axis=1)
    return row_sum(measured * weights) / row_sum(weights)


def _event_due(
    sc: Scenario,
    o: Outcome,
    op: OutcomePaths,
    event: PaymentEvent,
    owed: FloatArray,
    already_due: FloatArray,
) -> FloatArray:
    """Amount due for one payment event, before caps ``[paths]``.

    The pooled assessment of ``per_cohort_or_pooled`` pays, if the pooled estimate
    reaches ``pooled_threshold``, what all cohorts would earn on it less what the
    outcome has already been due (never negative).
    """
    draw = op.by_outcome[o.id]
    if not event.pooled_fallback:
        return group_due(sc, o, draw, op.participants, event.cohorts, event.group, owed)
    pooled = group_due(
        sc,
        o,
        draw,
        op.participants,
        event.cohorts,
        event.group,
        owed,
        threshold=o.payment.pooled_threshold,
    )
    return np.where(pooled > 0, np.maximum(pooled - already_due, 0.0), 0.0)


def run_chunk(sc: Scenario, draws: Draws) -> ChunkResult:
    """Push one chunk of sampled paths through the whole pipeline."""
    n, horizon = draws.n, sc.horizon
    op = outcomes(sc, draws)
    costs, ffs_costs = programme_costs(sc, draws, op)
    savings = savings_by_payer(sc, op)
    payer_ids = [p.id for p in sc.payers]
    ledgers = {p.id: PayerLedger(p, n) for p in sc.payers}
    schedule = _payment_schedule(sc)
    stack = Stack(sc, n)
    payments = np.zeros((len(payer_ids), horizon, n))  # period-major, like every flow
    paid = {o.id: np.zeros(n) for o in sc.outcomes}
    due_total = {o.id: np.zeros(n) for o in sc.outcomes}
    to_provider = np.zeros(n)
    retained = np.zeros(n)

    for t in range(horizon):
        stack.accrue()
        stack.fund(t, costs[t])
        events = schedule.get(t, [])
        if not events and not any(led.carry for led in ledgers.values()):
            continue
        owed = stack.investors_owed()  # lowered by each event as it falls due
        due: dict[str, dict[str, FloatArray]] = {pid: {} for pid in payer_ids}
        for outcome_id, event in events:
            o = sc.outcome(outcome_id)
            amount = _event_due(sc, o, op, event, owed, due_total[outcome_id])
            amount = apply_outcome_cap(amount, due_total[outcome_id], o.payment.cap)
            due_total[outcome_id] += amount
            owed = owed - np.minimum(amount, owed)
            for payer_id, share in (o.payment.payer_shares or {o.payment.payer: 1.0}).items():
                bucket = due[payer_id]
                bucket[outcome_id] = bucket.get(outcome_id, 0.0) + amount * share
        settled = {pid: ledgers[pid].settle(due[pid]) for pid in payer_ids}
        by_payer = np.stack([sum(s.values(), np.zeros(n)) for s in settled.values()])
        total = by_payer.sum(axis=0)
        dist = stack.distribute(t, total)
        keep = 1.0 - dist.retained / np.where(total > 0, total, 1.0)
        for i, pid in enumerate(payer_ids):
            ledgers[pid].refund(by_payer[i] * (1.0 - keep))
            for outcome_id, amount in settled[pid].items():
                paid[outcome_id] += amount * keep
        np.multiply(by_payer, keep, out=payments[:, t])
        to_provider += dist.to_provider
        retained += dist.retained
    stack.close()
    investor_flows = stack.investor_total(stack.flows)  # [periods, paths]
    metrics = _metrics(
        sc,
        op,
        stack,
        payments,
        savings,
        costs,
        ffs_costs,
        investor_flows,
        paid,
        to_provider,
        retained,
        ledgers,
    )
    for outcome_id, amount in due_total.items():
        metrics[f"due.{outcome_id}"] = amount
    return ChunkResult(
        metrics=metrics,
        periods=PeriodArrays(
            payments=payments.astype(np.float32),
            savings=savings.astype(np.float32),
            costs=costs.astype(np.float32),
            investor_flows=investor_flows.astype(np.float32),
        ),
    )


def _metrics(
    sc: Scenario,
    op: OutcomePaths,
    stack: Stack,
    payments: FloatArray,
    savings: FloatArray,
    costs: FloatArray,
    ffs_costs: FloatArray,
    investor_flows: FloatArray,
    paid: dict[str, FloatArray],
    to_provider: FloatArray,
    retained: FloatArray,
    ledgers: Mapping[str, PayerLedger],
) -> dict[str, FloatArray]:
    """Per-path metrics of one chunk (flows are period-major: ``[..., periods, paths]``)."""
    ppy = sc.periods_per_year
    factors = payer_discount_factors(sc)
    payments_pv = present_value(payments, factors)
    savings_pv = present_value(savings, factors)
    # Fee-for-service costs, and costs the capital could not fund (which the lead payer
    # must top up for the programme to run as simulated), at the lead payer's rate.
    lead = [p.id for p in sc.payers].index(sc.lead_payer_id)
    ffs_pv = discounted(ffs_costs, factors[lead])
    top_up_pv = discounted(stack.unfunded_by_period, factors[lead])
    investor_drawn = stack.investor_total(stack.drawn)
    investor_received = stack.investor_total(stack.received)
    loss = stack.principal_loss()
    tranche_irr = [_annualise(_tranche_irr(stack, k), ppy) for k in range(len(stack.tranches))]
    if stack.investor_rows.size == 1:  # the investors' flows are that tranche's flows
        investor_irr = tranche_irr[stack.investor_rows[0]].copy()
    else:
        investor_irr = _annualise(finance.irr(investor_flows.T), ppy)
    m: dict[str, FloatArray] = {
        "outcome_payments": payments.sum(axis=(0, 1)),
        "outcome_payments_pv": payments_pv,
        "gross_savings_pv": savings_pv,
        "gov_net_savings_pv": savings_pv - payments_pv - top_up_pv,
        "ffs_net_savings_pv": savings_pv - ffs_pv,
        "pfs_vs_ffs_pv": ffs_pv - payments_pv - top_up_pv,
        "investor_irr": investor_irr,
        "investor_moic": np.divide(
            investor_received,
            investor_drawn,
            out=np.full_like(investor_drawn, np.nan),
            where=investor_drawn > 0,
        ),
        "investor_loss": stack.investor_total(loss),
        "investor_repaid": stack.investors_repaid().astype(np.float64),
        "investor_drawn": investor_drawn,
        "guarantee_paid": stack.guarantee_paid.sum(axis=0),
        "programme_cost": costs.sum(axis=0),
        "programme_cost_pv": discounted(costs, factors[lead]),
        "unfunded_costs": stack.unfunded,
        "unfunded_costs_pv": top_up_pv,
        "paid_to_capital": stack.from_payments.sum(axis=0),
        "unspent_capital_returned": stack.returned,
        "residual_to_provider": to_provider,
        "residual_retained": retained,
        "payments_forfeited": sum((led.forfeited for led in ledgers.values()), np.zeros(stack.n)),
        "payments_deferred_unpaid": sum(
            (led.deferred_unpaid() for led in ledgers.values()), np.zeros(stack.n)
        ),
        "max_annual_outlay": max_fiscal_year(payments.sum(axis=0), ppy),
    }
    if len(sc.payers) > 1:  # each payer's own budget, besides all payers together
        for i, payer in enumerate(sc.payers):
            m[f"max_annual_outlay.{payer.id}"] = max_fiscal_year(payments[i], ppy)
    for o in sc.outcomes:
        draw = op.by_outcome[o.id]
        m[f"true_effect.{o.id}"] = draw.true_effect.copy()
        m[f"measured_effect.{o.id}"] = _weighted_measured(sc, op, o.id)
        m[f"paid.{o.id}"] = paid[o.id]
        m[f"true_units.{o.id}"] = row_sum(draw.true_units) * o.periods_counted
    for k, tranche in enumerate(stack.tranches):
        drawn = stack.drawn[k]
        m[f"drawn.{tranche.id}"] = drawn
        m[f"received.{tranche.id}"] = stack.received[k]
        m[f"irr.{tranche.id}"] = tranche_irr[k]
        m[f"moic.{tranche.id}"] = np.divide(
            stack.received[k], drawn, out=np.full_like(drawn, np.nan), where=drawn > 0
        )
        m[f"loss.{tranche.id}"] = loss[k]
        if any(g.covers == tranche.id for g in sc.capital.guarantees):
            m[f"guarantee_paid.{tranche.id}"] = stack.guarantee_paid[k]
    return m


def _annualise(rate: FloatArray, periods_per_year: int) -> FloatArray:
    """Annual rate from a per-period one; with one period a year, the rate itself."""
    return rate if periods_per_year == 1 else finance.annualise(rate, periods_per_year)


def _tranche_irr(stack: Stack, k: int) -> FloatArray:
    """Per-period IRR of tranche ``k`` ``[paths]``.

    Paths where the tranche was repaid exactly at its coupon take the coupon rate
    (:meth:`~pfs.capital.Stack.repaid_at_coupon`); only the others go to the solver.
    """
    flows = stack.flows[k]  # [periods, paths]
    if not EXACT_COUPON_IRR:
        return finance.irr(flows.T)
    coupon = stack.repaid_at_coupon(k)
    if not coupon.any():
        return finance.irr(flows.T)
    rates = np.full(stack.n, float(stack.growth[k, 0]) - 1.0)
    rest = np.flatnonzero(~coupon)
    if rest.size:
        rates[rest] = finance.irr(flows[:, rest].T)
    return rates


def simulate(
    scenario: Scenario,
    paths: int | None = None,
    seed: int | None = None,
    *,
    sampling: Sampling | str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    keep_inputs: bool = True,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: Any = None,
) -> Results:
    """Run a Monte Carlo simulation of a scenario.

    Args:
        scenario: the deal.
        paths: number of paths (default: the scenario's ``simulation.paths``).
        seed: random seed (default: the scenario's ``simulation.seed``).
        sampling: ``random``, ``lhs`` or ``sobol`` (default: the scenario's).
        chunk_size: paths per chunk; results do not depend on it.
        keep_inputs: keep sampled input values as ``input.<name>`` columns.
        backend: ``processes`` or ``dask`` to split the paths into blocks run by
            workers (:func:`pfs.parallel.simulate_split`); results are bit-identical.
            Default: in this process (``dask`` when ``workers`` or ``scheduler`` is
            given).
        workers: worker processes for ``processes`` or a local Dask cluster.
        scheduler: address of a running Dask scheduler (or a ``distributed.Client``).

    Returns:
        The :class:`~pfs.results.Results`.
    """
    sim = scenario.simulation
    paths = sim.paths if paths is None else int(paths)
    seed = sim.seed if seed is None else int(seed)
    method = Sampling(sampling if sampling is not None else sim.sampling)
    if paths <= 0:
        raise PfsError(f"paths must be a positive number, got {paths}")
    if chunk_size <= 0:
        raise PfsError(f"chunk_size must be positive, got {chunk_size}")
    if backend not in (None, "serial") or workers is not None or scheduler is not None:
        from pfs.parallel import simulate_split  # the parallel module builds on this one

        return simulate_split(
            scenario,
            paths,
            seed,
            sampling=method,
            chunk_size=chunk_size,
            keep_inputs=keep_inputs,
            backend=backend,
            workers=workers,
            scheduler=scheduler,
        )
    started = time.perf_counter()
    collector = _Collector(paths)
    with _small_pages():
        for start in range(0, paths, chunk_size):
            stop = min(start + chunk_size, paths)
            draws = sample(scenario, start, stop, seed, method)
            chunk = run_chunk(scenario, draws)
            inputs = {f"input.{k}": v for k, v in draws.values.items()} if keep_inputs else {}
            collector.add(start, stop, chunk, inputs)
    return Results(
        scenario=scenario,
        metrics=collector.metrics,
        periods=collector.periods(),
        seed=seed,
        sampling=method,
        elapsed=time.perf_counter() - started,
    )


def result_bytes(scenario: Scenario, paths: int, *, keep_inputs: bool = True) -> int:
    """Memory :func:`simulate` needs for the per-path results of ``paths`` paths.

    Counts the per-path metrics (float64), the sampled inputs when kept, and the
    float32 per-period arrays, from a one-path run of the scenario; the engine's own
    working set (one chunk) comes on top.
    """
    sim = scenario.simulation
    draws = sample(scenario, 0, 1, sim.seed, Sampling(sim.sampling))
    chunk = run_chunk(scenario, draws)
    per_path = 8 * len(chunk.metrics) + (8 * len(draws.values) if keep_inputs else 0)
    per_path += sum(a.nbytes for a in vars(chunk.periods).values())
    return per_path * paths


class _Collector:
    """Per-path outputs preallocated for the whole run and filled chunk by chunk.

    Writing each chunk in place (rather than joining chunks at the end) keeps peak
    memory near the size of the results themselves.
    """

    def __init__(self, paths: int):
        self.paths = paths
        self.metrics: dict[str, FloatArray] = {}
        self._periods: dict[str, NDArray[np.float32]] = {}

    def add(self, start: int, stop: int, chunk: ChunkResult, inputs: dict[str, FloatArray]) -> None:
        """Copy one chunk's per-path metrics, inputs and period arrays into place."""
        for name, values in (chunk.metrics | inputs).items():
            if name not in self.metrics:
                self.metrics[name] = np.empty(self.paths)
            self.metrics[name][start:stop] = values
        for name in ("payments", "savings", "costs", "investor_flows"):
            part = getattr(chunk.periods, name)
            axis = part.ndim - 1  # the paths axis
            if name not in self._periods:
                shape = list(part.shape)
                shape[axis] = self.paths
                self._periods[name] = np.empty(shape, dtype=np.float32)
            index = (slice(None),) * axis + (slice(start, stop),)
            self._periods[name][index] = part

    def periods(self) -> PeriodArrays:
        """The filled per-period arrays."""
        return PeriodArrays(**self._periods)


def compare(
    scenarios: Mapping[str, Scenario],
    paths: int | None = None,
    seed: int | None = None,
    **kwargs: object,
) -> Comparison:
    """Simulate several scenarios with common random numbers (same seed and streams)."""
    first = next(iter(scenarios.values()))
    paths = first.simulation.paths if paths is None else paths
    seed = first.simulation.seed if seed is None else seed
    return Comparison(
        {
            name: simulate(sc, paths=paths, seed=seed, **kwargs)  # type: ignore[arg-type]
            for name, sc in scenarios.items()
        }
    )
