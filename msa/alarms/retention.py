"""Retention of an ended case, the workflow across its two parts: the incidents half lives
here (the location fixes of its incidents are deleted, the encrypted fields of the records
hanging off its incidents are emptied; the incidents themselves stay for the statistics), the
cases half in ``msa.cases.retention`` (which cases are due, their people and records, the
audit row). ``case_anonymise`` is the durable entry point of one case; ``retention_run`` is
what the worker's sweep (``msa.worker.sweeps``) and ``msa retention run`` call.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from msa.alarms.models import AmlPosition, Incident, LocationFix
from msa.cases.models import ProtectionCase
from msa.cases.retention import (
    BATCH,
    KEEP_APPS,
    RETENTION_ACTOR,
    case_anonymise_step,
    case_lock_due,
    cases_due,
)
from msa.core.actors import Actor
from msa.core.crypto import EncryptedTextField, encrypted_models


def _empty_incident_records(case: ProtectionCase) -> dict[str, int]:
    """Empty the encrypted fields of every record hanging off the incidents of ``case``."""
    counts: dict[str, int] = {}
    for model, fields in encrypted_models():
        if model._meta.app_label in KEEP_APPS:
            continue
        names = [f.name for f in fields if isinstance(f, EncryptedTextField)]
        for rel in model._meta.concrete_fields:
            if not rel.is_relation or rel.related_model is not Incident:
                continue
            flt: dict[str, Any] = {f"{rel.name}__case": case}
            changed = model._default_manager.filter(**flt).update(**dict.fromkeys(names, ""))
            if changed:
                counts[model._meta.label] = counts.get(model._meta.label, 0) + changed
    return counts


@transaction.atomic(durable=True)
def case_anonymise(*, case_id: int, actor: Actor = RETENTION_ACTOR) -> bool:
    """Anonymise one ended case past its retention period; False when not (or no longer) due."""
    case = case_lock_due(case_id)
    if case is None:
        return False
    fixes_deleted, _ = LocationFix.objects.filter(incident__case=case).delete()
    # her phone's own AML positions are positions of her too (kept apart, deleted alike)
    aml_deleted, _ = AmlPosition.objects.filter(incident__case=case).delete()
    fixes_deleted += aml_deleted
    case_anonymise_step(
        case=case,
        actor=actor,
        fixes_deleted=fixes_deleted,
        incident_records=_empty_incident_records(case),
    )
    return True


def retention_run() -> int:
    """Anonymise every case that is due."""
    done = 0
    for case_id in list(cases_due().values_list("pk", flat=True)[:BATCH]):
        if case_anonymise(case_id=case_id):
            done += 1
    return done
