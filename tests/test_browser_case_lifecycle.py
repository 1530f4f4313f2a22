"""A case from the request to an active alarm, in the browser, as the people who run it.

The reference officer opens the case and assesses the risk (a bombshell: the urgent task
appears), the magistrate approves with exclusion zones drawn on the map, the officer records
consent, lends a button, a phone and a SIM, pairs the phone (the QR code is shown), the phone
(``msa_client``) sends a test alarm with the key it was given, the officer confirms the
checklist, and the case becomes active.
"""

from __future__ import annotations

from typing import Any

import pytest

from msa.demo_data import demo_password
from msa_client.client import DeviceClient
from tests.support.browser import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]


# Every page must run under the strict Content-Security-Policy without a violation.
CSP_LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def _no_csp_violation(page: Any) -> None:
    assert page.evaluate("window.__csp") == []


def _as(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context()
    context.add_init_script(CSP_LISTEN)
    page = context.new_page()
    login(page, base, username, demo_password(username))
    return page


def _status(page: Any) -> str:
    return str(page.get_attribute("#case-status", "data-status"))


def test_case_lifecycle_from_request_to_active(live_server_url: str, browser: Any) -> None:
    base = live_server_url
    officer = _as(browser, base, "reference")

    # 1. the request
    officer.goto(base + "/cases/")
    officer.click("#new-case")
    officer.fill("#id_victim_first_name", "Ilse")
    officer.fill("#id_victim_last_name", "Browser")
    officer.fill("#id_victim_phone", "0470 55 66 77")
    officer.fill("#id_suspect_first_name", "Wim")
    officer.fill("#id_suspect_last_name", "Browser")
    officer.select_option("#id_relation", "ex_partner")
    officer.click("#case-new button[type=submit]")

    # 2. the assessment, with a bombshell
    officer.wait_for_selector("#assessment")
    officer.check("input[name=strangulation][value=yes]")
    officer.check("input[name=recent_separation][value=yes]")
    # every other item must be answered too (none is preset): "no", the first choice, or 0
    officer.eval_on_selector_all(
        "#assessment .item",
        """items => items.forEach(item => {
            const radios = item.querySelectorAll("input[type=radio]");
            const answered = item.querySelector("input[type=radio]:checked");
            if (radios.length && !answered) radios[0].click();
            const number = item.querySelector("input[type=number]");
            if (number && number.value === "") number.value = "0";
        })""",
    )
    screenshot(officer, "case-assessment")
    _no_csp_violation(officer)
    officer.click("#assessment-save")
    officer.wait_for_selector("#case-reference")
    reference = officer.inner_text("#case-reference")
    assert _status(officer) == "assessed"
    assert "strangulation" in officer.inner_text("#bombshells")

    # 3. the urgent task is on the officer's list
    officer.goto(base + "/cases/")
    task = officer.locator(f'#tasks .task.urgent[data-case="{reference}"]')
    assert "contact the prosecutor" in task.inner_text()
    screenshot(officer, "case-urgent-task")
    officer.goto(base + f"/cases/{reference}/")
    officer.click("#submit-to-magistrate")
    assert _status(officer) == "awaiting_decision"

    # 4. the magistrate approves with a circle and a polygon drawn on the map
    magistrate = _as(browser, base, "magistrate")
    magistrate.goto(base + f"/cases/{reference}/")
    magistrate.click("#decide-link")
    magistrate.fill("#id_reference", "PKGNT-2026-BR-1")
    magistrate.fill("#id_circle_label", "her home")
    magistrate.click("#draw-circle")
    box = magistrate.locator("#zone-map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    magistrate.mouse.click(cx, cy)
    assert magistrate.input_value("#id_circle_lat") != ""
    magistrate.fill("#id_circle_radius_m", "300")
    magistrate.fill("#zone-label", "her work")
    magistrate.click("#draw-polygon")
    for dx, dy in ((-80, -60), (80, -60), (80, 60), (-80, 60)):
        magistrate.mouse.click(cx + dx, cy + dy)
    magistrate.click("#draw-finish")
    assert "polygon" in magistrate.input_value("#id_zones_json")
    screenshot(magistrate, "case-decision-map")
    _no_csp_violation(magistrate)
    magistrate.click("#decision-save")
    magistrate.wait_for_selector("#case-reference")
    assert _status(magistrate) == "awaiting_consent"
    zones = magistrate.inner_text("#decision")
    assert "her home" in zones
    assert "her work" in zones
    magistrate.wait_for_selector("#case-map .leaflet-interactive")
    _no_csp_violation(magistrate)
    magistrate.context.close()

    # 5. consent, loans, pairing
    officer.goto(base + f"/cases/{reference}/")
    officer.click("#consent-form button[type=submit]")
    assert _status(officer) == "enrolling"
    for label in ("button BTN-STOCK-001", "phone PHN-STOCK-001", "SIM card SIM-STOCK-001"):
        officer.select_option("#loan-form select", label=label)
        officer.click("#loan-form button[type=submit]")
        officer.wait_for_selector("#case-reference")
    assert officer.locator("#loans tbody tr").count() == 3
    officer.click("#pair")
    officer.wait_for_selector("#enrolment-qr svg")
    screenshot(officer, "case-pairing-qr")
    _no_csp_violation(officer)
    device_id = officer.inner_text("#device-id")
    key = officer.inner_text("#device-key")
    assert officer.inner_text("#base-url") == base

    # 6. the phone sends the test alarm with the credentials it was given
    client = DeviceClient(base, device_id, key, watchdog=False)
    try:
        answer = client.raise_alarm("test", None)
    finally:
        client.close()
    assert answer.created

    # 7. the checklist, then the alarm is active
    officer.click("#back-to-case")
    officer.click("#check-button")
    officer.click("#check-permissions")
    officer.click("#check-test")
    officer.wait_for_selector("#checklist li[data-item=test_alarm].ok")
    officer.click("#activate")
    officer.wait_for_selector("#case-status[data-status=active]")
    screenshot(officer, "case-active")
    _no_csp_violation(officer)
    officer.context.close()
