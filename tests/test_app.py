"""The Streamlit app, driven headless with Streamlit's AppTest.

Every preset loads and draws every tab; a parameter change moves the headline numbers
in the expected direction; pinning and comparing works; a bad upload shows what is
wrong and keeps the scenario. Runs use ``PFS_APP_PATHS`` (few paths) to stay quick.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from streamlit.testing.v1 import AppTest

import pfs
from pfs.ui.page import FAILURE, TABS
from pfs.ui.state import PATHS_ENV

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PATHS = "2000"
TEACHING = pfs.load_scenario(pfs.default_scenario_path())
EFFECT = "p:outcomes.bed_days.effect"  # keys of the default (teaching) scenario's widgets
PRESETS = sorted(pfs.scenarios_dir().glob("*.yaml"))


@pytest.fixture(autouse=True)
def few_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PATHS_ENV, PATHS)


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    failures = [e.value for e in at.error if FAILURE in e.value]
    assert not failures, failures


def parse(text: str) -> float:
    """``$4.5M`` -> 4.5e6, ``-$338K`` -> -338e3, ``62%`` -> 0.62, ``<1%`` -> 0.005."""
    text = text.strip().replace(",", "")
    if text.startswith("<"):
        return 0.005
    if text.startswith(">"):
        return 0.995
    if text.endswith("%"):
        return float(text[:-1]) / 100
    match = re.fullmatch(r"(-?)\D*?([\d.]+)([KMB]?)", text)
    assert match, text
    sign, number, suffix = match.groups()
    scale = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}[suffix]
    return (-1 if sign else 1) * float(number) * scale


def headline(at: AppTest) -> dict[str, float]:
    return {m.label: parse(m.value) for m in at.metric}


def card(at: AppTest, start_of_label: str) -> float:
    values = headline(at)
    return next(v for k, v in values.items() if k.startswith(start_of_label))


def show_tab(at: AppTest, name: str) -> AppTest:
    at.session_state["view"] = name
    at.run()
    assert_clean(at)
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="upload").set_value((name, content, "application/x-yaml"))
    at.run()
    return at


# ------------------------------------------------------------------ presets
def test_default_scenario_on_first_screen() -> None:
    at = start()
    assert at.title[0].value == TEACHING.name
    assert len(at.metric) == 9
    labels = [m.label for m in at.metric]
    assert "Chance investors are repaid" in labels
    assert any(label.startswith("Government net savings") for label in labels)
    assert all(m.help for m in at.metric), "every headline number explains itself"
    assert [t.label for t in at.tabs] == list(TABS)


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_every_preset_loads_and_draws_every_tab(path: Path) -> None:
    scenario = pfs.load_scenario(path)
    at = start()
    at.selectbox(key="scenario").set_value(scenario.name).run()
    assert_clean(at)
    assert at.title[0].value == scenario.name
    assert len(at.metric) >= 9
    for outcome in scenario.outcomes:  # widgets are generated from the scenario
        assert at.session_state[f"p:outcomes.{outcome.id}.effect"] is not None
    for tranche in scenario.capital.tranches:
        assert at.session_state[f"p:capital.tranches.{tranche.id}.amount"] is not None
    about = "\n".join(m.value for m in at.markdown)  # "About this deal": sources, notes
    for source in scenario.sources:
        assert (f"]({source})" if source.startswith("http") else source) in about, source
    for note in scenario.notes:
        assert note.split(":", 1)[-1].strip()[:40].replace("$", "\\$") in about, note
    for name in TABS:
        show_tab(at, name)


def test_switching_preset_shows_its_own_values() -> None:
    other = next(pfs.load_scenario(p) for p in PRESETS if p.stem != "teaching_reentry")
    fresh = start()
    fresh.selectbox(key="scenario").set_value(other.name).run()
    at = start()
    at.slider(key=EFFECT).set_value(40.0).run()
    at.number_input(key="p:program.cohorts").set_value(123).run()
    at.selectbox(key="scenario").set_value(other.name).run()
    assert_clean(at)
    first = other.outcomes[0]
    key = f"p:outcomes.{first.id}.effect"
    assert at.session_state[key] == fresh.session_state[key]
    assert at.session_state["p:program.cohorts"] == fresh.session_state["p:program.cohorts"]
    at.run()  # the widgets keep the new scenario's values on the next run too
    assert headline(at) == headline(fresh)
    assert not [m.delta for m in at.metric if m.delta], "no edits, so no change arrows"


# --------------------------------------------------------------- parameters
Change = Callable[[AppTest], Any]


def _set(kind: str, key: str, value: Any) -> Change:
    return lambda at: getattr(at, kind)(key=key).set_value(value)


DIRECTIONS = [
    # (what changes, higher means: card label -> +1 up / -1 down)
    pytest.param(
        _set("slider", EFFECT, 40.0),
        {"Chance investors are repaid": 1, "Government net savings": 1},
        id="bigger real effect: investors repaid more, government saves more",
    ),
    pytest.param(
        _set("number_input", "p:outcomes.bed_days.payment.price_per_unit", 260.0),
        {"Chance investors are repaid": 1, "Government net savings": -1},
        id="higher price: investors repaid more, government saves less",
    ),
    pytest.param(
        _set("slider", "p:capital.tranches.senior.rate", 12.0),
        {"Chance investors are repaid": -1},
        id="dearer senior loan: investors repaid less often",
    ),
    pytest.param(
        _set("number_input", "p:payers.county.total_cap", 2.0),
        {"Largest yearly payment": -1, "Chance investors are repaid": -1},
        id="tighter budget cap: smaller outlays, investors repaid less",
    ),
    pytest.param(
        _set("toggle", "p:capital.guarantees", False),
        {"Investor return, bad case": -1},
        id="no guarantee: a worse bad case for investors",
    ),
]


@pytest.mark.parametrize(("change", "expected"), DIRECTIONS)
def test_parameter_change_moves_headline(change: Change, expected: dict[str, int]) -> None:
    at = start()
    before = {label: card(at, label) for label in expected}
    if "Capital stack" not in [e.label for e in at.expander]:
        pytest.fail("parameter groups missing")
    change(at)
    at.run()
    assert_clean(at)
    for label, sign in expected.items():
        after = card(at, label)
        assert (after - before[label]) * sign > 0, (label, before[label], after)
    deltas = [m.delta for m in at.metric if m.delta]
    assert deltas, "changes are shown against the preset"


def test_uncertainty_zero_fixes_the_value() -> None:
    at = start()
    at.slider(key=f"{EFFECT}:spread").set_value(0).run()
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    assert "25.0% to 25.0%" in captions


def test_every_group_of_parameters_is_there() -> None:
    at = start()
    labels = [e.label for e in at.expander]
    for group in (
        "Programme",
        "Outcomes and evaluation",
        "Payment terms",
        "Capital stack",
        "Government",
        "Simulation",
    ):
        assert group in labels


def test_reset_restores_the_preset() -> None:
    at = start()
    before = headline(at)
    at.slider(key=EFFECT).set_value(45.0).run()
    assert headline(at) != before
    at.button(key="reset").click().run()
    assert_clean(at)
    assert headline(at) == before


# ------------------------------------------------------------------ compare
def test_pin_and_compare() -> None:
    at = start()
    show_tab(at, "Compare")
    assert any("Pin the current scenario" in i.value for i in at.info)
    at.button(key="pin").click().run()
    at.slider(key=EFFECT).set_value(40.0).run()
    assert_clean(at)
    table = next(t.value for t in at.table if "Pinned" in t.value.columns)
    assert {"Pinned", "Current", "Change"} <= set(table.columns)
    row = table[table["Metric"] == "Chance investors are repaid"].iloc[0]
    assert parse(row["Current"]) > parse(row["Pinned"])
    assert row["Change"].startswith("+")
    assert any(m.proto.delta_description == "vs pinned" for m in at.metric)
    at.button(key="unpin").click().run()
    assert any("Pin the current scenario" in i.value for i in at.info)


# ------------------------------------------------------------------ uploads
def _teaching_yaml(**changes: Any) -> bytes:
    data = copy.deepcopy(yaml.safe_load(pfs.default_scenario_path().read_text()))
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False).encode()


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (_teaching_yaml(colour="blue"), "colour"),
        (b"name: [unclosed\n", "malformed YAML"),
        (b"\xff\xfe\x00binary", "not a text file"),
    ],
    ids=["unknown field", "malformed", "binary"],
)
def test_bad_upload_shows_error_and_keeps_scenario(content: bytes, where: str) -> None:
    at = start()
    at.slider(key=EFFECT).set_value(40.0).run()
    before = headline(at)
    upload(at, "bad.yaml", content)
    assert not at.exception
    messages = " ".join(e.value for e in at.error)
    assert "bad.yaml" in messages and where in messages
    assert at.title[0].value == TEACHING.name
    assert at.slider(key=EFFECT).value == pytest.approx(40.0)
    assert headline(at) == before


def test_good_upload_is_selected() -> None:
    at = start()
    upload(at, "mine.yaml", _teaching_yaml(name="My own deal"))
    assert_clean(at)
    assert not at.error
    assert at.title[0].value == "My own deal"
    assert at.selectbox(key="scenario").value == "Uploaded: My own deal"


# -------------------------------------------------------------------- learn
def test_learn_walks_step_by_step() -> None:
    at = show_tab(start(), "Learn")
    assert any(h.value.startswith("1.") for h in at.subheader)
    at.button(key="learn_next").click().run()
    assert any(h.value.startswith("2.") for h in at.subheader)
    at.toggle(key="learn_all").set_value(True).run()
    assert_clean(at)
    assert sum(h.value[:1].isdigit() for h in at.subheader) == 7


# ---------------------------------------------------- any scenario's widgets
KITCHEN_SINK = """
name: Kitchen sink (test)
currency: GBP
periods_per_year: 4
horizon: 24
program:
  cohorts: [{period: 0, size: 100}, {period: 4, size: 120}]
  enrollment_factor: {dist: beta, a: 8, b: 2}
  cost_per_participant: {dist: lognormal, mean: 3000, sd: 600}
  service_periods: 4
  fixed_costs:
    - {name: evaluation, per_period: {dist: uniform, low: 10000, high: 20000}, periods: [2, 3],
       pfs_only: true}
