"""Tornado sensitivity: what moves the answer most, one input at a time.

Stage: analysis. Takes a scenario and returns a tidy DataFrame with one row per
(metric, input): the metric with the input pinned at its low and at its high value
(by default its 10th and 90th percentiles), the swing between them and the paired
standard error of that swing. Every run uses the same sampled paths (common random
numbers), so the only difference between the low and the high run is the input
swung: bars are not noise. An input is swung by pinning its value on every path; the
other inputs keep their own draws (for a correlated input, its partners keep their
unconditional draws: the bar is the input's direct effect).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from pfs.analysis._common import (
    DEFAULT_METRICS,
    PathSet,
    central_values,
    check_inputs,
    input_label,
    input_names,
    metric_stat,
    paired_se,
    per_path,
    spec_label,
    split_metric,
)
from pfs.distributions import value_quantile
from pfs.results import Results
from pfs.scenario import PfsError, Sampling, Scenario

TORNADO_COLUMNS = [
    "metric",
    "metric_label",
    "input",
    "label",
    "kind",
    "low_value",
    "high_value",
    "base",
    "at_low",
    "at_high",
    "swing",
    "swing_se",
    "rank",
]
"""Columns of :func:`tornado`'s table, in order."""

Progress = Callable[[float], None]


def _swing_run(
    sc: Scenario,
    paths: PathSet,
    name: str,
    value: float,
    base_pins: Mapping[str, float],
) -> Results:
    if name in input_names(sc):
        return paths.run(pin={**base_pins, name: value})
    return paths.run(sc.with_overrides({name: value}), pin=base_pins)


def tornado(
    sc: Scenario,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    inputs: Sequence[str] | None = None,
    parameters: Mapping[str, tuple[float, float]] | None = None,
    low: float = 0.10,
    high: float = 0.90,
    others: str = "sampled",
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Swing each input between a low and a high value and measure the metrics.

    Args:
        sc: the scenario.
        metrics: metric specs: a per-path metric (``gov_net_savings_pv``: its mean
            over paths, NaN IRRs skipped), a probability (``p_investor_repaid``), or
            either with a statistic (``investor_irr:p50``).
        inputs: uncertain inputs to swing by dotted name (default: all of them).
        parameters: extra swings, dotted path -> ``(low, high)`` values: deterministic
            fields (``outcomes.bed_days.payment.price_per_unit``) or inputs with
            bounds of your choosing.
        low: quantile of an uncertain input's low value.
        high: quantile of its high value.
        others: ``"sampled"`` (the other inputs keep their uncertainty) or
            ``"median"`` (the other inputs are pinned at their medians; evaluation
            noise stays random).
        paths: Monte Carlo paths per run (default: the scenario's).
        seed: random seed (default: the scenario's).
        sampling: sampling method (default: the scenario's).
        progress: called with the fraction done after each run (for progress bars).

    Returns:
        One row per (metric, input), columns :data:`TORNADO_COLUMNS`: ``low_value``
        and ``high_value`` of the input, ``base`` (the metric with nothing pinned, or
        everything at medians), ``at_low`` and ``at_high``, ``swing`` =
        ``at_high - at_low``, its paired Monte Carlo ``swing_se`` (NaN for quantile
        statistics) and ``rank`` (1 = largest ``|swing|`` for that metric). Rows are
        sorted by metric, in the order given, then by rank. ``attrs`` holds the run
        settings.

    Raises:
        PfsError: for an unknown input, metric or option.
    """
    if not 0 <= low < high <= 1:
        raise PfsError(f"need 0 <= low < high <= 1 for quantiles, got {low} and {high}")
    if others not in ("sampled", "median"):
        raise PfsError(f"'others' must be 'sampled' or 'median', got {others!r}")
    specs = sc.uncertain_inputs()
    names = check_inputs(sc, inputs, uncertain=True) if inputs is not None else list(specs)
    swings: dict[str, tuple[float, float, str]] = {
        name: (value_quantile(specs[name], low), value_quantile(specs[name], high), "input")
        for name in names
    }
    for path, (lo, hi) in (parameters or {}).items():
        swings[path] = (float(lo), float(hi), "parameter")
    if not swings:
        raise PfsError(
            "nothing to swing: the scenario has no uncertain inputs and no parameters were given"
        )
    for spec in metrics:
        split_metric(spec)
    path_set = PathSet.draw(sc, paths, seed, sampling)
    base_pins = central_values(sc) if others == "median" else {}
    base = path_set.run(pin=base_pins)
    for spec in metrics:
        per_path(base, split_metric(spec)[0])
    rows = []
    total = 2 * len(swings)
    for k, (name, (lo, hi, kind)) in enumerate(swings.items()):
        pins = {p: v for p, v in base_pins.items() if p != name}
        at_low = _swing_run(sc, path_set, name, lo, pins)
        if progress:
            progress((2 * k + 1) / total)
        at_high = _swing_run(sc, path_set, name, hi, pins)
        if progress:
            progress((2 * k + 2) / total)
        for spec in metrics:
            metric, stat = split_metric(spec)
            v_low, v_high = metric_stat(at_low, spec), metric_stat(at_high, spec)
            se = (
                paired_se(per_path(at_low, metric), per_path(at_high, metric))
                if stat == "mean"
                else math.nan
            )
            rows.append(
                {
                    "metric": spec,
                    "metric_label": spec_label(spec),
                    "input": name,
                    "label": input_label(sc, name),
                    "kind": kind,
                    "low_value": lo,
                    "high_value": hi,
                    "base": metric_stat(base, spec),
                    "at_low": v_low,
                    "at_high": v_high,
                    "swing": v_high - v_low,
                    "swing_se": se,
                }
            )
    table = pd.DataFrame(rows)
    order = {spec: i for i, spec in enumerate(metrics)}
    table["_order"] = table["metric"].map(order)
    table["_abs"] = table["swing"].abs().fillna(-1.0)
    table = table.sort_values(["_order", "_abs"], ascending=[True, False], kind="stable")
    table["rank"] = table.groupby("metric", sort=False).cumcount() + 1
    table = table.drop(columns=["_order", "_abs"]).reset_index(drop=True)[TORNADO_COLUMNS]
    table.attrs.update(
        {
            "scenario": sc.name,
            "paths": path_set.n_paths,
            "seed": path_set.seed,
            "sampling": path_set.sampling.value,
            "low_quantile": low,
            "high_quantile": high,
            "others": others,
            "runs": 1 + total,
        }
    )
    return table


def swing_bounds(sc: Scenario, low: float = 0.10, high: float = 0.90) -> pd.DataFrame:
    """Low and high value of every uncertain input (what :func:`tornado` would swing).

    Returns:
        Columns ``input``, ``label``, ``low_value``, ``median``, ``high_value``.
    """
    return pd.DataFrame(
        [
            {
                "input": name,
                "label": input_label(sc, name),
                "low_value": value_quantile(spec, low),
                "median": value_quantile(spec, 0.5),
                "high_value": value_quantile(spec, high),
            }
            for name, spec in sc.uncertain_inputs().items()
        ],
        columns=["input", "label", "low_value", "median", "high_value"],
    )


__all__ = ["TORNADO_COLUMNS", "swing_bounds", "tornado"]
