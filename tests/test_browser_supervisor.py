"""The supervisor reassigns an incident in a real browser: the operator took it, the
supervisor's view shows it in her workload, and a take-over moves it to the supervisor."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _press(url: str, victim: int) -> str:
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


def test_the_supervisor_takes_an_incident_over(live_server_url: str, browser: Any) -> None:
    reference = _press(live_server_url, 2)
    operator = browser.new_context().new_page()
    sign_in(operator, live_server_url, "operator")
    operator.goto(f"{live_server_url}/console/incidents/{reference}/")
    operator.click("#form-ack button[type=submit]")
    operator.wait_for_selector('#incident-status[data-status="acknowledged"]', timeout=10_000)

    supervisor = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sign_in(supervisor, live_server_url, "supervisor")
    supervisor.goto(f"{live_server_url}/console/supervisor/")
    form = supervisor.locator(f'tr[data-operator="operator"] form[data-reference="{reference}"]')
    form.wait_for(timeout=10_000)
    assert supervisor.inner_text("#fig-received")  # the shift's figures are shown
    form.locator("select[name=operator]").select_option(label="supervisor (me: take over)")
    form.locator("input[name=reason]").fill("operator on a long call")
    form.locator("button.btn-reassign").click()
    supervisor.wait_for_selector(f"text={reference} is now worked by supervisor.", timeout=10_000)
    mine = supervisor.locator(f'tr[data-operator="supervisor"] form[data-reference="{reference}"]')
    mine.wait_for(timeout=10_000)
    screenshot(supervisor, "console-supervisor")
    # the operator's incident page tells her, in its timeline
    operator.reload()
    operator.wait_for_selector("#timeline", timeout=10_000)
    assert "now worked by supervisor (before: operator)" in operator.inner_text("#timeline")
    operator.context.close()
    supervisor.context.close()
