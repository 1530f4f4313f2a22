"""Every case transition, allowed and refused, from every state (all_pairs)."""

from __future__ import annotations

import pytest
from django.db import transaction

from msa.accounts.models import Organisation, OrgKind
from msa.cases.models import CaseTransition, ProtectionCase, Suspect, Victim
from msa.cases.states import CASE_MACHINE, CASE_TABLE, CaseState, CaseTransitionName
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import TransitionNotAllowedError
from msa.core.transitions import all_pairs, transition_apply

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def test_the_table_reaches_every_state_and_the_end_from_everywhere() -> None:
    reached = {to for _sources, to in CASE_TABLE.values()}
    assert reached | {CaseState.REQUESTED} == set(CaseState)
    end_sources, _ = CASE_TABLE[CaseTransitionName.END]
    assert end_sources == frozenset(CaseState) - {CaseState.ENDED}


@pytest.mark.parametrize(
    ("transition", "state", "allowed"),
    list(all_pairs(CASE_MACHINE)),
    ids=str,
)
def test_every_pair(transition: CaseTransitionName, state: CaseState, allowed: bool) -> None:
    zone = Organisation.objects.create(kind=OrgKind.POLICE_ZONE, name="Zone", code="ZN")
    case = ProtectionCase.objects.create(
        reference="ZN-C-2026-00001",
        police_zone=zone,
        victim=Victim.objects.create(first_name="V", last_name="W"),
        suspect=Suspect.objects.create(first_name="S", last_name="T"),
        relation="ex_partner",
        status=state,
        created_at=clock.now(),
    )
    before = CaseTransition.objects.filter(subject=case).count()
    if allowed:
        with transaction.atomic():
            updated = transition_apply(CASE_MACHINE, case, transition, actor=ACTOR)
        assert updated.status == CASE_TABLE[transition][1]
        assert CaseTransition.objects.filter(subject=case).count() == before + 1
    else:
        with pytest.raises(TransitionNotAllowedError), transaction.atomic():
            transition_apply(CASE_MACHINE, case, transition, actor=ACTOR)
        case.refresh_from_db()
        assert case.status == state
        assert CaseTransition.objects.filter(subject=case).count() == before
