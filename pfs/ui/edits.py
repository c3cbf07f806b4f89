"""Editing scenario values: move an uncertain value's centre, widen or narrow it.

Stage: input editing (no finance). A widget shows an uncertain value as a *best
guess* and an *uncertainty* (100% = as in the preset). These pure functions turn
those two numbers back into the plain data a scenario override takes: a float for a
fixed value, a ``{"dist": ...}`` mapping for an uncertain one.
"""

from __future__ import annotations

from typing import Any

from pfs.distributions import (
    Beta,
    Dist,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
    is_uncertain,
    parse_value,
    value_quantile,
)

Value = float | Dist


def centre(value: Value) -> float:
    """The value a widget shows as the best guess.

    The mean for normal-like and beta distributions, the most likely value for
    triangular and PERT, the midpoint of a uniform range; a fixed number itself.
    """
    if not is_uncertain(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, Normal | TruncNormal | LogNormal):
        return value.mean
    if isinstance(value, Triangular | Pert):
        return value.mode
    if isinstance(value, Uniform):
        return (value.low + value.high) / 2
    assert isinstance(value, Beta)
    return value.expected()


def _floor(params: dict[str, Any], floor: float | None) -> dict[str, Any]:
    """Keep a bounded range (uniform, triangular, PERT, beta) above ``floor``."""
    if floor is None or params["low"] >= floor:
        return params
    params["low"] = floor
    if "mode" in params:
        params["mode"] = max(params["mode"], floor)
    if params["high"] <= floor:
        params["high"] = floor + 1e-9
    return params


def rescale(value: Dist, factor: float, floor: float | None = None) -> dict[str, Any]:
    """Widen (``factor`` > 1) or narrow an uncertain value around its centre.

    Args:
        value: the distribution.
        factor: multiplier of the spread (standard deviation or half-widths), > 0.
        floor: lowest value the field allows (0 for costs and counts), if any.

    Returns:
        The distribution as override data.
    """
    params = value.model_dump()
    if isinstance(value, Normal | TruncNormal | LogNormal):
        params["sd"] = value.sd * factor
        return params
    if isinstance(value, Triangular | Pert):
        params["low"] = value.mode - (value.mode - value.low) * factor
        params["high"] = value.mode + (value.high - value.mode) * factor
    else:
        assert isinstance(value, Uniform | Beta)
        mid = centre(value)
        params["low"] = mid - (mid - value.low) * factor
        params["high"] = mid + (value.high - mid) * factor
    return _floor(params, floor)


def recentre(value: Dist, new_centre: float, floor: float | None = None) -> dict[str, Any]:
    """Move an uncertain value so that its best guess is ``new_centre``.

    Bounded distributions shift as a whole; a lognormal keeps its relative spread.

    Returns:
        The distribution as override data.
    """
    params = value.model_dump()
    if isinstance(value, LogNormal):
        new_mean = max(new_centre, 1e-9)
        params["mean"] = new_mean
        params["sd"] = value.sd * new_mean / value.mean
        return params
    if isinstance(value, Normal | TruncNormal):
        params["mean"] = new_centre
        return params
    shift = new_centre - centre(value)
    for name in ("low", "mode", "high"):
        if name in params:
            params[name] = params[name] + shift
    return _floor(params, floor)


def edited_value(
    value: Value, new_centre: float, spread: float = 1.0, floor: float | None = None
) -> Value | dict[str, Any]:
    """Override data for a value edited as (best guess, uncertainty).

    Args:
        value: the value in the preset.
        new_centre: the best guess chosen.
        spread: uncertainty relative to the preset (1 = unchanged, 0 = known exactly).
        floor: lowest value the field allows, if any.

    Returns:
        A float when the value is fixed (or the spread is 0), otherwise distribution data.
    """
    if not is_uncertain(value) or spread <= 0:
        return float(new_centre)
    assert not isinstance(value, float)
    scaled = value if spread == 1 else parse_value(rescale(value, spread, floor))
    assert not isinstance(scaled, float)
    return recentre(scaled, new_centre, floor)


def likely_range(value: Value | dict[str, Any], coverage: float = 0.9) -> tuple[float, float]:
    """The central ``coverage`` range of a value (a fixed number is its own range)."""
    parsed = parse_value(value)
    tail = (1 - coverage) / 2
    return value_quantile(parsed, tail), value_quantile(parsed, 1 - tail)
