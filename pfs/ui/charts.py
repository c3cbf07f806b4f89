"""Altair charts of pre-aggregated results, with one colour per party.

Stage: drawing. Functions here take small DataFrames (histogram bins, ~200 ECDF
points, per-year quantiles) and return Altair charts; the ``*_frame`` helpers do the
pre-aggregation in NumPy so that per-path arrays never reach the browser. Colours of
the parties (payer, investors, provider, guarantor) are defined once, here, and every
chart uses them; fonts are sized to be read from the back of a workshop room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart

PARTY_COLORS: dict[str, str] = {
    "payer": "#1f4e9c",  # government that pays for outcomes: navy blue
    "savings": "#56a5dc",  # public savings (the government's side too): sky blue
    "investors": "#e07b00",  # investors: orange
    "provider": "#2e8b57",  # service provider: green
    "guarantor": "#8e44ad",  # guarantor: purple
}
PARTY_NAMES: dict[str, str] = {
    "payer": "Government (payer)",
    "savings": "Public savings",
    "investors": "Investors",
    "provider": "Service provider",
    "guarantor": "Guarantor",
}
REFERENCE_COLOR = "#444444"
COMPARE_COLORS: dict[str, str] = {"Pinned": "#9a9a9a", "Current": "#c2185b"}
CHART_HEIGHT = 360
FONT_SIZE = 16
LINE_BREAK = " | "  # splits an axis label over two lines (see tornado_chart)
TITLE_SIZE = 19
PERCENT = ".0%"
BAND_LABEL = "9 in 10 futures fall in this band"
MEDIAN_LABEL = "Typical (median)"
MEAN_LABEL = "Average"


TEXT_COLOR = "#222222"
OUTCOME_CLASSES: dict[str, str] = {
    "Evaluation got it right": "#bdbdbd",
    "Paid for nothing": PARTY_COLORS["payer"],
    "Real success not paid": PARTY_COLORS["investors"],
}


def tint(color: str, amount: float = 0.65) -> str:
    """A lighter version of a ``#rrggbb`` colour (``amount`` of white mixed in)."""
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c + (255 - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


# ------------------------------------------------------------------ formats
def money_format(currency: str) -> str:
    """d3 format of money axes: ``$4.5M`` for dollars, ``4.5M`` otherwise."""
    return "$.2~s" if currency.upper() == "USD" else ".2~s"


def money_title(title: str, currency: str) -> str:
    """An axis title that names the currency unless it is dollars."""
    return title if currency.upper() == "USD" else f"{title} ({currency.upper()})"


CONFIG: dict[str, Any] = {
    "axis": {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE,
        "labelLimit": 260,
        "labelColor": TEXT_COLOR,
        "titleColor": TEXT_COLOR,
    },
    "legend": {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE,
        "orient": "bottom",
        "labelLimit": 400,
        "labelColor": TEXT_COLOR,
        "symbolOpacity": 1,
    },
    "title": {"fontSize": TITLE_SIZE, "anchor": "start"},
    "header": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
}


def spec(chart: AnyChart, height: int = CHART_HEIGHT, validate: bool = False) -> dict[str, Any]:
    """The Vega-Lite spec of a finished chart, with projector-friendly fonts.

    Args:
        chart: the chart.
        height: its height in pixels.
        validate: check the spec against the Vega-Lite schema (slow: about 0.1 s a
            chart; the app skips it and the tests do it).
    """
    out = chart.properties(height=height).to_dict(validate=validate)
    out["config"] = {**out.get("config", {}), **CONFIG}
    return out


# ----------------------------------------------------------- aggregation
def finite(values: FloatArray) -> FloatArray:
    """The finite entries of an array (IRR is undefined on some paths)."""
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def bin_edges(samples: Sequence[FloatArray], bins: int = 40, trim: bool = True) -> FloatArray:
    """Common bin edges for one or more samples.

    Args:
        samples: the samples.
        bins: number of bins.
        trim: span the 0.5-99.5% range (extremes fall in the end bins) rather than
            the whole range; use ``False`` where the extremes matter (a total loss).
    """
    pooled = np.concatenate([finite(s) for s in samples]) if samples else np.zeros(1)
    if pooled.size == 0:
        pooled = np.zeros(1)
    low, high = np.quantile(pooled, [0.005, 0.995] if trim else [0.0, 1.0])
    if high - low < 1e-12:
        low, high = low - 0.5 * max(abs(low), 1e-3), high + 0.5 * max(abs(high), 1e-3)
    return np.linspace(low, high, bins + 1)


def histogram_frame(values: FloatArray, edges: FloatArray | None = None) -> pd.DataFrame:
    """Share of paths in each bin; values beyond the edges count in the end bins.

    Returns:
        Columns ``start``, ``end``, ``share`` (one row per bin).
    """
    data = finite(values)
    edges = bin_edges([data]) if edges is None else edges
    counts, _ = np.histogram(np.clip(data, edges[0], edges[-1]), bins=edges)
    share = counts / max(data.size, 1)
    return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "share": share})


