"""The console and the unit page in a real browser, against a real server and worker."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import screenshot, sign_in
from tests.support.live import run_demo_server

pytestmark = [pytest.mark.browser, pytest.mark.live]


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
    # The new dispatch rings on the unit's page until the crew takes it up.
    unit.wait_for_selector('body[data-sound="playing"]', state="attached", timeout=5_000)
    assert unit.inner_text("#unit-suspect-vehicle")
    unit.click("#btn-en-route")
    unit.wait_for_selector('#dispatch[data-status="en_route"]')
    unit.wait_for_selector('body[data-sound="off"]', state="attached", timeout=5_000)
    unit.click("#btn-on-scene")
    unit.wait_for_selector('#dispatch[data-status="on_scene"]')
    screenshot(unit, "unit-on-scene")

    # The console follows live (no reload): the incident is on scene.
    console.wait_for_selector('#incident-status[data-status="on_scene"]', timeout=5_000)
    # The elapsed time stopped at the first unit on scene, without a reload.
    expect(console.locator(".timer.big")).to_have_attribute("data-on-scene", re.compile(r"^\d{4}-"))
    console.select_option("#outcome-select", "arrested_on_scene")
    console.click("#btn-outcome")
    console.wait_for_selector("#incident-outcome", timeout=5_000)
    incident_ready(console)
    console.keyboard.press("c")
    # Closed, the file asks the operator (no owner of the case) for a reason to read on,
    # unless another incident of the case is open (another test's press of victim 1).
    console.wait_for_selector(
        '#incident-status[data-status="closed"], #reason-required', timeout=5_000
    )
    if console.locator("#reason-required").count():
        console.fill("#id_reason", "reviewing the incident just closed")
        console.click("main button[type=submit]")
    console.wait_for_selector('#incident-status[data-status="closed"]', timeout=5_000)
    timeline = console.inner_text("#timeline")
    for step in ("acknowledged", "G-12 assigned", "G-12 on scene", "first unit on scene", "closed"):
        assert step in timeline
    assert "on_scene" not in timeline  # in words, never the machine's values
    screenshot(console, "console-closed")

    console.goto(live_server_url + "/console/")
    # The closed lane is folded away (the live lane gets the screen); the row is in it.
    closed = console.locator(f'.lane-closed .incident-row[data-reference="{reference}"]')
    closed.wait_for(state="attached")
    console.click(".lane-closed summary")
    closed.wait_for()
    # Every event re-renders the queue: the lane she opened stays open through it.
    console.evaluate("document.querySelector('.lane-closed').dataset.before = '1'")
    console.evaluate("window.msaConsole.refresh()")
    console.locator(".lane-closed:not([data-before])").wait_for(state="attached")
    expect(closed).to_be_visible()
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


# Targets unlike the defaults (30 s, 120 s, 600 s) and unlike each other, so that a timer
# that turns late at a hard-coded or a wrong target fails.
ACK_TARGET_S = 45
ON_SCENE_TARGET_S = 200


@pytest.fixture(scope="module")
def targets_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own, started with other targets in its environment."""
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # only while the server process starts
            env.setenv("MSA_ACK_TARGET_S", str(ACK_TARGET_S))
            env.setenv("MSA_ON_SCENE_TARGET_S", str(ON_SCENE_TARGET_S))
            url = stack.enter_context(run_demo_server(tmp_path_factory.mktemp("targets")))
        yield url


def test_the_timers_turn_late_at_the_configured_targets(
    targets_server_url: str, browser: Any
) -> None:
    base = targets_server_url
    page = browser.new_context().new_page()
    sign_in(page, base, "operator")
    reference = simulate_press(base, 1)
    page.clock.install()  # the page's time, driven below: no sleeping
    page.goto(base + "/console/")
    timer = page.locator(f'.lane-live .incident-row[data-reference="{reference}"] .timer')
    since = datetime.fromisoformat(timer.get_attribute("data-since") or "")

    def at(seconds: int) -> None:
        """The page's clock half a second past ``seconds`` after the alarm; the timers tick."""
        page.clock.pause_at(since + timedelta(seconds=seconds, milliseconds=500))

    # The queue: unacknowledged, late at the acknowledgement target.
    at(ACK_TARGET_S - 1)
    expect(timer).to_have_text(f"00:{ACK_TARGET_S - 1:02d}")
    expect(timer).not_to_have_class(re.compile(r"\blate\b"))
    at(ACK_TARGET_S)
    expect(timer).to_have_class(re.compile(r"\blate\b"))

    # The incident page: elapsed time, late at the on-scene target.
    page.goto(f"{base}/console/incidents/{reference}/")
    elapsed = page.locator(".timer.big")
    at(ON_SCENE_TARGET_S - 1)
    minutes, seconds = divmod(ON_SCENE_TARGET_S - 1, 60)
    expect(elapsed).to_have_text(f"{minutes:02d}:{seconds:02d}")
    expect(elapsed).not_to_have_class(re.compile(r"\blate\b"))
    at(ON_SCENE_TARGET_S)
    expect(elapsed).to_have_class(re.compile(r"\blate\b"))

    # The incident page shows a lost connection as the queue does, until it is live again.
    incident_ready(page)
    page.evaluate("window.msaIncident.disconnect()")
    expect(page.locator("#connection")).to_have_class(re.compile(r"\bconn-down\b"))
    page.evaluate("window.msaIncident.reconnect()")
    expect(page.locator("#connection")).to_have_class(re.compile(r"\bconn-live\b"))
    page.context.close()
