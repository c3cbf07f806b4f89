"""The Drivers tab: what moves the result, how good the programme must be, what price.

Stage: drawing. Four questions, each answered by :mod:`pfs.analysis` through the caches
of :mod:`pfs.ui.analyses` (the tab never computes finance itself):

- *What moves the result most?* a tornado chart (:func:`pfs.analysis.tornado`) for
  government net savings, investors' average return or their chance of repayment;
- *How much of the uncertainty does each input explain?* Sobol' indices with
  confidence intervals, on a button (:func:`pfs.analysis.sobol_indices`);
- *How good must the programme be?* break-even sentences, with everything else as
  expected and with every uncertainty kept (:func:`pfs.analysis.breakeven_table`);
- *What price would give investors a target?* the price solver and the frontier of
  investors' return against the government's savings (:func:`pfs.analysis.solve_price`,
  :func:`pfs.analysis.price_frontier`), on a button.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from pfs.analysis import PriceSolution
from pfs.scenario import EffectType, Outcome, PfsError, Rule, Scenario
from pfs.ui import analyses, charts, fmt, state
from pfs.ui.labels import change_word, input_words
from pfs.ui.views import show
from pfs.ui.widgets import singular

METRIC_KEY = "drivers_metric"
OUTCOME_KEY = "breakeven_outcome"
TARGET_IRR_KEY = "breakeven_target"
PRICE_METRIC_KEY = "price_metric"
PRICE_SCOPE_KEY = "price_scope"
PRICE_BUTTON = "price_solve"
SOBOL_BUTTON = "sobol_run"
PRICE_ASKED = "_price_asked"
SOBOL_ASKED = "_sobol_asked"
ALL_OUTCOMES = "__all__"
LOW_CASE = "Input at its low value"
HIGH_CASE = "Input at its high value"
MET = ":green[:material/check_circle:]"
NOT_MET = ":orange[:material/warning:]"


@dataclass(frozen=True)
class Metric:
    """A result the Drivers tab explains.

    Attributes:
        short: the choice's label.
        words: the result in a sentence (``expected government net savings``).
        party: whose colour (a key of :data:`pfs.ui.charts.PARTY_COLORS`).
        kind: ``money``, ``rate`` or ``share``.
    """

    short: str
    words: str
    party: str
    kind: str


METRICS: dict[str, Metric] = {
    "gov_net_savings_pv": Metric(
        "Government net savings",
        "the government's expected net savings (today's money)",
        "payer",
        "money",
    ),
    "investor_irr": Metric(
        "Investors' average return",
        "investors' average return (IRR per year)",
        "investors",
        "rate",
    ),
    "p_investor_repaid": Metric(
        "Chance investors are repaid",
        "the chance that investors are repaid in full",
        "investors",
        "share",
    ),
}

# Price targets: metric spec -> (choice label, target label, default target, words).
PRICE_TARGETS: dict[str, tuple[str, str, float, str]] = {
    "p_investor_repaid": (
        "A chance of full repayment",
        "Chance investors are repaid in full (%)",
        75.0,
        "a {} chance of full repayment",
    ),
    "investor_irr:p50": (
        "A typical (median) return",
        "Investors' typical return (% a year)",
        5.0,
        "a typical return of {} a year",
    ),
    "investor_irr": (
        "An average return",
        "Investors' average return (% a year)",
        5.0,
        "an average return of {} a year",
    ),
}


def _show(value: float, kind: str, currency: str) -> str:
    if kind == "money":
        return fmt.money(value, currency)
    return fmt.pct(value, 1 if kind == "rate" else 0)


def _axis(kind: str, title: str, currency: str) -> tuple[str, str]:
    if kind == "money":
        return charts.money_title(title, currency), charts.money_format(currency)
    return title, ".1%" if kind == "rate" else charts.PERCENT


def has_investors(sc: Scenario) -> bool:
    """Whether any tranche counts as an investor (grants alone are never repaid)."""
    return any(t.is_investor for t in sc.capital.tranches)


def _no_investors(m: Metric) -> None:
    st.info(f"This deal has no investors whose money is repaid, so {m.words} is not defined.")


def _ask(key: str, request: tuple[Any, ...]) -> None:
    st.session_state[key] = request


# ------------------------------------------------------------------ tornado
def input_value(sc: Scenario, name: str, value: float) -> str:
    """An input's value in its unit (``25.0%``, ``$4,200``, ``120 bed-days``)."""
    parts = name.split(".")
    field = parts[-1]
    if name == "program.enrollment_factor":
        return fmt.pct(value, 0)
    if field in ("cost_per_participant", "per_period", "value_per_unit"):
        return price_text(value, sc.currency)
    if parts[0] == "outcomes" and len(parts) > 2:
        o = next((x for x in sc.outcomes if x.id == parts[1]), None)
        if o is not None and field in ("effect", "bias"):
            return _effect(o, value)
        if o is not None and field == "baseline":
            return f"{plain_number(value)} {o.unit}"
    return plain_number(value)


