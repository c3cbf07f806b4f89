"""Outcomes: participants, true and measured effects, units achieved.

Stage: outcomes. Takes a :class:`~pfs.scenario.Scenario` and its
:class:`~pfs.sampling.Draws` and returns :class:`OutcomePaths`, arrays over paths.
Savings follow the *true* effect; payments follow the *measured* effect, which is the
true effect plus the evaluation's bias and sampling error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pfs.sampling import Draws
from pfs.scenario import EffectType, Outcome, Scenario

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
        true_units: units of improvement actually achieved ``[paths, cohorts]``.
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


def outcomes(sc: Scenario, draws: Draws) -> OutcomePaths:
    """True and measured outcomes for every path of ``draws``."""
    n = draws.n
    enrol = _as_paths(draws.get("program.enrollment_factor", sc.program.enrollment_factor), n)
    sizes = np.array([c.size for c in sc.program.cohorts])
    participants = enrol[:, None] * sizes[None, :]
    by_outcome: dict[str, OutcomeDraw] = {}
    for o in sc.outcomes:
        prefix = f"outcomes.{o.id}."
        baseline = np.maximum(_as_paths(draws.get(prefix + "baseline", o.baseline), n), 0.0)  # type: ignore[arg-type]
        effect = _as_paths(draws.get(prefix + "effect", o.effect), n)  # type: ignore[arg-type]
        value = np.maximum(
            _as_paths(draws.get(prefix + "value_per_unit", o.value_per_unit), n),  # type: ignore[arg-type]
            0.0,
        )
        bias = _as_paths(draws.get(prefix + "evaluation.bias", o.evaluation.bias), n)  # type: ignore[arg-type]
        se = group_standard_errors(sc, o)
        measured = effect[:, None] + bias[:, None] + draws.noise[o.id] * se[None, :]
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
