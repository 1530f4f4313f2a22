"""The supervisor's view: workload, waiting alarms, the shift's figures; take over and
reassign (one service call, a timeline entry, an audit row), refused to everybody else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from msa.accounts.models import Organisation, User
from msa.alarms.models import Incident
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.models import Unit
from msa.dispatch.selectors import incident_timeline
from msa.dispatch.services.console import incident_acknowledge
from msa.dispatch.services.dispatching import dispatch_create
from msa.dispatch.services.escalation import incident_ack_escalate
from msa.dispatch.supervision import AckShare, shift_start
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)  # 23:14 in Ghent: the night shift


def _actor(username: str) -> Actor:
    return Actor.for_user(User.objects.get(username=username))


def _three_alarms(clock: Clock) -> tuple[Incident, Incident, Incident]:
    """A acknowledged after 5 s and sent a unit a minute later, B after 30 s, C waiting."""
    clock.freeze(NOW)
    a = press(1, at=NOW).incident
    b = press(2, at=NOW).incident
    c = press(3, at=NOW).incident
    clock.advance(timedelta(seconds=5))
    incident_acknowledge(incident=a, actor=_actor("operator"))
    clock.advance(timedelta(seconds=25))
    incident_acknowledge(incident=b, actor=_actor("operator"))
    clock.advance(timedelta(seconds=35))
    g12 = Unit.objects.get(call_sign="G-12")
    dispatch_create(incident=a, unit_ids=[g12.pk], actor=_actor("operator"))
    incident_ack_escalate(incident=c, actor=Actor.system("worker"))
    return a, b, c


@pytest.mark.django_db
def test_the_supervisor_sees_workload_waiting_alarms_and_the_shift(
    demo: None, clock: Clock, client: Client
) -> None:
    a, b, c = _three_alarms(clock)
    client.force_login(User.objects.get(username="supervisor"))
    page = client.get("/console/supervisor/").content.decode()
    # every operator's incidents
    row = page.split('data-operator="operator"')[1].split("</tr>")[0]
    assert a.reference in row
    assert b.reference in row
    assert '<td class="load">2</td>' in row
    # the alarm nobody took, with its timer and the escalation
    waiting = page.split('id="waiting"')[1].split("</section>")[0]
    assert c.reference in waiting
    assert a.reference not in waiting
    assert "waiting 65 s" in waiting
    assert "supervisor alerted" in waiting
    escalations = page.split('id="escalations"')[1].split("</section>")[0]
    assert c.reference in escalations
    assert "None this shift" not in escalations
    # the shift's figures: 1 of 3 within 10 s, 2 of 3 within 40 s, a unit 60 s after the ack
    assert 'id="fig-received">3<' in page
    assert "33 % <small>(1/3)</small>" in page
    assert "67 % <small>(2/3)</small>" in page
    assert "60 s · 60 s <small>(1)</small>" in page


def test_the_shift_starts_at_six_fourteen_or_twenty_two_local_time() -> None:
    ghent = Organisation(time_zone="Europe/Brussels")
    assert shift_start(ghent, NOW) == datetime(2026, 5, 1, 20, 0, tzinfo=UTC)
    early = datetime(2026, 5, 2, 1, 30, tzinfo=UTC)  # 03:30 local: the night shift of the 1st
    assert shift_start(ghent, early) == datetime(2026, 5, 1, 20, 0, tzinfo=UTC)
    noon = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)  # 12:00 local
    assert shift_start(ghent, noon) == datetime(2026, 5, 2, 4, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_supervisor_takes_over_and_reassigns_with_timeline_and_audit(
    demo: None, clock: Clock, client: Client
) -> None:
    a, _b, _c = _three_alarms(clock)
    supervisor = User.objects.get(username="supervisor")
    operator = User.objects.get(username="operator")
    assert Incident.objects.get(pk=a.pk).owner_id == operator.pk  # set on acknowledge
    client.force_login(supervisor)
    url = f"/console/incidents/{a.reference}/reassign/"
    response = client.post(url, {"operator": str(supervisor.pk), "reason": "heavy load"})
    assert response.status_code == 302
    assert Incident.objects.get(pk=a.pk).owner_id == supervisor.pk
    entry = AuditEntry.objects.get(action="incident.reassign")
    assert (entry.old, entry.new, entry.reason) == (
        {"owner": operator.pk},
        {"owner": supervisor.pk},
        "heavy load",
    )
    timeline = [(e.label, e.detail) for e in incident_timeline(a)]
    assert ("reassigned", "now worked by supervisor (before: operator), by supervisor") in (
        timeline
    )
    page = client.get("/console/supervisor/").content.decode()
    assert f"{a.reference} is now worked by supervisor." in page
    row = page.split('data-operator="supervisor"')[1].split("</tr>")[0]
    assert a.reference in row
    # back to the operator
    client.post(url, {"operator": str(operator.pk)})
    assert Incident.objects.get(pk=a.pk).owner_id == operator.pk
    assert AuditEntry.objects.filter(action="incident.reassign").count() == 2


@pytest.mark.django_db
def test_reassigning_is_refused_with_a_message_and_changes_nothing(
    demo: None, clock: Clock, client: Client
) -> None:
    a, _b, _c = _three_alarms(clock)
    operator = User.objects.get(username="operator")
    patrol = User.objects.get(username="patrol")
    url = f"/console/incidents/{a.reference}/reassign/"
    # an operator is not a supervisor: the view is not found, like any other's
    client.force_login(operator)
    assert client.post(url, {"operator": str(operator.pk)}).status_code == 404
    assert client.get("/console/supervisor/").status_code == 404
    client.force_login(User.objects.get(username="supervisor"))
    for data, said in (
        ({"operator": str(patrol.pk)}, "no such operator at this centre"),
        ({"operator": str(operator.pk)}, "operator already works this incident"),
        ({"operator": ""}, "choose an operator"),
        ({"operator": "99999999999"}, "choose an operator"),
    ):
        page = client.post(url, data, follow=True).content.decode()
        assert said in page
    assert Incident.objects.get(pk=a.pk).owner_id == operator.pk
    assert not AuditEntry.objects.filter(action="incident.reassign").exists()


def test_a_shift_share_says_whether_it_reaches_its_bs_8484_goal() -> None:
    assert AckShare(10, 8, 10).goal_met is True  # 80 % within 10 s
    assert AckShare(10, 7, 10).goal_met is False
    assert AckShare(40, 98, 100).goal_met is False  # 98.5 % within 40 s
    assert AckShare(40, 0, 0).goal_met is None  # nothing counted yet
