"""Outcomes: participants, true and measured effects, units achieved.

Stage: outcomes. Takes a :class:`~pfs.scenario.Scenario` and its
:class:`~pfs.sampling.Draws` and returns :class:`OutcomePaths`, arrays over paths.
Savings follow the *true* effect; payments follow the *measured* effect, which is the
true effect plus the evaluation's bias and sampling error (for a blended evaluation, the
weighted blend's bias and combined standard error; for ``per_cohort_or_pooled``, each
cohort's estimate and then their pooled mean, all from the per-cohort noise columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pfs.sampling import Draws
from pfs.scenario import Direction, EffectType, Measurement, Outcome, Scenario

FloatArray = NDArray[np.float64]


@dataclass
class OutcomeDraw:
    """One outcome's arrays.

    Attributes:
        baseline: counterfactual units per participant ``[paths]``.
        true_effect: true improvement ``[paths]`` (fraction or units per participant).
        value_per_unit: avoided public cost per unit ``[paths]``.
        bias: comparison-group bias ``[paths]``.
        measured_effect: estimate per measurement group ``[paths, groups]``.
        true_units: units of improvement actually achieved ``[paths, cohorts]``, per
            counted period (see ``Outcome.periods_counted``).
    """

    baseline: FloatArray
    true_effect: FloatArray
    value_per_unit: FloatArray
    bias: FloatArray
    measured_effect: FloatArray
    true_units: FloatArray

    def units_per_effect(self, participants: FloatArray, outcome: Outcome) -> FloatArray:
        """Units of outcome per unit of effect for ``participants`` ``[paths, ...]``."""
        if outcome.effect_type == EffectType.absolute:
            return participants
        return participants * self.baseline.reshape(-1, *([1] * (participants.ndim - 1)))

    def level_units(
        self, participants: FloatArray, outcome: Outcome, measured: FloatArray
    ) -> FloatArray:
        """Units paid on ``basis: level`` for ``participants`` ``[paths]``.

        The programme group's observed level per participant is the baseline moved by
        the measured effect (exact for an administrative count, where the standard
        error and bias are 0); the contract counts it against its ``reference_level``:
        reference minus level for a decrease, level minus reference for an increase.
        """
        sign = -1.0 if outcome.direction == Direction.decrease else 1.0
        if outcome.effect_type == EffectType.absolute:
            level = self.baseline + sign * measured
        else:
            level = self.baseline * (1.0 + sign * measured)
        level = np.maximum(level, 0.0)
        reference = outcome.payment.reference_level or 0.0
        per_participant = sign * (level - reference)
        return participants * np.maximum(per_participant, 0.0)


@dataclass
class OutcomePaths:
    """Participants and every outcome's draws for a range of paths.

    Attributes:
        participants: enrolled participants ``[paths, cohorts]``.
        by_outcome: outcome id -> :class:`OutcomeDraw`.
    """

    participants: FloatArray
    by_outcome: dict[str, OutcomeDraw]


def _as_paths(value: FloatArray | float, n: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))


def input_values(draws: Draws, name: str, spec: Any) -> FloatArray:
    """Values ``[paths]`` of input ``name``: its draws if uncertain, else the number."""
    drawn = draws.values.get(name)
    return _as_paths(spec if drawn is None else drawn, draws.n)


def group_standard_errors(sc: Scenario, outcome: Outcome) -> FloatArray:
    """Standard error of each measurement group's estimate ``[groups]``.

    The evaluation's standard error is for all cohorts together; a group holding a
    fraction ``f`` of the planned participants is measured with ``se / sqrt(f)``.
    """
    se = sc.standard_error(outcome)
    sizes = np.array([c.size for c in sc.program.cohorts])
    total = sizes.sum()
    return np.array(
        [se * math.sqrt(total / sizes[idx].sum()) for _, idx in sc.measurement_groups(outcome)]
    )


def row_sum(values: FloatArray) -> FloatArray:
    """Sum ``[paths, k]`` over its short second axis -> ``[paths]``.

    Column by column, vectorised over paths: NumPy's own reduction along a short
    contiguous axis costs about twenty times more. The order of the additions is the
    same, so the sums are too.
    """
    total = values[:, 0].copy()
    for j in range(1, values.shape[1]):
        total += values[:, j]
    return total


def blended_bias(draws: Draws, outcome: Outcome) -> FloatArray:
    """Bias of the payment estimate ``[paths]``: Σ wᵢ biasᵢ over blended estimates."""
    ev = outcome.evaluation
    prefix = f"outcomes.{outcome.id}.evaluation."
    bias = ev.main_weight * input_values(draws, prefix + "bias", ev.bias)
    for c in ev.blended_with:
        bias = bias + c.weight * input_values(draws, f"{prefix}blended_with.{c.id}.bias", c.bias)
    return bias


def measured_effects(
    sc: Scenario, outcome: Outcome, true_effect: FloatArray, bias: FloatArray, noise: FloatArray
) -> FloatArray:
    """Each measurement group's estimate ``[paths, groups]``.

    Args:
        sc: the scenario.
        outcome: the outcome measured.
        true_effect: true effect ``[paths]``.
        bias: the estimate's bias ``[paths]``.
        noise: standard-normal sampling errors ``[paths, columns]``, one column per
            separately sampled group (one per cohort unless pooled).

    Returns:
        Estimates ``[paths, groups]``. With ``per_cohort_or_pooled`` the last column is
        the pooled estimate: the participant-weighted mean of the cohorts' estimates,
        whose standard error is then the whole evaluation's.
    """
    sizes = np.array([c.size for c in sc.program.cohorts])
    weights = sizes / sizes.sum()
    if outcome.evaluation.measurement == Measurement.pooled:
        # the pooled estimate's error from the cohorts' own: sum of sqrt(f_c) z_c has
        # the whole evaluation's standard error, and equals the participant-weighted
        # mean of the per-cohort estimates' errors
        z = np.zeros(len(true_effect))
        for c, w in enumerate(weights):
            z += np.sqrt(w) * noise[:, c]
        se_pooled = group_standard_errors(sc, outcome)[0]  # the whole evaluation's
        return (true_effect + bias + se_pooled * z)[:, None]
    se = group_standard_errors(sc, outcome)
    centre = true_effect + bias
    measured = np.empty(noise.shape, order="F")  # column by column, along paths
    for c in range(noise.shape[1]):
        np.multiply(noise[:, c], se[c], out=measured[:, c])
        measured[:, c] += centre
    if outcome.evaluation.measurement != Measurement.per_cohort_or_pooled:
        return measured
    pooled = np.zeros(len(true_effect))
    for c, w in enumerate(weights):  # elementwise: the same for every batch of paths
        pooled += w * measured[:, c]
    return np.concatenate([measured, pooled[:, None]], axis=1)


def outcomes(sc: Scenario, draws: Draws) -> OutcomePaths:
    """True and measured outcomes for every path of ``draws``."""
    enrol = input_values(draws, "program.enrollment_factor", sc.program.enrollment_factor)
    sizes = np.array([c.size for c in sc.program.cohorts], dtype=np.float64)
    # [paths, cohorts] stored column by column: arithmetic on it, and on the arrays
    # computed from it, then runs along paths rather than along the short cohort axis
    participants = np.empty((len(enrol), len(sizes)), order="F")
    np.multiply(enrol[:, None], sizes[None, :], out=participants)
    by_outcome: dict[str, OutcomeDraw] = {}
    for o in sc.outcomes:
        prefix = f"outcomes.{o.id}."
        baseline = np.maximum(input_values(draws, prefix + "baseline", o.baseline), 0.0)
        effect = input_values(draws, prefix + "effect", o.effect)
        value = np.maximum(input_values(draws, prefix + "value_per_unit", o.value_per_unit), 0.0)
        bias = blended_bias(draws, o)
        measured = measured_effects(sc, o, effect, bias, draws.noise[o.id])
        draw = OutcomeDraw(
            baseline=baseline,
            true_effect=effect,
            value_per_unit=value,
            bias=bias,
            measured_effect=measured,
            true_units=np.empty(0),
        )
        draw.true_units = draw.units_per_effect(participants, o) * effect[:, None]
        by_outcome[o.id] = draw
    return OutcomePaths(participants=participants, by_outcome=by_outcome)
