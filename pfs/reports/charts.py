"""Altair charts of a simulation for reports and slides.

Stage: reporting (drawing). Functions take :class:`~pfs.results.Results` and return
Altair charts built on small pre-aggregated tables (histogram bins, a sample of a
few hundred paths, per-year quantiles), so specs stay small enough to embed.
:func:`report_charts` gives the report's charts by name; :func:`chart_images`
renders them to PNG, SVG or PDF with ``vl-convert`` (no browser, no network).

Self-contained on purpose: the app's charts (``pfs/ui``) are not imported; the
party colours are the same so that a slide and the app look alike.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pfs.formatting import Kind
from pfs.payments import payment_threshold
from pfs.reports.content import is_tornado, series_label, spec_kind
from pfs.results import Results
from pfs.scenario import EffectType, PfsError, Scenario

FloatArray = NDArray[np.float64]
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart
ImageFormat = Literal["png", "svg", "pdf"]
IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

PAYER = "#1f4e9c"
SAVINGS = "#56a5dc"
INVESTORS = "#e07b00"
NEUTRAL = "#9a9a9a"
REFERENCE = "#444444"
WIDTH, HEIGHT = 640, 300
FONT = 14
SCATTER_POINTS = 600

CONFIG: dict[str, Any] = {
    "font": "Helvetica, Arial, sans-serif",
    "axis": {
        "labelFontSize": FONT,
        "titleFontSize": FONT,
        "labelColor": "#222222",
        "titleColor": "#222222",
        "gridColor": "#e6e6e6",
    },
    "legend": {"labelFontSize": FONT, "titleFontSize": FONT, "orient": "bottom", "labelLimit": 360},
    "title": {
        "fontSize": FONT + 3,
        "anchor": "start",
        "subtitleFontSize": FONT - 1,
        "subtitleColor": "#555555",
    },
    "view": {"stroke": None},
}


def _money_format(currency: str) -> str:
    return "$.3~s" if currency.upper() == "USD" else ".3~s"


def _money_title(title: str, currency: str) -> str:
    return title if currency.upper() == "USD" else f"{title} ({currency.upper()})"


def histogram_frame(values: FloatArray, bins: int = 40) -> pd.DataFrame:
    """Bins of the finite values (the central 99.8% when the tails are long).

    Returns:
        Columns ``start``, ``end``, ``share`` (fraction of all finite values).
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return pd.DataFrame({"start": [], "end": [], "share": []})
    lo, hi = np.quantile(finite, [0.001, 0.999])
    if not hi > lo:
        lo, hi = float(finite.min()) - 0.5, float(finite.max()) + 0.5
    counts, edges = np.histogram(np.clip(finite, lo, hi), bins=bins, range=(lo, hi))
    return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "share": counts / finite.size})


