"""The whole chain, as an operator sees it: a press on a phone reaches her screen."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from msa.demo_data import victim
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_press_reaches_the_operator_queue_and_dossier(live_server_url: str, browser: Any) -> None:
    page = browser.new_page()
    sign_in(page, live_server_url, "operator")
    page.goto(live_server_url + "/console/")
    page.wait_for_selector("#connection.conn-live", timeout=10_000)
    # The live server is shared by the session: note what the queue shows before the press.
    before = set(
        page.locator(".lane-live .incident-row").evaluate_all(
            "rows => rows.map(r => r.dataset.reference)"
        )
    )

    # The phone presses, through the reference client, as a real app would.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "msa.cli",
            "simulate",
            "press",
            "--victim",
            "1",
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
    assert reference not in before

    # Without a reload, within 5 s: the row, the pop-up and the sound flag.
    row = page.locator(f'.lane-live .incident-row[data-reference="{reference}"]')
    row.wait_for(timeout=5_000)
    assert "unacknowledged" in row.inner_text()
    assert page.locator("#alarm-popup").is_visible()
    page.wait_for_selector('body[data-sound="playing"]', state="attached", timeout=5_000)
    screenshot(page, "console-queue")

    row.click()
    page.wait_for_selector("#victim-name")
    person = victim(1)
    assert page.inner_text("#victim-name") == f"{person.first_name} {person.last_name}"
    assert page.inner_text("#suspect-name") == f"{person.suspect_first} {person.suspect_last}"
    assert "200 m" in page.inner_text("#restraining-order")
    # The map drew the first position even without tiles.
    page.wait_for_selector("#map .victim-position", timeout=5_000)
    screenshot(page, "console-incident")
    page.close()
