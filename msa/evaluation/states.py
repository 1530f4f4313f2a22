"""The lifecycle of an incident review by the technical working group, as data.

A review is ``open`` from the moment the incident closed; the group records what went wrong
and the actions it decides, then ``concludes`` it; once every action is done it is ``closed``.
New facts reopen a concluded or closed review.
"""

from __future__ import annotations

from enum import StrEnum

from msa.audit.services import audit_record
from msa.core.transitions import StateMachine, sources


class ReviewState(StrEnum):
    OPEN = "open"
    CONCLUDED = "concluded"
    CLOSED = "closed"


class ReviewTransitionName(StrEnum):
    CREATE = "create"  # the first history row only
    CONCLUDE = "conclude"
    CLOSE = "close"
    REOPEN = "reopen"


_S = ReviewState
_T = ReviewTransitionName

REVIEW_TABLE: dict[ReviewTransitionName, tuple[frozenset[ReviewState], ReviewState]] = {
    _T.CONCLUDE: (sources(_S.OPEN), _S.CONCLUDED),
    _T.CLOSE: (sources(_S.CONCLUDED), _S.CLOSED),
    _T.REOPEN: (sources(_S.CONCLUDED, _S.CLOSED), _S.OPEN),
}

REVIEW_MILESTONES: dict[ReviewTransitionName, str] = {
    _T.CONCLUDE: "concluded_at",
    _T.CLOSE: "closed_at",
}

REVIEW_MACHINE: StateMachine[ReviewState, ReviewTransitionName] = StateMachine(
    name="incident_review",
    states=ReviewState,
    table=REVIEW_TABLE,
    history_label="evaluation.ReviewTransition",
    audit=audit_record,
    milestones=REVIEW_MILESTONES,
)