def _histogram(
    frame: pd.DataFrame,
    *,
    color: str,
    x_title: str,
    x_format: str,
    title: str,
    subtitle: str,
    marker: float | None,
) -> AnyChart:
    base = (
        alt.Chart(frame)
        .mark_bar(color=color, opacity=0.85, binSpacing=0)
        .encode(
            x=alt.X("start:Q", title=x_title, axis=alt.Axis(format=x_format, tickCount=6)),
            x2="end:Q",
            y=alt.Y("share:Q", title="Share of futures", axis=alt.Axis(format=".0%")),
            y2=alt.datum(0),
        )
    )
    layers: list[Any] = [base]
    if marker is not None and math.isfinite(marker):
        rule = pd.DataFrame({"at": [marker]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(color=REFERENCE, strokeDash=[6, 4], strokeWidth=2)
            .encode(x="at:Q")
        )
    return alt.layer(*layers).properties(
        width=WIDTH, height=HEIGHT, title=alt.Title(title, subtitle=subtitle)
    )


# ------------------------------------------------------------------ charts
def budget_chart(res: Results) -> AnyChart:
    """Outcome payments and public savings by budget year: P5–P95 bar, median tick."""
    sc = res.scenario
    years = res.by_year()
    keep = {"outcome_payments": PAYER, "gross_savings": SAVINGS}
    frame = years[years["series"].isin(list(keep))].copy()
    frame["Series"] = [series_label(s, sc) for s in frame["series"]]
    domain = [series_label(s, sc) for s in keep]
    scale = alt.Scale(domain=domain, range=list(keep.values()))
    color = alt.Color("Series:N", title=None, scale=scale)
    fmt = _money_format(sc.currency)
    x = alt.X("year:O", title="Budget year", axis=alt.Axis(labelAngle=0))
    offset = alt.XOffset("Series:N", scale=alt.Scale(domain=domain))
    bars = (
        alt.Chart(frame)
        .mark_bar(opacity=0.35, width={"band": 0.9})
        .encode(
            x=x,
            xOffset=offset,
            y=alt.Y(
                "p05:Q",
                title=_money_title("Amount in the year", sc.currency),
                axis=alt.Axis(format=fmt),
            ),
            y2="p95:Q",
            color=color,
        )
    )
    ticks = (
        alt.Chart(frame)
        .mark_tick(thickness=3, size=18)
        .encode(
            x=x,
            xOffset=offset,
            y="p50:Q",
            color=alt.Color("Series:N", title=None, scale=scale),
        )
    )
    return alt.layer(bars, ticks).properties(
        width=WIDTH,
        height=HEIGHT,
        title=alt.Title(
            "Outcome payments and savings by budget year",
            subtitle="Bars: 9 in 10 futures fall in this range (P5–P95); thick tick: median",
        ),
    )


def net_savings_chart(res: Results) -> AnyChart:
    """Distribution of the government's net savings (PV), with zero marked."""
    sc = res.scenario
    return _histogram(
        histogram_frame(res.metrics["gov_net_savings_pv"]),
        color=PAYER,
        x_title=_money_title("Government net savings, present value", sc.currency),
        x_format=_money_format(sc.currency),
        title="Government net savings across futures",
        subtitle="Right of the dashed line (break-even) the government saves more than it pays",
        marker=0.0,
    )


def investor_chart(res: Results) -> AnyChart:
    """Distribution of the investors' multiple on money drawn, with 1× marked."""
    return _histogram(
        histogram_frame(res.metrics["investor_moic"]),
        color=INVESTORS,
        x_title="Investors' multiple (money back ÷ money in)",
        x_format=".2f",
        title="What investors get back",
        subtitle="Left of the dashed line (money back) investors lose principal",
        marker=1.0,
    )


def evaluation_chart(res: Results, points: int = SCATTER_POINTS) -> AnyChart:
    """True against measured effect of the first outcome, by whether it was paid.

    A sample of ``points`` paths; the threshold is drawn on both axes, so the
    off-diagonal corners are the evaluation's mistakes.
    """
    sc = res.scenario
    outcome = sc.outcomes[0]
    n = min(points, res.n_paths)
    true = res.metrics[f"true_effect.{outcome.id}"][:n]
    measured = res.metrics[f"measured_effect.{outcome.id}"][:n]
    paid = res.metrics[f"paid.{outcome.id}"][:n] > 0.01
    threshold = payment_threshold(outcome)
    classes = np.where(
        paid & (true < threshold),
        "Paid for nothing",
        np.where(~paid & (true >= threshold), "Real success not paid", "Evaluation got it right"),
    )
    frame = pd.DataFrame({"true": true, "measured": measured, "Outcome": classes})
    relative = outcome.effect_type == EffectType.relative
    fmt = ".0%" if relative else ".2~f"
    domain = ["Evaluation got it right", "Paid for nothing", "Real success not paid"]
    points_layer = (
        alt.Chart(frame)
        .mark_circle(size=28, opacity=0.65)
        .encode(
            x=alt.X("true:Q", title="True effect", axis=alt.Axis(format=fmt)),
            y=alt.Y("measured:Q", title="Measured effect", axis=alt.Axis(format=fmt)),
            color=alt.Color(
                "Outcome:N",
                title=None,
                scale=alt.Scale(domain=domain, range=[NEUTRAL, PAYER, INVESTORS]),
            ),
        )
    )
    lines = pd.DataFrame({"at": [threshold]})
    vertical = alt.Chart(lines).mark_rule(color=REFERENCE, strokeDash=[6, 4]).encode(x="at:Q")
    horizontal = alt.Chart(lines).mark_rule(color=REFERENCE, strokeDash=[6, 4]).encode(y="at:Q")
    label = outcome.label or outcome.id
    return alt.layer(points_layer, vertical, horizontal).properties(
        width=WIDTH,
        height=HEIGHT + 60,
        title=alt.Title(
            f"Evaluation risk: {label}",
            subtitle="Payments follow the measured effect, savings the true one; "
            "dashed lines: payment threshold",
        ),
    )


def _value_format(kind: Kind, currency: str) -> str:
    if kind == "money":
        return _money_format(currency)
    if kind in ("share", "rate"):
        return ".1%"
    if kind == "multiple":
        return ".2f"
    return ".3~s"


def tornado_frames(
    sensitivity: pd.DataFrame, scenario: Scenario | None = None
) -> dict[str, tuple[str, Kind, pd.DataFrame]]:
    """The bars of each tornado in a sensitivity table, by chart name.

    Two shapes are understood: the tornado tables of ``pfs.analysis`` (one row per
    metric and input, ``at_low``/``at_high``; one chart per metric) and any table
    with ``low``/``high`` columns and a text column naming the inputs (one chart).

    Returns:
        Chart name -> ``(title, kind, frame)``; the frame has columns ``label``,
        ``at_low``, ``at_high`` and ``base`` (NaN when unknown), largest swing first.
    """
    out: dict[str, tuple[str, Kind, pd.DataFrame]] = {}
    if is_tornado(sensitivity):
        for metric, rows in sensitivity.groupby("metric", sort=False):
            spec = str(metric)
            labels = rows["label"] if "label" in rows.columns else rows["input"]
            frame = pd.DataFrame(
                {
                    "label": labels.astype(str).to_numpy(),
                    "at_low": rows["at_low"].to_numpy(dtype=np.float64),
                    "at_high": rows["at_high"].to_numpy(dtype=np.float64),
                    "base": rows["base"].to_numpy(dtype=np.float64)
                    if "base" in rows.columns
                    else np.nan,
                }
            )
            title = str(rows["metric_label"].iloc[0]) if "metric_label" in rows.columns else spec
            slug = re.sub(r"[^A-Za-z0-9]+", "_", spec).strip("_")
            out[f"sensitivity_{slug}"] = (title, spec_kind(spec, scenario), _by_swing(frame))
        return out
    if not {"low", "high"} <= set(sensitivity.columns):
        return out
    flat = sensitivity.reset_index()
    text = [c for c in flat.columns if not pd.api.types.is_numeric_dtype(flat[c])]
    if not text:
        return out
    frame = pd.DataFrame(
        {
            "label": flat[text[0]].astype(str).to_numpy(),
            "at_low": flat["low"].to_numpy(dtype=np.float64),
            "at_high": flat["high"].to_numpy(dtype=np.float64),
            "base": flat["base"].to_numpy(dtype=np.float64) if "base" in flat.columns else np.nan,
        }
    )
    biggest = float(np.nanmax(np.abs(frame[["at_low", "at_high"]].to_numpy())))
    kind: Kind = "money" if biggest >= 1000 else "number"
    out["sensitivity"] = ("Result", kind, _by_swing(frame))
    return out


def _by_swing(frame: pd.DataFrame) -> pd.DataFrame:
    order = (frame["at_high"] - frame["at_low"]).abs().sort_values(ascending=False).index
    return frame.loc[order].reset_index(drop=True)


def tornado_chart(frame: pd.DataFrame, title: str, kind: Kind, currency: str = "USD") -> AnyChart:
    """A tornado chart: for each input, the result at its low and at its high value.

    Args:
        frame: columns ``label``, ``at_low``, ``at_high``, ``base`` (see
            :func:`tornado_frames`), largest swing first.
        title: what the result is (``Government net savings (PV)``).
        kind: its kind, for the axis format.
        currency: the scenario's currency.
    """
    order = frame["label"].tolist()
    has_base = bool(frame["base"].notna().all())
    start = frame["base"] if has_base else frame["at_low"]
    ends = pd.concat(
        [
            pd.DataFrame(
                {
                    "label": frame["label"],
                    "start": start,
                    "end": frame["at_low"],
                    "Input": "at its low value",
                }
            ),
            pd.DataFrame(
                {
                    "label": frame["label"],
                    "start": start,
                    "end": frame["at_high"],
                    "Input": "at its high value",
                }
            ),
        ],
        ignore_index=True,
    )
    if not has_base:
        ends = ends[ends["Input"] == "at its high value"]
    x_title = _money_title(title, currency) if kind == "money" else title
    bars = (
        alt.Chart(ends)
        .mark_bar(opacity=0.9)
        .encode(
            y=alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=320)),
            x=alt.X(
                "start:Q",
                title=x_title,
                axis=alt.Axis(format=_value_format(kind, currency)),
                scale=alt.Scale(zero=False),
            ),
            x2="end:Q",
            color=alt.Color(
                "Input:N",
                title="Input",
                scale=alt.Scale(
                    domain=["at its low value", "at its high value"], range=[SAVINGS, PAYER]
                ),
            ),
        )
    )
    layers: list[Any] = [bars]
    if has_base:
        base = pd.DataFrame({"base": [float(frame["base"].iloc[0])]})
        layers.append(alt.Chart(base).mark_rule(color=REFERENCE, strokeWidth=2).encode(x="base:Q"))
    return alt.layer(*layers).properties(
        width=WIDTH,
        height=max(120, 34 * len(frame)),
        title=alt.Title(
            f"What moves it most: {title}",
            subtitle="Each bar: the result with one input moved to its low or its "
            "high value" + ("; line: the result as simulated" if has_base else ""),
        ),
    )


