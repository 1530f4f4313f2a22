"""The persisted incident event log, one ordered stream per dispatch centre.

Consoles resume from the last sequence number they saw. The sequence is handed out under
a row lock on the centre's stream that is held until commit, so sequence order is commit
order: a console that has seen N has seen every event below N.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from msa.accounts.models import Organisation


class EventStream(models.Model):
    centre = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="+")
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"stream {self.centre_id} @ {self.last_seq}"


class IncidentEvent(models.Model):
    centre = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=40)
    incident = models.ForeignKey(
        "alarms.Incident",
        on_delete=models.CASCADE,
        related_name="events",
    )
    payload = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ("centre", "seq")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("centre", "seq"), name="event_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.centre_id}#{self.seq} {self.type}"
