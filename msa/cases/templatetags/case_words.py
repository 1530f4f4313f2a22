"""Words for a case's machine values in its templates: why it ended ("the victim withdrew her
consent", never ``consent_withdrawn``)."""

from __future__ import annotations

from django import template

from msa.cases.states import END_REASON_LABELS

register = template.Library()


@register.filter
def end_reason(value: object) -> str:
    """The words of an end reason; any other text (an officer's note) as it is."""
    label = END_REASON_LABELS.get(str(value))
    return str(label) if label is not None else str(value)
