"""Plain-language names and help texts for the metrics the app shows.

No raw metric name (``gov_net_savings_pv``) should reach the screen: views look up
:data:`METRICS` for a label, a one-line explanation and how to format the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pfs.scenario import Basis, Direction, Measurement, Outcome, Scenario
from pfs.ui import fmt

Kind = Literal["share", "rate", "money", "multiple"]


@dataclass(frozen=True)
class MetricInfo:
    """How to present one metric.

    Attributes:
        label: short name for a metric card or table row.
        help: what it means, in plain words.
        kind: ``share`` (a probability), ``rate`` (an IRR), ``money`` or ``multiple``.
        higher_is_better: colours the change arrow (green when it improves).
    """

    label: str
    help: str
    kind: Kind
    higher_is_better: bool = True

    def show(self, value: float, currency: str) -> str:
        """The value formatted for people."""
        if self.kind == "money":
            return fmt.money(value, currency)
        if self.kind == "multiple":
            return fmt.multiple(value)
        return fmt.pct(value, 1 if self.kind == "rate" else 0)

    def show_change(self, change: float, currency: str) -> str:
        """A difference formatted for people (``+12 pts``, ``-$0.3M``)."""
        if self.kind == "money":
            return fmt.money(change, currency, signed=True)
        if self.kind == "multiple":
            return fmt.multiple(change, signed=True)
        return fmt.points(change, 1 if self.kind == "rate" else 0)


METRICS: dict[str, MetricInfo] = {
    "p_investor_repaid": MetricInfo(
        "Chance investors are repaid",
        "Share of the simulated futures in which every investor gets back everything "
        "they are owed (their money plus the agreed interest).",
        "share",
    ),
    "p_investor_loss": MetricInfo(
        "Chance investors lose money",
        "Share of the simulated futures in which investors get back less than they put "
        "in, after any guarantee.",
        "share",
        higher_is_better=False,
    ),
    "investor_irr_p50": MetricInfo(
        "Investor return, typical (IRR)",
        "Investors' yearly rate of return (internal rate of return, IRR) in the middle "
        "case, the median: half the simulated futures do better, half do worse.",
        "rate",
    ),
    "investor_irr_p05": MetricInfo(
        "Investor return, bad case (IRR)",
        "Investors' yearly rate of return in a bad case: only 1 simulated future in 20 does worse.",
        "rate",
    ),
    "gov_net_savings_pv_mean": MetricInfo(
        "Government net savings (expected)",
        "Public savings from the programme's real results minus the outcome payments, "
        "averaged over the simulated futures, in today's money (present value).",
        "money",
    ),
    "p_gov_net_negative": MetricInfo(
        "Chance government is worse off",
        "Share of the simulated futures in which the government pays more for outcomes "
        "than it saves.",
        "share",
        higher_is_better=False,
    ),
    "max_annual_outlay_p95": MetricInfo(
        "Largest yearly payment (bad case)",
        "The most the government pays for outcomes in any single budget year, in a bad "
        "case (only 1 simulated future in 20 needs more). Plan the budget line for this.",
        "money",
        higher_is_better=False,
    ),
    "cost_per_outcome_unit": MetricInfo(
        "Cost per additional outcome",
        "Expected outcome payments divided by the expected number of additional outcome "
        "units the programme really achieves (e.g. per jail bed-day avoided).",
        "money",
        higher_is_better=False,
    ),
    "pfs_vs_ffs_pv_mean": MetricInfo(
        "PFS saving vs paying the provider directly",
        "Expected saving of this Pay for Success deal compared with simply paying the "
        "provider's costs up front (fee-for-service), in today's money. Positive means "
        "the PFS deal costs the government less.",
        "money",
    ),
    "outcome_payments_mean": MetricInfo(
        "Outcome payments (expected total)",
        "Total the government pays for outcomes, averaged over the simulated futures.",
        "money",
        higher_is_better=False,
    ),
}

# Rows of the comparison table: engine metric name -> how to present it (means).
COMPARE_METRICS: dict[str, MetricInfo] = {
    "p_investor_repaid": METRICS["p_investor_repaid"],
    "p_investor_loss": METRICS["p_investor_loss"],
    "investor_irr": MetricInfo(
        "Investor return (average IRR)", "Investors' yearly return, averaged.", "rate"
    ),
    "investor_moic": MetricInfo(
        "Investor multiple (average)",
        "Money investors get back per dollar they put in.",
        "multiple",
    ),
    "gov_net_savings_pv": METRICS["gov_net_savings_pv_mean"],
    "p_gov_net_negative": METRICS["p_gov_net_negative"],
    "max_annual_outlay": MetricInfo(
        "Largest yearly payment (average)",
        "The most the government pays for outcomes in one budget year, averaged.",
        "money",
        higher_is_better=False,
    ),
    "outcome_payments": METRICS["outcome_payments_mean"],
    "gross_savings_pv": MetricInfo(
        "Public savings (expected, today's money)",
        "Savings from the programme's real results.",
        "money",
    ),
    "pfs_vs_ffs_pv": METRICS["pfs_vs_ffs_pv_mean"],
    "guarantee_paid": MetricInfo(
        "Guarantee payout (expected)",
        "What the guarantor pays investors to cover losses.",
        "money",
        higher_is_better=False,
    ),
}

# Distributions that the Compare tab can overlay: metric -> (label, kind).
DISTRIBUTIONS: dict[str, tuple[str, Kind]] = {
    "gov_net_savings_pv": ("Government net savings (today's money)", "money"),
    "investor_irr": ("Investor return (IRR per year)", "rate"),
    "outcome_payments": ("Total outcome payments", "money"),
    "max_annual_outlay": ("Largest payment in one budget year", "money"),
}

TRANCHE_KINDS = {
    "loan": "loan",
    "recoverable_grant": "recoverable grant",
    "grant": "grant (not repaid)",
    "deferred_fee": "deferred provider fee",
}

DESIGNS = {
    "rct": "randomised controlled trial",
    "quasi_experimental": "quasi-experimental comparison",
    "historical_comparison": "comparison with past data",
    "difference_in_differences": "difference-in-differences comparison",
    "validated_administrative": "validated administrative data",
}

MEASUREMENTS = {
    "per_cohort": "each cohort measured and paid on its own",
    "pooled": "all cohorts measured once, together",
    "per_cohort_or_pooled": "each cohort on its own, else all cohorts pooled",
}

RULES = {
    "rate_card": "a price for each unit of outcome (rate card)",
    "tiers": "fixed amounts at steps of the measured effect (tiers)",
    "share_of_savings": "a share of the savings measured",
}


def change_word(o: Outcome) -> str:
    """``reduction`` or ``increase``: what the programme is meant to do to the outcome."""
    return "reduction" if o.direction == Direction.decrease else "increase"


def evaluation_words(o: Outcome) -> str:
    """How an outcome is measured and paid, in one plain sentence (no trailing period).

    Names the design, how cohorts are measured (with the pooled threshold of
    ``per_cohort_or_pooled``), a blend of estimates, and a payment on the level reached
    rather than on the measured improvement.
    """
    ev, pay = o.evaluation, o.payment
    design = DESIGNS.get(ev.design.value, ev.design.value)
    words = [f"{design}, {MEASUREMENTS[ev.measurement.value]}"]
    if ev.measurement == Measurement.per_cohort_or_pooled and pay.pooled_threshold is not None:
        words[0] += f" (pooled threshold {_effect_text(o, pay.pooled_threshold)})"
    if ev.blended_with:
        parts = [f"{fmt.pct(ev.main_weight)} this estimate"]
        parts += [
            f"{fmt.pct(c.weight)} {DESIGNS.get(c.design.value, c.design.value)}"
            for c in ev.blended_with
        ]
        words.append("the payment estimate blends " + " and ".join(parts))
    if pay.basis == Basis.level:
        reference = pay.reference_level or 0.0
        words.append(
            f"pays on the level the programme group reaches against a fixed reference of "
            f"{fmt.number(reference, 2)} {o.unit} per participant, with no comparison group, "
            "so it pays even if the programme changes nothing"
        )
    return "; ".join(words)


def _effect_text(o: Outcome, x: float) -> str:
    if o.effect_type.value == "relative":
        return fmt.pct(x, 1)
    return f"{fmt.number(x, 2 if abs(x) < 10 else 0)} {o.unit}"


_FIELD_WORDS = {
    "effect": "real effect",
    "baseline": "level without the programme",
    "evaluation.bias": "evaluation bias",
    "evaluation.noise": "evaluation's chance error",
}


def input_words(sc: Scenario, name: str) -> str:
    """Plain name of an uncertain input (or a Sobol' factor: inputs joined by ``+``).

    ``outcomes.bed_days.effect`` -> ``Jail bed-days avoided: real effect``, in the
    words of the parameter panel.
    """
    if " + " in name:
        return " + ".join(input_words(sc, part) for part in name.split(" + "))
    parts = name.split(".")
    if name == "program.enrollment_factor":
        return "Share of planned places filled"
    if name == "program.cost_per_participant":
        return "Cost per participant"
    if parts[:2] == ["program", "fixed_costs"] and len(parts) == 4:
        return f"{parts[2].replace('_', ' ').capitalize()} cost"
    if parts[0] == "outcomes" and len(parts) >= 3:
        o = next((x for x in sc.outcomes if x.id == parts[1]), None)
        if o is not None:
            rest = ".".join(parts[2:])
            if rest == "value_per_unit":
                words = f"public cost avoided per unit ({o.unit})"
            elif rest.startswith("evaluation.blended_with.") and rest.endswith(".bias"):
                words = f"bias of the {parts[4].replace('_', ' ')} estimate"
            else:
                words = _FIELD_WORDS.get(rest, rest.replace(".", " ").replace("_", " "))
            return f"{o.label or o.id}: {words}"
    return name
