"""Deterministic factories for dispatch, on top of the demo region (no random data)."""

from __future__ import annotations

from msa.accounts.models import User
from msa.core import clock
from msa.core.actors import Actor
from msa.dispatch.models import Dispatch, Unit
from msa.dispatch.services.dispatching import dispatch_create
from tests.support.factories import press


def operator() -> Actor:
    """The demo centre's operator."""
    return Actor.for_user(User.objects.get(username="operator"))


def unit_in(status: str, *, call_sign: str = "G-11") -> Unit:
    """A demo unit, put straight into ``status``."""
    Unit.objects.filter(call_sign=call_sign).update(status=status)
    return Unit.objects.get(call_sign=call_sign)


def dispatch_in(status: str, *, call_sign: str = "G-11", victim: int = 1) -> Dispatch:
    """A demo unit dispatched to a new incident of a demo victim, put straight into ``status``."""
    incident = press(victim, at=clock.now()).incident
    unit = Unit.objects.get(call_sign=call_sign)
    (dispatch,) = dispatch_create(incident=incident, unit_ids=[unit.pk], actor=operator())
    Dispatch.objects.filter(pk=dispatch.pk).update(status=status)
    dispatch.refresh_from_db()
    return dispatch
