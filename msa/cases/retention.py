"""Retention: a case that ended more than ``MSA_RETENTION_DAYS`` ago is anonymised.

Names become pseudonyms, every encrypted field of the case, its people, its records and its
incidents is emptied, the location fixes of its incidents and the places of the case (home,
work, the suspect's addresses, with their coordinates) are deleted; the incidents
themselves (timestamps, channels, outcome) stay for the statistics. Idempotent: an
anonymised case has ``anonymised_at`` and is never touched again. Audited.

This module is the cases half (which cases are due, their people and records, the audit
row). The entry point, with the incidents half (fixes, incident records), is
``msa.alarms.retention.case_anonymise``, which the worker's sweep and ``msa retention run``
call through ``msa.alarms.retention.retention_run``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction

from msa.accounts.pseudonyms import pseudonym
from msa.audit.services import audit_record
from msa.cases.models import Place, ProtectionCase, Suspect, Victim
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


def _empty_case_records(case: ProtectionCase) -> dict[str, int]:
    """Empty the encrypted fields of every record hanging off the case (the records of its
    incidents are the alarms part's: ``msa.alarms.retention``)."""
    counts: dict[str, int] = {}
    for model, fields in encrypted_models():
        if model in (ProtectionCase, Victim, Suspect) or model._meta.app_label in KEEP_APPS:
            continue
        names = [f.name for f in fields if isinstance(f, EncryptedTextField)]
        for rel in model._meta.concrete_fields:
            if not rel.is_relation or rel.related_model is not ProtectionCase:
                continue
            changed = model._default_manager.filter(**{rel.name: case}).update(
                **_encrypted_blank(names)
            )
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


def case_lock_due(case_id: int) -> ProtectionCase | None:
    """Lock an ended case that is past its retention period and not anonymised yet."""
    case = (
        ProtectionCase.objects.select_for_update()
        .filter(pk=case_id, anonymised_at__isnull=True, status=CaseState.ENDED)
        .first()
    )
    if case is None or case.ended_at is None or case.ended_at > retention_cutoff():
        return None
    return case


@transaction.atomic
def case_anonymise_step(
    *,
    case: ProtectionCase,
    actor: Actor,
    fixes_deleted: int,
    incident_records: Mapping[str, int],
) -> None:
    """The cases half of anonymising ``case`` (locked by ``case_lock_due``), in the caller's
    transaction: pseudonyms for its people, its records emptied, and the audit row, which
    also counts what the alarms half did (``fixes_deleted``, ``incident_records``)."""
    now = clock.now()
    related = dict(incident_records)
    # The victim's usual places and the suspect's addresses on the map: their coordinates are
    # as personal as the address, and no statistic needs them.
    places_deleted, _ = Place.objects.filter(case=case).delete()
    for label, count in _empty_case_records(case).items():
        related[label] = related.get(label, 0) + count
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
        new={
            "fixes_deleted": fixes_deleted,
            "places_deleted": places_deleted,
            "records_emptied": related,
        },
        reason=f"retention period of {settings.MSA_RETENTION_DAYS} days after the case ended",
    )
    log.info("case_anonymised case_id=%s fixes_deleted=%s", case.pk, fixes_deleted)
