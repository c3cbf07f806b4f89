"""Uncertain values: the specs a scenario file writes and their inverse CDFs.

Stage: input description. A scenario value is either a plain number (fixed) or a
mapping with ``dist:`` naming one of the distributions below. Sampling never happens
here: :mod:`pfs.sampling` draws uniforms, and :func:`value_ppf` turns them into
values, so every kernel stays deterministic and testable without seeds.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    model_validator,
)
from scipy import special, stats

FloatArray = NDArray[np.float64]


class _Dist(BaseModel):
    """Common behaviour of every distribution spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def scipy(self) -> Any:
        """Return the equivalent frozen ``scipy.stats`` distribution."""
        raise NotImplementedError

    def ppf(self, u: FloatArray) -> FloatArray:
        """Inverse CDF at uniforms ``u`` (any shape)."""
        return np.asarray(self.scipy().ppf(u), dtype=np.float64)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile as a float."""
        return float(self.ppf(np.array([q]))[0])

    def expected(self) -> float:
        """The distribution's mean."""
        return float(self.scipy().mean())

    def support(self) -> tuple[float, float]:
        """Lowest and highest possible values."""
        lo, hi = self.scipy().support()
        return float(lo), float(hi)


class Normal(_Dist):
    """Normal distribution with ``mean`` and standard deviation ``sd``."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)

    def scipy(self) -> Any:  # noqa: D102
        return stats.norm(self.mean, self.sd)

    def ppf(self, u: FloatArray) -> FloatArray:  # noqa: D102
        return self.mean + self.sd * special.ndtri(u)


class TruncNormal(_Dist):
    """Normal with ``mean`` and ``sd`` truncated to ``[low, high]`` (a bound left out is open).

    Open bounds are ``None`` rather than infinity so the spec round-trips through JSON
    and YAML (JSON has no infinity).
    """

    dist: Literal["truncnormal"]
    mean: float
    sd: float = Field(gt=0)
    low: float | None = None
    high: float | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` with open bounds as infinities."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low, high

    @model_validator(mode="after")
    def _bounds(self) -> TruncNormal:
        low, high = self.bounds
        if not low < high:
            raise ValueError(f"low ({low}) must be below high ({high})")
        return self

    def scipy(self) -> Any:  # noqa: D102
        low, high = self.bounds
        a = (low - self.mean) / self.sd
        b = (high - self.mean) / self.sd
        return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)


class LogNormal(_Dist):
    """Lognormal given by the ``mean`` and ``sd`` of the value itself (not its log)."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def scipy(self) -> Any:  # noqa: D102
        mu, sigma = self._log_params()
        return stats.lognorm(s=sigma, scale=math.exp(mu))

    def ppf(self, u: FloatArray) -> FloatArray:  # noqa: D102
        mu, sigma = self._log_params()
        return np.exp(mu + sigma * special.ndtri(u))


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _bounds(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def scipy(self) -> Any:  # noqa: D102
        return stats.uniform(self.low, self.high - self.low)

    def ppf(self, u: FloatArray) -> FloatArray:  # noqa: D102
        return self.low + (self.high - self.low) * np.asarray(u, dtype=np.float64)


class Triangular(_Dist):
    """Triangular with ``low`` <= ``mode`` <= ``high``."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"need low <= mode <= high with low < high (got {self.low}, {self.mode}, "
                f"{self.high})"
            )
        return self

    def scipy(self) -> Any:  # noqa: D102
        width = self.high - self.low
        return stats.triang((self.mode - self.low) / width, loc=self.low, scale=width)

    def ppf(self, u: FloatArray) -> FloatArray:  # noqa: D102
        u = np.asarray(u, dtype=np.float64)
        width = self.high - self.low
        c = (self.mode - self.low) / width
        left = self.low + np.sqrt(u * width * (self.mode - self.low))
        right = self.high - np.sqrt((1.0 - u) * width * (self.high - self.mode))
        return np.where(u < c, left, right)


class Pert(_Dist):
    """PERT (scaled beta) with ``low`` <= ``mode`` <= ``high`` and shape ``lamb`` (4)."""

    dist: Literal["pert"]
    low: float
    mode: float
    high: float
    lamb: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> Pert:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"need low <= mode <= high with low < high (got {self.low}, {self.mode}, "
                f"{self.high})"
            )
        return self

    def scipy(self) -> Any:  # noqa: D102
        width = self.high - self.low
        a = 1 + self.lamb * (self.mode - self.low) / width
        b = 1 + self.lamb * (self.high - self.mode) / width
        return stats.beta(a, b, loc=self.low, scale=width)


class Beta(_Dist):
    """Beta with shapes ``a``, ``b`` scaled to ``[low, high]`` (default ``[0, 1]``)."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _bounds(self) -> Beta:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def scipy(self) -> Any:  # noqa: D102
        return stats.beta(self.a, self.b, loc=self.low, scale=self.high - self.low)


Dist = Normal | TruncNormal | LogNormal | Uniform | Triangular | Pert | Beta
DIST_TYPES: dict[str, type[_Dist]] = {
    "normal": Normal,
    "truncnormal": TruncNormal,
    "lognormal": LogNormal,
    "uniform": Uniform,
    "triangular": Triangular,
    "pert": Pert,
    "beta": Beta,
}


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_value(raw: Any) -> float | Dist:
    """Validate a scenario value: a number, or a mapping with ``dist:``.

    Raises:
        ValueError: with a plain-language reason, for anything else.
    """
    if isinstance(raw, _Dist):
        return raw  # type: ignore[return-value]
    if isinstance(raw, bool):
        raise ValueError("expected a number or a distribution, got true/false")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise ValueError(f"expected a finite number, got {raw}")
        return float(raw)
    if isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"expected a number or a distribution, got {raw!r}") from None
        return parse_value(number)
    if isinstance(raw, dict):
        name = raw.get("dist")
        if name not in DIST_TYPES:
            known = ", ".join(DIST_TYPES)
            raise ValueError(f"unknown distribution {name!r} (known: {known})")
        try:
            return DIST_TYPES[name].model_validate(raw)  # type: ignore[return-value]
        except ValidationError as err:
            raise ValueError(f"{name} distribution: {_first_error(err)}") from None
    raise ValueError(f"expected a number or a distribution, got {type(raw).__name__}")