def plain_number(value: float) -> str:
    """A number with 2 decimals below 10, none above; never ``-0.00``."""
    digits = 2 if abs(value) < 10 else 0
    return fmt.number(round(value, digits) + 0.0, digits)


def _effect(o: Outcome, value: float) -> str:
    """An effect of ``o`` in its unit: ``15.6%``, or ``0.12 children per participant``."""
    if o.effect_type == EffectType.relative:
        return fmt.pct(round(value, 3) + 0.0, 1)
    return f"{plain_number(value)} {o.unit} per participant"


def _effect_change(o: Outcome) -> str:
    """What varies: ``the real reduction in bed-days``, or the real effect on an outcome."""
    if o.effect_type == EffectType.relative:
        return f"the real {change_word(o)} in {o.unit}"
    return f"the real effect on {o.label or o.id}"


def tornado_frame(sc: Scenario, table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The bars of one metric's tornado: two rows per input (low and high case).

    Rows where the metric is undefined (investor returns of a deal without investors)
    are left out.
    """
    rows = table[table["metric"] == metric].sort_values("rank")
    rows = rows[rows["at_low"].notna() & rows["at_high"].notna()]
    out = []
    for r in rows.to_dict(orient="records"):
        name = str(r["input"])
        span = (
            f"from {input_value(sc, name, float(r['low_value']))} to "
            f"{input_value(sc, name, float(r['high_value']))}"
        )
        label = f"{input_words(sc, name)}{charts.LINE_BREAK}{span}"
        for case, end, value in (
            (LOW_CASE, r["at_low"], r["low_value"]),
            (HIGH_CASE, r["at_high"], r["high_value"]),
        ):
            out.append(
                {
                    "label": label,
                    "input": input_words(sc, name),
                    "value": input_value(sc, name, float(value)),
                    "case": case,
                    "start": r["base"],
                    "end": end,
                }
            )
    return pd.DataFrame(out, columns=["label", "input", "value", "case", "start", "end"])


def _tornado_sentence(sc: Scenario, rows: pd.DataFrame, m: Metric) -> str:
    top = rows.iloc[0]
    name = str(top["input"])
    money = lambda x: _show(float(x), m.kind, sc.currency)  # noqa: E731
    return (
        f"**{input_words(sc, name)}** matters most: when it is low "
        f"({input_value(sc, name, float(top['low_value']))}), {m.words} is "
        f"**{money(top['at_low'])}**; when it is high "
        f"({input_value(sc, name, float(top['high_value']))}), **{money(top['at_high'])}** "
        f"(as simulated: {money(top['base'])})."
    )


def tornado_section(sc: Scenario, metric: str) -> None:
    """The tornado chart of one metric, with a plain sentence about the top input."""
    m = METRICS[metric]
    with st.spinner("Moving each uncertain input to a low and a high value..."):
        table = analyses.tornado(sc)
    frame = tornado_frame(sc, table, metric)
    if frame.empty or (m.party == "investors" and not has_investors(sc)):
        _no_investors(m)
        return
    rows = table[(table["metric"] == metric) & table["at_low"].notna()].sort_values("rank")
    title, form = _axis(m.kind, m.short, sc.currency)
    show(
        charts.tornado_chart(
            frame,
            base=float(rows["base"].iloc[0]),
            color=charts.PARTY_COLORS[m.party],
            x_title=title,
            x_format=form,
            cases=(LOW_CASE, HIGH_CASE),
        ),
        height=max(180, 62 * len(rows) + 40),
    )
    st.markdown(_tornado_sentence(sc, rows, m))
    st.caption(
        "Each bar moves one uncertain input to a low value (1 simulated future in 10 is "
        "lower: light bars) or a high value (1 in 10 is higher: dark bars) while everything "
        "else stays uncertain as simulated; the vertical line is the result as simulated. "
        "Longest bars first: "
        f"they matter most. Based on {table.attrs.get('paths', 0):,} simulated futures "
        "(fewer than the main run, to stay quick)."
    )


# -------------------------------------------------------------------- Sobol
def _share(value: float, conf: float) -> str:
    if not math.isfinite(value):
        return fmt.MISSING
    low, high = max(value - conf, 0.0), min(value + conf, 1.0)
    return f"{100 * max(value, 0.0):.0f}% ({100 * low:.0f}% to {100 * high:.0f}%)"


def sobol_table(sc: Scenario, table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's Sobol' indices for people: input, share alone, share with others."""
    rows = table[table["metric"] == metric].sort_values("rank")
    return pd.DataFrame(
        {
            "Uncertain input": [input_words(sc, str(f)) for f in rows["factor"]],
            "Explains on its own": [
                _share(s, c) for s, c in zip(rows["S1"], rows["S1_conf"], strict=True)
            ],
            "Explains with its interactions": [
                _share(s, c) for s, c in zip(rows["ST"], rows["ST_conf"], strict=True)
            ],
        }
    )


def sobol_section(sc: Scenario, metric: str) -> None:
    """Sobol' indices on a button (they take a few seconds on large deals)."""
    m = METRICS[metric]
    st.markdown("##### How much of the uncertainty does each input explain?")
    request = (analyses.digest(sc),)
    asked = st.session_state.get(SOBOL_ASKED)
    if asked != request:
        st.button(
            "Work out the shares (Sobol indices; takes a few seconds)",
            key=SOBOL_BUTTON,
            on_click=_ask,
            args=(SOBOL_ASKED, request),
            help="A global sensitivity analysis: every input varies at once.",
        )
        if asked is not None:
            st.caption("The deal has changed since the last time: work them out again.")
        return
    try:
        with st.spinner("Simulating every input varying at once (Sobol indices)..."):
            table = analyses.sobol(sc)
    except PfsError:
        st.info("None of these results varies in this deal, so there is nothing to explain.")
        return
    if not (table["metric"] == metric).any() or (m.party == "investors" and not has_investors(sc)):
        _no_investors(m)
        return
    st.table(sobol_table(sc, table, metric), hide_index=True)
    st.caption(
        f"Share of the ups and downs of {m.words} that each uncertain input explains: on "
        "its own, and together with the other inputs (the two differ when inputs "
        "interact, for example an effect that only pays above a threshold). In brackets: "
        f"95% confidence ranges. Based on {int(table.attrs.get('evaluations', 0)):,} "
        "simulated futures."
    )


# --------------------------------------------------------------- break-even
def _pick_outcome(sc: Scenario) -> Outcome:
    if len(sc.outcomes) == 1:
        return sc.outcomes[0]
    options = {o.id: o.label or o.id for o in sc.outcomes}
    state.seed(OUTCOME_KEY, sc.outcomes[0].id, allowed=options)
    picked = st.selectbox(
        "Whose real effect varies",
        list(options),
        format_func=options.__getitem__,
        key=OUTCOME_KEY,
        help="The other outcomes stay as they are.",
    )
    return sc.outcome(str(picked))


_NEVER = re.compile(r"stays (above|below) \S+ \((?:lowest|highest) ([-+.\deE]+)\)")


def _subjects(question: int, target: str, expected: bool) -> tuple[str, str]:
    """What is reached, and its negation, for break-even question 0, 1 or 2."""
    if expected:
        return [
            ("Investors break even on average", "Investors do not break even on average"),
            (
                f"Investors' average return reaches {target} a year",
                f"Investors' average return does not reach {target} a year",
            ),
            (
                "The government breaks even on average",
                "The government does not break even on average",
            ),
        ][question]
    return [
        ("Investors get their money back", "Investors do not get all their money back"),
        (f"Investors earn {target} a year", f"Investors do not earn {target} a year"),
        (
            "The government saves more than it pays",
            "The government does not save more than it pays",
        ),
    ][question]


def breakeven_sentence(sc: Scenario, o: Outcome, row: dict[str, Any], question: int) -> str:
    """One break-even answer in a plain sentence (Markdown)."""
    expected = row["mode"] == "expected"
    target = fmt.pct(float(row["target"]), 1)
    yes, no = _subjects(question, target, expected)
    what = _effect_change(o)
    current = _effect(o, float(row["current_effect"]))
    today = "today's average" if expected else "today's best guess"
    if not row["found"]:
        note = str(row["note"])
        if "undefined" in note:
            return "This deal has no investors whose money is repaid, so there is no break-even."
        found = _NEVER.search(note)
        if found is None:
            return f"{yes}: no real effect in the range tried gets there."
        always = found.group(1) == "above"
        extreme = float(found.group(2))
        kind = "money" if row["metric"] == "gov_net_savings_pv" else "rate"
        bound = _show(extreme, kind, sc.currency)
        how = "never below" if always else "at most"
        icon, said = (MET, yes) if always else (NOT_MET, no)
        return f"{icon} {said} whatever {what} ({how} {bound})."
    effect = float(row["effect"])
    margin = float(row["margin"])
    bound = "at least" if bool(row["increasing"]) else "at most"  # the metric rises with it
    average = " on average" if expected else ""
    se = float(row["effect_se"])
    error = ""
    if expected and math.isfinite(se):
        relative = o.effect_type == EffectType.relative
        margin_text = f"{100 * 2 * se:.1f} points" if relative else _effect(o, 2 * se)
        error = f" (± {margin_text})"
    jump = ""
    if row["kind"] == "jump":
        jump = " There a payment step is reached, so the result jumps."
    icon = MET if margin >= 0 else NOT_MET
    return (
        f"{icon} {yes} if {what} is{average} {bound} **{_effect(o, effect)}**{error}; "
        f"{today} is {current}.{jump}"
    )


def breakeven_section(sc: Scenario) -> None:
    """How good the programme must be: break-even sentences in both modes."""
    st.subheader("How good must the programme be?")
    left, right = st.columns(2)
    with left:
        o = _pick_outcome(sc)
    with right:
        state.seed(TARGET_IRR_KEY, 5.0)
        target = st.number_input(
            "Target return for investors (% a year)",
            min_value=0.0,
            max_value=50.0,
            step=0.5,
            format="%.1f",
            key=TARGET_IRR_KEY,
            help="The return asked about in the second sentence of each list.",
        )
    with st.spinner("Searching for the break-even points..."):
        table = analyses.breakeven(sc, o.id, float(target) / 100)
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()} for row in table.to_dict(orient="records")
    ]
    per_mode = len(rows) // 2
    left, right = st.columns(2)
    for column, title, found, help_text in (
        (
            left,
            "If everything else goes as expected",
            rows[:per_mode],
            "Every other input at its middle value, and the evaluation measures the real "
            "effect exactly.",
        ),
        (
            right,
            "Taking every uncertainty into account",
            rows[per_mode:],
            "Every input keeps its uncertainty, evaluation error included; the answer is "
            "the average real effect needed.",
        ),
    ):
        with column:
            st.markdown(f"**{title}**", help=help_text)
            st.markdown(
                "\n".join(f"- {breakeven_sentence(sc, o, row, i)}" for i, row in enumerate(found))
            )
    st.caption(
        "Break-even: the real effect at which each answer turns. The right-hand answers "
        f"use {table.attrs.get('paths', 0):,} simulated futures (fewer than the main run, "
        "to stay quick); ± is their margin of error."
    )


