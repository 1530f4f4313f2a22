"""The case table itself (every machine is walked in tests/test_state_machines.py)."""

from __future__ import annotations

import pytest

from msa.cases.states import CASE_TABLE, CaseState, CaseTransitionName
from msa.core.actors import Actor

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def test_the_table_reaches_every_state_and_the_end_from_everywhere() -> None:
    reached = {to for _sources, to in CASE_TABLE.values()}
    assert reached | {CaseState.REQUESTED} == set(CaseState)
    end_sources, _ = CASE_TABLE[CaseTransitionName.END]
    assert end_sources == frozenset(CaseState) - {CaseState.ENDED}
