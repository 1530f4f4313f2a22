"""The response targets reach the console's pages from settings ({% console_targets %})."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from msa.accounts.models import User
from msa.core.clock import Clock
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def body_attributes(html: str) -> dict[str, str]:
    tag = re.search(r"<body\b[^>]*>", html)
    assert tag is not None
    return dict(re.findall(r'(data-[\w-]+)="([^"]*)"', tag.group(0)))


@pytest.mark.django_db
def test_changed_targets_reach_the_queue_and_incident_pages(
    demo: None, clock: Clock, client: Client, settings: Any
) -> None:
    settings.MSA_ACK_TARGET_S = 45
    settings.MSA_DISPATCH_TARGET_S = 150
    settings.MSA_ON_SCENE_TARGET_S = 420
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    client.force_login(User.objects.get(username="operator"))
    expected = {
        "data-ack-target": "45",
        "data-dispatch-target": "150",
        "data-on-scene-target": "420",
    }
    for url in ("/console/", f"/console/incidents/{incident.reference}/"):
        response = client.get(url)
        assert response.status_code == 200
        attributes = body_attributes(response.content.decode())
        assert {name: attributes.get(name) for name in expected} == expected, url
