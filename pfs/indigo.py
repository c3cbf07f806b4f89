"""Import a real deal from the INDIGO impact bond data set as a scenario skeleton.

Stage: input. Reads the project export of the Government Outcomes Lab's INDIGO data
(``original_projects.csv``: one row per project, columns such as
``Overall project finance - Maximum potential outcome payment - Amount - (Value)``)
and, when they sit beside it, the related tables of the "all data by type" export
(investments, outcome payment commitments, outcome metrics, pricings, sources,
organisations). Returns a *valid* :class:`~pfs.scenario.Scenario` that reproduces
the project's capital and maximum outcome payment, with a ``notes:`` entry for
every value INDIGO does not give ("assumed: ...") or gives only roughly
("approximate: ..."), and ``sources:`` naming the INDIGO project and its source URLs.

The data set itself is not part of pfs: point the importer at a copy of it.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pfs.scenario import PfsError, Scenario, scenario_from_dict

INDIGO_HOME = "https://golab.bsg.ox.ac.uk/knowledge-bank/indigo/impact-bond-dataset-v2/"
INDIGO_CITATION = "Government Outcomes Lab, INDIGO impact bond data set"

# --------------------------------------------------------------- column names
ID = "ID"
NAME = "Impact Bond Name - (Value)"
STAGE = "Stage of Development - (Value)"
START = "Dates - Start date of service provision - (Value)"
END_PLANNED = "Dates - Anticipated end date of service provision - (Value)"
END_ACTUAL = "Dates - Actual end date of service provision - (Value)"
DURATION_PLANNED = "Dates - Anticipated duration of service provision - (Value)"
DURATION_ACTUAL = "Dates - Actual duration of service provision - (Value)"
_FIN = "Overall project finance - "
CAPITAL_CURRENCY = _FIN + "Total investment commitment - Currency - (Value)"
CAPITAL = _FIN + "Total investment commitment - Amount - Exact - (Value)"
CAPITAL_MIN = _FIN + "Total investment commitment - Amount - Min - (Value)"
CAPITAL_MAX = _FIN + "Total investment commitment - Amount - Max - (Value)"
CAPITAL_USD = _FIN + "Total investment commitment - Amount USD - Exact - (Value)"
MAX_PAYMENT_CURRENCY = _FIN + "Maximum potential outcome payment - Currency - (Value)"
MAX_PAYMENT = _FIN + "Maximum potential outcome payment - Amount - (Value)"
MAX_PAYMENT_USD = _FIN + "Maximum potential outcome payment - Amount USD - (Value)"
MAX_RETURN_TYPE = _FIN + "Maximum potential return type - (Value)"
MAX_RETURN = _FIN + "Maximum potential return - (Value)"
_SB = "Service and beneficiaries - "
TARGET_POPULATION = _SB + "Target population - (Value)"
USERS_TARGET = _SB + "Targeted number of unique service users or beneficiaries (total) - (Value)"
USERS_TARGET_UNIT = _SB + "Unit type of targeted service users or beneficiaries - (Value)"
USERS_ACTUAL = (
    _SB + "Actual number of unique service users or beneficiaries engaged (total) - (Value)"
)
INTERVENTION = "Purpose and classifications - Intervention - (Value)"
POLICY_SECTOR = "Purpose and classifications - Policy sector - (Value)"
COUNTRIES = "Countries"

PROJECTS_FILE = "original_projects.csv"
RELATED_FILES = {
    "investments": "original_projects_investments.csv",
    "commitments": "original_projects_outcome_payment_commitments.csv",
    "metrics": "original_projects_outcome_metrics.csv",
    "pricings": "original_projects_outcome_pricings.csv",
    "sources": "original_projects_sources.csv",
    "documents": "original_projects_documents.csv",
}
ORGANISATION_FILES = ("original_organisations.csv", "original_orgs.csv")

# ------------------------------------------------------------- assumptions
#: Values INDIGO does not record; each one used is listed in the scenario's notes.
ASSUMED = {
    "coupon": 0.05,
    "discount_rate": 0.03,
    "baseline": 0.30,
    "effect_mean": 0.10,
    "effect_sd": 0.08,
    "target_effect": 0.15,
    "standard_error": 0.04,
    "years": 4,
    "cost_per_participant": 5000.0,
    "capital_share_of_max_payment": 0.75,
    "participants": 500,
}
MAX_SOURCES = 12


# ------------------------------------------------------------------ parsing
_CURRENCY_NAMES = {
    "JAPANESE YEN": "JPY",
    "ISRAELI NEW SHEKELS": "ILS",
    "NZ DOLLAR": "NZD",
    "RUSSIAN RUBLE": "RUB",
    "RUSSIAN RUBLES": "RUB",
    "SOUTH AFRICAN RAND": "ZAR",
    "SOUTH KOREAN WON": "KRW",
    "SWEDISH": "SEK",
    "SWISS FRANCS": "CHF",
}


def normalise_currency(text: str | None) -> str:
    """An ISO 4217 code from INDIGO's currency cells (a few are written out in words)."""
    code = (text or "").strip().upper()
    return _CURRENCY_NAMES.get(code, code)


