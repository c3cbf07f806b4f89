"""Parameter widgets generated from the scenario, grouped as a practitioner thinks.

Stage: input editing. :func:`parameter_panel` draws, for whatever the scenario
contains (any number of outcomes, payers, tranches, guarantees), the groups
Programme; Outcomes and evaluation; Payment terms; Capital stack; Government;
Simulation, and returns the edits as dotted-path overrides for
:meth:`pfs.Scenario.with_overrides`. Widget keys are ``p:<dotted path>`` (plus
``:spread`` for an uncertain value's uncertainty), stable across reruns.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd
import streamlit as st

from pfs.distributions import is_uncertain
from pfs.scenario import (
    RETAINED,
    AmountBasis,
    Direction,
    EffectType,
    Outcome,
    Payer,
    Rule,
    Scenario,
    Tranche,
    TrancheKind,
)
from pfs.ui import edits, fmt
from pfs.ui.labels import RULES, TRANCHE_KINDS, evaluation_words
from pfs.ui.state import PARAM_PREFIX, seed

UnitKind = Literal["percent", "money", "count", "plain"]
PATH_CHOICES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
SAMPLING = {
    "random": "Random",
    "lhs": "Latin hypercube (smoother)",
    "sobol": "Sobol sequence (smoothest)",
}


@dataclass(frozen=True)
class Unit:
    """How a number is shown and bounded in its widget.

    Attributes:
        kind: ``percent`` (fractions shown as %), ``money``, ``count`` or ``plain``.
        lo: lowest value offered (real units), if bounded.
        hi: highest value offered (real units), if bounded.
        floor: lowest value the scenario accepts (0 for costs), for distributions.
        slider: a slider rather than a number box.
        suffix: unit name written after a plain number.
    """

    kind: UnitKind
    lo: float | None = None
    hi: float | None = None
    floor: float | None = None
    slider: bool = False
    suffix: str = ""


PERCENT = Unit("percent", lo=0.0, hi=1.0, slider=True)
MONEY = Unit("money", lo=0.0, floor=0.0)


def param_key(path: str, part: str = "") -> str:
    """Session-state key of the widget editing ``path`` (``part``: e.g. ``spread``)."""
    return f"{PARAM_PREFIX}{path}" + (f":{part}" if part else "")


def nice_step(x: float) -> float:
    """A round step about a tenth of ``x``'s order of magnitude (0.1 for 4.2)."""
    size = abs(x)
    return 10.0 ** (math.floor(math.log10(size)) - 1) if size > 0 else 1.0


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def period_word(sc: Scenario) -> str:
    """``year``, ``quarter``, ``month`` or ``period``, by the scenario's calendar."""
    return {1: "year", 2: "half-year", 4: "quarter", 12: "month"}.get(sc.periods_per_year, "period")


IRREGULAR = {"children": "child", "people": "person", "men": "man", "women": "woman"}


def singular(unit: str) -> str:
    """``bed-days`` -> ``bed-day``, ``children`` -> ``child`` (a rough singular for labels)."""
    head, _, last = unit.rpartition(" ")
    if last in IRREGULAR:
        return f"{head} {IRREGULAR[last]}".strip()
    return unit[:-1] if unit.endswith("s") and not unit.endswith("ss") else unit