def _serialise(value: float | Dist) -> Any:
    return value if isinstance(value, float) else value.model_dump(mode="json")


Value = Annotated[
    float | Dist,
    PlainValidator(parse_value, json_schema_input_type=float | dict[str, Any]),
    PlainSerializer(_serialise),
]


def _check_non_negative(value: float | Dist) -> float | Dist:
    if isinstance(value, float):
        if value < 0:
            raise ValueError(f"must not be negative, got {value}")
    elif isinstance(value, Normal | TruncNormal):
        if value.mean < 0:
            raise ValueError("distribution of a non-negative quantity has a negative mean")
    elif value.support()[0] < 0:
        raise ValueError("distribution of a non-negative quantity reaches below zero")
    return value


def _parse_non_negative(raw: Any) -> float | Dist:
    return _check_non_negative(parse_value(raw))


NonNegValue = Annotated[
    float | Dist,
    PlainValidator(_parse_non_negative, json_schema_input_type=float | dict[str, Any]),
    PlainSerializer(_serialise),
]


def is_uncertain(value: float | Dist) -> bool:
    """True when ``value`` is a distribution rather than a fixed number."""
    return not isinstance(value, float | int)


def value_ppf(value: float | Dist, u: FloatArray) -> FloatArray:
    """Values at uniforms ``u``; a fixed number is broadcast to ``u``'s shape."""
    if isinstance(value, float | int):
        return np.full(np.shape(u), float(value))
    return value.ppf(u)


def value_quantile(value: float | Dist, q: float) -> float:
    """The ``q`` quantile of a value (a fixed number is its own quantile)."""
    return float(value) if isinstance(value, float | int) else value.quantile(q)


def value_mean(value: float | Dist) -> float:
    """The expected value of a value."""
    return float(value) if isinstance(value, float | int) else value.expected()


def describe(value: float | Dist) -> str:
    """A short human description, e.g. ``normal(mean=0.15, sd=0.08)``."""
    if isinstance(value, float | int):
        return f"{value:g}"
    params = value.model_dump(exclude={"dist"})
    inner = ", ".join(f"{k}={v:g}" for k, v in params.items() if isinstance(v, int | float))
    return f"{value.dist}({inner})"