_NUMBER = re.compile(
    r"(?<![\w.])(\d[\d,.]*)\s*(billion|bn|million|mn|m|thousand|k)?(?![a-z])", re.IGNORECASE
)
_MULTIPLIERS = {
    "billion": 1e9,
    "bn": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "thousand": 1e3,
    "k": 1e3,
}


def _plain_number(digits: str, scaled: bool = False) -> float | None:
    digits = digits.rstrip(".,")
    if "," in digits and "." in digits:
        digits = digits.replace(",", "")
    elif "," in digits:
        if re.fullmatch(r"\d{1,3}(,\d{3})+", digits):
            digits = digits.replace(",", "")
        else:
            digits = digits.replace(",", ".")
    elif digits.count(".") > 1 or (not scaled and re.fullmatch(r"\d{1,3}\.\d{3}", digits)):
        digits = digits.replace(".", "")  # European thousands separators: 290.000
    try:
        return float(digits)
    except ValueError:
        return None


def parse_amount(text: str | None) -> tuple[float | None, str]:
    """An amount of money from an INDIGO cell, and a note when it was not a plain number.

    Handles plain numbers (``7200000``), currency signs and separators (``$1,350,000``),
    scale words (``$11.712M``, ``¥9.76 million``) and several amounts in one cell
    (``$5,290,000 (housing); $6,130,000 (jail)``, summed). A formula, a lone currency
    sign or a blank gives ``None``.

    Returns:
        ``(amount or None, note)``; the note is empty for a plain number.
    """
    raw = (text or "").strip()
    if not raw:
        return None, ""
    try:
        return float(raw), ""
    except ValueError:
        pass
    if raw.startswith("="):
        return None, f"INDIGO cell {raw!r} is a spreadsheet formula, not an amount"
    amounts = []
    for digits, scale in _NUMBER.findall(raw):
        value = _plain_number(digits, scaled=bool(scale))
        if value is not None:
            amounts.append(value * _MULTIPLIERS.get(scale.lower(), 1.0))
    if not amounts:
        return None, f"INDIGO cell {raw!r} holds no amount"
    if len(amounts) > 1:
        return sum(amounts), f"sum of the {len(amounts)} amounts in INDIGO's cell {raw!r}"
    return amounts[0], f"read from INDIGO's text {raw!r}"


def _number(text: str | None) -> float | None:
    value, _ = parse_amount(text)
    return value


def month_index(text: str | None) -> tuple[int | None, bool]:
    """``2017-06`` -> months since year 0; a bare year counts as January (rough).

    Returns:
        ``(index or None, rough)``; ``rough`` is true when only a year was given.
    """
    raw = (text or "").strip()
    match = re.match(r"^(\d{4})(?:-(\d{1,2}))?", raw)
    if not match:
        return None, False
    year, month = int(match.group(1)), match.group(2)
    return year * 12 + (int(month) - 1 if month else 0), month is None


def _source_urls(text: str) -> list[str]:
    return [u.rstrip(".,;)") for u in re.findall(r"https?://[^\s,;]+", text)]


