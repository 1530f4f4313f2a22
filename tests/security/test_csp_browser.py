"""The console and incident pages run under the strict CSP without a single violation."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from msa.demo_data import demo_password
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.live]

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def test_console_and_incident_pages_raise_no_csp_violation(
    live_server_url: str, browser: Any
) -> None:
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server_url, "supervisor", demo_password("supervisor"))
    page.wait_for_selector("#connection.conn-live", timeout=10_000)
    assert page.evaluate("window.__csp") == []

    result = subprocess.run(
        # a test press: it stays out of the live lane that other browser tests watch
        [
            sys.executable,
            "-m",
            "msa.cli",
            "simulate",
            "press",
            "--victim",
            "2",
            "--trigger",
            "test",
            "--url",
            live_server_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reference = re.search(r"incident (\S+)", result.stdout).group(1)  # type: ignore[union-attr]
    page.goto(f"{live_server_url}/console/incidents/{reference}/")
    # Not a live incident: the file opens only for a stated reason (msa.cases.views.reason).
    page.wait_for_selector("#reason-required")
    page.fill("#id_reason", "checking the test alarm of victim 2")
    page.click("main button[type=submit]")
    page.wait_for_selector("#victim-name")
    page.wait_for_selector("#map .leaflet-interactive", state="attached", timeout=5_000)
    page.goto(f"{live_server_url}/audit/")
    page.wait_for_selector("#audit-table")
    violations = page.evaluate("window.__csp")
    csp_errors = [e for e in errors if "Content Security Policy" in e]
    assert violations == []
    assert csp_errors == []
    context.close()
