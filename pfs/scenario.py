"""Scenario files: pydantic models, loading, dumping and dotted overrides.

Stage: input. Takes a YAML file (or a mapping) and returns an immutable, validated
:class:`Scenario`. Every problem is reported as a :class:`ScenarioError` naming the
file, the field path (``outcomes[0].payment.cap``) and what is wrong; unknown keys are
errors, never silently ignored.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pfs.distributions import NonNegValue, Value, is_uncertain


class PfsError(Exception):
    """Base class of user-facing errors (bad input, not bugs)."""


class ScenarioError(PfsError):
    """A scenario that cannot be used, with where and why.

    Attributes:
        source: the file (or ``"<scenario>"`` for in-memory data).
        field: dotted field path, e.g. ``outcomes[0].payment.cap``.
        problem: what is wrong, in plain words.
    """

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- enums
class Direction(StrEnum):
    """Whether success means fewer (``decrease``) or more (``increase``) units."""

    decrease = "decrease"
    increase = "increase"


class EffectType(StrEnum):
    """``relative``: fraction of the baseline; ``absolute``: units per participant."""

    relative = "relative"
    absolute = "absolute"


class Design(StrEnum):
    """Evaluation designs (documentation only; noise comes from the standard error)."""

    rct = "rct"
    quasi_experimental = "quasi_experimental"
    historical_comparison = "historical_comparison"
    difference_in_differences = "difference_in_differences"
    validated_administrative = "validated_administrative"


class Measurement(StrEnum):
    """How often an outcome is measured.

    ``per_cohort``: each cohort measured and paid on its own; ``pooled``: all cohorts
    once, after the last; ``per_cohort_or_pooled``: each cohort paid on its own estimate
    if it clears the threshold, and after the last cohort all cohorts together are
    assessed against ``payment.pooled_threshold`` (Peterborough's trigger).
    """

    per_cohort = "per_cohort"
    pooled = "pooled"
    per_cohort_or_pooled = "per_cohort_or_pooled"


class Rule(StrEnum):
    """Payment rules."""

    rate_card = "rate_card"
    tiers = "tiers"
    share_of_savings = "share_of_savings"


class PayOn(StrEnum):
    """Rate card base: every measured unit, or only units above the threshold."""

    all_units = "all"
    above_threshold = "above_threshold"


class Basis(StrEnum):
    """What a rate card or share of savings counts.

    ``effect``: units of improvement against the counterfactual (measured effect);
    ``level``: the units the programme group achieves against a fixed
    ``reference_level`` written into the contract, with no comparison group (every
    child who avoids special education, every night housed), so it pays even when the
    programme changes nothing.
    """

    effect = "effect"
    level = "level"


class AmountBasis(StrEnum):
    """Tier amounts are totals for the whole programme or per participant."""

    absolute = "absolute"
    per_participant = "per_participant"


class Excess(StrEnum):
    """What happens to payments over a payer's per-period appropriation."""

    defer = "defer"
    forfeit = "forfeit"


class TrancheKind(StrEnum):
    """Kinds of capital."""

    loan = "loan"
    recoverable_grant = "recoverable_grant"
    grant = "grant"
    deferred_fee = "deferred_fee"


class DrawRule(StrEnum):
    """Capital drawn as costs occur, or all at the start."""

    as_needed = "as_needed"
    upfront = "upfront"


class Sampling(StrEnum):
    """Sampling methods for the uncertain inputs."""

    random = "random"
    lhs = "lhs"
    sobol = "sobol"


RETAINED = "retained_by_payer"
PROVIDER = "provider"
INVESTORS = "investors"


# ------------------------------------------------------------------------ programme
class Cohort(_Model):
    """A group of participants enrolled in one period."""

    period: int = Field(ge=0, description="Period of enrolment (0 = first).")
    size: float = Field(gt=0, description="Planned participants.")


class FixedCost(_Model):
    """A cost that does not scale with participants (intermediary, evaluation, ...)."""

    name: str
    per_period: NonNegValue
    periods: list[int] = Field(min_length=1)
    pfs_only: bool = Field(
        default=False,
        description="True for costs that exist only because of the PFS deal "
        "(intermediary, evaluation); excluded from the fee-for-service comparison.",
    )


class Program(_Model):
    """The service: who is enrolled, when, and what it costs."""

    cohorts: list[Cohort] = Field(min_length=1)
    enrollment_factor: NonNegValue = 1.0
    cost_per_participant: NonNegValue
    service_periods: int = Field(
        default=1, ge=1, description="Periods over which a cohort's cost is spread."
    )
    fixed_costs: list[FixedCost] = Field(default_factory=list)


# ------------------------------------------------------------------------ outcomes
class BlendComponent(_Model):
    """A further estimate blended into the payment estimate with a fixed weight."""

    id: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name of this estimate, e.g. 'did'."
    )
    design: Design = Field(
        default=Design.quasi_experimental, description="Design of this estimate."
    )
    weight: float = Field(
        gt=0,
        lt=1,
        description="Weight of this estimate in the blend (the main estimate "
        "keeps 1 minus the weights of all blended estimates).",
    )
    standard_error: float = Field(ge=0, description="Standard error of this estimate.")
    bias: Value = Field(default=0.0, description="Systematic error of this estimate.")