def report_charts(res: Results, sensitivity: pd.DataFrame | None = None) -> dict[str, AnyChart]:
    """The report's charts by name, in reading order.

    Names: ``budget``, ``net_savings``, ``investors``, ``evaluation`` and, when a
    sensitivity table is given, one ``sensitivity_<metric>`` tornado per metric
    (``sensitivity`` for a plain ``low``/``high`` table; see :func:`tornado_frames`).
    """
    charts: dict[str, AnyChart] = {
        "budget": budget_chart(res),
        "net_savings": net_savings_chart(res),
        "investors": investor_chart(res),
        "evaluation": evaluation_chart(res),
    }
    if sensitivity is not None:
        for name, (title, kind, frame) in tornado_frames(sensitivity, res.scenario).items():
            charts[name] = tornado_chart(frame, title, kind, res.scenario.currency)
    return charts


def chart_spec(chart: AnyChart) -> dict[str, Any]:
    """The Vega-Lite spec of a chart, with the report's fonts and sizes."""
    spec: dict[str, Any] = chart.to_dict()
    spec["config"] = {**spec.get("config", {}), **CONFIG}
    spec["background"] = "white"
    return spec


def _vl_convert() -> Any:
    try:
        import vl_convert
    except ImportError:
        raise PfsError(
            "chart images need the vl-convert-python package (pip install vl-convert-python)"
        ) from None
    return vl_convert