def histograms_frame(
    samples: Mapping[str, FloatArray], bins: int = 40, trim: bool = True
) -> pd.DataFrame:
    """Histograms of several samples on common bins, stacked with a ``name`` column."""
    edges = bin_edges(list(samples.values()), bins, trim)
    frames = [histogram_frame(v, edges).assign(name=k) for k, v in samples.items()]
    return pd.concat(frames, ignore_index=True)


def ecdf_frame(values: FloatArray, points: int = 200) -> pd.DataFrame:
    """Empirical cumulative distribution at ``points`` quantiles.

    Returns:
        Columns ``value`` and ``share`` (share of paths at or below ``value``).
    """
    data = finite(values)
    if data.size == 0:
        return pd.DataFrame({"value": [], "share": []})
    share = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"value": np.quantile(data, share), "share": share})


# ------------------------------------------------------------------ charts
def _fan_scale(color: str) -> alt.Scale:
    return alt.Scale(
        domain=[BAND_LABEL, MEDIAN_LABEL, MEAN_LABEL], range=[tint(color), color, REFERENCE_COLOR]
    )


def fan_chart(frame: pd.DataFrame, *, color: str, y_title: str, y_format: str) -> AnyChart:
    """Per-year band of 90% of futures, typical (median) and average line.

    Args:
        frame: columns ``year``, ``mean``, ``p05``, ``p50``, ``p95``.
        color: the party's colour.
        y_title: axis title (with unit).
        y_format: d3 format of the y axis.
    """
    what = _legend_color(_fan_scale(color))
    x = alt.X("year:O", title="Budget year", axis=alt.Axis(labelAngle=0))
    band = (
        alt.Chart(frame.assign(what=BAND_LABEL))
        .mark_area(opacity=0.8)
        .encode(
            x=x,
            y=alt.Y("p05:Q", title=y_title, axis=alt.Axis(format=y_format)),
            y2="p95:Q",
            color=what,
            tooltip=_year_tooltip(y_format),
        )
    )
    median = (
        alt.Chart(frame.assign(what=MEDIAN_LABEL))
        .mark_line(point=True, strokeWidth=3)
        .encode(x=x, y="p50:Q", color=what, tooltip=_year_tooltip(y_format))
    )
    mean = (
        alt.Chart(frame.assign(what=MEAN_LABEL))
        .mark_line(strokeDash=[6, 4], strokeWidth=2)
        .encode(x=x, y="mean:Q", color=what)
    )
    return alt.layer(band, median, mean)


def _legend_color(scale: alt.Scale) -> alt.Color:
    """Colour by the ``what`` column that each layer's data carries (one legend)."""
    return alt.Color("what:N", scale=scale, legend=alt.Legend(title=None), sort=scale.domain)


def _year_tooltip(y_format: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("year:O", title="Budget year"),
        alt.Tooltip("p05:Q", title="Low (5th percentile)", format=y_format),
        alt.Tooltip("p50:Q", title="Typical (median)", format=y_format),
        alt.Tooltip("mean:Q", title="Average", format=y_format),
        alt.Tooltip("p95:Q", title="High (95th percentile)", format=y_format),
    ]


