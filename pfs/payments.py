"""Payment rules: what a payer owes for a measured effect, and payer limits.

Stage: payments. Pure functions over path arrays: given a measurement group's
measured effect, participants and (for rules that depend on it) whether investors are
already repaid, return the amount due ``[paths]``; rate cards and shares of savings
count either the improvement against the counterfactual (``basis: effect``) or the
level the programme group reaches against a contractual reference (``basis: level``).
:class:`PayerLedger` then applies a payer's total cap and per-period appropriation cap
(deferring or forfeiting excess).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pfs.outcomes import OutcomeDraw, row_sum
from pfs.scenario import AmountBasis, Basis, Excess, Outcome, Payer, PayOn, Rule, Scenario

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def payment_threshold(outcome: Outcome) -> float:
    """Smallest measured effect that can trigger a payment for ``outcome``.

    With a pooled fallback (``per_cohort_or_pooled``), the lower of the cohort and the
    pooled thresholds.
    """
    pay = outcome.payment
    threshold = pay.threshold
    if pay.pooled_threshold is not None:
        threshold = min(threshold, pay.pooled_threshold)
    if pay.rule == Rule.tiers and pay.tiers:
        paying = [i for i, t in enumerate(pay.tiers) if t.amount > 0]
        first = paying[0] if paying else len(pay.tiers) - 1
        # interpolated tiers start paying just above the last zero tier before it
        start = pay.tiers[first - 1].at if pay.interpolate and first > 0 else pay.tiers[first].at
        return max(threshold, start)
    return threshold


def tier_amount(outcome: Outcome, measured: FloatArray) -> FloatArray:
    """Tier schedule amount at ``measured`` effect (step, or linear between tiers)."""
    tiers = outcome.payment.tiers or []
    at = np.array([t.at for t in tiers])
    amount = np.array([t.amount for t in tiers])
    if outcome.payment.interpolate:
        return np.interp(measured, at, amount, left=0.0, right=amount[-1])
    idx = np.searchsorted(at, measured, side="right") - 1
    return np.where(idx >= 0, amount[np.maximum(idx, 0)], 0.0)


def group_due(
    sc: Scenario,
    outcome: Outcome,
    draw: OutcomeDraw,
    participants: FloatArray,
    cohorts: list[int],
    group: int,
    investors_owed: FloatArray,
    threshold: float | None = None,
) -> FloatArray:
    """Amount due for one measurement group, before caps.

    Args:
        sc: the scenario.
        outcome: the outcome measured.
        draw: the outcome's arrays.
        participants: participants ``[paths, cohorts]``.
        cohorts: indices of the cohorts in this measurement group.
        group: index of the group (column of ``draw.measured_effect``).
        investors_owed: what investors are still owed ``[paths]`` (``inf`` before
            they have put money in); a share of savings is paid at ``share`` until
            this is covered and at ``share_after_repaid`` on the rest.
        threshold: the threshold to apply (default: the payment's own).

    Returns:
        Amount due ``[paths]``.
    """
    pay = outcome.payment
    measured = draw.measured_effect[:, group]
    group_participants = row_sum(participants[:, cohorts])
    threshold = pay.threshold if threshold is None else threshold
    # a level-based payment has no comparison to clear: it always pays on the level
    triggered = measured >= threshold if pay.basis == Basis.effect else np.ones_like(measured, bool)
    if pay.rule == Rule.tiers:
        level = tier_amount(outcome, measured)
        if pay.amount_basis == AmountBasis.per_participant:
            level = level * group_participants
        else:
            planned = np.array([c.size for c in sc.program.cohorts])
            level = level * (planned[cohorts].sum() / planned.sum())
        return np.where(triggered, level, 0.0)
    if pay.basis == Basis.level:
        units = draw.level_units(group_participants, outcome, measured)
    else:
        above = pay.rule == Rule.rate_card and pay.pay_on == PayOn.above_threshold
        base = measured - threshold if above else measured
        units = draw.units_per_effect(group_participants, outcome) * np.maximum(base, 0.0)
    if pay.rule == Rule.rate_card:
        return np.where(triggered, units * (pay.price_per_unit or 0.0), 0.0)
    # share_of_savings
    unit_value = draw.value_per_unit if pay.price_per_unit is None else pay.price_per_unit
    savings = units * unit_value
    return np.where(
        triggered,
        split_share(savings, pay.share or 0.0, pay.share_after_repaid, investors_owed),
        0.0,
    )


def split_share(
    savings: FloatArray, share: float, share_after: float | None, owed: FloatArray
) -> FloatArray:
    """Share of ``savings`` paid at ``share`` until ``owed`` is covered, then ``share_after``.

    Utah's rule: 95% of the savings until investors are repaid with interest, 40%
    afterwards. In the period the debt is cleared only the savings needed to clear it
    are paid at the first share.
    """
    if share_after is None or share_after == share:
        return savings * share
    if share == 0.0:
        return np.where(owed <= 0.0, savings * share_after, 0.0)
    before = np.minimum(savings * share, owed)
    with np.errstate(invalid="ignore"):
        rest = np.maximum(savings - owed / share, 0.0)
    return before + np.nan_to_num(rest, nan=0.0) * share_after


def apply_outcome_cap(due: FloatArray, paid_so_far: FloatArray, cap: float | None) -> FloatArray:
    """Limit ``due`` so the outcome's cumulative payments never exceed ``cap``."""
    if cap is None:
        return due
    return np.minimum(due, np.maximum(cap - paid_so_far, 0.0))


@dataclass
class PayerLedger:
    """A payer's running totals, applying its total and per-period caps.

    Attributes:
        payer: the payer.
        n: number of paths.
        paid: cumulative amount paid ``[paths]``.
        carry: outcome id -> amount deferred to later periods ``[paths]``.
        forfeited: amounts never to be paid because of a cap ``[paths]``.
    """

    payer: Payer
    n: int
    paid: FloatArray = field(init=False)
    carry: dict[str, FloatArray] = field(default_factory=dict)
    forfeited: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.paid = np.zeros(self.n)
        self.forfeited = np.zeros(self.n)

    def settle(self, due: dict[str, FloatArray]) -> dict[str, FloatArray]:
        """Pay what is due this period within the caps.

        Args:
            due: outcome id -> amount due this period ``[paths]`` (after outcome caps).

        Returns:
            outcome id -> amount paid this period ``[paths]``.
        """
        keys = list(dict.fromkeys([*due, *self.carry]))
        available = {k: due.get(k, 0.0) + self.carry.get(k, 0.0) for k in keys}
        requested = sum(available.values(), np.zeros(self.n))
        within_total = requested
        if self.payer.total_cap is not None:
            within_total = np.minimum(requested, np.maximum(self.payer.total_cap - self.paid, 0.0))
        allowed = within_total
        if self.payer.per_period_cap is not None:
            allowed = np.minimum(within_total, self.payer.per_period_cap)
        safe = np.where(requested > 0, requested, 1.0)
        pay_ratio = allowed / safe
        defer_ratio = (within_total - allowed) / safe
        keep = self.payer.excess == Excess.defer
        paid = {}
        for k, amount in available.items():
            paid[k] = amount * pay_ratio
            self.carry[k] = amount * defer_ratio if keep else np.zeros(self.n)
        self.forfeited += requested - allowed - (within_total - allowed if keep else 0.0)
        self.paid += allowed
        return paid

    def refund(self, amount: FloatArray) -> None:
        """Record that ``amount`` settled this period was retained, not paid."""
        self.paid -= amount

    def deferred_unpaid(self) -> FloatArray:
        """Deferred amounts still owed when the horizon ends ``[paths]``."""
        return sum(self.carry.values(), np.zeros(self.n))