outcomes:
  - id: housing
    label: Nights housed
    unit: nights
    direction: increase
    baseline: {dist: pert, low: 100, mode: 150, high: 200}
    effect: {dist: triangular, low: 10, mode: 40, high: 60}
    effect_type: absolute
    measured_after: 4
    value_per_unit: 50
    savings_to: {council: 0.5, nhs: 0.5}
    evaluation: {design: validated_administrative, standard_error: 8, measurement: per_cohort}
    payment: {payer: council, rule: share_of_savings, share: 0.8, share_after_repaid: 0.3,
              threshold: 5, lag: 2}
  - id: health
    label: A&E visits avoided
    unit: visits
    baseline: 2.0
    effect: {dist: truncnormal, mean: 0.2, sd: 0.1, low: -0.5, high: 0.9}
    measured_after: 4
    value_per_unit: 300
    savings_to: {nhs: 1.0}
    evaluation: {design: quasi_experimental, sample_size: 200, outcome_sd: 1.5}
    payment:
      payer: nhs
      rule: tiers
      interpolate: true
      amount_basis: per_participant
      tiers: [{at: 0.05, amount: 100}, {at: 0.2, amount: 400}]
      cap: 100000
      lag: 1
payers:
  - {id: council, label: City council, discount_rate: 0.035, per_period_cap: 50000}
  - {id: nhs, label: Health service, discount_rate: 0.035}