def grouped_bars(
    frame: pd.DataFrame, colors: Mapping[str, str], *, y_title: str, y_format: str
) -> AnyChart:
    """Average per year of several series side by side, with 90% whiskers.

    Args:
        frame: columns ``year``, ``series`` (label), ``mean``, ``p05``, ``p95``.
        colors: series label -> colour.
        y_title: axis title.
        y_format: d3 format of the y axis.
    """
    scale = alt.Scale(domain=list(colors), range=list(colors.values()))
    base = alt.Chart(frame).encode(
        x=alt.X("year:O", title="Budget year", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("series:N", sort=list(colors)),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("mean:Q", title=y_title, axis=alt.Axis(format=y_format)),
        color=alt.Color("series:N", scale=scale, title=None, sort=list(colors)),
        tooltip=[
            alt.Tooltip("series:N", title="What"),
            *_year_tooltip(y_format)[:2],
            alt.Tooltip("mean:Q", title="Average", format=y_format),
            alt.Tooltip("p95:Q", title="High (95th percentile)", format=y_format),
        ],
    )
    whiskers = base.mark_rule(color=REFERENCE_COLOR, strokeWidth=1.5).encode(y="p05:Q", y2="p95:Q")
    return alt.layer(bars, whiskers)


def range_bars(frame: pd.DataFrame, *, x_title: str, x_format: str) -> AnyChart:
    """Horizontal bars of averages with 90% whiskers, one colour per row.

    Args:
        frame: columns ``option``, ``mean``, ``p05``, ``p95``, ``color``.
        x_title: axis title.
        x_format: d3 format of the x axis.
    """
    base = alt.Chart(frame).encode(y=alt.Y("option:N", title=None, sort=None))
    bars = base.mark_bar(height=38).encode(
        x=alt.X("mean:Q", title=x_title, axis=alt.Axis(format=x_format)),
        color=alt.Color("color:N", scale=None),
        tooltip=[
            alt.Tooltip("option:N", title="Option"),
            alt.Tooltip("mean:Q", title="Average", format=x_format),
            alt.Tooltip("p05:Q", title="Low (5th percentile)", format=x_format),
            alt.Tooltip("p95:Q", title="High (95th percentile)", format=x_format),
        ],
    )
    whiskers = base.mark_rule(color=REFERENCE_COLOR, strokeWidth=2).encode(x="p05:Q", x2="p95:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="black").encode(x="x:Q")
    return alt.layer(bars, whiskers, zero)


def histogram_chart(
    frame: pd.DataFrame, *, color: str, x_title: str, x_format: str, marker: float | None = 0.0
) -> AnyChart:
    """Bars of the share of simulated futures per bin, with a reference line.

    Args:
        frame: from :func:`histogram_frame`.
        color: bar colour (the party's).
        x_title: axis title (with unit).
        x_format: d3 format of the x axis.
        marker: where to draw a vertical reference line (``None`` for none).
    """
    bars = (
        alt.Chart(frame)
        .mark_bar(color=color, opacity=0.85, binSpacing=1)
        .encode(
            x=alt.X("start:Q", bin="binned", title=x_title, axis=alt.Axis(format=x_format)),
            x2="end:Q",
            y=alt.Y("share:Q", title="Share of simulated futures", axis=alt.Axis(format=PERCENT)),
            tooltip=[
                alt.Tooltip("start:Q", title="From", format=x_format),
                alt.Tooltip("end:Q", title="To", format=x_format),
                alt.Tooltip("share:Q", title="Share of futures", format=".1%"),
            ],
        )
    )
    return alt.layer(bars, *_marker(marker))


def _marker(at: float | None) -> list[alt.Chart]:
    if at is None:
        return []
    return [
        alt.Chart(pd.DataFrame({"x": [at]}))
        .mark_rule(color="black", strokeDash=[4, 3], strokeWidth=2)
        .encode(x="x:Q")
    ]


def ecdf_chart(
    frame: pd.DataFrame, *, color: str, x_title: str, x_format: str, marker: float | None = 0.0
) -> AnyChart:
    """Chance of a value or less (cumulative distribution), with a reference line.

    Args:
        frame: from :func:`ecdf_frame`, optionally with a ``name`` column (one line each).
        color: line colour when there is a single line.
        x_title: axis title.
        x_format: d3 format of the x axis.
        marker: where to draw a vertical reference line (``None`` for none).
    """
    line = (
        alt.Chart(frame)
        .mark_line(strokeWidth=3, interpolate="step-after")
        .encode(
            x=alt.X("value:Q", title=x_title, axis=alt.Axis(format=x_format)),
            y=alt.Y("share:Q", title="Chance of this much or less", axis=alt.Axis(format=PERCENT)),
            tooltip=[
                alt.Tooltip("value:Q", title="Value", format=x_format),
                alt.Tooltip("share:Q", title="Chance of this or less", format=".0%"),
            ],
        )
    )
    if "name" in frame:
        scale = alt.Scale(domain=list(COMPARE_COLORS), range=list(COMPARE_COLORS.values()))
        line = line.encode(color=alt.Color("name:N", scale=scale, title=None))
    else:
        line = line.encode(color=alt.value(color))
    return alt.layer(line, *_marker(marker))


def overlay_histograms(
    frame: pd.DataFrame,
    *,
    x_title: str,
    x_format: str,
    marker: float | None = 0.0,
    colors: Mapping[str, str] = COMPARE_COLORS,
) -> AnyChart:
    """Two or more histograms on common bins, overlaid as translucent steps.

    Args:
        frame: from :func:`histograms_frame`.
        x_title: axis title.
        x_format: d3 format of the x axis.
        marker: where to draw a vertical reference line (``None`` for none).
        colors: name -> colour (default: ``Pinned`` / ``Current``).
    """
    scale = alt.Scale(domain=list(colors), range=list(colors.values()))
    areas = (
        alt.Chart(frame)
        .mark_area(opacity=0.35, interpolate="step", line=True)
        .encode(
            x=alt.X("start:Q", title=x_title, axis=alt.Axis(format=x_format)),
            y=alt.Y(
                "share:Q",
                title="Share of simulated futures",
                axis=alt.Axis(format=PERCENT),
                stack=None,
            ),
            color=alt.Color("name:N", scale=scale, title=None, sort=list(colors)),
            tooltip=[
                alt.Tooltip("name:N", title="What"),
                alt.Tooltip("start:Q", title="From", format=x_format),
                alt.Tooltip("share:Q", title="Share of futures", format=".1%"),
            ],
        )
    )
    return alt.layer(areas, *_marker(marker))


def payment_curve_chart(
    frame: pd.DataFrame,
    *,
    threshold: float,
    x_title: str,
    x_format: str,
    y_title: str,
    y_format: str,
) -> AnyChart:
    """Payment for each possible true effect: average and band of 90% of futures.

    Args:
        frame: columns ``true_effect``, ``mean``, ``p05``, ``p95``.
        threshold: true effect from which payment is deserved (dashed line).
        x_title: x axis title.
        x_format: d3 format of the x axis.
        y_title: y axis title.
        y_format: d3 format of the y axis.
    """
    color = PARTY_COLORS["payer"]
    labels = ["Range: 9 in 10 evaluations", "Average payment"]
    what = _legend_color(alt.Scale(domain=labels, range=[tint(color), color]))
    x = alt.X("true_effect:Q", title=x_title, axis=alt.Axis(format=x_format))
    band = (
        alt.Chart(frame.assign(what=labels[0]))
        .mark_area(opacity=0.8)
        .encode(
            x=x,
            y=alt.Y("p05:Q", title=y_title, axis=alt.Axis(format=y_format)),
            y2="p95:Q",
            color=what,
        )
    )
    line = (
        alt.Chart(frame.assign(what=labels[1]))
        .mark_line(point=True, strokeWidth=3)
        .encode(
            x=x,
            y="mean:Q",
            color=what,
            tooltip=[
                alt.Tooltip("true_effect:Q", title="True effect", format=x_format),
                alt.Tooltip("mean:Q", title="Average payment", format=y_format),
                alt.Tooltip("p05:Q", title="Low (5th percentile)", format=y_format),
                alt.Tooltip("p95:Q", title="High (95th percentile)", format=y_format),
            ],
        )
    )
    rule = pd.DataFrame({"x": [threshold], "label": ["payment threshold"]})
    marker = alt.Chart(rule).mark_rule(color="black", strokeDash=[4, 3], strokeWidth=2)
    text = (
        alt.Chart(rule)
        .mark_text(align="left", dx=6, dy=-8, fontSize=FONT_SIZE, color="black")
        .encode(text="label:N", y=alt.value(12))
    )
    return alt.layer(band, line, marker.encode(x="x:Q"), text.encode(x="x:Q"))


def paired_bars(
    frame: pd.DataFrame, colors: Mapping[str, str], *, y_title: str, y_format: str
) -> alt.Chart:
    """Side-by-side bars per group (e.g. loss chance per tranche with/without guarantee).

    Args:
        frame: columns ``group``, ``case`` and ``value``.
        colors: case -> colour.
        y_title: axis title.
        y_format: d3 format of the y axis.
    """
    scale = alt.Scale(domain=list(colors), range=list(colors.values()))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("group:N", title=None, axis=alt.Axis(labelAngle=0), sort=None),
            xOffset=alt.XOffset("case:N", sort=list(colors)),
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=y_format)),
            color=alt.Color("case:N", scale=scale, title=None, sort=list(colors)),
            tooltip=[
                alt.Tooltip("group:N", title="Tranche"),
                alt.Tooltip("case:N", title="Case"),
                alt.Tooltip("value:Q", title=y_title, format=y_format),
            ],
        )
    )


