"""Reads of the outbox, scoped to who may see them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from msa.messaging.models import MessageStatus, OutboundMessage
from msa.messaging.permissions import may_see_outbox


def dead_letters_visible_to(user: Any) -> QuerySet[OutboundMessage]:
    """Messages the outbox gave up on, newest first; nothing for anyone but supervisors and
    administrators. Dead letters of every centre and zone: a message names what it is about
    by type and id only, and the page shows no recipient and no body."""
    if not may_see_outbox(user):
        return OutboundMessage.objects.none()
    return OutboundMessage.objects.filter(status=MessageStatus.FAILED).order_by("-failed_at", "-id")
