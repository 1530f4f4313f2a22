"""Accessibility in a real browser (issue 13), in one browser context: axe-core finds no serious
or critical WCAG 2.x A/AA violation on the sign-in, the console, the incident page, the
supervisor's view, the unit's page and the case pages; the console is worked by keyboard with
a visible focus; a new alarm is announced to screen readers (an aria-live region); and a note
the operator is typing survives the incident page's live re-render on an event (issue 10).

axe-core is vendored under tests/support/vendor/axe-core (test-only, never served) and given
to every page of the context by ``add_init_script``: the pages' strict CSP stays as it is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from msa.demo_data import demo_password
from tests.support.browser import demo_totp_code, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]

AXE = Path(__file__).parent / "support" / "vendor" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
WAIT_MS = 10_000
NOTE = "Suspect seen at the back door, dark jacket"


def _axe(page: Any, name: str) -> None:
    """No serious or critical violation of WCAG 2.x A/AA on the page as it is now."""
    violations = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }""",
        WCAG,
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{name}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}" for v in blocking
    )


def _press(url: str, victim: int) -> str:
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


def _sign_in_by_keyboard(page: Any, base: str, username: str) -> None:
    """The sign-in, password and second factor, with the keyboard only (Tab, typing, Enter)."""
    page.context.clear_cookies()
    page.goto(base + "/accounts/login/")
    page.focus("#id_username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type(demo_password(username))
    page.keyboard.press("Enter")
    page.wait_for_selector("#id_token", timeout=WAIT_MS)
    page.focus("#id_token")
    page.keyboard.type(demo_totp_code(base, username))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/" not in url, timeout=WAIT_MS)


def _focus_ring(page: Any) -> tuple[str, str, float]:
    return tuple(
        page.evaluate(
            """() => {
                const el = document.activeElement, s = getComputedStyle(el);
                return [el.tagName + (el.id ? "#" + el.id : ""), s.outlineStyle,
                        parseFloat(s.outlineWidth)];
            }"""
        )
    )


def test_every_page_passes_axe_is_worked_by_keyboard_and_keeps_a_typed_note(
    live_server_url: str, browser: Any
) -> None:
    base = live_server_url
    context = browser.new_context(viewport={"width": 1400, "height": 900}, reduced_motion="reduce")
    context.add_init_script(script=AXE.read_text(encoding="utf-8"))
    page = context.new_page()
    try:
        page.goto(base + "/accounts/login/")
        _axe(page, "sign-in")

        # The console: live, then a new alarm, said aloud by the live region.
        _sign_in_by_keyboard(page, base, "operator")
        page.goto(base + "/console/")
        page.wait_for_selector("#connection.conn-live", timeout=WAIT_MS)
        announcer = page.locator("#alarm-announcer")
        assert announcer.get_attribute("aria-live") == "assertive"
        reference = _press(base, 1)
        page.wait_for_selector(f'#queue .incident-row[data-reference="{reference}"]')
        page.wait_for_function(
            "(ref) => document.getElementById('alarm-announcer').textContent.includes(ref)",
            arg=reference,
            timeout=WAIT_MS,
        )
        _axe(page, "console")

        # Every element the keyboard reaches shows where the focus is.
        page.keyboard.press("Escape")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        for _ in range(8):
            page.keyboard.press("Tab")
            name, style, width = _focus_ring(page)
            assert style != "none", f"no visible focus on {name}"
            assert width >= 2, f"a thin focus ring on {name}"

        # u opens the longest-waiting alarm; n goes to the note.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("u")
        page.wait_for_url(f"**/console/incidents/{reference}/", timeout=WAIT_MS)
        page.wait_for_selector("#connection.conn-live", timeout=WAIT_MS)
        _axe(page, "incident")
        page.keyboard.press("n")
        assert page.evaluate("document.activeElement.id") == "note-text"
        page.keyboard.type(NOTE)

        # Another press of her button: an event of this incident re-renders the live fragment.
        page.evaluate("document.getElementById('live-panel').dataset.before = '1'")
        assert _press(base, 1) == reference
        page.wait_for_function(
            "() => !document.getElementById('live-panel').dataset.before", timeout=WAIT_MS
        )
        assert page.input_value("#note-text") == NOTE
        assert page.evaluate("document.activeElement.id") == "note-text"
        page.keyboard.press("Tab")  # to "Add note"
        page.keyboard.press("Enter")
        page.wait_for_function(
            "(note) => document.getElementById('timeline').textContent.includes(note)",
            arg=NOTE,
            timeout=WAIT_MS,
        )
        screenshot(page, "accessibility-incident")
        # Closed again, so that the other browser tests of the session find victim 1 free.
        page.select_option("#outcome-select", "no_offence")
        page.click("#btn-outcome")
        page.wait_for_selector("#incident-outcome", timeout=WAIT_MS)
        page.click("#btn-close")
        page.wait_for_selector(
            '#incident-status[data-status="closed"], #reason-required', timeout=WAIT_MS
        )

        _sign_in_by_keyboard(page, base, "supervisor")
        page.goto(base + "/console/supervisor/")
        page.wait_for_selector("#shift-figures")
        _axe(page, "supervisor")

        _sign_in_by_keyboard(page, base, "patrol")
        page.goto(base + "/unit/")
        _axe(page, "unit")

        _sign_in_by_keyboard(page, base, "reference")
        page.goto(base + "/cases/")
        _axe(page, "case list")
        href = page.locator("#case-table a").first.get_attribute("href")
        for path, name in (
            (href, "case"),
            (f"{href}places/", "case places"),
            ("/cases/new/", "new case"),
        ):
            page.goto(base + path)
            _axe(page, name)
    finally:
        context.close()