def flows_chart(frame: pd.DataFrame, *, x_title: str, x_format: str) -> AnyChart:
    """Horizontal bars of money flows, coloured by the party that pays or receives.

    Args:
        frame: columns ``flow`` (label), ``amount`` and ``party`` (a key of
            :data:`PARTY_COLORS`).
        x_title: axis title.
        x_format: d3 format of the x axis and of the value labels.
    """
    parties = [p for p in PARTY_COLORS if p in set(frame["party"])]
    data = frame.assign(who=frame["party"].map(PARTY_NAMES))
    scale = alt.Scale(
        domain=[PARTY_NAMES[p] for p in parties], range=[PARTY_COLORS[p] for p in parties]
    )
    base = alt.Chart(data).encode(
        y=alt.Y("flow:N", title=None, sort=None, scale=alt.Scale(paddingInner=0.3)),
        x=alt.X("amount:Q", title=x_title, axis=alt.Axis(format=x_format)),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("who:N", scale=scale, title=None),
        tooltip=[
            alt.Tooltip("flow:N", title="Flow"),
            alt.Tooltip("amount:Q", title="Average amount", format=x_format),
        ],
    )
    labels = base.mark_text(align="left", dx=6, fontSize=FONT_SIZE, color=TEXT_COLOR).encode(
        text=alt.Text("amount:Q", format=x_format)
    )
    return alt.layer(bars, labels)


