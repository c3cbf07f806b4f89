"""Advisories: terms that are valid but probably not what the author meant.

A scenario that loads is simulated as written; these notes point at terms a reader
would question before trusting the numbers (a tier schedule that pays less for a
better result, savings credited to nobody, capital below the expected cost of the
programme). ``pfs validate`` prints them and the app shows them under the headline.
Each names the field, like the errors of :mod:`pfs.scenario`.
"""

from __future__ import annotations

from typing import NamedTuple

from pfs.distributions import value_mean
from pfs.formatting import money
from pfs.scenario import Rule, Scenario


class Advisory(NamedTuple):
    """One note: the field it is about and what to check, in plain words."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def expected_programme_cost(sc: Scenario) -> float:
    """Programme costs on average over the uncertain inputs (every cost the deal funds)."""
    prog = sc.program
    participants = value_mean(prog.enrollment_factor) * sum(c.size for c in prog.cohorts)
    cost = participants * max(value_mean(prog.cost_per_participant), 0.0)
    for fc in prog.fixed_costs:
        cost += max(value_mean(fc.per_period), 0.0) * len(fc.periods)
    return cost


def advisories(sc: Scenario) -> list[Advisory]:
    """Valid terms worth a second look, in scenario order (empty when none)."""
    notes: list[Advisory] = []
    for i, o in enumerate(sc.outcomes):
        at = f"outcomes[{i}]"
        pay = o.payment
        if pay.rule == Rule.tiers and pay.tiers:
            for lower, upper in zip(pay.tiers, pay.tiers[1:], strict=False):
                if upper.amount < lower.amount:
                    notes.append(
                        Advisory(
                            f"{at}.payment.tiers",
                            f"the amount falls from {lower.amount:,.0f} to {upper.amount:,.0f} "
                            f"as the measured effect rises from {lower.at:g} to {upper.at:g}: "
                            "a better result is paid less",
                        )
                    )
                    break
        if sum(o.savings_to.values()) <= 0 and value_mean(o.value_per_unit) > 0:
            notes.append(
                Advisory(
                    f"{at}.savings_to",
                    f"no payer is credited with the savings from {o.label or o.id!r}, so "
                    "public savings and net savings leave this outcome out",
                )
            )
    capital = sum(t.amount for t in sc.capital.tranches)
    cost = expected_programme_cost(sc)
    if cost > capital * (1 + 1e-9):
        notes.append(
            Advisory(
                "capital.tranches",
                f"the commitments ({money(capital, sc.currency)}) are below the expected "
                f"programme cost ({money(cost, sc.currency)}); the lead payer has to pay what "
                "the capital cannot fund, and that counts against its savings",
            )
        )
    return notes