class Evaluation(_Model):
    """How an outcome is measured: estimate = true effect + bias + sampling error.

    The standard error is given directly, or derived from the evaluation's sample
    sizes and the per-participant standard deviation of the outcome. With
    ``blended_with``, the payment estimate is a weighted blend of this (main) estimate
    and further ones: measured = Σ wᵢ (true + biasᵢ + seᵢ zᵢ); it is drawn as
    true + Σ wᵢ biasᵢ + se·z with se² = Σᵢⱼ wᵢ wⱼ ρᵢⱼ seᵢ seⱼ (ρ = 1 on the diagonal,
    ``error_correlation`` off it), exact when the errors are jointly normal.
    """

    design: Design = Design.rct
    standard_error: float | None = Field(default=None, ge=0)
    sample_size: int | None = Field(default=None, gt=0, description="Treatment group size.")
    control_size: int | None = Field(default=None, gt=0)
    outcome_sd: float | None = Field(default=None, gt=0)
    bias: Value = 0.0
    measurement: Measurement = Measurement.pooled
    blended_with: list[BlendComponent] = Field(
        default_factory=list,
        description="Further estimates blended into the payment estimate, each with its "
        "weight, standard error and bias (Massachusetts: 80% RCT + 20% "
        "difference-in-differences).",
    )
    error_correlation: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Correlation between the sampling errors of blended estimates "
        "(0: independent samples; near 1: the same data analysed twice).",
    )

    @property
    def main_weight(self) -> float:
        """Weight of the main estimate in the blend (1 without blending)."""
        return 1.0 - sum(c.weight for c in self.blended_with)


class Tier(_Model):
    """A step of a tiered schedule: from measured effect ``at``, pay ``amount``."""

    at: float
    amount: float = Field(ge=0)


class Payment(_Model):
    """How an outcome is paid for."""

    payer: str
    rule: Rule
    price_per_unit: float | None = Field(default=None, ge=0)
    pay_on: PayOn = PayOn.all_units
    threshold: float = 0.0
    tiers: list[Tier] | None = None
    interpolate: bool = False
    amount_basis: AmountBasis = AmountBasis.absolute
    share: float | None = Field(default=None, ge=0, le=1)
    share_after_repaid: float | None = Field(default=None, ge=0, le=1)
    cap: float | None = Field(default=None, ge=0)
    lag: int | None = Field(default=None, ge=0)
    basis: Basis = Field(
        default=Basis.effect,
        description="Rate cards and shares of savings count 'effect' (improvement "
        "against the counterfactual) or 'level' (what the programme group achieves "
        "against reference_level, no comparison group).",
    )
    reference_level: float | None = Field(
        default=None,
        ge=0,
        description="With basis 'level': the contract's assumed units per participant "
        "per period without the programme (e.g. 1.0: every at-risk child assumed to need "
        "special education). Payment counts reference minus observed level for a "
        "decrease, observed minus reference for an increase (default 0).",
    )
    pooled_threshold: float | None = Field(
        default=None,
        description="With measurement 'per_cohort_or_pooled': after the last cohort, all "
        "cohorts are assessed together and paid (less what was already paid) if the "
        "pooled estimate reaches this threshold.",
    )
    payer_shares: dict[str, float] | None = Field(
        default=None,
        description="Split of this outcome's payments between payers, e.g. "
        "{commonwealth: 0.56, dol: 0.44}; includes 'payer'; shares add up to 1. Each "
        "share counts against its own payer's caps.",
    )

    @field_validator("tiers")
    @classmethod
    def _tiers_in_order(cls, tiers: list[Tier] | None) -> list[Tier] | None:
        if tiers is None:
            return None
        if not tiers:
            raise ValueError("needs at least one tier")
        for before, after in itertools.pairwise(tiers):
            if not after.at > before.at:
                raise ValueError(
                    f"tiers must be in increasing order of 'at': {after.at:g} comes after "
                    f"{before.at:g}"
                )
        return tiers


