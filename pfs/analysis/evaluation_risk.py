"""Evaluation risk: how likely is the evaluation to get it wrong?

Stage: analysis. Payments follow the *measured* effect; savings follow the *true*
one. For a grid of evaluation standard errors (or sample sizes) this module gives

- for a true effect *below* the payment threshold, the chance of paying anyway;
- for a true effect *above* it, the chance of not paying;
- over the whole prior of the effect, the joint chances of both mistakes
  (``p_paid_without_true_effect.<id>`` and ``p_not_paid_despite_true_effect.<id>``),

each simulated by the engine (so payer caps and tiers count) next to its normal
closed form: with measurement groups of standard errors ``se_g`` and a fixed bias
``b``, ``P(pay | effect e) = 1 - prod_g Phi((T - e - b) / se_g)``; under a prior,
that integrated over the effect's density.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import integrate
from scipy.stats import norm

from pfs.analysis._common import PathSet, effect_input
from pfs.distributions import Normal, is_uncertain, value_mean
from pfs.outcomes import group_standard_errors, outcomes
from pfs.payments import payment_threshold
from pfs.results import LOSS_TOLERANCE, Results
from pfs.scenario import Outcome, PfsError, Sampling, Scenario

FloatArray = NDArray[np.float64]

RISK_COLUMNS = [
    "outcome",
    "threshold",
    "standard_error",
    "sample_size",
    "case",
    "true_effect",
    "error",
    "error_label",
    "probability",
    "std_error",
    "closed_form",
    "probability_paid",
]
"""Columns of :func:`evaluation_risk`, in order."""

ERROR_LABELS = {
    "paid_though_below": "Pays though the true effect is below the threshold",
    "not_paid_though_above": "Does not pay though the true effect meets the threshold",
}


def chance_of_payment(
    threshold: float, effect: float | FloatArray, group_ses: Sequence[float], bias: float = 0.0
) -> FloatArray:
    """Normal closed form of the chance that at least one measurement group pays.

    Each group's estimate is ``effect + bias + se_g Z_g`` with independent standard
    normal ``Z_g``; a group pays when its estimate reaches ``threshold``.

    Returns:
        ``1 - prod_g Phi((threshold - effect - bias) / se_g)`` (shape of ``effect``).
    """
    e = np.asarray(effect, dtype=np.float64)
    none = np.ones_like(e)
    for se in group_ses:
        if se > 0:
            none = none * norm.cdf((threshold - e - bias) / se)
        else:
            none = none * (e + bias < threshold)
    return np.asarray(1.0 - none, dtype=np.float64)


def _closed_forms(
    o: Outcome, threshold: float, group_ses: FloatArray, sc_effect: object
) -> tuple[Callable[[float], float], tuple[float, float]]:
    """``P(pay | e)`` and, under the prior, ``(P(pay, e < T), P(no pay, e >= T))``."""
    bias_spec = o.evaluation.bias
    pooled = len(group_ses) == 1
    if not is_uncertain(bias_spec):
        bias, ses = float(bias_spec), list(group_ses)  # type: ignore[arg-type]
    elif pooled and isinstance(bias_spec, Normal):
        bias, ses = bias_spec.mean, [math.hypot(float(group_ses[0]), bias_spec.sd)]
    else:
        return (lambda e: math.nan), (math.nan, math.nan)

    def pay(e: float) -> float:
        return float(chance_of_payment(threshold, e, ses, bias))

    if not is_uncertain(sc_effect):  # type: ignore[arg-type]
        e0 = float(sc_effect)  # type: ignore[arg-type]
        prior = (pay(e0) if e0 < threshold else 0.0, 1 - pay(e0) if e0 >= threshold else 0.0)
        return pay, prior
    dist = sc_effect.scipy()  # type: ignore[attr-defined]
    lo, hi = dist.support()
    below = integrate.quad(lambda e: dist.pdf(e) * pay(e), lo, threshold, limit=200)[0]
    above = integrate.quad(lambda e: dist.pdf(e) * (1 - pay(e)), threshold, hi, limit=200)[0]
    return pay, (float(below), float(above))


def _grid(
    sc: Scenario,
    o: Outcome,
    standard_errors: Sequence[float] | None,
    sample_sizes: Sequence[int] | None,
) -> list[tuple[float, float, dict[str, object]]]:
    """``(standard error, sample size, overrides)`` for each grid point."""
    at = f"outcomes.{o.id}.evaluation"
    ev = o.evaluation
    if standard_errors is not None and sample_sizes is not None:
        raise PfsError("give standard errors or sample sizes, not both")
    if sample_sizes is None and standard_errors is None and ev.sample_size is not None:
        sample_sizes = [max(1, round(ev.sample_size * f)) for f in (0.25, 0.5, 1, 2, 4)]
    if sample_sizes is not None:
        if ev.outcome_sd is None:
            raise PfsError(
                f"{at}: sample sizes need outcome_sd (the evaluation gives only a "
                "standard error); give standard errors instead"
            )
        ratio = (ev.control_size or ev.sample_size or 1) / (ev.sample_size or 1)
        out = []
        for n in sample_sizes:
            if int(n) <= 0:
                raise PfsError(f"sample sizes must be positive, got {n}")
            overrides: dict[str, object] = {
                f"{at}.standard_error": None,
                f"{at}.sample_size": int(n),
                f"{at}.control_size": max(1, round(int(n) * ratio)),
            }
            se = sc.with_overrides(overrides).standard_error(
                sc.with_overrides(overrides).outcome(o.id)
            )
            out.append((se, float(n), overrides))
        return out
    if standard_errors is None:
        current = sc.standard_error(o)
        if current <= 0:
            raise PfsError(f"{at}: the evaluation has no sampling error; give standard errors")
        standard_errors = [current * f for f in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)]
    for se in standard_errors:
        if not se >= 0:
            raise PfsError(f"standard errors must not be negative, got {se}")
    return [(float(se), math.nan, {f"{at}.standard_error": float(se)}) for se in standard_errors]


def _decisions(
    path_set: PathSet,
    variant: Scenario,
    outcome_id: str,
    threshold: float,
    pin: dict[str, float] | None,
) -> tuple[FloatArray, FloatArray]:
    """Per path: whether the evaluation triggers a payment (0/1), and the true effect."""
    triggered, true_effect = [], []
    for draws in path_set.draws_for(variant, pin=pin):
        draw = outcomes(variant, draws).by_outcome[outcome_id]
        triggered.append((draw.measured_effect >= threshold).any(axis=1))
        true_effect.append(draw.true_effect)
    return np.concatenate(triggered).astype(np.float64), np.concatenate(true_effect)


def _paid(res: Results, outcome_id: str) -> FloatArray:
    return np.asarray(res.metrics[f"paid.{outcome_id}"] > LOSS_TOLERANCE, dtype=np.float64)


def _row(
    base: dict[str, object],
    case: str,
    effect: float,
    error: str,
    wrong: FloatArray,
    closed: float,
    actual: FloatArray | None,
) -> dict[str, object]:
    n = wrong.size
    p = float(wrong.mean())
    return {
        **base,
        "case": case,
        "true_effect": effect,
        "error": error,
        "probability": p,
        "std_error": math.sqrt(max(p * (1 - p), 0.0) / n) if n else math.nan,
        "closed_form": closed,
        "probability_paid": math.nan if actual is None else float(actual.mean()),
    }


def evaluation_risk(
    sc: Scenario,
    outcome: str | None = None,
    *,
    standard_errors: Sequence[float] | None = None,
    sample_sizes: Sequence[int] | None = None,
    below: float | None = None,
    above: float | None = None,
    prior: bool = True,
    with_limits: bool = True,
    paths: int | None = None,
    seed: int | None = None,
    sampling: Sampling | str | None = None,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """Chances of the evaluation's two mistakes as its precision varies.

    Args:
        sc: the scenario.
        outcome: outcome id (default: the first outcome).
        standard_errors: evaluation standard errors (of the whole evaluation) to try.
        sample_sizes: treatment-group sizes to try instead (the control group keeps
            its ratio; needs ``outcome_sd``). Default: sizes ×0.25..×4 if the
            evaluation is given by sample size, else standard errors ×0.25..×2.
        below: a true effect below the threshold (default: 0, or 0.05 below a
            threshold at or under zero).
        above: a true effect at or above it (default: the effect's mean when it
            meets the threshold, else as far above the threshold as ``below`` is
            under it).
        prior: also give the joint chances under the effect's distribution.
        with_limits: also run the whole engine for ``probability_paid`` (the same
            mistake judged on money actually paid, after caps and retention).
        paths: Monte Carlo paths per run (default: the scenario's).
        seed: random seed (default: the scenario's).
        sampling: sampling method (default: the scenario's).
        progress: called with the fraction done.

    Returns:
        One row per (grid point, case, error), columns :data:`RISK_COLUMNS`:
        ``case`` is ``below``, ``above`` (true effect pinned) or ``prior``;
        ``error`` is ``paid_though_below`` or ``not_paid_though_above``;
        ``probability`` is the simulated chance that the evaluation decides wrongly
        (some measurement group reaches the threshold, or none does), with its
        ``std_error``; ``closed_form`` the normal formula (NaN where none applies,
        e.g. an uncertain bias on a per-cohort evaluation); ``probability_paid`` the
        same mistake judged on money actually paid (payer and outcome caps, money
        retained once investors are repaid), NaN unless ``with_limits``. Under
        ``prior`` the chances are joint: P(pays and true effect below threshold),
        P(does not pay and true effect at or above it).

    Raises:
        PfsError: for an unknown outcome or an impossible grid.
    """
    name = effect_input(sc, outcome)
    o = sc.outcome(name.split(".")[1])
    threshold = payment_threshold(o)
    below = (0.0 if threshold > 0 else threshold - 0.05) if below is None else float(below)
    if above is None:
        mean = float(value_mean(o.effect))
        above = mean if mean >= threshold else threshold + (threshold - below)
    if not below < threshold <= above:
        raise PfsError(f"need below < threshold <= above, got {below:g}, {threshold:g}, {above:g}")
    grid = _grid(sc, o, standard_errors, sample_sizes)
    path_set = PathSet.draw(sc, paths, seed, sampling)
    rows = []
    for k, (se, size, overrides) in enumerate(grid):
        variant = sc.with_overrides(overrides)
        ses = group_standard_errors(variant, variant.outcome(o.id))
        pay, (joint_below, joint_above) = _closed_forms(o, threshold, ses, o.effect)
        base = {"outcome": o.id, "threshold": threshold, "standard_error": se, "sample_size": size}
        for case, effect in (("below", below), ("above", above)):
            pin = {name: effect}
            pays, _ = _decisions(path_set, variant, o.id, threshold, pin)
            paid = _paid(path_set.run(variant, pin=pin), o.id) if with_limits else None
            if case == "below":
                rows.append(_row(base, case, effect, "paid_though_below", pays, pay(effect), paid))
            else:
                rows.append(
                    _row(
                        base,
                        case,
                        effect,
                        "not_paid_though_above",
                        1 - pays,
                        1 - pay(effect),
                        None if paid is None else 1 - paid,
                    )
                )
        if prior:
            pays, true_effect = _decisions(path_set, variant, o.id, threshold, None)
            paid = _paid(path_set.run(variant), o.id) if with_limits else None
            short = (true_effect < threshold).astype(np.float64)
            rows.append(
                _row(
                    base,
                    "prior",
                    math.nan,
                    "paid_though_below",
                    pays * short,
                    joint_below,
                    None if paid is None else paid * short,
                )
            )
            rows.append(
                _row(
                    base,
                    "prior",
                    math.nan,
                    "not_paid_though_above",
                    (1 - pays) * (1 - short),
                    joint_above,
                    None if paid is None else (1 - paid) * (1 - short),
                )
            )
        if progress:
            progress((k + 1) / len(grid))
    table = pd.DataFrame(rows)
    table["error_label"] = table["error"].map(ERROR_LABELS)
    table = table[RISK_COLUMNS]
    runs = len(grid) * (3 if prior else 2) if with_limits else 0
    table.attrs.update(
        {
            "scenario": sc.name,
            "outcome": o.id,
            "threshold": threshold,
            "paths": path_set.n_paths,
            "seed": path_set.seed,
            "engine_runs": runs,
        }
    )
    return table


__all__ = ["ERROR_LABELS", "RISK_COLUMNS", "chance_of_payment", "evaluation_risk"]