# ------------------------------------------------------------------ project
@dataclass(frozen=True)
class IndigoProject:
    """The fields of one INDIGO project row that a scenario can use.

    Amounts are in the project's own currencies; ``None`` means blank in INDIGO.
    """

    id: str
    name: str
    stage: str = ""
    country: str = ""
    policy_sector: str = ""
    intervention: str = ""
    target_population: str = ""
    capital_currency: str = ""
    capital: float | None = None
    capital_min: float | None = None
    capital_max: float | None = None
    capital_usd: float | None = None
    max_payment_currency: str = ""
    max_payment: float | None = None
    max_payment_usd: float | None = None
    max_return: float | None = None
    max_return_type: str = ""
    users_target: float | None = None
    users_target_unit: str = ""
    users_actual: float | None = None
    start: str = ""
    end_planned: str = ""
    end_actual: str = ""
    duration_planned: float | None = None
    duration_actual: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, str]) -> IndigoProject:
        """Build from one CSV row (missing columns count as blank)."""

        def text(column: str) -> str:
            return (row.get(column) or "").strip()

        return cls(
            id=text(ID),
            name=text(NAME) or text(ID),
            stage=text(STAGE),
            country=text(COUNTRIES),
            policy_sector=text(POLICY_SECTOR),
            intervention=text(INTERVENTION),
            target_population=text(TARGET_POPULATION),
            capital_currency=normalise_currency(text(CAPITAL_CURRENCY)),
            capital=_number(text(CAPITAL)),
            capital_min=_number(text(CAPITAL_MIN)),
            capital_max=_number(text(CAPITAL_MAX)),
            capital_usd=_number(text(CAPITAL_USD)),
            max_payment_currency=normalise_currency(text(MAX_PAYMENT_CURRENCY)),
            max_payment=_number(text(MAX_PAYMENT)),
            max_payment_usd=_number(text(MAX_PAYMENT_USD)),
            max_return=_fraction(text(MAX_RETURN)),
            max_return_type=text(MAX_RETURN_TYPE),
            users_target=_number(text(USERS_TARGET)),
            users_target_unit=text(USERS_TARGET_UNIT),
            users_actual=_number(text(USERS_ACTUAL)),
            start=text(START),
            end_planned=text(END_PLANNED),
            end_actual=text(END_ACTUAL),
            duration_planned=_number(text(DURATION_PLANNED)),
            duration_actual=_number(text(DURATION_ACTUAL)),
        )

    def service_months(self) -> tuple[float | None, str]:
        """Length of service provision in months, and where the figure comes from.

        Planned figures first (anticipated duration, then start to anticipated end),
        then actual ones.
        """
        start, rough_start = month_index(self.start)
        for months, what in ((self.duration_planned, "anticipated duration"),):
            if months and months > 0:
                return months, what
        for end_text, what in ((self.end_planned, "anticipated"), (self.end_actual, "actual")):
            end, rough_end = month_index(end_text)
            if start is not None and end is not None and end > start:
                rough = " (years only: rough)" if rough_start or rough_end else ""
                return float(end - start), f"start to {what} end of service{rough}"
        if self.duration_actual and self.duration_actual > 0:
            return self.duration_actual, "actual duration"
        return None, ""

    def capital_in(self, currency: str) -> float | None:
        """Total investment commitment in ``currency`` (via INDIGO's USD amounts if needed)."""
        if self.capital is None:
            return None
        if not self.capital_currency or self.capital_currency == currency:
            return self.capital
        if currency == "USD":
            return self.capital_usd
        return None

    def max_payment_in(self, currency: str) -> float | None:
        """Maximum outcome payment in ``currency`` (converted via INDIGO's USD figures)."""
        if self.max_payment is None:
            return None
        if not self.max_payment_currency or self.max_payment_currency == currency:
            return self.max_payment
        if currency == "USD":
            return self.max_payment_usd
        if self.max_payment_usd and self.capital and self.capital_usd:
            return self.max_payment_usd * self.capital / self.capital_usd
        return None


