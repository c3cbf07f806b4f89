"""Analysis commands of the ``pfs`` command line (registered on :data:`pfs.cli.app`).

``pfs sensitivity`` (tornado, optionally Sobol' indices), ``pfs breakeven``,
``pfs price`` (deal designer and frontier), ``pfs evaluation-risk`` and
``pfs convergence``. Each prints rich tables, or JSON with ``--json``; user errors
raise :class:`~pfs.scenario.PfsError`, which :func:`pfs.cli.main` turns into exit
code 2 and one line on stderr.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from pfs.analysis import (
    breakeven_table,
    evaluation_risk,
    price_frontier,
    run_until,
    sobol_indices,
    solve_price,
    tornado,
)
from pfs.analysis._common import DEFAULT_METRICS, split_metric
from pfs.analysis.convergence import CONVERGENCE_METRICS
from pfs.cli import (
    JsonOpt,
    PathsOpt,
    SamplingOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    app,
    load_with_overrides,
    out,
)
from pfs.formatting import metric_value, money, percent
from pfs.scenario import PfsError

MetricOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--metric",
        "-m",
        help="Metric to report (repeatable): a per-path metric (its mean), a probability "
        "(p_investor_repaid) or metric:p50. Default: gov_net_savings_pv, investor_irr, "
        "p_investor_repaid.",
    ),
]
OutcomeOpt = Annotated[
    str | None, typer.Option("--outcome", "-o", help="Outcome id (default: the first).")
]

BAR_WIDTH = 16


# ------------------------------------------------------------------------ helpers
def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in frame.to_dict(orient="records")]


def _emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(_clean(payload), indent=2, default=str) + "\n")


def _number(value: float) -> str:
    """An input's value: money-like numbers with separators, small ones to 4 digits."""
    if not math.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _spec_value(spec: str, value: float, currency: str, precise: bool = False) -> str:
    return metric_value(split_metric(spec)[0], value, currency, precise=precise)


def _bar(value: float, largest: float) -> str:
    """A diverging text bar: negative swings to the left, positive to the right."""
    if not math.isfinite(value) or largest <= 0:
        return ""
    cells = round(BAR_WIDTH * abs(value) / largest)
    left = ("█" * cells).rjust(BAR_WIDTH) if value < 0 else " " * BAR_WIDTH
    right = ("█" * cells).ljust(BAR_WIDTH) if value > 0 else " " * BAR_WIDTH
    return f"{left}│{right}"


def _parse_swings(items: list[str] | None) -> dict[str, tuple[float, float]]:
    swings: dict[str, tuple[float, float]] = {}
    for item in items or []:
        path, sep, raw = item.partition("=")
        parts = raw.split(",")
        try:
            if not sep or len(parts) != 2:
                raise ValueError
            swings[path.strip()] = (float(parts[0]), float(parts[1]))
        except ValueError:
            raise PfsError(f"--swing {item!r}: expected path=low,high") from None
    return swings