class Editor:
    """Draws widgets for scenario values and collects the edits as overrides.

    Attributes:
        base: the unedited scenario (defaults and bounds come from it only, so widgets
            keep their identity while the user edits).
        edits: dotted path -> new value, only for values the user changed.
    """

    def __init__(self, base: Scenario):
        self.base = base
        self.edits: dict[str, Any] = {}
        self.symbol = fmt.symbol(base.currency).strip()

    # ----------------------------------------------------------- display units
    def _scale(self, unit: Unit, magnitude: float) -> tuple[float, str]:
        """Display factor and label suffix, e.g. ``(1e-6, " ($M)")``."""
        if unit.kind == "percent":
            return 100.0, " (%)"
        if unit.kind == "money":
            for limit, name in ((1e6, "M"), (1e4, "K")):
                if abs(magnitude) >= limit:
                    return 1 / limit, f" ({self.symbol}{name})"
            return 1.0, f" ({self.symbol})"
        return 1.0, f" ({unit.suffix})" if unit.suffix else ""

    def _widget(
        self,
        key: str,
        label: str,
        help: str,
        shown: float | None,
        unit: Unit,
        factor: float,
        optional: bool = False,
    ) -> float | None:
        """A slider or number box starting at ``shown`` (display units)."""
        seed(key, round(shown) if unit.kind == "count" and shown is not None else shown)
        if unit.slider:
            value = shown or 0.0
            step = 0.5 if unit.kind == "percent" else nice_step(value or 1.0)
            lo = min(value, unit.lo * factor if unit.lo is not None else value - 10 * step)
            hi = max(value, unit.hi * factor if unit.hi is not None else value + 10 * step)
            form = "%.1f%%" if unit.kind == "percent" else f"%.{_decimals(step)}f"
            return float(
                st.slider(
                    label,
                    min_value=float(lo),
                    max_value=float(hi),
                    step=step,
                    format=form,
                    key=key,
                    help=help,
                )
            )
        extra: dict[str, Any] = {"value": None} if optional else {}
        if unit.kind == "count":
            got = st.number_input(
                label,
                min_value=int(unit.lo) if unit.lo is not None else None,
                step=max(1, int(nice_step(shown or 10))),
                key=key,
                help=help,
                placeholder="no limit",
                **extra,
            )
            return None if got is None else float(got)
        step = nice_step(shown if shown else 1.0)
        return st.number_input(
            label,
            min_value=None if unit.lo is None else unit.lo * factor,
            step=step,
            format=f"%.{_decimals(step)}f",
            key=key,
            help=help,
            placeholder="no limit",
            **extra,
        )

    # --------------------------------------------------------------- values
    def number(
        self,
        path: str,
        value: float | None,
        label: str,
        help: str,
        unit: Unit,
        *,
        magnitude: float | None = None,
        optional: bool = False,
    ) -> None:
        """A fixed number (``optional``: may be left empty, meaning no limit)."""
        factor, suffix = self._scale(unit, magnitude if magnitude is not None else value or 0.0)
        shown = None if value is None else round(value * factor, 10)
        got = self._widget(param_key(path), label + suffix, help, shown, unit, factor, optional)
        if got != shown:
            self.edits[path] = None if got is None else got / factor

    def value(self, path: str, value: Any, label: str, help: str, unit: Unit) -> None:
        """A scenario value: a number, or an uncertain value (best guess + uncertainty)."""
        if not is_uncertain(value):
            self.number(path, float(value), label, help, unit)
            return
        mid = edits.centre(value)
        factor, suffix = self._scale(unit, mid)
        shown = round(mid * factor, 10)
        got = self._widget(
            param_key(path),
            f"{label}, best guess{suffix}",
            help + " This is the centre of the range the simulation tries.",
            shown,
            unit,
            factor,
        )
        seed(param_key(path, "spread"), 100)
        spread = st.slider(
            f"{label}, uncertainty",
            min_value=0,
            max_value=300,
            step=10,
            format="%d%%",
            key=param_key(path, "spread"),
            help="How wide the range of possibilities is: 100% is the preset's range, "
            "0% means the value is known exactly, 200% doubles the range.",
        )
        new = value
        if got != shown or spread != 100:
            new = edits.edited_value(value, (got or 0.0) / factor, spread / 100, unit.floor)
            self.edits[path] = new
        low, high = edits.likely_range(new)
        st.caption(
            f"Likely range (9 futures in 10): {self._show(low, unit)} to {self._show(high, unit)}"
        )

    def _show(self, x: float, unit: Unit) -> str:
        if unit.kind == "percent":
            return fmt.pct(x, 1)
        if unit.kind == "money":
            return fmt.money(x, self.base.currency)
        return f"{fmt.number(x, 2 if abs(x) < 10 else 0)} {unit.suffix}".strip()

    def choice(self, path: str, value: str, options: dict[str, str], label: str, help: str) -> None:
        """A choice among named options (``options``: value -> label).

        The scenario's own value is always offered, even one this app does not know.
        """
        options = options if value in options else {value: value, **options}
        keys = list(options)
        seed(param_key(path), value, allowed=keys)
        got = st.selectbox(
            label,
            keys,
            format_func=options.__getitem__,
            key=param_key(path),
            help=help,
        )
        if got != value:
            self.edits[path] = got