def render(spec: dict[str, Any], fmt: ImageFormat = "png", scale: float = 2.0) -> bytes:
    """One chart spec as PNG, SVG (UTF-8 bytes) or PDF, rendered offline.

    Raises:
        PfsError: unknown format, or vl-convert-python missing.
    """
    vlc = _vl_convert()
    if fmt == "png":
        return bytes(vlc.vegalite_to_png(spec, scale=scale))
    if fmt == "svg":
        return str(vlc.vegalite_to_svg(spec)).encode("utf-8")
    if fmt == "pdf":
        return bytes(vlc.vegalite_to_pdf(spec))
    raise PfsError(f"unknown chart format {fmt!r} (choose from {', '.join(IMAGE_FORMATS)})")


def chart_images(
    res: Results,
    fmt: ImageFormat = "png",
    sensitivity: pd.DataFrame | None = None,
    scale: float = 2.0,
) -> dict[str, bytes]:
    """The report's charts as images for slides: name -> PNG, SVG or PDF bytes."""
    if fmt not in IMAGE_FORMATS:
        raise PfsError(f"unknown chart format {fmt!r} (choose from {', '.join(IMAGE_FORMATS)})")
    return {
        name: render(chart_spec(chart), fmt, scale)
        for name, chart in report_charts(res, sensitivity).items()
    }


def write_chart_images(
    res: Results,
    folder: str | Path,
    fmt: ImageFormat = "png",
    sensitivity: pd.DataFrame | None = None,
) -> list[Path]:
    """Write :func:`chart_images` to ``folder`` as ``<name>.<fmt>``; return the paths.

    Raises:
        PfsError: when the folder cannot be created or written.
    """
    folder = Path(folder)
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in chart_images(res, fmt, sensitivity).items():
            path = folder / f"{name}.{fmt}"
            path.write_bytes(data)
            written.append(path)
    except OSError as err:
        raise PfsError(f"{folder}: cannot write chart images ({err.strerror or err})") from None
    return written


def charts_zip(
    res: Results,
    fmt: ImageFormat = "png",
    sensitivity: pd.DataFrame | None = None,
) -> bytes:
    """The report's charts as one ZIP archive of ``<name>.<fmt>`` files (one download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in chart_images(res, fmt, sensitivity).items():
            archive.writestr(f"{name}.{fmt}", data)
    return buffer.getvalue()