def outcome_scatter(
    frame: pd.DataFrame, *, threshold: float, x_title: str, y_title: str, axis_format: str
) -> AnyChart:
    """Measured vs real effect, one dot per (sampled) future, coloured by what happened.

    Args:
        frame: columns ``real``, ``measured`` and ``result`` (a key of
            :data:`OUTCOME_CLASSES`); a sample of paths, not all of them.
        threshold: the payment threshold (dashed lines on both axes).
        x_title: x axis title (the real effect).
        y_title: y axis title (the measured effect).
        axis_format: d3 format of both axes.
    """
    scale = alt.Scale(domain=list(OUTCOME_CLASSES), range=list(OUTCOME_CLASSES.values()))
    dots = (
        alt.Chart(frame)
        .mark_circle(size=28, opacity=0.8)
        .encode(
            x=alt.X("real:Q", title=x_title, axis=alt.Axis(format=axis_format)),
            y=alt.Y("measured:Q", title=y_title, axis=alt.Axis(format=axis_format)),
            color=alt.Color("result:N", scale=scale, title=None, sort=list(OUTCOME_CLASSES)),
            tooltip=[
                alt.Tooltip("real:Q", title="Real effect", format=axis_format),
                alt.Tooltip("measured:Q", title="Measured effect", format=axis_format),
                alt.Tooltip("result:N", title="What happened"),
            ],
        )
    )
    line = pd.DataFrame({"at": [threshold]})
    rule = alt.Chart(line).mark_rule(color="black", strokeDash=[4, 3], strokeWidth=2)
    vertical, horizontal = rule.encode(x="at:Q"), rule.encode(y="at:Q")
    return alt.layer(dots, vertical, horizontal)