def _fraction(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 1 else None


def _read_csv(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts; one-line :class:`PfsError` on any problem."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise PfsError(f"{path}: not an INDIGO export (no {missing[0]!r} column)")
            return [dict(row) for row in reader]
    except FileNotFoundError:
        raise PfsError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise PfsError(f"{path}: is a folder, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PfsError(f"{path}: cannot read file ({err})") from None
    except csv.Error as err:
        raise PfsError(f"{path}: malformed CSV ({err})") from None


def read_projects(path: str | Path) -> list[IndigoProject]:
    """All projects of an INDIGO project export.

    Raises:
        PfsError: when the file is missing, unreadable or not an INDIGO project export.
    """
    path = Path(path)
    rows = _read_csv(path, (ID, NAME))
    projects = [IndigoProject.from_row(r) for r in rows if (r.get(ID) or "").strip()]
    if not projects:
        raise PfsError(f"{path}: holds no projects")
    return projects


def find_project(
    projects: list[IndigoProject], project_id: str | None, source: str = "<projects>"
) -> IndigoProject:
    """The project with ``project_id`` (or the only one, when ``project_id`` is None).

    Raises:
        PfsError: unknown id, or several projects and no id.
    """
    if project_id is None:
        if len(projects) == 1:
            return projects[0]
        raise PfsError(
            f"{source}: holds {len(projects)} projects; choose one with --id "
            f"(e.g. {projects[0].id})"
        )
    wanted = project_id.strip().upper()
    for project in projects:
        if project.id.upper() == wanted:
            return project
    raise PfsError(f"{source}: no project with id {project_id!r} (ids look like {projects[0].id})")


# -------------------------------------------------------------- related data
@dataclass
class Related:
    """Rows of the related INDIGO tables for one project (empty when absent).

    Attributes:
        investments: rows of ``original_projects_investments.csv``.
        commitments: rows of ``original_projects_outcome_payment_commitments.csv``.
        metrics: rows of ``original_projects_outcome_metrics.csv``.
        pricings: rows of ``original_projects_outcome_pricings.csv``.
        sources: rows of ``original_projects_sources.csv``.
        documents: rows of ``original_projects_documents.csv``.
        organisations: organisation id -> name.
        folder: where the tables were found (None: not found).
    """

    investments: list[dict[str, str]] = field(default_factory=list)
    commitments: list[dict[str, str]] = field(default_factory=list)
    metrics: list[dict[str, str]] = field(default_factory=list)
    pricings: list[dict[str, str]] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    documents: list[dict[str, str]] = field(default_factory=list)
    organisations: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None

    def organisation(self, org_id: str) -> str:
        """Name of an organisation id (the id itself when unknown)."""
        return self.organisations.get(org_id.strip(), org_id.strip())


def related_folders(projects_csv: Path) -> list[Path]:
    """Where related tables are looked for: beside the export, then ``all-data-by-type``."""
    here = projects_csv.resolve().parent
    return [here, here.parent / "all-data-by-type"]


def read_related(project_id: str, folders: Iterable[Path]) -> Related:
    """The related tables' rows for ``project_id`` from the first folder holding them."""
    related = Related()
    for folder in folders:
        if not (folder / RELATED_FILES["investments"]).is_file():
            continue
        related.folder = folder
        for key, name in RELATED_FILES.items():
            path = folder / name
            if path.is_file():
                rows = _read_csv(path, ("Project ID",))
                setattr(
                    related,
                    key,
                    [r for r in rows if (r.get("Project ID") or "").strip() == project_id],
                )
        break
    for folder in folders:
        for name in ORGANISATION_FILES:
            path = folder / name
            if path.is_file() and not related.organisations:
                rows = _read_csv(path, ("ID", "Name"))
                related.organisations = {
                    r["ID"].strip(): (r.get("Name") or "").strip() for r in rows if r.get("ID")
                }
    return related


def read_commitment_totals(path: str | Path) -> dict[str, dict[str, float]]:
    """Sum of the outcome payers' maximum commitments per project and currency.

    Reads ``original_projects_outcome_payment_commitments.csv``; amounts written as
    text are parsed with :func:`parse_amount`, cells without an amount are skipped,
    and a blank currency is kept as ``""`` (the project's own currency, usually).

    Raises:
        PfsError: when the file is missing or not in INDIGO's format.
    """
    totals: dict[str, dict[str, float]] = {}
    for row in _read_csv(
        Path(path), ("Project ID", "Maximum potential Outcome payment - Amount - (Value)")
    ):
        amount, _ = parse_amount(row.get("Maximum potential Outcome payment - Amount - (Value)"))
        if amount is None or amount <= 0:
            continue
        currency = normalise_currency(
            row.get("Maximum potential Outcome payment - Currency - (Value)")
        )
        by_currency = totals.setdefault((row.get("Project ID") or "").strip(), {})
        by_currency[currency] = by_currency.get(currency, 0.0) + amount
    return totals


# -------------------------------------------------------------- the import
@dataclass
class IndigoImport:
    """The result of importing one INDIGO project.

    Attributes:
        project: the INDIGO fields read.
        scenario: the validated scenario skeleton.
        capital: total capital modelled (the sum of the tranches).
        max_payment: maximum outcome payment modelled (the payer's total cap).
        assumed: notes of values INDIGO does not give.
        related_folder: where related tables came from (None: project export only).
    """

    project: IndigoProject
    scenario: Scenario
    capital: float
    max_payment: float
    assumed: list[str]
    related_folder: Path | None

    def to_yaml(self) -> str:
        """The scenario as YAML, with a comment header saying it is a skeleton."""
        header = (
            f"# Scenario skeleton imported from INDIGO project {self.project.id} by "
            "`pfs import-indigo`.\n"
            "# Every value INDIGO does not give is marked 'assumed:' in notes; "
            "review them before use.\n"
        )
        return header + self.scenario.to_yaml()


_TRANCHE_TYPES: tuple[tuple[tuple[str, ...], str, str, int, str], ...] = (
    # keywords, tranche id, kind, seniority, label
    (("deferred",), "deferred_fee", "deferred_fee", 3, "Deferred fees"),
    (
        ("recyclable grant", "recoverable grant", "philanthropic"),
        "recoverable_grant",
        "recoverable_grant",
        3,
        "Recoverable grants",
    ),
    (("grant",), "grant", "grant", 3, "Grants"),
    (("first loss",), "first_loss", "loan", 3, "First-loss capital"),
    (("subordinate", "junior", "mezzanine"), "subordinate", "loan", 2, "Subordinate loans"),
    (("equity",), "equity", "loan", 2, "Equity-like investment"),
    (("senior", "loan", "debt", "capital preservation"), "senior", "loan", 1, "Senior loans"),
)


def _tranche_type(text: str) -> tuple[str, str, int, str, bool]:
    """``(id, kind, seniority, label, recognised)`` of an INDIGO investment type."""
    lowered = text.strip().lower()
    for keywords, tid, kind, seniority, label in _TRANCHE_TYPES:
        if any(k in lowered for k in keywords):
            return tid, kind, seniority, label, True
    return "investors", "loan", 1, "Investors", False


class _Notes:
    """Collects taken, approximate and assumed values for the scenario's notes."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.approximate: list[str] = []
        self.assumed: list[str] = []

    def take(self, text: str) -> None:
        self.taken.append(f"from INDIGO: {text}")

    def approx(self, text: str) -> None:
        self.approximate.append(f"approximate: {text}")

    def assume(self, text: str) -> None:
        self.assumed.append(f"assumed: {text} — not in INDIGO")

    def all(self) -> list[str]:
        return [*self.taken, *self.approximate, *self.assumed]


def _money(value: float, currency: str) -> str:
    return f"{currency} {value:,.0f}".strip()


def _choose_currency(p: IndigoProject, notes: _Notes) -> str:
    currency = p.capital_currency or p.max_payment_currency
    if not currency:
        notes.assume("currency USD (INDIGO gives none)")
        return "USD"
    if (
        p.capital_currency
        and p.max_payment_currency
        and (p.capital_currency != p.max_payment_currency)
    ):
        notes.approx(
            f"capital is in {p.capital_currency} and the maximum outcome payment in "
            f"{p.max_payment_currency}; converted with INDIGO's own USD figures"
        )
    return currency


def _commitment_total(
    related: Related, currency: str, notes: _Notes
) -> tuple[float | None, list[str]]:
    """Sum of the outcome payers' maximum commitments (related table), and payer names."""
    total, parts, names, rough = 0.0, [], [], []
    for row in related.commitments:
        amount, note = parse_amount(row.get("Maximum potential Outcome payment - Amount - (Value)"))
        org = related.organisation(row.get("Organisation ID - (Value)") or "")
        if org:
            names.append(org)
        row_currency = normalise_currency(
            row.get("Maximum potential Outcome payment - Currency - (Value)")
        )
        if amount is None:
            continue
        if row_currency and row_currency != currency:
            continue
        total += amount
        parts.append(f"{org or 'payer'}: {_money(amount, currency)}")
        if note:
            rough.append(note)
    if not parts:
        return None, names
    missing = len(related.commitments) - len(parts)
    gaps = (
        f"; {missing} of {len(related.commitments)} payer rows give no amount in "
        f"{currency} and are left out"
        if missing
        else ""
    )
    notes.approx(
        "maximum outcome payment is the sum of the outcome payers' commitments in "
        f"INDIGO's payment-commitments table ({'; '.join(parts)})"
        + (f"; {'; '.join(rough)}" if rough else "")
        + gaps
    )
    return total, names


def _capital(
    p: IndigoProject, currency: str, related: Related, notes: _Notes, max_payment: float | None
) -> float:
    value = p.capital_in(currency)
    if value is not None and value > 0:
        notes.take(f"total investment commitment {_money(value, currency)}")
        return value
    if p.capital_min and p.capital_max:
        mid = (p.capital_min + p.capital_max) / 2
        notes.approx(
            f"capital is the midpoint of INDIGO's range {_money(p.capital_min, currency)}"
            f" to {_money(p.capital_max, currency)}"
        )
        return mid
    amounts = [
        parse_amount(r.get("Investment Commitment - Amount - Exact - (Value)"))[0]
        for r in related.investments
    ]
    if amounts and all(a is not None and a > 0 for a in amounts):
        total = float(sum(a for a in amounts if a is not None))
        notes.approx(
            f"capital is the sum of the {len(amounts)} investments in INDIGO's "
            f"investments table ({_money(total, currency)})"
        )
        return total
    if max_payment:
        share = ASSUMED["capital_share_of_max_payment"]
        notes.assume(f"capital {share:.0%} of the maximum outcome payment")
        return share * max_payment
    return -1.0  # resolved from participants once they are known


def _max_payment(
    p: IndigoProject, currency: str, related: Related, notes: _Notes
) -> tuple[float | None, list[str]]:
    value = p.max_payment_in(currency)
    _, names = _commitment_total(related, currency, _Notes())
    if value is not None and value > 0:
        notes.take(f"maximum potential outcome payment {_money(value, currency)}")
        return value, names
    return _commitment_total(related, currency, notes)


def _participants(p: IndigoProject, capital: float | None, notes: _Notes) -> float:
    if p.users_target and p.users_target > 0:
        unit = f" ({p.users_target_unit})" if p.users_target_unit else ""
        notes.take(f"{p.users_target:,.0f} targeted service users{unit}")
        if p.users_target_unit.lower() == "other":
            notes.approx("INDIGO counts these service users in a unit other than individuals")
        return p.users_target
    if p.users_actual and p.users_actual > 0:
        notes.approx(
            f"participants are INDIGO's actual number engaged ({p.users_actual:,.0f}); "
            "no target is recorded"
        )
        return p.users_actual
    if capital and capital > 0:
        cost = ASSUMED["cost_per_participant"]
        count = max(1.0, round(capital / cost))
        notes.assume(f"{count:,.0f} participants (capital at {cost:,.0f} per participant)")
        return count
    count = float(ASSUMED["participants"])
    notes.assume(f"{count:,.0f} participants")
    return count


def _years(p: IndigoProject, notes: _Notes) -> int:
    months, basis = p.service_months()
    if months:
        years = max(1, math.ceil(months / 12 - 1e-9))
        notes.take(
            f"service provision {months:g} months ({basis}), modelled as {years} "
            f"year{'s' if years > 1 else ''}"
        )
        return years
    years = int(ASSUMED["years"])
    notes.assume(f"{years} years of service provision (INDIGO gives no duration or end date)")
    return years


def _cohorts(participants: float, years: int) -> list[dict[str, Any]]:
    whole = participants == round(participants) and participants >= years
    if whole:
        base, extra = divmod(int(participants), years)
        sizes = [float(base + (1 if i < extra else 0)) for i in range(years)]
    else:
        sizes = [participants / years] * years
    return [{"period": i, "size": size} for i, size in enumerate(sizes)]


def _tranches(
    p: IndigoProject, capital: float, currency: str, related: Related, notes: _Notes
) -> list[dict[str, Any]]:
    coupon = ASSUMED["coupon"]
    if p.max_return is not None and p.max_return_type.strip().upper() in ("IRR", "ARR", "ROI"):
        coupon = p.max_return
        notes.approx(
            f"loan coupons are INDIGO's maximum potential return ({coupon:.1%} "
            f"{p.max_return_type.strip()}); a cap on return, used here as the coupon"
        )
    else:
        notes.assume(f"loan coupon {coupon:.0%} a year")
    rows = related.investments
    if not rows:
        notes.assume(
            "one senior loan holds all the capital (INDIGO's project export gives only the total)"
        )
        return [
            {
                "id": "investors",
                "label": "Investors",
                "kind": "loan",
                "amount": capital,
                "rate": coupon,
                "seniority": 1,
            }
        ]
    amounts = []
    for row in rows:
        amount = parse_amount(row.get("Investment Commitment - Amount - Exact - (Value)"))[0]
        row_currency = normalise_currency(row.get("Investment Commitment - Currency - (Value)"))
        amounts.append(
            amount if amount and (not row_currency or row_currency == currency) else None
        )
    known = sum(a for a in amounts if a is not None)
    unknown = sum(1 for a in amounts if a is None)
    if unknown == 0:
        scale = capital / known if known > 0 else 1.0
        shares = [a * scale for a in amounts if a is not None]
        if abs(scale - 1) > 0.005:
            notes.approx(
                f"investments in INDIGO's investments table add up to "
                f"{_money(known, currency)}; scaled to the total capital"
            )
    elif known < capital:
        each = (capital - known) / unknown
        shares = [a if a is not None else each for a in amounts]
        notes.assume(
            f"{unknown} of {len(rows)} investments have no amount in INDIGO; the rest "
            f"of the capital is split equally among them ({_money(each, currency)} each)"
        )
    else:
        shares = [capital / len(rows)] * len(rows)
        notes.assume(
            f"investment amounts are missing or inconsistent in INDIGO; the capital is "
            f"split equally among the {len(rows)} investments"
        )
    grouped: dict[str, dict[str, Any]] = {}
    unrecognised = []
    for row, amount in zip(rows, shares, strict=True):
        type_text = (row.get("Investment Type - (Value)") or "").strip()
        tid, kind, seniority, label, known_type = _tranche_type(type_text)
        if not known_type:
            unrecognised.append(type_text or "blank")
        investor = related.organisation(row.get("Organisation ID - (Value)") or "")
        entry = grouped.setdefault(
            tid,
            {
                "id": tid,
                "label": label,
                "kind": kind,
                "amount": 0.0,
                "rate": coupon if kind == "loan" else 0.0,
                "seniority": seniority,
                "_who": [],
            },
        )
        entry["amount"] += amount
        if investor:
            entry["_who"].append(investor)
    if unrecognised:
        notes.assume(
            f"investments of type {', '.join(sorted(set(unrecognised)))} are modelled "
            "as senior loans"
        )
    if any(t["id"] == "equity" for t in grouped.values()):
        notes.approx("equity and quasi-equity investments are modelled as subordinate loans")
    notes.take(
        f"{len(rows)} investments by type: "
        + "; ".join(f"{t['label']} ({len(t['_who'])})" for t in grouped.values())
    )
    tranches = sorted(grouped.values(), key=lambda t: t["seniority"])
    for t in tranches:
        who = sorted(set(t.pop("_who")))
        if who:
            t["label"] = f"{t['label']}: {', '.join(who)}"[:120]
    return tranches


def _design(related: Related, notes: _Notes) -> str:
    methods = [
        (r.get("Outcome validation Method - (Value)") or "").strip() for r in related.metrics
    ]
    method = next((m for m in methods if m), "")
    lowered = method.lower()
    rules = (
        ("random", "rct"),
        ("historical", "historical_comparison"),
        ("quasi", "quasi_experimental"),
        ("propensity", "quasi_experimental"),
        ("comparison", "quasi_experimental"),
        ("pre-post", "validated_administrative"),
        ("verification", "validated_administrative"),
        ("administrative", "validated_administrative"),
    )
    for key, design in rules:
        if key in lowered:
            notes.take(f"outcome validation method {method!r} (design {design})")
            return design
    notes.assume(
        "evaluation design validated_administrative (INDIGO records no validation method)"
        if not method
        else f"evaluation design validated_administrative (INDIGO: {method!r})"
    )
    return "validated_administrative"


def _outcome_label(related: Related) -> str:
    definitions = [(r.get("Outcome Definition - (Value)") or "").strip() for r in related.metrics]
    definitions = [d for d in definitions if d]
    if not definitions:
        return "Outcomes paid for (INDIGO records no metric)"
    first = re.split(r"(?<=[a-z])\.\s", definitions[0])[0].rstrip(".")
    label = first if len(first) <= 70 else first[:67].rstrip() + "..."
    return label if len(definitions) == 1 else f"{label} (and {len(definitions) - 1} more)"


def _metric_notes(related: Related, currency: str, notes: _Notes) -> None:
    definitions = [(r.get("Outcome Definition - (Value)") or "").strip() for r in related.metrics]
    definitions = [d for d in definitions if d]
    if definitions:
        listed = "; ".join(f"({i + 1}) {d[:140]}" for i, d in enumerate(definitions[:6]))
        more = f"; and {len(definitions) - 6} more" if len(definitions) > 6 else ""
        notes.take(f"{len(definitions)} outcome metric(s): {listed}{more}")
        if len(definitions) > 1:
            notes.approx("INDIGO's outcome metrics are modelled as one combined outcome")
    prices = []
    for row in related.pricings:
        amount, _ = parse_amount(row.get("Price Per Unit - Amount - (Value)"))
        if amount is not None:
            metric = (row.get("Outcome Metric Id - (Value)") or "").strip()
            row_currency = (row.get("Currency - (Value)") or currency).strip()
            prices.append(f"{metric}: {_money(amount, row_currency)}")
    if prices:
        more = f"; and {len(prices) - 8} more" if len(prices) > 8 else ""
        notes.take(
            f"prices per outcome: {'; '.join(prices[:8])}{more} (the model uses one "
            "combined price instead)"
        )


def _sources(p: IndigoProject, related: Related) -> list[str]:
    sources = [f"INDIGO project {p.id} ({INDIGO_CITATION}; data pulled 20 May 2025)", INDIGO_HOME]
    seen: set[str] = set()
    for row in [*related.documents, *related.sources]:
        text = " ".join(
            (row.get(c) or "") for c in ("URL - (Value)", "Name - (Value)", "Archive URL - (Value)")
        )
        for url in _source_urls(text):
            if url not in seen and len(seen) < MAX_SOURCES:
                seen.add(url)
                sources.append(url)
    return sources


def build_scenario(p: IndigoProject, related: Related | None = None) -> IndigoImport:
    """A scenario skeleton from an INDIGO project (and its related rows, if any).

    Raises:
        PfsError: if the skeleton does not validate (a bug or a very odd row).
    """
    related = related or Related()
    notes = _Notes()
    currency = _choose_currency(p, notes)
    max_payment, payer_names = _max_payment(p, currency, related, notes)
    capital = _capital(p, currency, related, notes, max_payment)
    participants = _participants(p, capital if capital > 0 else None, notes)
    if capital <= 0:
        cost = ASSUMED["cost_per_participant"]
        capital = participants * cost
        notes.assume(f"capital {_money(capital, currency)} ({cost:,.0f} per participant)")
    if max_payment is None or max_payment <= 0:
        max_payment = capital / ASSUMED["capital_share_of_max_payment"]
        notes.assume(
            f"maximum outcome payment {_money(max_payment, currency)} (capital ÷ "
            f"{ASSUMED['capital_share_of_max_payment']:.2f})"
        )
    years = _years(p, notes)
    cost_per_participant = capital / participants
    notes.assume(
        f"cost per participant {_money(cost_per_participant, currency)}: the capital "
        "pays for the service and nothing else"
    )
    notes.assume(f"participants enrol in {years} equal yearly cohort(s)")
    tranches = _tranches(p, capital, currency, related, notes)
    design = _design(related, notes)
    _metric_notes(related, currency, notes)
    target = ASSUMED["target_effect"]
    price = max_payment / (participants * target)
    notes.assume(
        f"one outcome: the share of participants achieving it rises by a true effect with prior "
        f"normal({ASSUMED['effect_mean']}, {ASSUMED['effect_sd']}) from a baseline of "
        f"{ASSUMED['baseline']:.0%}"
    )
    notes.assume(
        f"rate card of {_money(price, currency)} per additional success, so that the "
        f"maximum payment is reached at a {target:.0%} effect; capped there"
    )
    notes.assume(
        f"each success saves the payer what it pays ({_money(price, currency)}): value "
        "per unit equals the price"
    )
    notes.assume(
        f"evaluation standard error {ASSUMED['standard_error']}, no bias; each cohort "
        "is measured one year after enrolment and paid a year later"
    )
    notes.assume(f"payer discount rate {ASSUMED['discount_rate']:.0%}")
    if p.stage:
        notes.take(
            f"stage of development {p.stage!r}" + (f"; service start {p.start}" if p.start else "")
        )
    payer_label = ", ".join(dict.fromkeys(payer_names)) or "Outcome payer(s)"
    description = " ".join(
        x
        for x in (
            p.intervention[:600],
            (f"Target population: {p.target_population[:300]}" if p.target_population else ""),
        )
        if x
    )
    data: dict[str, Any] = {
        "name": f"{p.name} ({p.id}, imported from INDIGO)",
        "description": description or f"Imported from INDIGO project {p.id}.",
        "currency": currency,
        "periods_per_year": 1,
        "horizon": years + 2,
        "program": {
            "cohorts": _cohorts(participants, years),
            "enrollment_factor": 1.0,
            "cost_per_participant": cost_per_participant,
        },
        "outcomes": [
            {
                "id": "outcomes",
                "label": _outcome_label(related),
                "direction": "increase",
                "unit": "successes",
                "baseline": ASSUMED["baseline"],
                "effect": {
                    "dist": "normal",
                    "mean": ASSUMED["effect_mean"],
                    "sd": ASSUMED["effect_sd"],
                },
                "effect_type": "absolute",
                "measured_after": 1,
                "value_per_unit": price,
                "savings_to": {"payer": 1.0},
                "evaluation": {
                    "design": design,
                    "standard_error": ASSUMED["standard_error"],
                    "measurement": "per_cohort",
                },
                "payment": {
                    "payer": "payer",
                    "rule": "rate_card",
                    "price_per_unit": price,
                    "threshold": 0.0,
                    "cap": max_payment,
                    "lag": 1,
                },
            }
        ],
        "payers": [
            {
                "id": "payer",
                "label": payer_label[:120],
                "discount_rate": ASSUMED["discount_rate"],
                "total_cap": max_payment,
            }
        ],
        "capital": {"tranches": tranches, "residual": "retained_by_payer"},
        "sources": _sources(p, related),
        "notes": notes.all(),
    }
    scenario = scenario_from_dict(data, source=f"INDIGO {p.id}")
    return IndigoImport(
        project=p,
        scenario=scenario,
        capital=capital,
        max_payment=max_payment,
        assumed=notes.assumed,
        related_folder=related.folder,
    )


def import_indigo(
    projects_csv: str | Path,
    project_id: str | None = None,
    related_dir: str | Path | None = None,
) -> IndigoImport:
    """Import one project of an INDIGO project export as a scenario skeleton.

    Args:
        projects_csv: INDIGO's ``original_projects.csv`` (or a file in its format).
        project_id: e.g. ``INDIGO-POJ-0083``; optional when the file holds one project.
        related_dir: folder of the related tables (investments, payment commitments,
            outcome metrics...); by default the export's own folder, then a sibling
            ``all-data-by-type`` folder. Without them only the project row is used.

    Raises:
        PfsError: bad or missing file, unknown id, several projects and no id.
    """
    path = Path(projects_csv)
    project = find_project(read_projects(path), project_id, source=str(path))
    folders = [Path(related_dir)] if related_dir is not None else related_folders(path)
    if related_dir is not None and not Path(related_dir).is_dir():
        raise PfsError(f"{related_dir}: not a folder of INDIGO tables")
    return build_scenario(project, read_related(project.id, folders))