# ------------------------------------------------------------------ groups
def programme(ed: Editor) -> None:
    """Participants, enrolment and costs."""
    prog = ed.base.program
    total = sum(c.size for c in prog.cohorts)
    seed(param_key("program.cohorts"), round(total))
    got = st.number_input(
        "Participants planned (all cohorts)",
        min_value=1,
        step=max(1, int(nice_step(total))),
        key=param_key("program.cohorts"),
        help=f"People the programme plans to serve over {len(prog.cohorts)} cohort(s). "
        "Changing it scales every cohort.",
    )
    if got != round(total):
        ed.edits["program.cohorts"] = [
            {"period": c.period, "size": c.size * got / total} for c in prog.cohorts
        ]
    ed.value(
        "program.enrollment_factor",
        prog.enrollment_factor,
        "Share of planned places filled",
        "Enrolment as a share of plan: below 100% when fewer people sign up.",
        Unit("percent", lo=0.0, hi=1.5, floor=0.0, slider=True),
    )
    ed.value(
        "program.cost_per_participant",
        prog.cost_per_participant,
        "Cost per participant",
        "What the provider spends to serve one person.",
        MONEY,
    )
    for fc in prog.fixed_costs:
        extra = " It exists only because of the PFS deal." if fc.pfs_only else ""
        ed.value(
            f"program.fixed_costs.{fc.name}.per_period",
            fc.per_period,
            f"{fc.name.replace('_', ' ').capitalize()} cost per {period_word(ed.base)}",
            f"A fixed cost paid in {len(fc.periods)} {period_word(ed.base)}(s).{extra}",
            MONEY,
        )


def _effect_unit(o: Outcome, lo: float, hi: float) -> Unit:
    if o.effect_type == EffectType.relative:
        return Unit("percent", lo=lo, hi=hi, slider=True)
    return Unit("plain", suffix=f"{o.unit} per participant")


def outcome_and_evaluation(ed: Editor, o: Outcome) -> None:
    """One outcome: true effect, baseline, value, evaluation noise and bias."""
    path = f"outcomes.{o.id}"
    change = "reduction" if o.direction == Direction.decrease else "increase"
    st.markdown(f"**{o.label or o.id}**")
    ed.value(
        f"{path}.effect",
        o.effect,
        f"Real effect ({change} in {o.unit})",
        f"How much the programme really changes {o.unit}, compared with no programme"
        f"{' (as a share of the baseline)' if o.effect_type == EffectType.relative else ''}."
        " Savings follow this real effect; payments follow what the evaluation measures.",
        _effect_unit(o, lo=-0.5, hi=1.0 if o.direction == Direction.decrease else 2.0),
    )
    ed.value(
        f"{path}.baseline",
        o.baseline,
        "Without the programme, per participant",
        "What would happen to each participant without the programme (the baseline).",
        Unit("plain", lo=0.0, floor=0.0, suffix=o.unit),
    )
    ed.value(
        f"{path}.value_per_unit",
        o.value_per_unit,
        f"Public cost avoided per {singular(o.unit)}",
        "What the public sector saves for each unit of improvement.",
        MONEY,
    )
    _evaluation(ed, o)


def _evaluation(ed: Editor, o: Outcome) -> None:
    path = f"outcomes.{o.id}.evaluation"
    ev = o.evaluation
    st.caption(f"Evaluation: {evaluation_words(o)}.")
    if ev.standard_error is not None:
        ed.number(
            f"{path}.standard_error",
            ev.standard_error,
            "Evaluation noise (standard error)",
            "How far the evaluation's estimate typically lands from the real effect by "
            "chance alone. Bigger evaluations have less noise.",
            replace(_effect_unit(o, lo=0.0, hi=max(0.3, 2 * ev.standard_error)), lo=0.0),
        )
    else:
        ed.number(
            f"{path}.sample_size",
            ev.sample_size,
            "People measured: programme group",
            "Participants in the evaluation's programme group. More people, less noise.",
            Unit("count", lo=1),
        )
        ed.number(
            f"{path}.control_size",
            ev.control_size or ev.sample_size,
            "People measured: comparison group",
            "People in the comparison group the programme is measured against.",
            Unit("count", lo=1),
        )
    ed.value(
        f"{path}.bias",
        ev.bias,
        "Evaluation bias",
        "A systematic error of the comparison (positive flatters the programme).",
        _effect_unit(o, lo=-0.2, hi=0.2),
    )


