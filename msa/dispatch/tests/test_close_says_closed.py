"""The page after closing an incident says that it was closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from msa.accounts.models import User
from msa.core.clock import Clock
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


@pytest.mark.django_db
def test_the_page_after_closing_says_the_incident_was_closed(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    base = f"/console/incidents/{incident.reference}"
    client.force_login(User.objects.get(username="operator"))
    client.post(base + "/acknowledge/")
    client.post(base + "/outcome/", {"outcome": "false_mispress"})
    page = client.post(base + "/close/", follow=True).content.decode()
    # closed, the file asks for a reason to read on, and says what just happened
    assert "State a reason to open this file" in page
    assert f"Incident {incident.reference} is closed." in page
    # a refused close says why, and not that it was closed
    again = client.post(base + "/close/", follow=True).content.decode()
    assert "is closed." not in again
