"""The app in a real browser: renders, shows headline numbers, reacts, draws every tab.

Drives Debian's chromium (headless, through Playwright) against `streamlit run app.py`
on a local port, and saves screenshots to ``artifacts/screenshots/`` for a human look.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 60_000
HEADLINE_CARDS = 9
EFFECT_SLIDER = ".st-key-p-outcomes-bed_days-effect input[type='range']"
REPAID = "Chance investors are repaid"
CHARTS = "[data-testid='stVegaLiteChart']"
# Charts each tab draws (at least) on the default scenario.
TAB_CHARTS = {
    "Budget": 3,
    "Investors": 3,
    "Evaluation risk": 2,
    "Drivers": 1,
    "Learn": 1,
    "Compare": 2,
}


@pytest.fixture(scope="module")
def page(browser: Any, app_url: str) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(app_url)
    wait_ready(tab)
    yield tab
    context.close()


def wait_ready(page: Any) -> None:
    """Wait until the script has run and the headline cards are on screen."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {HEADLINE_CARDS}"
    )
    wait_idle(page)


def wait_idle(page: Any) -> None:
    """Wait until Streamlit is no longer running the script."""
    page.wait_for_timeout(400)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')")


def metric(page: Any, label: str) -> str:
    card = page.locator("[data-testid='stMetric']", has_text=label).first
    return str(card.locator("[data-testid='stMetricValue']").inner_text()).strip()


def assert_no_error(page: Any) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    assert "Something went wrong" not in body


def active_panel(page: Any) -> Any:
    return page.locator("[data-testid='stTabs'] [role='tabpanel']:visible").first


def open_tab(page: Any, name: str) -> Any:
    page.get_by_role("tab", name=name).click()
    wait_idle(page)
    return active_panel(page)


def wait_charts(panel: Any, count: int) -> None:
    """Wait for ``count`` charts in ``panel`` to have drawn their marks."""
    drawn = panel.locator(f"{CHARTS} canvas, {CHARTS} svg.marks")
    for i in range(count):
        drawn.nth(i).wait_for(state="visible")
    assert drawn.count() >= count


def shot(page: Any, folder: Path, name: str) -> None:
    """Screenshot the whole app (Streamlit scrolls inside its main area, not the page)."""
    size = page.viewport_size
    height = page.evaluate(
        "Math.max(...['stMain', 'stSidebarContent'].map(id => "
        'document.querySelector(`[data-testid="${id}"]`)?.scrollHeight || 0))'
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 40)})
    page.wait_for_timeout(600)
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size(size)
    page.wait_for_timeout(300)


def test_page_renders_with_headline_numbers(page: Any, screenshots: Path) -> None:
    assert_no_error(page)
    assert page.locator("[data-testid='stMetric']").count() >= HEADLINE_CARDS
    assert re.fullmatch(r"[<>]?\d+%", metric(page, REPAID))
    assert metric(page, "Government net savings").startswith(("$", "-$"))
    page.screenshot(path=str(screenshots / "00_first_screen.png"))
    shot(page, screenshots, "01_budget")


def test_slider_move_updates_headline(page: Any, screenshots: Path) -> None:
    before = metric(page, REPAID)
    slider = page.locator(EFFECT_SLIDER)
    slider.focus()
    for _ in range(30):  # +15 percentage points of real effect
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """([label, before]) => Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
            .some(c => c.innerText.includes(label) && c.querySelector(
                '[data-testid="stMetricValue"]').innerText.trim() !== before)""",
        arg=[REPAID, before],
    )
    wait_idle(page)
    after = metric(page, REPAID)
    assert int(after.strip("<>%")) > int(before.strip("<>%"))
    assert_no_error(page)
    shot(page, screenshots, "02_after_slider")


@pytest.mark.parametrize("name", ["Budget", "Investors", "Evaluation risk", "Learn"])
def test_tab_draws_charts(page: Any, screenshots: Path, name: str) -> None:
    panel = open_tab(page, name)
    if name == "Learn":
        panel.get_by_text("Show all steps at once").first.click()
        wait_idle(page)
    wait_charts(panel, TAB_CHARTS[name])
    assert_no_error(page)
    shot(page, screenshots, f"03_tab_{name.lower().replace(' ', '_')}")


def test_drivers_tab_draws_its_tornado_chart(page: Any, screenshots: Path) -> None:
    panel = open_tab(page, "Drivers")
    panel.get_by_text("What moves the result most?").first.wait_for()
    wait_charts(panel, TAB_CHARTS["Drivers"])
    assert "matters most" in panel.inner_text()
    panel.get_by_text("Investors get their money back if the real reduction").first.wait_for()
    for button in ("Work out the shares", "Find the price"):  # the on-demand answers too
        panel.get_by_role("button", name=button).click()
        wait_idle(page)
        panel = active_panel(page)
    panel.get_by_text("Explains on its own").first.wait_for()
    wait_charts(panel, 2)  # the tornado and the price frontier
    assert_no_error(page)
    shot(page, screenshots, "04_tab_drivers")


def test_compare_tab_pins_and_compares(page: Any, screenshots: Path) -> None:
    panel = open_tab(page, "Compare")
    panel.get_by_role("button", name="Pin the current scenario").click()
    wait_idle(page)
    slider = page.locator(EFFECT_SLIDER)
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    wait_idle(page)
    panel = active_panel(page)
    # during a rerun Streamlit briefly shows the stale copy beside the new one
    panel.get_by_text("Pinned vs current").first.wait_for()
    wait_charts(panel, TAB_CHARTS["Compare"])
    assert_no_error(page)
    shot(page, screenshots, "04_tab_compare")


def test_switching_preset_shows_its_own_values(page: Any, screenshots: Path) -> None:
    import pfs
    from pfs.ui.edits import centre

    other = next(
        pfs.load_scenario(p)
        for p in sorted(pfs.scenarios_dir().glob("*.yaml"))
        if p != pfs.default_scenario_path()
    )
    first = other.outcomes[0]
    page.locator(".st-key-scenario").click()
    page.get_by_role("option", name=other.name).click()
    wait_idle(page)
    page.get_by_role("heading", name=other.name).wait_for()
    open_tab(page, "Investors")  # one more run: stale browser values must not come back
    slider = page.locator(f".st-key-p-outcomes-{first.id}-effect input[type='range']")
    if first.effect_type.value == "relative":
        assert slider.get_attribute("aria-valuetext") == f"{100 * centre(first.effect):.1f}%"
    people = page.locator(".st-key-p-program-cohorts input")
    assert people.input_value() == str(round(sum(c.size for c in other.program.cohorts)))
    assert "vs preset" not in page.locator("[data-testid='stMain']").inner_text()  # no edits
    assert_no_error(page)
    shot(page, screenshots, "05_other_preset")


def test_terms_worth_a_second_look_show_with_the_deal(page: Any, screenshots: Path) -> None:
    import pfs

    salt_lake = pfs.load_scenario(pfs.scenarios_dir() / "salt_lake_county_reach.yaml")
    page.locator(".st-key-scenario").click()
    page.get_by_role("option", name=salt_lake.name).click()
    wait_idle(page)
    page.get_by_role("heading", name=salt_lake.name).wait_for()
    about = page.get_by_text("About this deal", exact=False).first
    assert "(1 to check)" in about.inner_text()
    about.click()
    page.get_by_text("Worth a second look").first.wait_for(state="visible")
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "below the expected programme cost" in main
    assert_no_error(page)
    shot(page, screenshots, "06_worth_a_second_look")
