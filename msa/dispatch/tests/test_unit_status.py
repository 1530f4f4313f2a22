"""A unit's status moves only through UNIT_MACHINE (history rows), and the console's and the
unit's buttons come from the machines and post transition names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from msa.accounts.models import User
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.models import Dispatch, Unit, UnitTransition
from msa.dispatch.services.dispatching import dispatch_create, dispatch_progress
from msa.dispatch.states import DispatchTransitionName, UnitStatus
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def unit_history(unit: Unit) -> list[tuple[str, str, str]]:
    return [
        (t.transition, t.from_state, t.to_state)
        for t in UnitTransition.objects.filter(subject=unit).order_by("at", "id")
    ]


@pytest.mark.django_db
def test_a_dispatch_engages_the_unit_and_clearing_releases_it(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    operator = Actor.for_user(User.objects.get(username="operator"))
    g12 = Unit.objects.get(call_sign="G-12")
    (dispatch,) = dispatch_create(incident=incident, unit_ids=[g12.pk], actor=operator)
    dispatch_progress(dispatch=dispatch, transition=DispatchTransitionName.CLEAR, actor=operator)
    g12.refresh_from_db()
    assert g12.status == UnitStatus.AVAILABLE
    assert unit_history(g12) == [
        ("engage", "available", "busy"),
        ("release", "busy", "available"),
    ]


@pytest.mark.django_db
def test_the_crew_signs_off_and_on_by_transition_name_only(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    client.force_login(User.objects.get(username="patrol"))
    page = client.get("/unit/").content.decode()
    assert 'name="transition" value="sign_off"' in page
    assert 'value="sign_on"' not in page
    unit = Unit.objects.get(crew__user__username="patrol")
    # A target state is not a transition, and busy is not the crew's to set.
    for posted in ("off_duty", "engage", "busy"):
        client.post("/unit/status/", {"transition": posted})
        unit.refresh_from_db()
        assert unit.status == UnitStatus.AVAILABLE, posted
    client.post("/unit/status/", {"transition": "sign_off"})
    unit.refresh_from_db()
    assert unit.status == UnitStatus.OFF_DUTY
    assert 'name="transition" value="sign_on"' in client.get("/unit/").content.decode()
    client.post("/unit/status/", {"transition": "sign_on"})
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert [t for t, _f, _to in unit_history(unit)] == ["sign_off", "sign_on"]


@pytest.mark.django_db
def test_progress_buttons_follow_the_dispatch_machine(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    client.force_login(User.objects.get(username="operator"))
    g12 = Unit.objects.get(call_sign="G-12")
    client.post(f"/console/incidents/{incident.reference}/dispatch/", {"unit": [str(g12.pk)]})
    dispatch = Dispatch.objects.get()
    live = client.get(f"/console/incidents/{incident.reference}/live/").content.decode()
    for name in ("depart", "arrive", "clear"):
        assert f'name="transition" value="{name}"' in live
    # A target state posted as a step is refused; the dispatch does not move.
    progress = f"/console/incidents/{incident.reference}/dispatches/{dispatch.pk}/progress/"
    client.post(progress, {"transition": "on_scene"})
    dispatch.refresh_from_db()
    assert dispatch.status == "assigned"
    client.post(progress, {"transition": "arrive"})
    live = client.get(f"/console/incidents/{incident.reference}/live/").content.decode()
    assert 'value="depart"' not in live
    assert 'value="arrive"' not in live
    assert 'name="transition" value="clear"' in live
    client.force_login(User.objects.get(username="patrol"))
    page = client.get("/unit/").content.decode()
    assert 'value="depart" class="btn-en_route" id="btn-en-route" disabled' in page
    assert 'value="arrive" class="btn-on_scene" id="btn-on-scene" disabled' in page
    assert 'value="clear" class="btn-cleared" id="btn-cleared">' in page
