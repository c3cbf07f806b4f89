"""Capital stack: draws, interest, the repayment waterfall and guarantees.

Stage: waterfall. :class:`Stack` holds each tranche's state over paths and advances
one period at a time, because some payment rules depend on whether investors are
repaid yet. Each period: balances accrue interest, costs are funded by draws, and the
outcome payments received are paid out by seniority (pro rata within a seniority
level); what is left after every tranche is repaid goes to the residual holder (the payer, the
provider, one tranche, or every investor tranche in proportion to what it drew).
At the end, guarantees pay a share of each covered tranche's principal loss above
their attachment point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pfs.scenario import INVESTORS, PROVIDER, DrawRule, Scenario, Tranche

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

REPAID_TOLERANCE = 1e-6


@dataclass
class PeriodDistribution:
    """Where one period's outcome payments went.

    Attributes:
        to_tranches: payment received by each tranche ``[tranches, paths]``.
        to_provider: residual paid to the provider ``[paths]``.
        retained: residual the payer keeps (not paid) ``[paths]``.
    """

    to_tranches: FloatArray
    to_provider: FloatArray
    retained: FloatArray


class Stack:
    """State of the capital stack over ``n`` paths and ``horizon`` periods.

    Attributes:
        tranches: the tranches, in scenario order.
        balance: principal plus accrued interest owed ``[tranches, paths]``.
        drawn: cumulative draws ``[tranches, paths]``.
        received: cumulative receipts (payments, returned cash, guarantees).
        flows: each tranche's net cash flow by period ``[tranches, periods, paths]``.
        unfunded: costs the stack could not fund ``[paths]`` (``unfunded_by_period``:
            the same by period ``[periods, paths]``).
    """

    def __init__(self, sc: Scenario, n: int):
        self.sc = sc
        self.n = n
        self.tranches: list[Tranche] = list(sc.capital.tranches)
        k = len(self.tranches)
        ppy = sc.periods_per_year
        self.growth = np.array([(1 + t.rate) ** (1 / ppy) for t in self.tranches])[:, None]
        self.cap_growth = np.array(
            [
                (1 + (t.max_return if t.max_return is not None else 0.0)) ** (1 / ppy)
                for t in self.tranches
            ]
        )[:, None]
        self.amount = np.array([t.amount for t in self.tranches])[:, None]
        self.repayable = np.array([t.repayable for t in self.tranches])[:, None]
        self.investor = np.array([t.is_investor for t in self.tranches])
        self.balance = np.zeros((k, n))
        self.cap_balance = np.zeros((k, n))
        self.drawn = np.zeros((k, n))
        self.received = np.zeros((k, n))
        self.from_payments = np.zeros((k, n))
        self.remaining = np.repeat(self.amount, n, axis=1)
        self.cash = np.zeros(n)
        self.returned = np.zeros(n)
        self.unfunded = np.zeros(n)
        self.unfunded_by_period = np.zeros((sc.horizon, n))
        self.flows = np.zeros((k, sc.horizon, n))  # period-major: contiguous writes
        self.guarantee_paid = np.zeros((k, n))
        self.written_off = np.zeros((k, n))  # balances below REPAID_TOLERANCE set to zero
        levels = sorted({t.seniority for t in self.tranches})
        self.levels = [
            np.array([i for i, t in enumerate(self.tranches) if t.seniority == s and t.repayable])
            for s in levels
        ]
        self.levels = [lv for lv in self.levels if lv.size]
        ids = [t.id for t in self.tranches]
        residual = sc.capital.residual
        self.residual_index = ids.index(residual) if residual in ids else None
        self.investor_rows = np.flatnonzero(self.investor & self.repayable[:, 0])

    # ------------------------------------------------------------------ period
    def accrue(self) -> None:
        """Interest for one period on what is owed."""
        self.balance *= self.growth
        self.cap_balance *= self.cap_growth

    def fund(self, t: int, costs: FloatArray) -> FloatArray:
        """Draw capital to pay ``costs`` ``[paths]`` in period ``t``; return draws."""
        if self.sc.capital.draw == DrawRule.upfront:
            if t == 0:
                draws = np.repeat(self.amount, self.n, axis=1)
                self.cash += draws.sum(axis=0)
            else:
                draws = np.zeros_like(self.balance)
            spent = np.minimum(self.cash, costs)
            self.cash -= spent
        elif not costs.any():  # nothing to fund this period (unfunded stays zero)
            return np.zeros_like(self.balance)
        else:
            available = self.remaining.sum(axis=0)
            spent = np.minimum(costs, available)
            share = self.remaining / np.where(available > 0, available, 1.0)
            draws = share * spent
        np.subtract(costs, spent, out=self.unfunded_by_period[t])
        self.unfunded += self.unfunded_by_period[t]
        self.remaining -= draws
        self.drawn += draws
        self.balance += draws * self.repayable
        self.cap_balance += draws
        self.flows[:, t, :] -= draws
        return draws

    def investors_repaid(self) -> BoolArray:
        """Whether every investor tranche that has drawn is fully repaid ``[paths]``."""
        rows = self.investor_rows
        if rows.size == 0:
            return np.ones(self.n, dtype=bool)
        drawn = self.investor_total(self.drawn) > 0
        return drawn & (self.balance[rows].max(axis=0) <= REPAID_TOLERANCE)

    def investor_total(self, per_tranche: FloatArray) -> FloatArray:
        """Sum of ``per_tranche`` ``[tranches, ...]`` over the investor tranches.

        Row by row in tranche order (what ``per_tranche[investor_rows].sum(axis=0)``
        gives, without gathering a copy of the rows first); zeros without investors.
        """
        rows = self.investor_rows
        if rows.size == 0:
            return np.zeros(per_tranche.shape[1:])
        total = per_tranche[rows[0]].copy()
        for k in rows[1:]:
            total += per_tranche[k]
        return total

    def investors_owed(self) -> FloatArray:
        """What investor tranches are still owed ``[paths]``; ``inf`` before any draw."""
        rows = self.investor_rows
        if rows.size == 0:
            return np.full(self.n, np.inf)
        owed = self.investor_total(self.balance)
        return np.where(self.investor_total(self.drawn) > 0, owed, np.inf)

    def _residual_takers(self) -> NDArray[np.intp]:
        """Rows of the tranches that take the residual (none, one, or every investor)."""
        if self.sc.capital.residual == INVESTORS:
            return self.investor_rows
        if self.residual_index is not None:
            return np.array([self.residual_index], dtype=np.intp)
        return np.array([], dtype=np.intp)

    def distribute(self, t: int, payment: FloatArray) -> PeriodDistribution:
        """Pay ``payment`` ``[paths]`` received in period ``t`` down the waterfall."""
        left = payment.copy()
        paid = np.zeros_like(self.balance)
        for rows in self.levels:
            if rows.size == 1:  # one tranche at this seniority: it takes what it is owed
                pay = np.minimum(left, self.balance[rows[0]], out=paid[rows[0]])
                left -= pay
                continue
            owed = self.balance[rows]
            total = owed.sum(axis=0)
            pay = np.minimum(left, total)
            part = owed * (pay / np.where(total > 0, total, 1.0))
            paid[rows] = part
            left -= pay
        self.balance -= paid
        small = self.balance < REPAID_TOLERANCE  # rounding dust: written off
        self.written_off += np.where(small, np.abs(self.balance), 0.0)
        np.copyto(self.balance, 0.0, where=small)
        self.cap_balance -= paid
        to_provider = np.zeros(self.n)
        retained = np.zeros(self.n)
        takers = self._residual_takers()
        if takers.size:
            weights = self.drawn[takers]
            total = weights.sum(axis=0)
            weights = np.where(total > 0, weights, 1.0)  # nothing drawn: equal split
            offered = left * weights / weights.sum(axis=0)
            room = offered.copy()
            for j, k in enumerate(takers):
                if self.tranches[k].max_return is not None:
                    room[j] = np.minimum(offered[j], np.maximum(self.cap_balance[k], 0.0))
            paid[takers] += room
            self.cap_balance[takers] -= room
            left = left - room.sum(axis=0)
        if self.sc.capital.residual == PROVIDER:
            to_provider = left
        else:  # retained_by_payer, or beyond a capped residual tranche
            retained = left
        self.received += paid
        self.from_payments += paid
        self.flows[:, t, :] += paid
        return PeriodDistribution(paid, to_provider, retained)

    # -------------------------------------------------------------------- end
    def close(self) -> FloatArray:
        """Return unspent cash, then pay guarantees; returns cash returned ``[paths]``."""
        last = self.sc.horizon - 1
        returned = np.zeros(self.n)
        if self.sc.capital.draw == DrawRule.upfront:
            total = self.amount.sum()
            back = self.cash[None, :] * (self.amount / (total if total > 0 else 1.0))
            self.received += back
            self.flows[:, last, :] += back
            returned = self.cash.copy()
            self.returned += returned
            self.cash[:] = 0.0
        ids = [t.id for t in self.tranches]
        for g in self.sc.capital.guarantees:
            k = ids.index(g.covers)
            loss = np.maximum(self.drawn[k] - self.received[k], 0.0)
            pay = np.minimum(g.share * np.maximum(loss - g.attachment, 0.0), g.amount)
            self.guarantee_paid[k] += pay
            self.received[k] += pay
            self.flows[k, last, :] += pay
        return returned

    def repaid_at_coupon(self, k: int) -> BoolArray:
        """Paths where tranche ``k``'s IRR is exactly its coupon rate ``[paths]``.

        The balance grows by the coupon each period, rises with each draw and falls
        with each payment, so the cash flows discounted at the coupon rate telescope
        to minus the final balance, discounted. A tranche that drew, ends with
        nothing owed and received nothing besides those payments (no residual
        share, returned cash or guarantee) therefore has an NPV of zero at its
        coupon rate; when its net flows change sign once (every outflow before
        every inflow) that is its only IRR. A balance written off as rounding dust
        (below :data:`REPAID_TOLERANCE`) must be negligible against the draws
        (1e-13 of them, a rate error of that order); otherwise the solver decides.
        """
        tranche = self.tranches[k]
        if not tranche.repayable or k in self._residual_takers():
            return np.zeros(self.n, dtype=bool)
        ok = (self.drawn[k] > 0) & (self.balance[k] == 0.0)
        ok &= self.written_off[k] <= 1e-13 * self.drawn[k]
        ok &= self.guarantee_paid[k] == 0.0
        if self.sc.capital.draw == DrawRule.upfront:
            ok &= self.returned == 0.0
        flows = self.flows[k]
        inflow_seen = flows[0] > 0
        outflow_seen = flows[0] < 0
        for t in range(1, flows.shape[0]):
            outflow = flows[t] < 0
            ok &= ~(outflow & inflow_seen)  # an outflow after an inflow: not one change
            outflow_seen |= outflow
            inflow_seen |= flows[t] > 0
        ok &= outflow_seen & inflow_seen  # one sign change: all outflows come first
        return ok

    def principal_loss(self) -> FloatArray:
        """Principal not returned per tranche ``[tranches, paths]`` (grants excluded)."""
        return np.maximum(self.drawn - self.received, 0.0) * self.repayable
