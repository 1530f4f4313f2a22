"""Words for a case's machine values in its templates: why it ended ("the victim withdrew her
consent", never ``consent_withdrawn``)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from msa.cases.models import ApplicationItem, RiskLevel
from msa.cases.states import END_REASON_LABELS

register = template.Library()


@register.filter
def end_reason(value: object) -> str:
    """The words of an end reason; any other text (an officer's note) as it is."""
    label = END_REASON_LABELS.get(str(value))
    return str(label) if label is not None else str(value)


CASE_STATE_LABELS = {
    "requested": _("requested"),
    "assessed": _("assessed"),
    "awaiting_decision": _("awaiting the magistrate's decision"),
    "approved": _("approved"),
    "refused": _("refused"),
    "awaiting_consent": _("awaiting her consent"),
    "enrolling": _("enrolling the devices"),
    "active": _("active"),
    "under_review": _("under review"),
    "suspended": _("suspended"),
    "ended": _("ended"),
}


@register.filter
def case_state(value: object) -> str:
    """A case state in the reader's language (``awaiting_decision`` is code, not words)."""
    label = CASE_STATE_LABELS.get(str(value))
    return str(label) if label is not None else str(value)


@register.filter
def risk_level(value: object) -> str:
    """A risk level (``high``) in the reader's language."""
    try:
        return str(RiskLevel(str(value)).label)
    except ValueError:
        return str(value)


@register.filter
def bombshell_words(keys: object) -> str:
    """The bombshells answered yes (``recent_separation``) in the reader's words."""
    labels = dict(ApplicationItem.choices)
    items = keys if isinstance(keys, list | tuple) else [keys]
    return ", ".join(str(labels.get(str(key), key)) for key in items)
