"""The one incident scope (``msa.alarms.selectors.incidents_visible_to``) with its backup rule:
a centre sees its own incidents and those offered to it as backup, nothing else — "not yet
offered" and "not yours" are both 404, on every console page and action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from msa.accounts.models import Membership, Organisation, OrgKind, Role, User
from msa.alarms.models import Incident
from msa.alarms.selectors import incidents_visible_to
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.models import CentreBackup
from msa.dispatch.services.escalation import incident_backup_offer
from tests.support.factories import press

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


def _operator_of(centre: Organisation, username: str) -> User:
    user = User.objects.create_user(username=username, password="x")
    Membership.objects.create(user=user, organisation=centre, role=Role.OPERATOR)
    return user


def _pages(client: Client, incident: Incident, centre: Organisation) -> dict[str, int]:
    ref = incident.reference
    return {
        "incident": client.get(f"/console/incidents/{ref}/").status_code,
        "live": client.get(f"/console/incidents/{ref}/live/").status_code,
        "note": client.post(f"/console/incidents/{ref}/note/", {"text": "x"}).status_code,
        "queue": int(ref in client.get(f"/console/{centre.pk}/queue/").content.decode()),
    }


@pytest.mark.django_db
def test_the_backup_centre_sees_an_incident_only_once_it_is_offered(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    home = Organisation.objects.get(code="OVL")
    backup = Organisation.objects.create(kind=OrgKind.CIC, name="CIC West-Vlaanderen", code="WVL")
    other = Organisation.objects.create(kind=OrgKind.CIC, name="CIC Antwerpen", code="ANT")
    CentreBackup.objects.create(centre=home, backup=backup)
    west = _operator_of(backup, "west")
    antwerp = _operator_of(other, "antwerp")
    incident = press(at=NOW).incident

    client.force_login(west)
    before = _pages(client, incident, backup)
    assert before == {"incident": 404, "live": 404, "note": 404, "queue": 0}
    assert not incidents_visible_to(west).filter(pk=incident.pk).exists()

    clock.advance(timedelta(minutes=5))
    assert incident_backup_offer(incident=incident, actor=Actor.system("worker"))
    after = _pages(client, incident, backup)
    assert after["incident"] == 200
    assert after["live"] == 200
    assert after["note"] == 302  # the action is allowed: it redirects back to the incident
    assert after["queue"] == 1
    assert incidents_visible_to(west).filter(pk=incident.pk).exists()

    # A centre that is neither the owner nor the backup never sees it.
    client.force_login(antwerp)
    assert _pages(client, incident, other) == {
        "incident": 404,
        "live": 404,
        "note": 404,
        "queue": 0,
    }
    assert not incidents_visible_to(antwerp).filter(pk=incident.pk).exists()
    # The owning centre keeps it throughout.
    operator = User.objects.get(username="operator")
    assert incidents_visible_to(operator).filter(pk=incident.pk).exists()
