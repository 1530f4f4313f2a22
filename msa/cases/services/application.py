"""Applications from support services (issue 17): a counsellor applies for an alarm for a
victim she supports; the application opens a case in ``requested`` in the zone's queue with a
task for the reference officers, who accept it (the case goes on to the police risk
assessment), merge it with an existing case of the same victim, or decline it with a reason.

The application's own state changes only through ``APPLICATION_MACHINE`` (history and audit
rows); the applicant is told of every change through the outbox, in a message that carries
the application's reference and its state, never the victim's data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from msa.accounts.models import Membership, Organisation, OrgKind, User
from msa.accounts.selectors import reference_officer_emails
from msa.audit.services import audit_record
from msa.cases.models import (
    APPLICATION_BOMBSHELLS,
    ApplicationItem,
    CareTeamMember,
    CaseApplication,
    CaseTask,
    DeclineReason,
    ProtectionCase,
    RiskLevel,
    TaskKind,
    TeamRole,
)
from msa.cases.phones import normalise_phone
from msa.cases.services.opening import PersonInput, case_create
from msa.cases.states import (
    APPLICANT_VIEW_LABELS,
    APPLICATION_MACHINE,
    CASE_MACHINE,
    PROTECTED_STATES,
    ApplicantView,
    ApplicationState,
    ApplicationTransitionName,
    CaseState,
    CaseTransitionName,
    EndReason,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError
from msa.core.references import reference_next
from msa.core.transitions import history_start, transition_apply
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue

log = logging.getLogger("msa.cases")

AT = ApplicationTransitionName

# How long the zone's officers have to decide, by urgency. An application with a bombshell
# item, or that the service itself assessed as extreme, has the bombshell's deadline
# (MSA_BOMBSHELL_DEADLINE_S) and is urgent.
DEADLINES: dict[str, timedelta] = {
    RiskLevel.HIGH: timedelta(hours=24),
    RiskLevel.MEDIUM: timedelta(hours=72),
    RiskLevel.LOW: timedelta(days=7),
}

NO_AGREEMENT = (
    "the victim has not agreed to her data being passed to the police: nothing was sent. "
    "Ask her first; without her agreement the police cannot receive the application"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationInput:
    victim: PersonInput
    suspect: PersonInput
    relation: str
    safe_number: str = ""
    times_to_avoid: str = ""
    org_level: str
    urgency_notes: str
    items: tuple[str, ...] = ()
    victim_agrees: bool


def application_urgent(*, org_level: str, items: Iterable[str]) -> bool:
    return org_level == RiskLevel.EXTREME or bool(set(items) & APPLICATION_BOMBSHELLS)


def application_deadline(*, org_level: str, urgent: bool) -> timedelta:
    if urgent:
        return timedelta(seconds=settings.MSA_BOMBSHELL_DEADLINE_S)
    return DEADLINES.get(org_level, DEADLINES[RiskLevel.MEDIUM])


def _support_member(user: User, organisation: Organisation) -> bool:
    return (
        organisation.kind == OrgKind.SUPPORT_SERVICE
        and Membership.objects.filter(user=user, organisation=organisation).exists()
    )


def _validate(data: ApplicationInput, zone: Organisation) -> tuple[str, list[str]]:
    if not data.victim_agrees:
        raise ValidationError(NO_AGREEMENT, fields={"victim_agrees": "required"})
    if zone.kind != OrgKind.POLICE_ZONE:
        raise ValidationError(
            gettext_noop("choose the victim's police zone"), fields={"zone": "not a zone"}
        )
    if not (data.victim.first_name.strip() and data.victim.last_name.strip()):
        raise ValidationError(
            gettext_noop("the victim's first and last name"),
            fields={"victim_last_name": "required"},
        )
    if data.org_level not in RiskLevel.values:
        raise ValidationError(
            gettext_noop("the service's own assessment"), fields={"org_level": "unknown"}
        )
    if not data.urgency_notes.strip():
        raise ValidationError(
            gettext_noop("say why protection is urgent"), fields={"urgency_notes": "required"}
        )
    unknown = sorted(set(data.items) - set(ApplicationItem.values))
    if unknown:
        raise ValidationError(
            gettext_noop("unknown item"), fields={"items": ", ".join(unknown)[:80]}
        )
    safe = ""
    if data.safe_number.strip():
        safe = normalise_phone(data.safe_number, region=zone.country)
    return safe, sorted(set(data.items))


@transaction.atomic(durable=True)
def application_submit(
    *,
    organisation: Organisation,
    zone: Organisation,
    data: ApplicationInput,
    applicant: User,
) -> CaseApplication:
    """Store the application, open its case in ``requested`` and the officers' task.

    Refused (nothing stored) without the victim's agreement to pass her data to the police,
    or from someone who is not a member of ``organisation`` (a support service)."""
    if not _support_member(applicant, organisation):
        raise ValidationError(
            gettext_noop("only a member of a support service applies"),
            fields={"organisation": "not yours"},
        )
    safe, items = _validate(data, zone)
    actor = Actor.for_user(applicant)
    now = clock.now()
    case = case_create(
        zone=zone, victim=data.victim, suspect=data.suspect, relation=data.relation, actor=actor
    )
    urgent = application_urgent(org_level=data.org_level, items=items)
    application = CaseApplication.objects.create(
        reference=reference_next(f"{zone.code}-A", now.year),
        case=case,
        source_org=organisation,
        applicant=applicant,
        status=ApplicationState.RECEIVED,
        safe_number=safe,
        times_to_avoid=data.times_to_avoid.strip(),
        org_level=data.org_level,
        urgency_notes=data.urgency_notes.strip(),
        items=items,
        urgent=urgent,
        victim_agreed_at=now,
        submitted_at=now,
    )
    history_start(APPLICATION_MACHINE, application, transition=AT.SUBMIT, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="application.submit",
        subject=application,
        new={
            "reference": application.reference,
            "case": case.reference,
            "zone": zone.code,
            "organisation": organisation.code,
            "org_level": data.org_level,
            "items": items,
            "urgent": urgent,
        },
        at=now,
    )
    task = CaseTask.objects.create(
        case=case,
        kind=TaskKind.APPLICATION,
        urgent=urgent,
        created_at=now,
        due_at=now + application_deadline(org_level=data.org_level, urgent=urgent),
    )
    audit_record(
        actor=actor,
        action="case.task_open",
        subject=task,
        new={"case": case.reference, "kind": task.kind, "due_at": task.due_at.isoformat()},
        at=now,
    )
    _alert_officers(application, task, actor)
    log.info(
        "application_submitted application=%s zone=%s urgent=%s",
        application.reference,
        zone.code,
        urgent,
    )
    return application


def _alert_officers(application: CaseApplication, task: CaseTask, actor: Actor) -> int:
    """Tell each of the zone's reference officers, in their own language, that an application
    waits for them: its reference, whether it is urgent and by when to decide, never the
    victim's data. The number of messages queued."""
    zone = application.case.police_zone
    recipients = reference_officer_emails(zone)
    for recipient in recipients:
        with in_recipient_language(recipient, zone):
            received = str(APPLICANT_VIEW_LABELS[ApplicantView.RECEIVED])
            what = str(task.get_kind_display())
            what = what[:1].upper() + what[1:]
            if application.urgent:
                what += f" ({gettext('urgent')})"
            body = (
                f"{what} {application.reference} — {gettext('due at')}: "
                f"{task.due_at.isoformat(timespec='minutes')}. "
                + gettext("The application's page shows the details.")
            )
            subject = gettext("Application %(ref)s: %(state)s") % {
                "ref": application.reference,
                "state": received,
            }
            if application.urgent:
                urgent = gettext("urgent")
                subject = f"{urgent[:1].upper()}{urgent[1:]}: {subject}"
            message_enqueue(
                channel=MessageChannel.NOTIFICATION,
                recipient=recipient,
                subject=subject,
                body=body,
                actor=actor,
                about=application,
            )
    return len(recipients)