# ------------------------------------------------------------------- price
def price_text(x: float, currency: str) -> str:
    """A price per unit, exact to the unit below 100,000 (``$1,234``, ``$12.50``)."""
    if not math.isfinite(x):
        return fmt.MISSING
    if abs(x) >= 1e5:
        return fmt.money(x, currency)
    symbol = fmt.symbol(currency)
    return f"{symbol}{x:,.2f}" if abs(x) < 100 else f"{symbol}{x:,.0f}"


def price_changes(sc: Scenario, solution: PriceSolution) -> list[str]:
    """Each outcome's price at the solution, against today's, in words."""
    lines = []
    for key, value in solution.prices.items():
        kind, _, oid = key.partition(".")
        o = sc.outcome(oid)
        name = o.label or o.id
        pay = o.payment
        if kind == "price_per_unit":
            lines.append(
                f"**{price_text(value, sc.currency)} per {singular(o.unit)}** for {name} "
                f"(today {price_text(pay.price_per_unit or 0.0, sc.currency)})"
            )
        elif kind == "share":
            lines.append(
                f"**{fmt.pct(value, 1)} of the measured savings** for {name} "
                f"(today {fmt.pct(pay.share or 0.0, 1)})"
            )
        else:
            top = max(t.amount for t in pay.tiers or [])
            lines.append(
                f"**every payment step × {value:.2f}** for {name} (the top step "
                f"{fmt.money(top * value, sc.currency)} instead of "
                f"{fmt.money(top, sc.currency)})"
            )
    return lines