def tornado_chart(
    frame: pd.DataFrame,
    *,
    base: float,
    color: str,
    x_title: str,
    x_format: str,
    cases: Sequence[str],
) -> AnyChart:
    """A tornado: for each input, the result with that input low and with it high.

    Bars start at the result as simulated (a vertical line) and end at the result with
    one input moved; the input's row order is the frame's (largest swing first).

    Args:
        frame: columns ``label`` (the input in plain words, then :data:`LINE_BREAK` and
            its range: two lines on the axis), ``input`` and ``value`` (for the
            tooltip), ``case`` (one of ``cases``), ``start`` (the simulated result)
            and ``end``.
        base: the result as simulated.
        color: the party's colour (the high case; the low case is a tint of it).
        x_title: axis title (the result, with its unit).
        x_format: d3 format of the axis and of the value labels.
        cases: legend labels of the low and the high case, in that order.
    """
    order = list(dict.fromkeys(frame["label"]))
    scale = alt.Scale(domain=list(cases), range=[tint(color, 0.55), color])
    axis = alt.Axis(labelLimit=520, labelExpr=f"split(datum.value, '{LINE_BREAK}')")
    y = alt.Y("label:N", title=None, sort=order, axis=axis)
    bars = (
        alt.Chart(frame)
        .mark_bar(size=26)
        .encode(
            y=y,
            x=alt.X(
                "start:Q",
                title=x_title,
                axis=alt.Axis(format=x_format, tickCount=6),
                scale=alt.Scale(zero=False, nice=True, padding=70),  # room for the values
            ),
            x2="end:Q",
            color=alt.Color("case:N", scale=scale, title=None, sort=list(cases)),
            tooltip=[
                alt.Tooltip("input:N", title="Input"),
                alt.Tooltip("value:N", title="Set to"),
                alt.Tooltip("end:Q", title="Result", format=x_format),
                alt.Tooltip("start:Q", title="As simulated", format=x_format),
            ],
        )
    )
    labels = []
    sides: tuple[tuple[bool, Literal["left", "right"], int], ...] = (
        (True, "left", 5),
        (False, "right", -5),
    )
    for right, align, dx in sides:
        side = frame[(frame["end"] >= frame["start"]) == right]
        if not side.empty:
            labels.append(
                alt.Chart(side)
                .mark_text(align=align, dx=dx, fontSize=FONT_SIZE - 2, color=TEXT_COLOR)
                .encode(y=y, x="end:Q", text=alt.Text("end:Q", format=x_format))
            )
    rule = (
        alt.Chart(pd.DataFrame({"x": [base]}))
        .mark_rule(color=REFERENCE_COLOR, strokeWidth=2)
        .encode(x="x:Q")
    )
    return alt.layer(bars, *labels, rule)


FRONTIER_POINTS: dict[str, str] = {
    "Other prices": "#9a9a9a",
    "Today's prices": REFERENCE_COLOR,
    "Price found": PARTY_COLORS["investors"],
}


def frontier_chart(frame: pd.DataFrame, *, x_title: str, y_title: str, y_format: str) -> AnyChart:
    """Investors' expected return against the government's expected net savings by price.

    Args:
        frame: one row per price: columns ``order`` (the price's rank), ``investor_irr``,
            ``gov_net_savings_pv``, ``price`` (the price in words, for the tooltip),
            ``point`` (a key of :data:`FRONTIER_POINTS`) and ``label`` (written next to
            the point, or empty).
        x_title: x axis title (investors' return).
        y_title: y axis title (government net savings).
        y_format: d3 format of the y axis.
    """
    scale = alt.Scale(domain=list(FRONTIER_POINTS), range=list(FRONTIER_POINTS.values()))
    x = alt.X(
        "investor_irr:Q",
        title=x_title,
        axis=alt.Axis(format=".1%", tickCount=6),
        scale=alt.Scale(zero=False, nice=True),
    )
    y = alt.Y(
        "gov_net_savings_pv:Q",
        title=y_title,
        axis=alt.Axis(format=y_format, tickCount=6),
        scale=alt.Scale(zero=False, nice=True),
    )
    tooltip = [
        alt.Tooltip("price:N", title="Price"),
        alt.Tooltip("investor_irr:Q", title="Investors' average return", format=".1%"),
        alt.Tooltip("gov_net_savings_pv:Q", title="Government net savings", format=y_format),
    ]
    line = (
        alt.Chart(frame).mark_line(color="#9a9a9a", strokeWidth=2).encode(x=x, y=y, order="order:Q")
    )
    points = (
        alt.Chart(frame)
        .mark_circle(opacity=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color("point:N", scale=scale, title=None, sort=list(FRONTIER_POINTS)),
            size=alt.condition(alt.datum.point == "Other prices", alt.value(70), alt.value(260)),
            tooltip=tooltip,
        )
    )
    text = (
        alt.Chart(frame[frame["label"] != ""])
        .mark_text(align="center", dy=-20, fontSize=FONT_SIZE, color=TEXT_COLOR)
        .encode(x=x, y=y, text="label:N")
    )
    return alt.layer(line, points, text)
