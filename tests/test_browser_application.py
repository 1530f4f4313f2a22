"""An application from a support service, in the browser (issue 17).

The counsellor applies for an alarm for a victim she supports; the zone's reference officer
finds the task on his list, accepts the application and goes on to the risk assessment of the
case it opened; a second application he declines with a reason, which the counsellor sees on
her list and on the application's page.
"""

from __future__ import annotations

from typing import Any

import pytest

from msa.demo_data import demo_password
from tests.support.browser import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]

CSP_LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def _as(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context()
    context.add_init_script(CSP_LISTEN)
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, base, username, demo_password(username))
    return page


def _apply(page: Any, base: str, last_name: str) -> str:
    """Fill in and send an application; its reference."""
    page.goto(base + "/cases/")
    page.click("#apply-link")
    page.select_option("#id_zone", label="Politiezone Gent")
    page.fill("#id_victim_first_name", "Lies")
    page.fill("#id_victim_last_name", last_name)
    page.fill("#id_victim_languages", "nl, en")
    page.fill("#id_safe_number", "0470 98 76 54")
    page.fill("#id_times_to_avoid", "weekday evenings")
    page.select_option("#id_relation", "ex_partner")
    page.fill("#id_suspect_first_name", "Bram")
    page.fill("#id_suspect_last_name", last_name)
    page.select_option("#id_org_level", "high")
    page.check("#urgency input[value=strangulation]")
    page.check("#urgency input[value=recent_separation]")
    page.fill("#id_urgency_notes", "She left him a month ago; he choked her on Sunday.")
    page.check("#id_victim_agrees")
    page.click("#application-send")
    page.wait_for_selector("#application-state[data-view=received]")
    return str(page.inner_text("#application-reference"))


def test_an_application_accepted_and_one_declined(live_server_url: str, browser: Any) -> None:
    base = live_server_url
    counsellor = _as(browser, base, "counsellor")
    accepted_ref = _apply(counsellor, base, "Aanvraag")
    screenshot(counsellor, "application-received")
    assert counsellor.evaluate("window.__csp") == []

    # the officer: the task on his list, the application on the case, accept, assess
    officer = _as(browser, base, "reference")
    officer.goto(base + "/cases/")
    # (attributes, not words: another test may have changed this login's language)
    officer.locator("#tasks .task.urgent[data-kind=application] a").first.click()
    officer.wait_for_selector("#case-applications")
    assert officer.get_attribute("#case-status", "data-status") == "requested"
    assert officer.locator("#assess-link").count() == 0  # not before the application is decided
    assert "+32470987654" in officer.inner_text("#case-applications")
    officer.click("#application-decide-link")
    screenshot(officer, "application-decide")
    assert officer.evaluate("window.__csp") == []
    officer.click("#application-accept")
    officer.wait_for_selector("#case-reference")
    assert officer.get_attribute("#case-status", "data-status") == "requested"
    officer.click("#assess-link")
    officer.wait_for_selector("#assessment-save")

    # a second application, declined with a reason
    declined_ref = _apply(counsellor, base, "Afgewezen")
    officer.goto(base + f"/cases/applications/{declined_ref}/")
    officer.select_option("#application-decline select[name=reason]", "other_measure")
    officer.fill("#application-decline textarea[name=note]", "A shelter place is free today.")
    officer.click("#application-decline button[type=submit]")
    officer.wait_for_selector("#application-state[data-view=declined]")
    officer.context.close()

    # the counsellor: one accepted, one declined with its reason
    counsellor.goto(base + "/cases/applications/")
    accepted_row = counsellor.locator(f'#application-table tr[data-reference="{accepted_ref}"]')
    assert accepted_row.get_attribute("data-view") == "accepted"
    declined_row = counsellor.locator(f'#application-table tr[data-reference="{declined_ref}"]')
    assert declined_row.get_attribute("data-view") == "declined"
    assert "another measure protects her better" in declined_row.inner_text()
    counsellor.click(f'#application-table a:text("{declined_ref}")')
    reason = counsellor.inner_text("#decline-reason")
    assert "another measure protects her better" in reason
    assert "A shelter place is free today." in reason
    screenshot(counsellor, "application-declined")
    counsellor.context.close()