class Outcome(_Model):
    """One outcome: counterfactual baseline, true effect, value, evaluation, payment."""

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str = ""
    direction: Direction = Direction.decrease
    unit: str = "units"
    baseline: NonNegValue = Field(description="Counterfactual units per participant.")
    effect: Value = Field(description="True improvement (positive = good).")
    effect_type: EffectType = EffectType.relative
    measured_after: int = Field(default=1, ge=0)
    periods_counted: int = Field(
        default=1,
        ge=1,
        description="Consecutive periods, from measured_after, in which each cohort's "
        "outcome is counted, paid and saved (e.g. 7 school years without special "
        "education); the baseline is then per participant per period.",
    )
    value_per_unit: NonNegValue = 0.0
    savings_to: dict[str, float] = Field(default_factory=dict)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    payment: Payment


# ------------------------------------------------------------------ payers, capital
class Payer(_Model):
    """A government body that pays for outcomes (and may receive savings)."""

    id: str
    label: str = ""
    discount_rate: float = Field(default=0.03, ge=0, lt=1)
    total_cap: float | None = Field(default=None, ge=0)
    per_period_cap: float | None = Field(default=None, ge=0)
    excess: Excess = Excess.defer
    payment_lag: int = Field(default=0, ge=0)


class Tranche(_Model):
    """A piece of the capital stack."""

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str = ""
    kind: TrancheKind = TrancheKind.loan
    amount: float = Field(ge=0)
    rate: float = Field(default=0.0, ge=0, description="Annual coupon accruing on the balance.")
    seniority: int = Field(default=1, ge=1, description="1 is repaid first.")
    max_return: float | None = Field(
        default=None, ge=0, description="Annual cap on return when the tranche takes residual."
    )
    investor: bool | None = Field(
        default=None,
        description="Counted in investor metrics (default: loans and recoverable grants).",
    )

    @property
    def is_investor(self) -> bool:
        """Whether this tranche counts towards the aggregate investor metrics."""
        if self.investor is not None:
            return self.investor
        return self.kind in (TrancheKind.loan, TrancheKind.recoverable_grant)

    @property
    def repayable(self) -> bool:
        """Grants are never repaid; everything else is."""
        return self.kind != TrancheKind.grant


class Guarantee(_Model):
    """Covers a tranche's principal loss above ``attachment``, up to ``amount``.

    Pays ``min(share * max(loss - attachment, 0), amount)`` when the horizon ends.
    """

    id: str
    covers: str
    amount: float = Field(ge=0)
    share: float = Field(default=1.0, gt=0, le=1)
    attachment: float = Field(
        default=0.0,
        ge=0,
        description="First loss the covered tranche bears itself before the guarantee "
        "pays (a deductible).",
    )


class Capital(_Model):
    """Who funds the work and how outcome payments flow back (the waterfall)."""

    tranches: list[Tranche] = Field(min_length=1)
    guarantees: list[Guarantee] = Field(default_factory=list)
    draw: DrawRule = DrawRule.as_needed
    residual: str = Field(
        default=RETAINED,
        description="Who gets payments beyond what the stack is owed: "
        "'retained_by_payer', 'provider', 'investors' (split among investor tranches in "
        "proportion to what each drew, each within its max_return), or a tranche id.",
    )


