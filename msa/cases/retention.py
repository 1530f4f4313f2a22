"""Retention: a case that ended more than ``MSA_RETENTION_DAYS`` ago is anonymised.

Names become pseudonyms, every encrypted field of the case, its people, its records and its
incidents is emptied, the location fixes of its incidents are deleted; the incidents
themselves (timestamps, channels, outcome) stay for the statistics. Idempotent: an
anonymised case has ``anonymised_at`` and is never touched again. Audited.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction

from msa.accounts.pseudonyms import pseudonym
from msa.alarms.models import Incident, LocationFix
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase, Suspect, Victim
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.crypto import EncryptedTextField, encrypted_models

log = logging.getLogger("msa.retention")

RETENTION_ACTOR = Actor.system("retention")
BATCH = 100
# Device keys are credentials of returned hardware, not personal data; the device is revoked.
KEEP_APPS = frozenset({"devices"})


def retention_cutoff() -> Any:
    return clock.now() - timedelta(days=int(settings.MSA_RETENTION_DAYS))


def cases_due() -> models.QuerySet[ProtectionCase]:
    return ProtectionCase.objects.filter(
        status=CaseState.ENDED,
        ended_at__lte=retention_cutoff(),
        anonymised_at__isnull=True,
    ).order_by("ended_at")


def _encrypted_blank(field_names: list[str]) -> dict[str, str]:
    return dict.fromkeys(field_names, "")


def _empty_related(case: ProtectionCase) -> dict[str, int]:
    """Empty the encrypted fields of every record hanging off the case or its incidents."""
    counts: dict[str, int] = {}
    for model, fields in encrypted_models():
        if model in (ProtectionCase, Victim, Suspect) or model._meta.app_label in KEEP_APPS:
            continue
        names = [f.name for f in fields if isinstance(f, EncryptedTextField)]
        for rel in model._meta.concrete_fields:
            target = rel.related_model if rel.is_relation else None
            if target is ProtectionCase:
                flt: dict[str, Any] = {rel.name: case}
            elif target is Incident:
                flt = {f"{rel.name}__case": case}
            else:
                continue
            changed = model._default_manager.filter(**flt).update(**_encrypted_blank(names))
            if changed:
                counts[model._meta.label] = counts.get(model._meta.label, 0) + changed
    return counts


def _person_still_needed(person_field: str, person_id: int, case_id: int) -> bool:
    return (
        ProtectionCase.objects.filter(**{person_field: person_id})
        .exclude(pk=case_id)
        .filter(anonymised_at__isnull=True)
        .exists()
    )


@transaction.atomic(durable=True)
def case_anonymise(*, case_id: int, actor: Actor = RETENTION_ACTOR) -> bool:
    """Anonymise one ended case past its retention period; False when not (or no longer) due."""
    case = (
        ProtectionCase.objects.select_for_update()
        .filter(pk=case_id, anonymised_at__isnull=True, status=CaseState.ENDED)
        .first()
    )
    if case is None or case.ended_at is None or case.ended_at > retention_cutoff():
        return False
    now = clock.now()
    fixes_deleted, _ = LocationFix.objects.filter(incident__case=case).delete()
    related = _empty_related(case)
    if not _person_still_needed("victim", case.victim_id, case.pk):
        Victim.objects.filter(pk=case.victim_id).update(
            first_name=pseudonym("victim", case.victim_id),
            last_name="",
            birth_date=None,
            phone_lookup="",
            address="",
            phone_number="",
            health_notes="",
            children_notes="",
        )
    if not _person_still_needed("suspect", case.suspect_id, case.pk):
        Suspect.objects.filter(pk=case.suspect_id).update(
            first_name=pseudonym("suspect", case.suspect_id),
            last_name="",
            birth_date=None,
            phone_lookup="",
            vehicle="",
            address="",
            phone_number="",
            weapons="",
            risk_notes="",
        )
    ProtectionCase.objects.filter(pk=case.pk).update(restraining_order="", anonymised_at=now)
    audit_record(
        actor=actor,
        action="case.anonymise",
        subject=case,
        new={"fixes_deleted": fixes_deleted, "records_emptied": related},
        reason=f"retention period of {settings.MSA_RETENTION_DAYS} days after the case ended",
    )
    log.info("case_anonymised case_id=%s fixes_deleted=%s", case.pk, fixes_deleted)
    return True


def retention_run() -> int:
    """Anonymise every case that is due (the CLI and the worker sweep call this)."""
    done = 0
    for case_id in list(cases_due().values_list("pk", flat=True)[:BATCH]):
        if case_anonymise(case_id=case_id):
            done += 1
    return done
