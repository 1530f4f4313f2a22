"""The console and the unit page in a real browser, against a real server and worker."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from playwright.sync_api import expect

from msa.demo_data import demo_password
from tests.support import browser as browser_support
from tests.support.browser import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]


def sign_in(page: Any, base: str, username: str) -> None:
    """login() of tests/support/browser.py, and the same again through the form's own
    buttons when its ``button[type=submit]`` hit the top bar's "Sign out" on the TOTP page."""
    login(page, base, username, demo_password(username))
    if "/accounts/" not in page.url:
        return
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", demo_password(username))
    page.click("main button[type=submit]")
    page.wait_for_selector("#id_token")
    page.fill("#id_token", browser_support.demo_totp_code(base, username))
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def incident_ready(page: Any) -> None:
    """The incident page's script is running (its socket is open): shortcuts now work."""
    page.wait_for_selector('body[data-live="1"]', state="attached", timeout=10_000)


def simulate_press(url: str, victim: int) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "msa.cli",
            "simulate",
            "press",
            "--victim",
            str(victim),
            "--url",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return re.search(r"incident (\S+)", result.stdout).group(1)  # type: ignore[union-attr]


def test_from_alarm_to_unit_on_scene_outcome_and_close(live_server_url: str, browser: Any) -> None:
    console = browser.new_context().new_page()
    sign_in(console, live_server_url, "operator")
    console.goto(live_server_url + "/console/")
    console.wait_for_selector("#connection.conn-live", timeout=10_000)

    reference = simulate_press(live_server_url, 1)
    row = console.locator(f'.lane-live .incident-row[data-reference="{reference}"]')
    row.wait_for(timeout=5_000)
    assert "unacknowledged" in row.inner_text()
    console.wait_for_selector('body[data-sound="playing"]', state="attached", timeout=5_000)
    expect(row.locator(".timer")).to_have_text(re.compile(r"^\s*\d\d:\d\d\s*$"))
    assert console.locator("#alarm-popup").is_visible()

    # Open it and acknowledge with the keyboard.
    row.click()
    console.wait_for_selector("#btn-ack")
    incident_ready(console)
    console.keyboard.press("a")
    console.wait_for_selector('#incident-status[data-status="acknowledged"]', timeout=5_000)

    # Dispatch the recommended unit (the nearest: G-12, 160 m away).
    first = console.locator("#form-dispatch .call-sign").first.inner_text()
    assert first == "G-12"
    incident_ready(console)
    console.keyboard.press("d")
    console.wait_for_selector('.dispatch[data-unit="G-12"][data-status="assigned"]', timeout=5_000)
    screenshot(console, "console-dispatched")

    # The patrol officer of G-12 sees the dispatch and marks en route, then on scene.
    unit = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(unit, live_server_url, "patrol")
    unit.goto(live_server_url + "/unit/")
    unit.wait_for_selector("#dispatch")
    assert reference in unit.inner_text("#dispatch")
    assert unit.inner_text("#unit-suspect-vehicle")
    unit.click("#btn-en-route")
    unit.wait_for_selector('#dispatch[data-status="en_route"]')
    unit.click("#btn-on-scene")
    unit.wait_for_selector('#dispatch[data-status="on_scene"]')
    screenshot(unit, "unit-on-scene")

    # The console follows live (no reload): the incident is on scene.
    console.wait_for_selector('#incident-status[data-status="on_scene"]', timeout=5_000)
    console.select_option("#outcome-select", "arrested_on_scene")
    console.click("#btn-outcome")
    console.wait_for_selector("#incident-outcome", timeout=5_000)
    incident_ready(console)
    console.keyboard.press("c")
    console.wait_for_selector('#incident-status[data-status="closed"]', timeout=5_000)
    timeline = console.inner_text("#timeline")
    for step in ("acknowledge", "G-12 assigned", "G-12 on_scene", "close"):
        assert step in timeline
    screenshot(console, "console-closed")

    console.goto(live_server_url + "/console/")
    console.locator(f'.lane-closed .incident-row[data-reference="{reference}"]').wait_for()
    unit.context.close()
    console.context.close()


def test_a_console_cut_off_shows_every_missed_event_in_order(
    live_server_url: str, browser: Any
) -> None:
    page = browser.new_context().new_page()
    sign_in(page, live_server_url, "supervisor")
    page.goto(live_server_url + "/console/")
    page.wait_for_selector("#connection.conn-live", timeout=10_000)
    before = page.evaluate("window.msaConsole.lastSeq()")

    page.evaluate("window.msaConsole.disconnect()")
    page.wait_for_selector("#connection.conn-down")
    missed = [simulate_press(live_server_url, victim) for victim in (3, 4)]
    assert page.evaluate("window.msaConsole.lastSeq()") == before

    page.evaluate("window.msaConsole.reconnect()")
    page.wait_for_selector("#connection.conn-live", timeout=10_000)
    for reference in missed:
        page.locator(f'.lane-live .incident-row[data-reference="{reference}"]').wait_for()
    events = page.evaluate("window.msaConsole.events()")
    seqs = [e["seq"] for e in events if e["seq"] > before]
    assert seqs == list(range(before + 1, before + 1 + len(seqs)))  # every one, in order
    raised = [e["data"]["incident"] for e in events if e["type"] == "alarm.raised"]
    assert [r for r in raised if r in missed] == missed
    page.context.close()


def test_a_new_alarm_rings_on_the_incident_page_too(live_server_url: str, browser: Any) -> None:
    page = browser.new_context().new_page()
    sign_in(page, live_server_url, "operator")
    first = simulate_press(live_server_url, 2)
    page.goto(f"{live_server_url}/console/incidents/{first}/")
    incident_ready(page)
    second = simulate_press(live_server_url, 5)
    page.wait_for_selector("#alarm-popup:not([hidden])", timeout=5_000)
    assert page.inner_text("#alarm-popup-ref") == second
    page.wait_for_selector('body[data-sound="playing"]', state="attached")
    page.click("#alarm-popup-ref")
    page.wait_for_url(f"**/console/incidents/{second}/")
    page.context.close()