def frontier_frame(sc: Scenario, answer: analyses.PriceAnswer) -> pd.DataFrame:
    """The frontier's points, today's prices and the price found marked (drawn last)."""
    frame = answer.frontier.sort_values("scale")
    solution = answer.solution.scale if answer.solution.found else math.nan

    def point(scale: float) -> str:
        if math.isfinite(solution) and abs(scale - solution) < 1e-12:
            return "Price found"
        return "Today's prices" if abs(scale - 1.0) < 1e-12 else "Other prices"

    kinds = [point(float(s)) for s in frame["scale"]]
    words = {"Price found": "price found", "Today's prices": "today"}
    points = pd.DataFrame(
        {
            "order": range(len(frame)),
            "investor_irr": frame["investor_irr"].to_numpy(),
            "gov_net_savings_pv": frame["gov_net_savings_pv"].to_numpy(),
            "price": [
                "today's prices" if abs(s - 1) < 1e-12 else f"prices × {s:.2f}"
                for s in frame["scale"]
            ],
            "label": [words.get(kind, "") for kind in kinds],
            "point": kinds,
        }
    )
    return points.sort_values("point", key=lambda p: p != "Other prices", kind="stable")


def _price_controls(sc: Scenario) -> tuple[str, float, tuple[str, ...]]:
    left, middle, right = st.columns(3)
    with left:
        state.seed(PRICE_METRIC_KEY, "p_investor_repaid", allowed=PRICE_TARGETS)
        metric = str(
            st.selectbox(
                "Investors should get",
                list(PRICE_TARGETS),
                format_func=lambda k: PRICE_TARGETS[k][0],
                key=PRICE_METRIC_KEY,
            )
        )
    _, target_label, default, _ = PRICE_TARGETS[metric]
    with middle:
        key = f"price_target:{metric}"
        state.seed(key, default)
        target = st.number_input(
            target_label,
            min_value=-100.0 if metric != "p_investor_repaid" else 0.0,
            max_value=100.0,
            step=1.0 if metric == "p_investor_repaid" else 0.5,
            format="%.1f",
            key=key,
        )
    scope: tuple[str, ...] = ()
    if len(sc.outcomes) > 1:
        options = {ALL_OUTCOMES: "All outcomes, by the same percentage"}
        options |= {o.id: f"Only {o.label or o.id}" for o in sc.outcomes}
        with right:
            state.seed(PRICE_SCOPE_KEY, ALL_OUTCOMES, allowed=options)
            picked = str(
                st.selectbox(
                    "Prices that change",
                    list(options),
                    format_func=options.__getitem__,
                    key=PRICE_SCOPE_KEY,
                )
            )
        scope = () if picked == ALL_OUTCOMES else (picked,)
    return metric, float(target) / 100, scope


