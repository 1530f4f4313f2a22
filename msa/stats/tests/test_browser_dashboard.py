"""The analyst's dashboard in a real browser: the plots are drawn (their SVG has a size and
bars) and the strict CSP refuses nothing on the page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_dashboard_draws_its_plots_under_the_csp(live_server_url: str, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.on("pageerror", lambda e: refused.append(str(e)))
    sign_in(page, live_server_url, "analyst")
    page.goto(f"{live_server_url}/stats/")
    page.wait_for_selector("#plot-month svg", timeout=10_000)
    for plot in ("#plot-month svg", "#plot-zone svg"):
        box = page.locator(plot).bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 100
    # drawn with presentation attributes, which the CSP does not block: the figure's white
    # background (fill="#ffffff") and its text's size reach the computed style
    fill = page.eval_on_selector("#plot-month svg path[fill]", "p => getComputedStyle(p).fill")
    assert fill == "rgb(255, 255, 255)"
    size = page.eval_on_selector("#plot-month svg text", "t => getComputedStyle(t).fontSize")
    assert size != "16px"  # matplotlib's 9-12 px, not the browser's default
    page.select_option("#id_area", "GNT")
    page.click("#stats-filter button[type=submit]")
    page.wait_for_selector("#stats-scope:has-text('GNT')", timeout=10_000)
    screenshot(page, "stats-dashboard")
    assert refused == []