class Correlation(_Model):
    """Rank correlation between two uncertain inputs (Gaussian copula)."""

    inputs: tuple[str, str] = Field(
        description="Dotted names of two uncertain inputs, e.g. outcomes.a.effect."
    )
    rho: float = Field(ge=-1, le=1)


class Simulation(_Model):
    """Default simulation settings."""

    paths: int = Field(default=20_000, gt=0)
    seed: int = Field(default=1, ge=0)
    sampling: Sampling = Sampling.random


# ------------------------------------------------------------------------ scenario
class PaymentEvent(NamedTuple):
    """One assessment and payment of an outcome.

    Attributes:
        measured: period whose units are counted (and savings realised).
        due: period the payment falls due (``measured`` + lag).
        group: column of the outcome's measured effects (the estimate used).
        cohorts: indices of the cohorts paid for.
        pooled_fallback: the pooled assessment of ``per_cohort_or_pooled``.
    """

    measured: int
    due: int
    group: int
    cohorts: list[int]
    pooled_fallback: bool


class Scenario(_Model):
    """A whole Pay for Success deal (the scenario file)."""

    name: str
    description: str = ""
    currency: str = "USD"
    periods_per_year: int = Field(default=1, ge=1, le=12)
    horizon: int = Field(gt=0, le=600)
    program: Program
    outcomes: list[Outcome] = Field(min_length=1)
    payers: list[Payer] = Field(min_length=1)
    capital: Capital
    simulation: Simulation = Field(default_factory=Simulation)
    lead_payer: str | None = Field(
        default=None,
        description="The payer that would fund the programme directly under fee-for-service "
        "and tops up costs the capital cannot fund (default: the first outcome's payer).",
    )
    correlations: list[Correlation] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    # -------------------------------------------------------------- lookups
    def outcome(self, outcome_id: str) -> Outcome:
        """The outcome with this id."""
        return next(o for o in self.outcomes if o.id == outcome_id)

    def payer(self, payer_id: str) -> Payer:
        """The payer with this id."""
        return next(p for p in self.payers if p.id == payer_id)

    def tranche(self, tranche_id: str) -> Tranche:
        """The tranche with this id."""
        return next(t for t in self.capital.tranches if t.id == tranche_id)

    @property
    def lead_payer_id(self) -> str:
        """The payer for fee-for-service and funding top-ups (see ``lead_payer``)."""
        return self.lead_payer or self.outcomes[0].payment.payer

    def payment_lag(self, outcome: Outcome) -> int:
        """Periods between measurement and payment for ``outcome``."""
        lag = outcome.payment.lag
        return self.payer(outcome.payment.payer).payment_lag if lag is None else lag

    def measurement_groups(self, outcome: Outcome) -> list[tuple[int, list[int]]]:
        """Separate effect estimates of an outcome: ``(period measured, cohort indices)``.

        One per cohort (``per_cohort``), one for all (``pooled``), or one per cohort then
        one for all (``per_cohort_or_pooled``). The index of a group is its column in
        the outcome's measured effects; the period is its first counted period.
        """
        cohorts = self.program.cohorts
        last = max(c.period for c in cohorts) + outcome.measured_after
        everyone = list(range(len(cohorts)))
        measurement = outcome.evaluation.measurement
        if measurement == Measurement.pooled:
            return [(last, everyone)]
        groups = [(c.period + outcome.measured_after, [i]) for i, c in enumerate(cohorts)]
        if measurement == Measurement.per_cohort_or_pooled:
            groups.append((last, everyone))
        return groups

    def payment_events(self, outcome: Outcome) -> list[PaymentEvent]:
        """Every payment of an outcome, in the order it is assessed.

        Each estimate is paid once per counted period (``periods_counted``); the pooled
        assessment of ``per_cohort_or_pooled`` comes after every cohort's own.
        """
        lag = self.payment_lag(outcome)
        groups = self.measurement_groups(outcome)
        fallback = outcome.evaluation.measurement == Measurement.per_cohort_or_pooled
        events = []
        for g, (period, cohorts) in enumerate(groups):
            is_fallback = fallback and g == len(groups) - 1
            for r in range(1 if is_fallback else outcome.periods_counted):
                events.append(PaymentEvent(period + r, period + r + lag, g, cohorts, is_fallback))
        return events

    def standard_error(self, outcome: Outcome) -> float:
        """Standard error of the whole evaluation's effect estimate (effect units).

        With blended estimates, the standard error of the weighted blend.
        """
        ev = outcome.evaluation
        main = self._main_standard_error(outcome)
        if not ev.blended_with:
            return main
        weights = [ev.main_weight, *(c.weight for c in ev.blended_with)]
        errors = [main, *(c.standard_error for c in ev.blended_with)]
        if any(math.isinf(e) for e in errors):
            return math.inf
        var = 0.0
        for i, (wi, si) in enumerate(zip(weights, errors, strict=True)):
            for j, (wj, sj) in enumerate(zip(weights, errors, strict=True)):
                rho = 1.0 if i == j else ev.error_correlation
                var += wi * wj * rho * si * sj
        return math.sqrt(max(var, 0.0))

    def _main_standard_error(self, outcome: Outcome) -> float:
        ev = outcome.evaluation
        if ev.standard_error is not None:
            return ev.standard_error
        assert ev.sample_size is not None and ev.outcome_sd is not None
        control = ev.control_size or ev.sample_size
        se_units = ev.outcome_sd * math.sqrt(1 / ev.sample_size + 1 / control)
        if outcome.effect_type == EffectType.absolute:
            return se_units
        from pfs.distributions import value_mean

        baseline = value_mean(outcome.baseline)
        return se_units / baseline if baseline > 0 else math.inf

    def uncertain_inputs(self) -> dict[str, Any]:
        """Every uncertain input by its dotted name (the key of its random stream)."""
        found: dict[str, Any] = {}
        if is_uncertain(self.program.enrollment_factor):
            found["program.enrollment_factor"] = self.program.enrollment_factor
        if is_uncertain(self.program.cost_per_participant):
            found["program.cost_per_participant"] = self.program.cost_per_participant
        for fc in self.program.fixed_costs:
            if is_uncertain(fc.per_period):
                found[f"program.fixed_costs.{fc.name}.per_period"] = fc.per_period
        for o in self.outcomes:
            for field in ("baseline", "effect", "value_per_unit"):
                if is_uncertain(getattr(o, field)):
                    found[f"outcomes.{o.id}.{field}"] = getattr(o, field)
            if is_uncertain(o.evaluation.bias):
                found[f"outcomes.{o.id}.evaluation.bias"] = o.evaluation.bias
            for c in o.evaluation.blended_with:
                if is_uncertain(c.bias):
                    found[f"outcomes.{o.id}.evaluation.blended_with.{c.id}.bias"] = c.bias
        return found

    # ------------------------------------------------------------ transforms
    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON types) of the scenario, defaults omitted where unset."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_yaml(self) -> str:
        """The scenario as a YAML document that :func:`load_scenario` reads back."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    def canonical(self) -> str:
        """A canonical JSON string: equal scenarios give equal strings (cache key)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def with_overrides(self, overrides: dict[str, Any], source: str = "<override>") -> Scenario:
        """A new scenario with dotted-path overrides applied and re-validated.

        Paths use ids for list items (``outcomes.bed_days.effect``,
        ``capital.tranches.senior.amount``) or indices (``program.cohorts.0.size``).

        Raises:
            ScenarioError: when a path names no field or the result is invalid.
        """
        data = self.model_dump(mode="json")
        for path, value in overrides.items():
            _set_path(data, path, value)
        return scenario_from_dict(data, source=source)