capital:
  tranches:
    - {id: fund, label: Social fund, kind: loan, amount: 600000, rate: 0.07, seniority: 1}
    - {id: provider_fee, label: Provider deferred fee, kind: deferred_fee, amount: 100000,
       seniority: 2}
    - {id: gift, label: Foundation grant, kind: grant, amount: 50000, seniority: 2}
  residual: fund
simulation: {paths: 5000, seed: 3, sampling: lhs}
"""


def test_widgets_follow_any_scenario() -> None:
    """Several payers, absolute effects, tiers and share of savings, every distribution."""
    at = start()
    upload(at, "sink.yaml", KITCHEN_SINK.encode())
    assert_clean(at)
    assert not at.error
    assert at.title[0].value == "Kitchen sink (test)"
    assert any(m.value.startswith(("£", "-£")) for m in at.metric)
    for key in (
        "p:outcomes.housing.effect",
        "p:outcomes.health.effect",
        "p:outcomes.housing.payment.share",
        "p:payers.nhs.discount_rate",
        "p:capital.tranches.provider_fee.amount",
        "p:program.cost_per_participant",
    ):
        assert key in at.session_state
    before = card(at, "Chance investors are repaid")
    at.number_input(key="p:outcomes.housing.effect").set_value(55.0).run()
    assert_clean(at)
    assert card(at, "Chance investors are repaid") > before
    for name in TABS:
        show_tab(at, name)
    show_tab(at, "Budget").selectbox(key="budget_payer").set_value("outcome_payments.nhs").run()
    show_tab(at, "Evaluation risk").selectbox(key="evaluation_outcome").set_value("health").run()
    assert_clean(at)


# ------------------------------------------------------------------- errors
def test_a_failing_view_shows_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("pfs.ui.page.budget_view", broken)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any(FAILURE in m for m in messages)
    assert not any("Traceback" in m or "boom" in m for m in messages)
    assert len(at.metric) == 9, "the rest of the page still works"


def test_downloads_are_offered() -> None:
    at = start()
    keys = {b.key for b in at.get("download_button")}
    assert {"download_yaml", "download_paths", "download_periods", "download_years"} <= keys
    assert {"download_xlsx", "download_html", "download_charts"} <= keys


def test_terms_worth_a_second_look_are_listed_with_the_deal() -> None:
    at = start()
    about = [e.label for e in at.expander if e.label.startswith("About this deal")]
    assert about and "to check" not in about[0]
    key = "p:capital.tranches.senior.amount"
    assert at.number_input(key=key).value == pytest.approx(3.2)  # shown in $M
    at.number_input(key=key).set_value(2.0).run()  # capital now below the expected cost
    assert_clean(at)
    about = [e.label for e in at.expander if e.label.startswith("About this deal")]
    assert about[0].endswith("(1 to check)")
    text = " ".join(m.value for m in at.markdown)
    assert "Worth a second look" in text and "below the expected programme cost" in text