def frontier_row(frontier: pd.DataFrame, scale: float) -> dict[str, float]:
    """The frontier's metrics at one price scale."""
    row = frontier[(frontier["scale"] - scale).abs() < 1e-9].iloc[0]
    return {str(k): float(v) for k, v in row.items()}


def _price_answer(sc: Scenario, metric: str, target: float, answer: analyses.PriceAnswer) -> None:
    digits = 0 if metric == "p_investor_repaid" else 1
    words = PRICE_TARGETS[metric][3].format(fmt.pct(target, digits))
    solution = answer.solution
    today = frontier_row(answer.frontier, 1.0)
    money = lambda x: fmt.money(float(x), sc.currency)  # noqa: E731
    if not solution.found:
        best = re.search(r"best ([-+.\deE]+) at ×([-+.\deE]+)", solution.note)
        reach = ""
        if best is not None:
            kind = "share" if metric == "p_investor_repaid" else "rate"
            reach = (
                f" The most they get is {_show(float(best.group(1)), kind, sc.currency)}, "
                f"at {float(best.group(2)):g} times today's prices."
            )
        st.warning(
            f"No price gives investors {words}: caps on payments, or the evaluation, limit "
            f"what they can get.{reach} Try a lower target."
        )
    else:
        at = solution.metrics
        changes = price_changes(sc, solution)
        st.markdown(
            f"To give investors {words}, pay " + "; ".join(changes) + ". The government would "
            f"then keep **{money(at['gov_net_savings_pv'])}** in expected net savings (today "
            f"{money(today['gov_net_savings_pv'])}); investors' average return would be "
            f"{fmt.pct(at['investor_irr'], 1)} a year (today "
            f"{fmt.pct(today['investor_irr'], 1)}) and their chance of full repayment "
            f"{fmt.pct(at['p_investor_repaid'])} (today {fmt.pct(today['p_investor_repaid'])})."
        )
    y_title, y_format = _axis("money", "Government net savings", sc.currency)
    show(
        charts.frontier_chart(
            frontier_frame(sc, answer),
            x_title="Investors' average return (IRR per year)",
            y_title=y_title,
            y_format=y_format,
        ),
        height=380,
    )
    st.caption(
        "Each point is one set of prices, from half to one and a half times today's, with "
        "the expected results for both sides: higher prices move along the line towards "
        "investors (right) and away from the government (down). Caps stay as they are. "
        "Based on "
        f"{answer.paths:,} simulated futures (fewer than the main run, to stay quick)."
    )