# --------------------------------------------------------------- loading & errors
def format_loc(loc: tuple[int | str, ...]) -> str:
    """``('outcomes', 0, 'payment', 'cap')`` -> ``outcomes[0].payment.cap``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _problem(error: dict[str, Any]) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown field (not part of the scenario format)"
    if kind == "missing":
        return "required field is missing"
    return str(msg).removeprefix("Value error, ")


def _validation_to_error(err: ValidationError, source: str) -> ScenarioError:
    errors = err.errors()
    first = errors[0]
    problem = _problem(dict(first))
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ScenarioError(source, format_loc(tuple(first["loc"])), problem)


def _check_references(sc: Scenario, source: str) -> None:
    """Cross-field checks that pydantic cannot express field by field."""

    def fail(field: str, problem: str) -> None:
        raise ScenarioError(source, field, problem)

    payer_ids = [p.id for p in sc.payers]
    tranche_ids = [t.id for t in sc.capital.tranches]
    for kind, ids in (
        ("payers", payer_ids),
        ("capital.tranches", tranche_ids),
        ("outcomes", [o.id for o in sc.outcomes]),
    ):
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            fail(kind, f"duplicate id {sorted(dupes)[0]!r}")
    last = sc.horizon - 1
    for i, c in enumerate(sc.program.cohorts):
        if c.period > last:
            fail(
                f"program.cohorts[{i}].period",
                f"period {c.period} is beyond the horizon ({sc.horizon} periods, last is {last})",
            )
    for i, fc in enumerate(sc.program.fixed_costs):
        bad = [p for p in fc.periods if not 0 <= p <= last]
        if bad:
            fail(f"program.fixed_costs[{i}].periods", f"period {bad[0]} is outside 0..{last}")
    for i, o in enumerate(sc.outcomes):
        at = f"outcomes[{i}]"
        pay = o.payment
        if pay.payer not in payer_ids:
            fail(
                f"{at}.payment.payer",
                f"no payer with id {pay.payer!r} (payers: {', '.join(payer_ids)})",
            )
        for saver, share in o.savings_to.items():
            if saver not in payer_ids:
                fail(f"{at}.savings_to.{saver}", f"no payer with id {saver!r}")
            if not 0 <= share <= 1:
                fail(f"{at}.savings_to.{saver}", f"share must be between 0 and 1, got {share}")
        if sum(o.savings_to.values()) > 1 + 1e-9:
            fail(f"{at}.savings_to", "shares add up to more than 1")
        ev = o.evaluation
        if ev.standard_error is None and (ev.sample_size is None or ev.outcome_sd is None):
            fail(f"{at}.evaluation", "give standard_error, or sample_size and outcome_sd")
        if pay.rule == Rule.rate_card and pay.price_per_unit is None:
            fail(f"{at}.payment.price_per_unit", "a rate_card payment needs price_per_unit")
        if pay.rule == Rule.tiers and not pay.tiers:
            fail(f"{at}.payment.tiers", "a tiers payment needs a list of tiers")
        if pay.rule == Rule.share_of_savings and pay.share is None:
            fail(f"{at}.payment.share", "a share_of_savings payment needs share")
        if pay.rule != Rule.tiers and pay.tiers:
            fail(f"{at}.payment.tiers", f"tiers given but rule is {pay.rule.value}")
        _check_mechanisms(sc, o, at, payer_ids, fail)
        for event in sc.payment_events(o):
            if event.due > last:
                fail(
                    f"{at}.measured_after",
                    f"a payment measured in period {event.measured} falls due in period "
                    f"{event.due}, beyond the horizon (last period {last}); "
                    f"raise horizon",
                )
    for i, g in enumerate(sc.capital.guarantees):
        if g.covers not in tranche_ids:
            fail(f"capital.guarantees[{i}].covers", f"no tranche with id {g.covers!r}")
        if not sc.tranche(g.covers).repayable:
            fail(
                f"capital.guarantees[{i}].covers",
                f"tranche {g.covers!r} is a grant: it is never repaid, so there is no loss "
                "to guarantee",
            )
    if sc.lead_payer is not None and sc.lead_payer not in payer_ids:
        fail("lead_payer", f"no payer with id {sc.lead_payer!r}")
    if sc.program.service_periods > 1:
        last_start = max(c.period for c in sc.program.cohorts)
        if last_start + sc.program.service_periods > sc.horizon:
            fail(
                "program.service_periods",
                f"a cohort starting in period {last_start} is served until period "
                f"{last_start + sc.program.service_periods - 1}, beyond the horizon "
                f"(last period {sc.horizon - 1})",
            )
    has_investor = any(t.is_investor and t.repayable for t in sc.capital.tranches)
    for i, o in enumerate(sc.outcomes):
        if o.payment.share_after_repaid is not None and not has_investor:
            fail(
                f"outcomes[{i}].payment.share_after_repaid",
                "needs an investor tranche that is repaid (loan or recoverable grant)",
            )
    uncertain = sc.uncertain_inputs()
    for i, corr in enumerate(sc.correlations):
        for name in corr.inputs:
            if name not in uncertain:
                fail(
                    f"correlations[{i}].inputs",
                    f"{name!r} is not an uncertain input "
                    f"(uncertain: {', '.join(uncertain) or 'none'})",
                )
        if corr.inputs[0] == corr.inputs[1]:
            fail(f"correlations[{i}].inputs", "an input cannot be correlated with itself")
    if sc.correlations:
        import numpy as np

        names = sorted({n for c in sc.correlations for n in c.inputs})
        matrix = np.eye(len(names))
        for pair in sc.correlations:
            a, b = names.index(pair.inputs[0]), names.index(pair.inputs[1])
            matrix[a, b] = matrix[b, a] = pair.rho
        if np.linalg.eigvalsh(matrix).min() < -1e-10:
            fail(
                "correlations",
                "the correlations are not consistent (the matrix is not positive semi-definite)",
            )
    residual = sc.capital.residual
    if residual not in (RETAINED, PROVIDER, INVESTORS, *tranche_ids):
        fail(
            "capital.residual",
            f"must be {RETAINED!r}, {PROVIDER!r}, {INVESTORS!r} or a tranche id, got {residual!r}",
        )
    if residual == INVESTORS and not any(
        t.is_investor and t.repayable for t in sc.capital.tranches
    ):
        fail(
            "capital.residual",
            "'investors' needs at least one investor tranche that is not a grant",
        )
    if residual in tranche_ids and not sc.tranche(residual).repayable:
        fail("capital.residual", f"tranche {residual!r} is a grant and cannot take the residual")
    if residual in tranche_ids and sc.tranche(residual).amount == 0:
        fail(
            "capital.residual",
            f"tranche {residual!r} commits no capital, so it cannot take what is left over",
        )


def _check_mechanisms(
    sc: Scenario, o: Outcome, at: str, payer_ids: list[str], fail: Callable[[str, str], None]
) -> None:
    """Checks of one outcome's blended estimates, basis, pooled trigger and payer split."""
    ev, pay = o.evaluation, o.payment
    ids = [c.id for c in ev.blended_with]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        fail(f"{at}.evaluation.blended_with", f"duplicate id {dupes[0]!r}")
    if ev.blended_with and ev.main_weight <= 1e-12:
        total = sum(c.weight for c in ev.blended_with)
        fail(
            f"{at}.evaluation.blended_with",
            f"weights add up to {total:g}; they must stay below 1 (the main estimate "
            "keeps 1 minus their sum)",
        )
    fallback = ev.measurement == Measurement.per_cohort_or_pooled
    if fallback and pay.pooled_threshold is None:
        fail(
            f"{at}.payment.pooled_threshold",
            "measurement per_cohort_or_pooled needs pooled_threshold (the threshold "
            "all cohorts together must reach)",
        )
    if not fallback and pay.pooled_threshold is not None:
        fail(
            f"{at}.payment.pooled_threshold",
            "only used with evaluation.measurement: per_cohort_or_pooled",
        )
    if fallback and o.periods_counted > 1:
        fail(
            f"{at}.periods_counted",
            "per_cohort_or_pooled measurement is assessed once per cohort; "
            "periods_counted must be 1",
        )
    if pay.rule == Rule.tiers and o.periods_counted > 1:
        fail(
            f"{at}.periods_counted",
            "a tiers payment is paid once per estimate; periods_counted must be 1",
        )
    if pay.basis == Basis.level:
        if pay.rule == Rule.tiers:
            fail(
                f"{at}.payment.basis",
                "basis 'level' applies to rate_card and share_of_savings, not tiers",
            )
        if pay.pay_on == PayOn.above_threshold:
            fail(
                f"{at}.payment.pay_on",
                "pay_on above_threshold counts improvement, so it needs basis 'effect'",
            )
        if pay.threshold != 0:
            fail(
                f"{at}.payment.threshold",
                "a payment on basis 'level' has no measured improvement to compare with a "
                "threshold; set threshold to 0 or use basis 'effect'",
            )
        if o.direction == Direction.decrease and pay.reference_level is None:
            fail(
                f"{at}.payment.reference_level",
                "a decrease paid on basis 'level' needs reference_level (the contract's "
                "assumed units per participant without the programme)",
            )
    elif pay.reference_level is not None:
        fail(f"{at}.payment.reference_level", "only used with basis: level")
    if pay.payer_shares is not None:
        shares = pay.payer_shares
        for payer_id, share in shares.items():
            if payer_id not in payer_ids:
                fail(f"{at}.payment.payer_shares.{payer_id}", f"no payer with id {payer_id!r}")
            if not 0 < share <= 1:
                fail(
                    f"{at}.payment.payer_shares.{payer_id}",
                    f"share must be above 0 and at most 1, got {share}",
                )
        if pay.payer not in shares:
            fail(f"{at}.payment.payer_shares", f"must include the payer {pay.payer!r}")
        if abs(sum(shares.values()) - 1) > 1e-9:
            fail(
                f"{at}.payment.payer_shares",
                f"shares must add up to 1, got {sum(shares.values()):g}",
            )


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate plain data into a :class:`Scenario`.

    Raises:
        ScenarioError: naming the source, field path and problem.
    """
    if not isinstance(data, dict):
        raise ScenarioError(source, "", "a scenario must be a mapping of fields")
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as err:
        raise _validation_to_error(err, source) from None
    _check_references(sc, source)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises:
        ScenarioError: unreadable file, malformed YAML, or invalid content.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(source, "", f"cannot read file ({err})") from None
    return parse_scenario_text(text, source)


def parse_scenario_text(text: str, source: str = "<scenario>") -> Scenario:
    """Validate a YAML document (e.g. an upload) into a :class:`Scenario`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError(source, where, f"malformed YAML: {reason}") from None
    return scenario_from_dict(data, source=source)