# --- what the applicant sees --------------------------------------------------------------------


def applicant_view(application: CaseApplication) -> ApplicantView:
    """The applicant's view of her application: received, accepted, declined, then the
    state of the case it leads to (active, ended)."""
    if application.status == ApplicationState.RECEIVED:
        # ended by the zone before anybody decided on the application
        if application.case.status == CaseState.ENDED:
            return ApplicantView.ENDED
        return ApplicantView.RECEIVED
    if application.status == ApplicationState.DECLINED:
        return ApplicantView.DECLINED
    case = application.merged_into if application.merged_into_id else application.case
    assert case is not None
    if case.status in PROTECTED_STATES or case.status == CaseState.SUSPENDED:
        return ApplicantView.ACTIVE
    if case.status in {CaseState.ENDED, CaseState.REFUSED}:
        return ApplicantView.ENDED
    return ApplicantView.ACCEPTED


def applicant_recipient(user: User, organisation: Organisation) -> str:
    return user.email or f"{user.get_username()}@{organisation.code}"


def _notify(application: CaseApplication, actor: Actor) -> None:
    """Tell the applicant, in her own language, that her application changed: its reference
    and its state (and a decline's reason), never the victim's data."""
    view = applicant_view(application)
    recipient = applicant_recipient(application.applicant, application.source_org)
    with in_recipient_language(recipient, application.source_org):
        facts = {"ref": application.reference, "state": str(APPLICANT_VIEW_LABELS[view])}
        body = gettext("Your application %(ref)s is now: %(state)s.") % facts
        if view == ApplicantView.DECLINED and application.decline_reason:
            body += " " + gettext("Reason: %(reason)s.") % {
                "reason": str(DeclineReason(application.decline_reason).label)
            }
        body += " " + gettext("The application's page shows the details.")
        message_enqueue(
            channel=MessageChannel.NOTIFICATION,
            recipient=recipient,
            subject=gettext("Application %(ref)s: %(state)s") % facts,
            body=body,
            actor=actor,
            about=application,
        )


