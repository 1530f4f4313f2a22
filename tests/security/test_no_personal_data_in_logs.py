"""No victim's or suspect's personal data in any log line: the live server's log after end-to-end
scenarios (presses through the reference client, console pages, the CLI), and the in-process
log of the console views."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.core.logging_json import EventJsonFormatter
from msa.demo_data import VICTIMS, demo_password
from tests.support.browser import demo_totp_code
from tests.support.factories import press

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


def personal_data() -> list[str]:
    found: list[str] = []
    for v in VICTIMS:
        found += [v.first_name, v.last_name, v.suspect_first, v.suspect_last, v.phone]
        found += [v.phone.replace("+32", "0"), v.address, v.suspect_address]
        # the street alone, too: "Sint-Pietersnieuwstraat 120" without the town
        found += [v.address.split(",")[0], v.suspect_address.split(",")[0]]
    return [s for s in found if s]


def leaks(text: str) -> list[str]:
    return [s for s in personal_data() if re.search(re.escape(s), text, re.IGNORECASE)]


@pytest.fixture
def msa_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, also for the ``msa`` loggers (they do not propagate to the root)."""
    msa_logger = logging.getLogger("msa")
    msa_logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="msa")
    yield caplog
    msa_logger.removeHandler(caplog.handler)


@pytest.mark.django_db
def test_console_scenario_logs_no_personal_data(
    demo: None, client: Client, clock: Any, msa_logs: pytest.LogCaptureFixture
) -> None:
    clock.freeze(NOW)
    for number, v in enumerate(VICTIMS, start=1):
        press(victim=v.number, at=NOW, number=number)
    client.force_login(User.objects.get(username="operator"))
    for incident in Incident.objects.all():
        assert client.get(f"/console/incidents/{incident.reference}/").status_code == 200
        client.post(f"/console/incidents/{incident.reference}/acknowledge/")
        client.post(f"/console/incidents/{incident.reference}/note/", {"text": "on my way"})
    client.get("/console/")
    client.get("/console/incidents/NO-SUCH/")
    client.force_login(User.objects.get(username="supervisor"))
    client.get("/audit/")
    text = "\n".join(r.getMessage() for r in msa_logs.records)
    text += "\n".join(str(r.args) for r in msa_logs.records)
    # and as the JSON lines production writes (MSA_LOG_FORMAT=json)
    text += "\n".join(EventJsonFormatter().format(r) for r in msa_logs.records)
    assert msa_logs.records, "the scenario logged nothing: the test would prove nothing"
    assert leaks(text) == []


PRESS = [sys.executable, "-m", "msa.cli", "simulate", "press", "--victim"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    page = client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": demo_password(username),
            "csrfmiddlewaretoken": token,
        },
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    page = client.post(
        "/accounts/otp/",
        data={"token": demo_totp_code(base, username), "csrfmiddlewaretoken": token, "next": "/"},
    )
    assert page.url.path.startswith("/console/"), page.url
    return client


@pytest.mark.live
def test_end_to_end_scenarios_log_no_personal_data(
    live_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outputs: list[str] = []
    for number in (1, 3):
        # test presses: they stay out of the live lane that the browser tests watch
        result = subprocess.run(
            [*PRESS, str(number), "--trigger", "test", "--url", live_server_url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
        reference = re.search(r"incident (\S+)", result.stdout).group(1)  # type: ignore[union-attr]
        console = _sign_in(live_server_url, "supervisor")
        page = console.get(f"/console/incidents/{reference}/")
        assert 'id="reason-required"' in page.text  # a test alarm is no live incident
        form = re.search(r'<form method="post" action="([^"]+)"', page.text.split("<main", 1)[1])
        assert form is not None
        page = console.post(
            form.group(1),
            data={
                "csrfmiddlewaretoken": _csrf(page.text),
                "reason": "checking the test alarm",
                "next": f"/console/incidents/{reference}/",
            },
        )
        assert page.status_code == 200
        assert 'id="victim-name"' in page.text
        console.get("/audit/")
        console.get("/console/incidents/NOT-THERE/")
    # a wrong sign-in is logged by nobody with a name either
    httpx.post(f"{live_server_url}/accounts/login/", data={"username": "x", "password": "y"})

    logs = sorted(Path(tmp_path_factory.getbasetemp()).glob("live*/server.log"))
    assert logs, "the live server's log file was not found"
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "alarm_raised" in text, "the server logged nothing: the test would prove nothing"
    # the server logs JSON lines (MSA_LOG_FORMAT=json): scan their values as decoded, too
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "alarm_raised" for line in lines), "no JSON event lines"
    text += "\n".join(str(value) for line in lines for value in line.values())
    assert leaks(text) == []
    assert leaks("\n".join(outputs)) == []
