"""Numbers for humans: money like ``$4.5M``, shares like ``62%``.

Pure string formatting used by every view; no streamlit import, so it is easy to test.
The app writes compact figures for cards and charts (``$4.5M``); the CLI and reports
use :mod:`pfs.formatting` (``$4.06M``), with the same currency symbols.
"""

from __future__ import annotations

import math

from pfs.formatting import currency_symbol as symbol  # one currency table for every view

MISSING = "n/a"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def money(x: float | None, currency: str = "USD", *, signed: bool = False) -> str:
    """Format an amount compactly: ``$4.5M``, ``$950K``, ``$181``, ``-$1.2M``.

    Args:
        x: the amount.
        currency: ISO code of the scenario's currency.
        signed: write ``+`` before positive amounts (for differences).

    Returns:
        The formatted amount, or ``n/a`` when missing.
    """
    if not _finite(x):
        return MISSING
    assert x is not None
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    size = abs(x)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= limit * 0.9995:
            scaled = size / limit
            digits = 1 if scaled < 100 else 0
            return f"{sign}{symbol(currency)}{scaled:.{digits}f}{suffix}"
    return f"{sign}{symbol(currency)}{size:,.0f}"


def pct(x: float | None, digits: int = 0, *, signed: bool = False) -> str:
    """Format a fraction as a percentage: ``0.62`` -> ``62%``.

    Shares that are not exactly 0 or 1 never round to ``0%`` or ``100%`` (they show
    ``<1%`` / ``>99%``), so a rare event is never written as impossible.
    """
    if not _finite(x):
        return MISSING
    assert x is not None
    value = 100 * x
    if not signed and digits == 0 and 0 < x < 1:
        if value < 0.5:
            return "<1%"
        if value >= 99.5:
            return ">99%"
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:.{digits}f}%"


def points(x: float | None, digits: int = 0) -> str:
    """Format a difference of two shares in percentage points: ``+12 pts``."""
    if not _finite(x):
        return MISSING
    assert x is not None
    return f"{100 * x:+.{digits}f} pts"


def number(x: float | None, digits: int = 0) -> str:
    """Format a plain number with thousands separators: ``2,700``."""
    if not _finite(x):
        return MISSING
    assert x is not None
    return f"{x:,.{digits}f}"


def multiple(x: float | None, *, signed: bool = False) -> str:
    """Format a money multiple: ``1.08×`` (``+0.05×`` for a difference)."""
    if not _finite(x):
        return MISSING
    assert x is not None
    return f"{x:+.2f}×" if signed else f"{x:.2f}×"