def applications_case_changed(*, case: ProtectionCase, actor: Actor) -> int:
    """A step of the transition that activated or ended ``case``: tell the applicants whose
    accepted application led to it. The number told."""
    told = 0
    for application in (
        CaseApplication.objects.filter(case=case, status=ApplicationState.ACCEPTED)
        | CaseApplication.objects.filter(merged_into=case, status=ApplicationState.MERGED)
    ).select_related("applicant", "source_org", "case", "merged_into"):
        _notify(application, actor)
        told += 1
    return told


# --- the officer's decision -------------------------------------------------------------------


def _lock_received(application: CaseApplication) -> CaseApplication:
    locked = (
        CaseApplication.objects.select_for_update(of=("self",))
        .select_related("case__police_zone", "source_org", "applicant")
        .get(pk=application.pk)
    )
    if locked.status != ApplicationState.RECEIVED:
        raise ConflictError(gettext_noop("this application was already decided"))
    return locked


def _done(application: CaseApplication, actor: Actor) -> None:
    now = clock.now()
    application.case.tasks.filter(kind=TaskKind.APPLICATION, done_at__isnull=True).update(
        done_at=now, done_by=actor.label
    )


def _on_team(case: ProtectionCase, organisation: Organisation, actor: Actor) -> None:
    """The applying service supports the victim: it joins the case's care team (and sees the
    team's part of the case, nothing more)."""
    if case.team.filter(organisation=organisation, left_at__isnull=True).exists():
        return
    CareTeamMember.objects.create(
        case=case, organisation=organisation, role=TeamRole.VICTIM_SUPPORT, added_at=clock.now()
    )
    audit_record(
        actor=actor,
        action="case.team_add",
        subject=case,
        new={"organisation": organisation.code, "role": TeamRole.VICTIM_SUPPORT},
    )