def payment_terms(ed: Editor, o: Outcome) -> None:
    """How one outcome is paid: price or tiers or share, threshold and cap."""
    pay = o.payment
    path = f"outcomes.{o.id}.payment"
    payer = ed.base.payer(pay.payer)
    st.markdown(f"**{o.label or o.id}**, paid by {payer.label or payer.id}")
    st.caption(f"Pays {RULES[pay.rule.value]}.")
    effect_unit = _effect_unit(o, lo=0.0, hi=0.5)
    if pay.rule == Rule.rate_card:
        ed.number(
            f"{path}.price_per_unit",
            pay.price_per_unit,
            f"Price per {singular(o.unit)}",
            f"What the government pays for each {singular(o.unit)} the evaluation measures.",
            MONEY,
        )
    if pay.rule == Rule.share_of_savings:
        ed.number(
            f"{path}.share",
            pay.share,
            "Share of measured savings paid",
            "The share of the savings (as measured) paid to investors.",
            PERCENT,
        )
        if pay.share_after_repaid is not None:
            ed.number(
                f"{path}.share_after_repaid",
                pay.share_after_repaid,
                "Share paid once investors are repaid",
                "The share paid after investors have got their money back.",
                PERCENT,
            )
    if pay.rule == Rule.tiers:
        _tiers(ed, o)
    else:
        ed.number(
            f"{path}.threshold",
            pay.threshold,
            "Smallest measured effect that pays",
            "Below this measured effect nothing is paid.",
            effect_unit,
        )
    if pay.pooled_threshold is not None:
        ed.number(
            f"{path}.pooled_threshold",
            pay.pooled_threshold,
            "Threshold when all cohorts are pooled",
            "After the last cohort, all cohorts are assessed together and paid (less what "
            "was already paid) if the pooled measured effect reaches this.",
            effect_unit,
        )
    if pay.payer_shares:
        split = ", ".join(
            f"{fmt.pct(share)} {ed.base.payer(who).label or who}"
            for who, share in pay.payer_shares.items()
        )
        st.caption(f"Payments are split between payers: {split}.")
    ed.number(
        f"{path}.cap",
        pay.cap,
        "Cap on payments for this outcome",
        "The most ever paid for this outcome. Leave empty for no cap.",
        MONEY,
        magnitude=pay.cap or 1e6,
        optional=True,
    )


def _tiers(ed: Editor, o: Outcome) -> None:
    pay = o.payment
    tiers = pay.tiers or []
    relative = o.effect_type == EffectType.relative
    per_person = pay.amount_basis == AmountBasis.per_participant
    at_factor = 100.0 if relative else 1.0
    money_factor = 1.0 if per_person else 1e-6
    table = pd.DataFrame(
        {
            "at": [t.at * at_factor for t in tiers],
            "amount": [t.amount * money_factor for t in tiers],
        }
    )
    at_label = "From (%)" if relative else f"From ({o.unit})"
    amount_label = f"Pay ({ed.symbol}/person)" if per_person else f"Pay ({ed.symbol}M)"
    st.caption(
        "Payment steps: once the measured effect reaches “From”, the payer pays “Pay”"
        f"{' per participant' if per_person else ' in total'}. Edit a cell, or add and delete "
        "rows."
    )
    # The key names the preset's tiers, so another scenario's edits never carry over.
    digest = hashlib.blake2b(table.to_json().encode(), digest_size=4).hexdigest()
    got = st.data_editor(
        table,
        key=param_key(f"outcomes.{o.id}.payment.tiers", digest),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "at": st.column_config.NumberColumn(
                at_label, format="%.1f" if relative else "%.2f", required=True, width="small"
            ),
            "amount": st.column_config.NumberColumn(
                amount_label, min_value=0.0, format="%.2f", required=True, width="small"
            ),
        },
    )
    if not got.equals(table):
        rows = got.dropna().sort_values("at")
        ed.edits[f"outcomes.{o.id}.payment.tiers"] = [
            {"at": float(at) / at_factor, "amount": float(amount) / money_factor}
            for at, amount in zip(rows["at"], rows["amount"], strict=True)
        ]


def capital_stack(ed: Editor) -> None:
    """Tranches (amount, interest, repayment order), guarantees and the residual."""
    cap = ed.base.capital
    for t in cap.tranches:
        _tranche(ed, t, len(cap.tranches))
    if cap.guarantees:
        seed(param_key("capital.guarantees"), True)
        keep = st.toggle(
            "Include the guarantee" + ("s" if len(cap.guarantees) > 1 else ""),
            key=param_key("capital.guarantees"),
            help="Switch off to see the deal without any guarantee.",
        )
        if not keep:
            ed.edits["capital.guarantees"] = []
        for g in cap.guarantees:
            covered = ed.base.tranche(g.covers)
            if keep:
                ed.number(
                    f"capital.guarantees.{g.id}.amount",
                    g.amount,
                    f"Guarantee ({g.id.replace('_', ' ')}) of {covered.label or covered.id}",
                    "The most the guarantor pays to cover this tranche's losses.",
                    MONEY,
                )
    options = {
        RETAINED: "Kept by the government",
        "provider": "Paid to the provider",
        "investors": "Shared among the investors",
        **{t.id: f"Goes to {t.label or t.id}" for t in cap.tranches if t.repayable},
    }
    ed.choice(
        "capital.residual",
        cap.residual,
        options,
        "Payments beyond what investors are owed",
        "Who gets outcome payments once every investor is fully repaid.",
    )


