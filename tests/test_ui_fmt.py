"""Numbers for humans in the app."""

from __future__ import annotations

import math

import pytest

from pfs.ui import fmt


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (4_512_000, "USD", "$4.5M"),
        (-338_000, "USD", "-$338K"),
        (181.4, "USD", "$181"),
        (999_800, "USD", "$1.0M"),
        (2.5e9, "USD", "$2.5B"),
        (150_000, "GBP", "£150K"),
        (1_200, "CHF", "CHF 1.2K"),
        (math.nan, "USD", "n/a"),
    ],
)
def test_money(amount: float, currency: str, text: str) -> None:
    assert fmt.money(amount, currency) == text


def test_signed_money_for_differences() -> None:
    assert fmt.money(300_000, signed=True) == "+$300K"
    assert fmt.money(-300_000, signed=True) == "-$300K"


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.62, "62%"), (0.0, "0%"), (1.0, "100%"), (0.001, "<1%"), (0.999, ">99%")],
)
def test_pct_never_rounds_a_rare_event_to_zero(share: float, text: str) -> None:
    assert fmt.pct(share) == text


def test_rates_points_and_multiples() -> None:
    assert fmt.pct(0.0337, 1) == "3.4%"
    assert fmt.pct(-0.124, 1) == "-12.4%"
    assert fmt.points(0.27) == "+27 pts"
    assert fmt.multiple(1.084) == "1.08×"
    assert fmt.number(2700) == "2,700"
