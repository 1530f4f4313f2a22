"""MSA in the language of who reads it, in a real browser: a Dutch-speaking operator's console,
alarm and incident; the sign-in and the case pages in French and in German. Each browser asks
for its language (Accept-Language) as a Belgian workstation's would; the screenshots feed the
manuals (docs/manual/)."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 10_000


def press(url: str, victim: int) -> str:
    command = ["simulate", "press", "--victim", str(victim), "--url", url]
    result = subprocess.run(
        [sys.executable, "-m", "msa.cli", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return re.search(r"incident (\S+)", result.stdout).group(1)  # type: ignore[union-attr]


def page_in(browser: Any, locale: str) -> Any:
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 900})
    return context.new_page()


def lang(page: Any) -> str:
    return str(page.get_attribute("html", "lang"))


def test_console_alarm_and_incident_in_dutch_sign_in_and_cases_in_french_and_german(
    live_server_url: str, browser: Any
) -> None:
    base = live_server_url

    # A Dutch-speaking operator: the console, a new alarm, the incident.
    nl = page_in(browser, "nl-BE")
    try:
        nl.goto(base + "/accounts/login/")
        assert lang(nl) == "nl"
        assert nl.inner_text("main h1") == "Aanmelden bij MSA"
        sign_in(nl, base, "operator")
        nl.goto(base + "/console/")
        nl.wait_for_selector("#connection.conn-live", timeout=WAIT_MS)
        assert nl.inner_text("#connection") == "● verbonden"  # a data-* text, in Dutch
        assert nl.title().startswith("Alarmwachtrij")
        reference = press(base, 1)
        row = nl.locator(f'#queue .incident-row[data-reference="{reference}"]')
        row.wait_for(timeout=WAIT_MS)
        assert "onbevestigd" in row.inner_text()
        assert "Nieuw stalkingalarm" in nl.inner_text("#alarm-popup")
        screenshot(nl, "console-queue-nl")
        row.click()
        nl.wait_for_selector("#btn-ack", timeout=WAIT_MS)
        assert nl.inner_text("#btn-ack").startswith("Bevestigen")
        text = nl.text_content("main")  # as written: a style puts headings in capitals
        assert "Tijdlijn" in text
        assert "Laatste positie" in text
        assert nl.get_attribute("#language-switcher option[selected]", "value") == "nl"
        screenshot(nl, "console-incident-nl")
    finally:
        nl.context.close()

    # French: the sign-in, the case list and a case, as the zone's reference officer.
    fr = page_in(browser, "fr-BE")
    try:
        fr.goto(base + "/accounts/login/")
        assert lang(fr) == "fr"
        assert fr.inner_text("main h1") == "Se connecter à MSA"
        assert fr.inner_text("label[for=id_password]") == "Mot de passe"
        sign_in(fr, base, "reference")
        fr.goto(base + "/cases/")
        assert fr.title().startswith("Dossiers")
        href = fr.locator("#case-table a").first.get_attribute("href")
        fr.goto(base + str(href))
        fr.wait_for_selector("#case-reference")
        text = fr.text_content("main")
        assert "Décision et mesures" in text
        assert "Équipe de soutien" in text
        screenshot(fr, "case-detail-fr")
    finally:
        fr.context.close()

    # German: the sign-in and the same case, as the prosecutor's office's magistrate.
    de = page_in(browser, "de-BE")
    try:
        de.goto(base + "/accounts/login/")
        assert lang(de) == "de"
        assert de.inner_text("main h1") == "Bei MSA anmelden"
        sign_in(de, base, "magistrate")
        de.goto(base + str(href))
        de.wait_for_selector("#case-reference")
        assert lang(de) == "de"
        text = de.text_content("main")
        assert "Entscheidung und Maßnahmen" in text
        assert "Hilfeteam" in text
        screenshot(de, "case-detail-de")
    finally:
        de.context.close()