def _floats(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise PfsError(f"{option} {text!r}: expected comma-separated numbers") from None


# -------------------------------------------------------------------- sensitivity
@app.command()
def sensitivity(
    scenario: ScenarioArg = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    metric: MetricOpt = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="Uncertain input to swing (repeatable; default all)."),
    ] = None,
    swing: Annotated[
        list[str] | None,
        typer.Option(
            "--swing",
            help="Also swing a parameter: path=low,high (repeatable), e.g. "
            "outcomes.bed_days.payment.price_per_unit=150,210",
        ),
    ] = None,
    low: Annotated[float, typer.Option(help="Quantile of the low value.")] = 0.10,
    high: Annotated[float, typer.Option(help="Quantile of the high value.")] = 0.90,
    others: Annotated[
        str, typer.Option(help="Other inputs: 'sampled' (keep uncertainty) or 'median'.")
    ] = "sampled",
    sobol: Annotated[
        bool, typer.Option("--sobol", help="Also compute Sobol' indices (--paths base samples).")
    ] = False,
    sampling: SamplingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Tornado: swing each uncertain input from its P10 to its P90 (common random numbers)."""
    sc = load_with_overrides(scenario, set_)
    metrics = metric or list(DEFAULT_METRICS)
    table = tornado(
        sc,
        metrics,
        inputs=inputs,
        parameters=_parse_swings(swing),
        low=low,
        high=high,
        others=others,
        paths=paths,
        seed=seed,
        sampling=sampling,
    )
    sob = sobol_indices(sc, metrics, paths=paths, seed=seed) if sobol else None
    if as_json:
        payload: dict[str, Any] = {
            "scenario": sc.name,
            "settings": dict(table.attrs),
            "tornado": _records(table),
        }
        if sob is not None:
            payload["sobol"] = _records(sob)
            payload["sobol_settings"] = dict(sob.attrs)
        _emit_json(payload)
        return
    cur = sc.currency
    attrs = table.attrs
    out.print(
        f"[bold]{escape(sc.name)}[/bold]  tornado: inputs from P{low * 100:g} to "
        f"P{high * 100:g}, "
        f"others {others}; {attrs['paths']:,} paths per run, seed {attrs['seed']}, "
        f"{attrs['runs']} runs (common random numbers)"
    )
    for spec in metrics:
        rows = table[table["metric"] == spec]
        base = float(rows["base"].iloc[0])
        grid = Table(
            title=f"{rows['metric_label'].iloc[0]}  (base {_spec_value(spec, base, cur)})",
            title_justify="left",
        )
        for col in ("#", "Input", "Low", "High", "At low", "At high", "Swing", "± s.e.", ""):
            grid.add_column(col, justify="left" if col in ("Input", "") else "right")
        largest = float(rows["swing"].abs().max())
        for _, r in rows.iterrows():
            grid.add_row(
                str(r["rank"]),
                escape(str(r["label"])),
                _number(r["low_value"]),
                _number(r["high_value"]),
                _spec_value(spec, r["at_low"], cur),
                _spec_value(spec, r["at_high"], cur),
                _spec_value(spec, r["swing"], cur),
                _spec_value(spec, r["swing_se"], cur, precise=True),
                _bar(float(r["swing"]), largest),
            )
        out.print(grid)
    if sob is not None:
        out.print(
            f"Sobol' indices: {sob.attrs['base_samples']:,} base samples, "
            f"{sob.attrs['evaluations']:,} paths, {sob.attrs['seconds']:.1f}s "
            f"(± = {sob.attrs['conf_level']:.0%} interval half-width)"
        )
        for spec in metrics:
            rows = sob[sob["metric"] == spec]
            grid = Table(
                title=f"Sobol' indices: {rows['metric_label'].iloc[0]}", title_justify="left"
            )
            for col in ("Factor", "First-order", "±", "Total", "±"):
                grid.add_column(col, justify="left" if col == "Factor" else "right")
            for _, r in rows.iterrows():
                grid.add_row(
                    escape(str(r["label"])),
                    f"{r['S1']:.3f}",
                    f"{r['S1_conf']:.3f}",
                    f"{r['ST']:.3f}",
                    f"{r['ST_conf']:.3f}",
                )
            out.print(grid)


# ---------------------------------------------------------------------- breakeven
@app.command()
def breakeven(
    scenario: ScenarioArg = None,
    outcome: OutcomeOpt = None,
    target_irr: Annotated[
        float, typer.Option("--target-irr", help="The IRR investors aim for.")
    ] = 0.05,
    mode: Annotated[str, typer.Option(help="deterministic, expected or both.")] = "both",
    at: Annotated[
        str, typer.Option(help="Deterministic centre of other inputs: median or mean.")
    ] = "median",
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Break-even true effect: investors repaid, target IRR, government breaks even."""
    sc = load_with_overrides(scenario, set_)
    modes = {
        "both": ["deterministic", "expected"],
        "deterministic": ["deterministic"],
        "expected": ["expected"],
    }
    if mode not in modes:
        raise PfsError(f"--mode must be deterministic, expected or both, got {mode!r}")
    table = breakeven_table(
        sc, outcome, target_irr=target_irr, modes=modes[mode], at=at, paths=paths, seed=seed
    )
    if as_json:
        _emit_json(
            {"scenario": sc.name, "settings": dict(table.attrs), "breakeven": _records(table)}
        )
        return
    oid = table.attrs["outcome"]
    o = sc.outcome(oid)
    out.print(
        f"[bold]{escape(sc.name)}[/bold]  break-even true effect of "
        f"[bold]{escape(o.label or oid)}"
        f"[/bold] ({o.effect_type.value}); current median effect "
        f"{table['current_effect'].iloc[0]:.4g}"
    )
    grid = Table(title="Break-even", title_justify="left")
    for col in ("Question", "Mode", "Effect needed", "± s.e.", "Margin", "Note"):
        grid.add_column(col, justify="left" if col in ("Question", "Mode", "Note") else "right")
    for _, r in table.iterrows():
        effect = "not reached" if not r["found"] else f"{r['effect']:.4g}"
        if r["kind"] == "jump":
            effect += " (step)"
        label = "mean effect" if r["mode"] == "expected" else "all at " + at
        grid.add_row(
            escape(str(r["question"])),
            f"{r['mode']} ({label})",
            effect,
            "" if not math.isfinite(r["effect_se"]) else f"{r['effect_se']:.2g}",
            "" if not math.isfinite(r["margin"]) else f"{r['margin']:+.4g}",
            escape(str(r["note"])),
        )
    out.print(grid)
    out.print(
        "Margin: how far the current effect is on the safe side of the break-even "
        "(negative: expected to fall short)."
    )