def dump_scenario(sc: Scenario, path: str | Path) -> None:
    """Write a scenario as YAML."""
    Path(path).write_text(sc.to_yaml(), encoding="utf-8")


# ------------------------------------------------------------------ overrides
def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = data
    walked: list[str] = []

    def fail(problem: str) -> None:
        raise ScenarioError("<override>", path, problem)

    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                ids = [
                    str(item.get("id", item.get("name"))) for item in node if isinstance(item, dict)
                ]
                where = ".".join(walked) or "scenario"
                fail(f"no item {part!r} in {where} (ids: {', '.join(ids) or 'none'})")
                return
            if last:
                node[index] = copy.deepcopy(value)
            node = node[index]
        elif isinstance(node, dict):
            if part not in node:
                where = ".".join(walked) or "scenario"
                fail(f"{where} has no field {part!r}")
            if last:
                node[part] = copy.deepcopy(value)
            node = node[part]
        else:
            fail(f"{'.'.join(walked)} is a value, not a section")
        walked.append(part)


def _list_index(items: list[Any], key: str) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and key in (item.get("id"), item.get("name")):
            return i
    if key.isdigit() and int(key) < len(items):
        return int(key)
    return None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``path=value`` (value in YAML syntax) as given to ``--set``.

    Raises:
        ScenarioError: when there is no ``=`` or the value is not valid YAML.
    """
    if "=" not in text:
        raise ScenarioError("<override>", text, "expected path=value")
    path, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ScenarioError("<override>", path.strip(), f"value {raw!r} is not valid") from None
    return path.strip(), value


def default_scenario_path() -> Path:
    """The bundled default teaching scenario."""
    return scenarios_dir() / "teaching_reentry.yaml"


def scenarios_dir() -> Path:
    """The folder of bundled presets (``scenarios/`` beside the package)."""
    return Path(__file__).resolve().parent.parent / "scenarios"
