"""The protection case's lifecycle (design.md section 1) and a referral's, as data."""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from msa.audit.services import audit_record
from msa.core.transitions import StateMachine


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


class CaseTransitionName(StrEnum):
    OPEN = "open"  # the first history row only
    ASSESS = "assess"
    SUBMIT = "submit"
    APPROVE = "approve"
    REFUSE = "refuse"
    REQUEST_CONSENT = "request_consent"
    CONSENT = "consent"
    ACTIVATE = "activate"
    START_REVIEW = "start_review"
    CONTINUE = "continue"
    RENEW = "renew"
    SUSPEND = "suspend"
    RESUME = "resume"
    END = "end"


_S = CaseState
_T = CaseTransitionName

# Every state from which a case can still be ended (with a reason).
_ENDABLE = frozenset(s for s in CaseState if s is not CaseState.ENDED)

CASE_TABLE: dict[CaseTransitionName, tuple[frozenset[CaseState], CaseState]] = {
    # A new assessment may replace an earlier one until the magistrate has decided.
    _T.ASSESS: (frozenset({_S.REQUESTED, _S.ASSESSED}), _S.ASSESSED),
    _T.SUBMIT: (frozenset({_S.ASSESSED}), _S.AWAITING_DECISION),
    _T.APPROVE: (frozenset({_S.AWAITING_DECISION}), _S.APPROVED),
    _T.REFUSE: (frozenset({_S.AWAITING_DECISION}), _S.REFUSED),
    _T.REQUEST_CONSENT: (frozenset({_S.APPROVED}), _S.AWAITING_CONSENT),
    _T.CONSENT: (frozenset({_S.AWAITING_CONSENT}), _S.ENROLLING),
    _T.ACTIVATE: (frozenset({_S.ENROLLING}), _S.ACTIVE),
    _T.START_REVIEW: (frozenset({_S.ACTIVE}), _S.UNDER_REVIEW),
    _T.CONTINUE: (frozenset({_S.UNDER_REVIEW}), _S.ACTIVE),
    _T.RENEW: (frozenset({_S.ACTIVE, _S.UNDER_REVIEW}), _S.ACTIVE),
    _T.SUSPEND: (frozenset({_S.ACTIVE, _S.UNDER_REVIEW}), _S.SUSPENDED),
    _T.RESUME: (frozenset({_S.SUSPENDED}), _S.ACTIVE),
    _T.END: (_ENDABLE, _S.ENDED),
}

CASE_MILESTONES: dict[CaseTransitionName, str] = {
    _T.ASSESS: "assessed_at",
    _T.APPROVE: "decided_at",
    _T.REFUSE: "decided_at",
    _T.CONSENT: "consented_at",
    _T.ACTIVATE: "activated_at",
    _T.END: "ended_at",
}

# States in which the case holds devices (loans may be open).
HOLDS_DEVICES = frozenset({_S.ENROLLING, _S.ACTIVE, _S.UNDER_REVIEW, _S.SUSPENDED})


class EndReason(StrEnum):
    REFUSED = "refused"
    REVIEW = "review"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    EXPIRED = "expired"
    OTHER = "other"


# Why a case ended, in words (the end form's choices, the case header): never the raw value.
END_REASON_LABELS: dict[str, Promise] = {
    EndReason.REFUSED: _("refused by the magistrate"),
    EndReason.REVIEW: _("ended at its review"),
    EndReason.CONSENT_WITHDRAWN: _("the victim withdrew her consent"),
    EndReason.EXPIRED: _("the order expired"),
    EndReason.OTHER: _("another reason"),
}


CASE_MACHINE: StateMachine[CaseState, CaseTransitionName] = StateMachine(
    name="case",
    states=CaseState,
    table=CASE_TABLE,
    history_label="cases.CaseTransition",
    audit=audit_record,
    milestones=CASE_MILESTONES,
)


# --- a referral to a support service ---------------------------------------------------------


class ReferralState(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"


class ReferralTransitionName(StrEnum):
    PROPOSE = "propose"  # the first history row only
    ACCEPT = "accept"
    START = "start"
    COMPLETE = "complete"
    DECLINE = "decline"


_RS = ReferralState
StrOrPromise = str | Promise
_RT = ReferralTransitionName

REFERRAL_TABLE: dict[ReferralTransitionName, tuple[frozenset[ReferralState], ReferralState]] = {
    _RT.ACCEPT: (frozenset({_RS.PROPOSED}), _RS.ACCEPTED),
    _RT.START: (frozenset({_RS.ACCEPTED}), _RS.IN_PROGRESS),
    _RT.COMPLETE: (frozenset({_RS.ACCEPTED, _RS.IN_PROGRESS}), _RS.COMPLETED),
    # the service declines, or the person stops before the end
    _RT.DECLINE: (frozenset({_RS.PROPOSED, _RS.ACCEPTED, _RS.IN_PROGRESS}), _RS.DECLINED),
}

# What the buttons of a referral say.
REFERRAL_TRANSITION_LABELS: dict[ReferralTransitionName, StrOrPromise] = {
    _RT.ACCEPT: _("accepted"),
    _RT.START: _("started"),
    _RT.COMPLETE: _("completed"),
    _RT.DECLINE: _("declined"),
}

REFERRAL_MACHINE: StateMachine[ReferralState, ReferralTransitionName] = StateMachine(
    name="referral",
    states=ReferralState,
    table=REFERRAL_TABLE,
    history_label="cases.ReferralTransition",
    audit=audit_record,
)


# --- an application from a support service (issue 17) ----------------------------------------
#
# A counsellor's application opens a case in ``requested`` (it lands in the zone's queue);
# the application itself has this machine: the zone's officer accepts it (the case goes on to
# the police risk assessment), merges it with an existing case of the same victim (the
# requested case ends) or declines it with a reason (the requested case ends).


class ApplicationState(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    MERGED = "merged"
    DECLINED = "declined"


class ApplicationTransitionName(StrEnum):
    SUBMIT = "submit"  # the first history row only
    ACCEPT = "accept"
    MERGE = "merge"
    DECLINE = "decline"


_AS = ApplicationState
_AT = ApplicationTransitionName

APPLICATION_TABLE: dict[
    ApplicationTransitionName, tuple[frozenset[ApplicationState], ApplicationState]
] = {
    _AT.ACCEPT: (frozenset({_AS.RECEIVED}), _AS.ACCEPTED),
    _AT.MERGE: (frozenset({_AS.RECEIVED}), _AS.MERGED),
    _AT.DECLINE: (frozenset({_AS.RECEIVED}), _AS.DECLINED),
}

APPLICATION_MACHINE: StateMachine[ApplicationState, ApplicationTransitionName] = StateMachine(
    name="application",
    states=ApplicationState,
    table=APPLICATION_TABLE,
    history_label="cases.ApplicationTransition",
    audit=audit_record,
    milestones={_AT.ACCEPT: "decided_at", _AT.MERGE: "decided_at", _AT.DECLINE: "decided_at"},
)


class ApplicantView(StrEnum):
    """What the applicant sees of her application: its own state, then the case's."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ACTIVE = "active"
    ENDED = "ended"


APPLICANT_VIEW_LABELS: dict[ApplicantView, StrOrPromise] = {
    ApplicantView.RECEIVED: _("received, waiting for the police"),
    ApplicantView.ACCEPTED: _("accepted by the police"),
    ApplicantView.DECLINED: _("declined"),
    ApplicantView.ACTIVE: _("alarm active"),
    ApplicantView.ENDED: _("ended"),
}
