"""``{% evaluation_panel case as panel %}``: what the case page shows of the evaluation part —
the victim's surveys (to the case officer: answered, due, later) and the incidents whose
evidence bundle the reader may export (the case's owners)."""

from __future__ import annotations

from typing import Any

from django import template

from msa.accounts.models import User
from msa.cases.models import ProtectionCase
from msa.cases.selectors import case_access, case_owned_by
from msa.core import clock
from msa.evaluation.selectors import case_incidents_for_evidence, case_survey_slots

register = template.Library()


@register.simple_tag(takes_context=True)
def evaluation_panel(context: template.Context, case: ProtectionCase) -> dict[str, Any]:
    user = context["request"].user
    if not isinstance(user, User) or not case_owned_by(user, case):
        return {}
    officer = case_access(user, case).is_officer
    slots = case_survey_slots(case, clock.now().date()) if officer else []
    return {
        "officer": officer,
        "slots": slots,
        "due": [s for s in slots if s.due],
        "incidents": case_incidents_for_evidence(user, case),
    }