def price_section(sc: Scenario) -> None:
    """The price solver: a target for investors -> the price, and what the government keeps."""
    st.subheader("What price would give investors a target?")
    if not has_investors(sc):
        st.info("This deal has no investors whose money is repaid, so there is no price to find.")
        return
    if all(o.payment.rule == Rule.tiers and not o.payment.tiers for o in sc.outcomes):
        st.info("This deal has no prices to change.")
        return
    metric, target, scope = _price_controls(sc)
    request = (analyses.digest(sc), metric, round(target, 6), scope)
    st.button(
        "Find the price",
        key=PRICE_BUTTON,
        type="primary",
        on_click=_ask,
        args=(PRICE_ASKED, request),
        help="Scales the prices until investors reach the target (payment caps stay).",
    )
    asked = st.session_state.get(PRICE_ASKED)
    if asked != request:
        if asked is not None:
            st.caption("The deal or the target has changed: press the button again.")
        return
    with st.spinner("Trying prices until investors reach the target..."):
        answer = analyses.price(sc, metric, target, scope)
    _price_answer(sc, metric, target, answer)


# --------------------------------------------------------------------- tab
def drivers_view(sc: Scenario) -> None:
    """The whole Drivers tab for the current scenario."""
    st.subheader("What moves the result most?")
    state.seed(METRIC_KEY, "gov_net_savings_pv", allowed=METRICS)
    metric = str(
        st.radio(
            "Result",
            list(METRICS),
            format_func=lambda k: METRICS[k].short,
            key=METRIC_KEY,
            horizontal=True,
        )
    )
    _safely(lambda: tornado_section(sc, metric))
    _safely(lambda: sobol_section(sc, metric))
    st.divider()
    _safely(lambda: breakeven_section(sc))
    st.divider()
    _safely(lambda: price_section(sc))


def _safely(draw: Callable[[], None]) -> None:
    """Draw one section; a question the deal cannot answer is said, not raised."""
    try:
        draw()
    except PfsError as err:
        st.info(f"This question has no answer for this deal: {err}")