def _tranche(ed: Editor, t: Tranche, count: int) -> None:
    path = f"capital.tranches.{t.id}"
    st.markdown(f"**{t.label or t.id}** ({TRANCHE_KINDS.get(t.kind.value, t.kind.value)})")
    ed.number(
        f"{path}.amount",
        t.amount,
        "Amount committed",
        "The most this investor puts in; it is drawn as the programme needs it.",
        MONEY,
    )
    if t.kind != TrancheKind.grant:
        ed.number(
            f"{path}.rate",
            t.rate,
            "Interest rate per year",
            "The return promised on money drawn, if outcome payments allow.",
            Unit("percent", lo=0.0, hi=0.2, slider=True),
        )
    if count > 1:
        ed.number(
            f"{path}.seniority",
            t.seniority,
            "Repayment order (1 = repaid first)",
            "Outcome payments repay order 1 first, then 2, and so on.",
            Unit("count", lo=1),
        )


def government(ed: Editor, payer: Payer) -> None:
    """One payer: discount rate and budget caps."""
    path = f"payers.{payer.id}"
    word = period_word(ed.base)
    st.markdown(f"**{payer.label or payer.id}**")
    ed.number(
        f"{path}.discount_rate",
        payer.discount_rate,
        "Discount rate",
        "How much less a dollar is worth each year later (used for today's-money figures).",
        Unit("percent", lo=0.0, hi=0.15, slider=True),
    )
    ed.number(
        f"{path}.total_cap",
        payer.total_cap,
        "Total budget for outcome payments",
        "The most this payer will ever pay. Leave empty for no limit.",
        MONEY,
        magnitude=payer.total_cap or 1e6,
        optional=True,
    )
    ed.number(
        f"{path}.per_period_cap",
        payer.per_period_cap,
        f"Budget limit per {word}",
        f"The most this payer can pay in one {word}. Leave empty for no limit.",
        MONEY,
        magnitude=payer.per_period_cap or 1e6,
        optional=True,
    )


def simulation(ed: Editor) -> None:
    """Number of simulated futures, random seed and sampling method."""
    sim = ed.base.simulation
    options = sorted({*PATH_CHOICES, sim.paths})
    seed(param_key("simulation.paths"), sim.paths, allowed=options)
    paths = st.select_slider(
        "Simulated futures (paths)",
        options=options,
        format_func=lambda n: f"{n:,}",
        key=param_key("simulation.paths"),
        help="More futures give steadier numbers but take longer (100,000 takes about a second).",
    )
    if paths != sim.paths:
        ed.edits["simulation.paths"] = paths
    ed.number(
        "simulation.seed",
        sim.seed,
        "Random seed",
        "Change it to see how much the numbers move by chance alone.",
        Unit("count", lo=0),
    )
    ed.choice(
        "simulation.sampling",
        sim.sampling.value,
        SAMPLING,
        "Sampling method",
        "How the futures are drawn; smoother methods settle with fewer paths.",
    )


GROUPS = (
    "Programme",
    "Outcomes and evaluation",
    "Payment terms",
    "Capital stack",
    "Government",
    "Simulation",
)


def parameter_panel(base: Scenario) -> dict[str, Any]:
    """Draw every parameter group for ``base``; return the user's edits as overrides."""
    ed = Editor(base)
    with st.expander(GROUPS[0]):
        programme(ed)
    with st.expander(GROUPS[1], expanded=True):
        for o in base.outcomes:
            outcome_and_evaluation(ed, o)
    with st.expander(GROUPS[2]):
        for o in base.outcomes:
            payment_terms(ed, o)
    with st.expander(GROUPS[3]):
        capital_stack(ed)
    with st.expander(GROUPS[4]):
        for payer in base.payers:
            government(ed, payer)
    with st.expander(GROUPS[5]), st.form("simulation_form", border=False):
        simulation(ed)  # a form: a big run starts once, when the user applies
        st.form_submit_button("Apply", key="simulation_apply")
    return ed.edits