# -------------------------------------------------------------------------- price
@app.command()
def price(
    scenario: ScenarioArg = None,
    target_irr: Annotated[
        float | None, typer.Option("--target-irr", help="Investors' target expected IRR.")
    ] = None,
    target_repaid: Annotated[
        float | None,
        typer.Option("--target-repaid", help="Target chance that investors are repaid."),
    ] = None,
    outcomes: Annotated[
        list[str] | None,
        typer.Option(
            "--outcome", "-o", help="Outcome whose price varies (repeatable; default all)."
        ),
    ] = None,
    frontier: Annotated[
        bool, typer.Option("--frontier", help="Also print the investor-government frontier.")
    ] = False,
    scales: Annotated[
        str | None, typer.Option(help="Frontier price multipliers, e.g. 0.5,0.75,1,1.25")
    ] = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deal designer: the price that gives investors a target, and what government keeps."""
    sc = load_with_overrides(scenario, set_)
    if target_irr is not None and target_repaid is not None:
        raise PfsError("give --target-irr or --target-repaid, not both")
    if target_repaid is not None:
        spec, target = "p_investor_repaid", target_repaid
    else:
        spec, target = "investor_irr", 0.05 if target_irr is None else target_irr
    solution = solve_price(
        sc, metric=spec, target=target, outcomes=outcomes, paths=paths, seed=seed
    )
    table = (
        price_frontier(sc, _floats(scales, "--scales"), outcomes=outcomes, paths=paths, seed=seed)
        if frontier or scales
        else None
    )
    if as_json:
        payload: dict[str, Any] = {
            "scenario": sc.name,
            "metric": spec,
            "target": target,
            "found": solution.found,
            "scale": solution.scale,
            "prices": solution.prices,
            "metrics": solution.metrics,
            "note": solution.note,
        }
        if table is not None:
            payload["frontier"] = _records(table)
        _emit_json(payload)
        return
    cur = sc.currency
    shown = percent(target) if spec != "investor_moic" else f"{target:g}"
    out.print(f"[bold]{escape(sc.name)}[/bold]  price for {spec} = {shown}")
    if not solution.found:
        out.print(f"[yellow]{escape(solution.note)}[/yellow]")
    else:
        grid = Table(
            title=f"Prices ×{solution.scale:.4f} of the current ones", title_justify="left"
        )
        grid.add_column("Item")
        grid.add_column("Value", justify="right")
        grid.add_column("± s.e.", justify="right")
        for name, value in solution.prices.items():
            grid.add_row(
                escape(name), money(value, cur) if name.startswith("price") else f"{value:.4g}", ""
            )
        for name in (
            "investor_irr",
            "p_investor_repaid",
            "gov_net_savings_pv",
            "outcome_payments_pv",
            "pfs_vs_ffs_pv",
            "p_gov_net_negative",
        ):
            grid.add_row(
                escape(name),
                metric_value(name, solution.metrics[name], cur),
                metric_value(name, solution.metrics[f"{name}_se"], cur, precise=True),
            )
        out.print(grid)
        out.print(
            f"What the government keeps: expected net savings "
            f"{money(solution.metrics['gov_net_savings_pv'], cur)} (PV)."
        )
    if table is not None:
        grid = Table(
            title="Frontier: investor expected IRR vs government expected net "
            "savings as prices scale",
            title_justify="left",
        )
        for col in ("Scale", "Investor IRR", "P(repaid)", "Gov net savings (PV)", "Payments (PV)"):
            grid.add_column(col, justify="right")
        for _, r in table.iterrows():
            grid.add_row(
                f"×{r['scale']:.2f}",
                percent(r["investor_irr"], 2),
                percent(r["p_investor_repaid"]),
                money(r["gov_net_savings_pv"], cur),
                money(r["outcome_payments_pv"], cur),
            )
        out.print(grid)


# ---------------------------------------------------------------- evaluation risk
@app.command(name="evaluation-risk")
def evaluation_risk_command(
    scenario: ScenarioArg = None,
    outcome: OutcomeOpt = None,
    se: Annotated[
        str | None, typer.Option("--se", help="Standard errors to try, e.g. 0.02,0.05,0.1")
    ] = None,
    sample_size: Annotated[
        str | None,
        typer.Option("--sample-size", help="Treatment-group sizes to try, e.g. 100,200,400"),
    ] = None,
    below: Annotated[
        float | None, typer.Option(help="True effect below the threshold (default 0).")
    ] = None,
    above: Annotated[
        float | None, typer.Option(help="True effect above it (default: the mean effect).")
    ] = None,
    prior: Annotated[
        bool, typer.Option("--prior/--no-prior", help="Also integrate over the prior.")
    ] = True,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Chances the evaluation pays for nothing, or fails to pay for success."""
    sc = load_with_overrides(scenario, set_)
    sizes = _floats(sample_size, "--sample-size")
    table = evaluation_risk(
        sc,
        outcome,
        standard_errors=_floats(se, "--se"),
        sample_sizes=[int(s) for s in sizes] if sizes is not None else None,
        below=below,
        above=above,
        prior=prior,
        paths=paths,
        seed=seed,
    )
    if as_json:
        _emit_json(
            {"scenario": sc.name, "settings": dict(table.attrs), "evaluation_risk": _records(table)}
        )
        return
    attrs = table.attrs
    o = sc.outcome(attrs["outcome"])
    out.print(
        f"[bold]{escape(sc.name)}[/bold]  evaluation risk of "
        f"[bold]{escape(o.label or o.id)}[/bold]: "
        f"pays when the measured effect reaches {attrs['threshold']:g}; "
        f"{attrs['paths']:,} paths, seed {attrs['seed']}"
    )
    by_sample = table["sample_size"].notna().any()
    grid = Table(
        title="Chance of the wrong decision (simulated | normal closed form)", title_justify="left"
    )
    grid.add_column("Sample size" if by_sample else "Std error", justify="right")
    if by_sample:
        grid.add_column("Std error", justify="right")
    effect_below = table.loc[table["case"] == "below", "true_effect"].iloc[0]
    effect_above = table.loc[table["case"] == "above", "true_effect"].iloc[0]
    grid.add_column(f"Pays, true effect {effect_below:g}", justify="right")
    grid.add_column(f"No pay, true effect {effect_above:g}", justify="right")
    if prior:
        grid.add_column("Prior: pays though below", justify="right")
        grid.add_column("Prior: no pay though above", justify="right")
    grid.add_column("Money actually paid though below / not paid though above", justify="right")
    for _, group in table.groupby("standard_error", sort=False):
        cells = [f"{group['sample_size'].iloc[0]:,.0f}"] if by_sample else []
        cells.append(f"{group['standard_error'].iloc[0]:.4g}")
        keyed = {(r["case"], r["error"]): r for _, r in group.iterrows()}
        cases = [("below", "paid_though_below"), ("above", "not_paid_though_above")]
        if prior:
            cases += [("prior", "paid_though_below"), ("prior", "not_paid_though_above")]
        for key in cases:
            r = keyed[key]
            cells.append(f"{percent(r['probability'])} | {percent(r['closed_form'])}")
        cells.append(
            f"{percent(keyed[cases[0]]['probability_paid'])} / "
            f"{percent(keyed[cases[1]]['probability_paid'])}"
        )
        grid.add_row(*cells)
    out.print(grid)


# -------------------------------------------------------------------- convergence
@app.command()
def convergence(
    scenario: ScenarioArg = None,
    metric: MetricOpt = None,
    target_se: Annotated[
        float | None,
        typer.Option("--target-se", help="One absolute standard error for every metric."),
    ] = None,
    start_paths: Annotated[int, typer.Option("--start-paths", min=1)] = 10_000,
    max_paths: Annotated[int, typer.Option("--max-paths", min=1)] = 1_000_000,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run until every headline metric's standard error is small enough."""
    sc = load_with_overrides(scenario, set_)
    result = run_until(
        sc,
        metric or list(CONVERGENCE_METRICS),
        target_se=target_se,
        start_paths=start_paths,
        max_paths=max_paths,
        seed=seed,
    )
    if as_json:
        _emit_json(
            {
                "scenario": sc.name,
                "converged": result.converged,
                "paths": result.results.n_paths,
                "table": _records(result.table),
                "history": _records(result.history),
            }
        )
        return
    cur = sc.currency
    steps = ", ".join(f"{n:,}" for n in result.history["paths"].unique())
    state = "[green]converged[/green]" if result.converged else "[yellow]not converged[/yellow]"
    out.print(
        f"[bold]{escape(sc.name)}[/bold]  {state} at {result.results.n_paths:,} paths "
        f"(steps: {steps})"
    )
    grid = Table(title="Monte Carlo standard errors", title_justify="left")
    for col in ("Metric", "Mean", "± s.e.", "Tolerance", "OK", "Paths needed"):
        grid.add_column(col, justify="left" if col == "Metric" else "right")
    for _, r in result.table.iterrows():
        name = str(r["metric"])
        needed = r["paths_needed"]
        grid.add_row(
            escape(str(r["label"])),
            metric_value(name, r["mean"], cur),
            metric_value(name, r["std_error"], cur, precise=True),
            metric_value(name, r["tolerance"], cur, precise=True),
            "[red]no[/red]" if r["too_few"] else "yes",
            f"{needed:,.0f}" if math.isfinite(needed) else "–",
        )
    out.print(grid)
