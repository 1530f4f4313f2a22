"""The protection case's lifecycle (design.md section 1)."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    REQUESTED = "requested"
    ASSESSED = "assessed"
    AWAITING_DECISION = "awaiting_decision"
    APPROVED = "approved"
    REFUSED = "refused"
    AWAITING_CONSENT = "awaiting_consent"
    ENROLLING = "enrolling"
    ACTIVE = "active"
    UNDER_REVIEW = "under_review"
    SUSPENDED = "suspended"
    ENDED = "ended"


# Cases whose victim the dispatch centre must be able to protect right now.
PROTECTED_STATES = frozenset({CaseState.ACTIVE, CaseState.UNDER_REVIEW})
