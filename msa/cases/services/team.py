"""The care team, referrals to support services and the team's notes."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from msa.accounts.models import Organisation, OrgKind
from msa.audit.services import audit_record
from msa.cases.models import (
    CareTeamMember,
    CaseNote,
    NoteKind,
    ProtectionCase,
    Referral,
    TeamRole,
)
from msa.cases.states import REFERRAL_MACHINE, REFERRAL_TABLE, ReferralTransitionName
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError
from msa.core.transitions import history_start, transition_apply


@transaction.atomic(durable=True)
def team_member_add(
    *, case: ProtectionCase, organisation: Organisation, role: str, person: str, actor: Actor
) -> CareTeamMember:
    if role not in TeamRole.values:
        raise ValidationError(gettext_noop("unknown team role"), fields={"role": role})
    if role == TeamRole.REFERENCE_MAGISTRATE and organisation.kind != OrgKind.PROSECUTOR_OFFICE:
        raise ValidationError(
            gettext_noop("a magistrate comes from a prosecutor's office"), fields={"role": role}
        )
    if role in {TeamRole.VICTIM_SUPPORT, TeamRole.OFFENDER_COUNSELLING} and (
        organisation.kind != OrgKind.SUPPORT_SERVICE
    ):
        raise ValidationError(
            gettext_noop("support comes from a support service"), fields={"role": role}
        )
    try:
        with transaction.atomic():
            member = CareTeamMember.objects.create(
                case=case, organisation=organisation, role=role, person=person, added_at=clock.now()
            )
    except IntegrityError:
        raise ConflictError(gettext_noop("already on the team")) from None
    audit_record(
        actor=actor,
        action="case.team_add",
        subject=case,
        new={"organisation": organisation.code, "role": role},
    )
    return member


@transaction.atomic(durable=True)
def referral_create(
    *, case: ProtectionCase, who: str, organisation: Organisation, actor: Actor
) -> Referral:
    if organisation.kind != OrgKind.SUPPORT_SERVICE:
        raise ValidationError(
            gettext_noop("refer to a support service"), fields={"organisation": "kind"}
        )
    now = clock.now()
    referral = Referral.objects.create(
        case=case, who=who, organisation=organisation, created_at=now, updated_at=now
    )
    history_start(
        REFERRAL_MACHINE, referral, transition=ReferralTransitionName.PROPOSE, actor=actor, at=now
    )
    audit_record(
        actor=actor,
        action="case.referral",
        subject=case,
        new={"who": who, "organisation": organisation.code},
    )
    return referral


@transaction.atomic(durable=True)
def referral_update(*, referral: Referral, transition: str, actor: Actor) -> Referral:
    """Move a referral on by one of ``REFERRAL_MACHINE``'s transitions (history and audit
    rows included); a transition the table does not allow from its status is refused."""
    if transition not in {t.value for t in REFERRAL_TABLE}:
        raise ValidationError(gettext_noop("unknown transition"), fields={"transition": transition})
    return transition_apply(
        REFERRAL_MACHINE,
        referral,
        ReferralTransitionName(transition),
        actor=actor,
        changes={"updated_at": clock.now()},
    )


@transaction.atomic(durable=True)
def note_add(
    *,
    case: ProtectionCase,
    kind: str,
    text: str,
    actor: Actor,
    organisation: Organisation | None,
) -> CaseNote:
    if kind not in NoteKind.values:
        raise ValidationError(gettext_noop("unknown kind"), fields={"kind": kind})
    if not text.strip():
        raise ValidationError(gettext_noop("empty note"), fields={"text": "required"})
    note = CaseNote.objects.create(
        case=case,
        kind=kind,
        text=text.strip(),
        at=clock.now(),
        author=actor.label,
        author_org=organisation,
    )
    audit_record(actor=actor, action="case.note", subject=case, new={"kind": kind})
    return note