@transaction.atomic(durable=True)
def application_accept(*, application: CaseApplication, actor: Actor) -> CaseApplication:
    """The application becomes a case: it stays ``requested`` and goes on to the police risk
    assessment (a bombshell there opens the prosecutor task, as for every case)."""
    locked = _lock_received(application)
    accepted = transition_apply(
        APPLICATION_MACHINE, locked, AT.ACCEPT, actor=actor, changes={"decided_by": actor.label}
    )
    _done(accepted, actor)
    _on_team(accepted.case, accepted.source_org, actor)
    _notify(accepted, actor)
    return accepted


@transaction.atomic(durable=True)
def application_merge(
    *, application: CaseApplication, into: ProtectionCase, actor: Actor
) -> CaseApplication:
    """The victim already has a case: the application joins it (its urgency and contact
    details are shown there) and the case the application opened ends."""
    locked = _lock_received(application)
    if into.pk == locked.case_id:
        raise ValidationError(
            gettext_noop("merge with another case"), fields={"into": "the same case"}
        )
    if into.police_zone_id != locked.case.police_zone_id:
        raise ValidationError(
            gettext_noop("merge with a case of the same zone"), fields={"into": "zone"}
        )
    if into.status in {CaseState.ENDED, CaseState.REFUSED}:
        raise ValidationError(
            gettext_noop("that case is closed"), fields={"into": str(into.status)}
        )
    merged = transition_apply(
        APPLICATION_MACHINE,
        locked,
        AT.MERGE,
        actor=actor,
        reason=into.reference,
        changes={"merged_into": into, "decided_by": actor.label},
    )
    transition_apply(
        CASE_MACHINE,
        merged.case,
        CaseTransitionName.END,
        actor=actor,
        reason=f"application merged into {into.reference}",
        changes={"end_reason": EndReason.OTHER},
    )
    _done(merged, actor)
    _on_team(into, merged.source_org, actor)
    merged = CaseApplication.objects.select_related(
        "case", "merged_into", "applicant", "source_org"
    ).get(pk=merged.pk)
    _notify(merged, actor)
    return merged


@transaction.atomic(durable=True)
def application_decline(
    *, application: CaseApplication, reason: str, note: str = "", actor: Actor
) -> CaseApplication:
    """Declined with a reason the applicant sees; the case the application opened ends."""
    if reason not in DeclineReason.values:
        raise ValidationError(gettext_noop("choose the reason"), fields={"reason": "required"})
    if reason == DeclineReason.OTHER and not note.strip():
        raise ValidationError(gettext_noop("say why in the note"), fields={"note": "required"})
    locked = _lock_received(application)
    declined = transition_apply(
        APPLICATION_MACHINE,
        locked,
        AT.DECLINE,
        actor=actor,
        reason=reason,
        changes={"decline_reason": reason, "decided_by": actor.label},
    )
    # the note is personal data: stored encrypted, never in the audit row's values
    declined.decline_note = note.strip()
    declined.save(update_fields=["decline_note"])
    transition_apply(
        CASE_MACHINE,
        declined.case,
        CaseTransitionName.END,
        actor=actor,
        reason="application declined",
        # not the magistrate's refusal: the police declined the service's application
        changes={"end_reason": EndReason.OTHER},
    )
    _done(declined, actor)
    _notify(declined, actor)
    return declined


@transaction.atomic
def application_read(*, application: CaseApplication, actor: Actor, scope: str) -> None:
    """Every read of an application (its victim's data) is audited with what the reader saw:
    ``applicant`` (her own service's application) or ``officer`` (the zone's)."""
    audit_record(actor=actor, action="application.read", subject=application, new={"scope": scope})
