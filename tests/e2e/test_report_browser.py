"""The HTML report in a real browser: it renders offline, shows the headline numbers and
its charts load. Screenshot: ``artifacts/screenshots/report.png``.

Uses the ``browser`` and ``screenshots`` fixtures of ``tests/e2e/conftest.py`` (skipped
without Debian's chromium, failed under ``CI=true``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pfs
from pfs.formatting import format_value
from pfs.reports import html_report
from pfs.reports.content import headline_table
from tests.helpers import TEACHING

pytestmark = pytest.mark.e2e


def test_report_renders_in_chromium(browser: Any, screenshots: Path, tmp_path: Path) -> None:
    res = pfs.simulate(pfs.load_scenario(TEACHING), paths=3000, seed=11)
    report = tmp_path / "report.html"
    report.write_text(html_report(res), encoding="utf-8")

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    try:
        page.goto(report.as_uri(), wait_until="load")
        # Every chart image has decoded and has a size.
        sizes = page.eval_on_selector_all(
            "figure img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(sizes) == 4
        assert all(done and width > 300 and height > 200 for done, width, height in sizes)
        # The headline cards show the numbers of the Results.
        table = headline_table(res)
        for key in ("gov_net_savings_pv_mean", "p_investor_repaid", "max_annual_outlay_p95"):
            shown = page.inner_text(f'[data-metric="{key}"] .value')
            expected = format_value(table.loc[key, "value"], table.loc[key, "kind"], "USD")
            assert shown == expected, key
        assert page.is_visible("text=What the simulation says")
        assert page.is_visible("text=Compared with real deals")
        page.screenshot(path=str(screenshots / "report.png"), full_page=True)
    finally:
        page.close()
    # Nothing but the page itself and its inline images was loaded: no network.
    assert all(url.startswith(("file:", "data:")) for url in fetched), fetched
