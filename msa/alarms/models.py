"""Incidents raised by devices, and the positions that come with them."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Organisation
from msa.alarms.states import (
    INCIDENT_MACHINE,
    OPEN_STATES,
    CallState,
    IncidentState,
    IncidentTransitionName,
    Lane,
    Trigger,
)
from msa.cases.models import ProtectionCase
from msa.core.models import TransitionHistory
from msa.devices.models import Device


def _choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    return [(m.value, m.value) for m in enum]


class Incident(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    centre = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("dispatch centre"),
    )
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="incidents")
    device = models.ForeignKey(
        Device,
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    alarm_id = models.UUIDField(_("alarm id"), null=True, blank=True)
    alarm_ref = models.CharField(_("alarm ref"), max_length=8, blank=True, db_index=True)
    trigger = models.CharField(_("trigger"), max_length=8, choices=_choices(Trigger))
    lane = models.CharField(_("lane"), max_length=8, choices=_choices(Lane))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=_choices(IncidentState),
        default=IncidentState.RECEIVED,
    )
    channels = models.JSONField(_("channels"), default=list)
    call_state = models.CharField(
        _("call state"),
        max_length=10,
        choices=_choices(CallState),
        default=CallState.NONE,
    )
    pressed_at = models.DateTimeField(_("pressed at (device clock)"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    on_scene_at = models.DateTimeField(_("on scene at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    call_answered_at = models.DateTimeField(_("call answered at"), null=True, blank=True)
    call_ended_at = models.DateTimeField(_("call ended at"), null=True, blank=True)
    track_until = models.DateTimeField(_("track until"), null=True, blank=True)
    phone_battery_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    button_battery_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the victim's phone said after the press (the centre still decides).
    victim_cancelled_at = models.DateTimeField(_("cancelled by victim at"), null=True, blank=True)
    duress_at = models.DateTimeField(_("duress signalled at"), null=True, blank=True)
    device_revoked_at = models.DateTimeField(_("device revoked at"), null=True, blank=True)
    # Raised by a device of a case that had ended (a press is never dropped: the centre decides).
    case_ended_at = models.DateTimeField(_("case had ended at"), null=True, blank=True)
    # A retry of the press carried another trigger than the one stored (e.g. test -> duress).
    retry_differs_at = models.DateTimeField(_("retry differed at"), null=True, blank=True)
    # More than MSA_REPEAT_PRESS_ALERT_PER_MIN presses in a minute: the supervisor was alerted.
    repeat_alerted_at = models.DateTimeField(_("repeat presses alerted at"), null=True, blank=True)
    # Why an SMS alarm could not be verified (bad_mac, missing_mac, unknown_device, ...): the
    # operator sees it next to the channel. Empty for a verified alarm.
    unverified_reason = models.CharField(_("unverified because"), max_length=32, blank=True)
    # Escalations by the worker's timers (each set once).
    ack_escalated_at = models.DateTimeField(_("supervisor alerted at"), null=True, blank=True)
    backup_centre = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="backup_incidents",
        null=True,
        blank=True,
        verbose_name=_("offered to backup centre"),
    )
    backup_offered_at = models.DateTimeField(_("offered to backup at"), null=True, blank=True)
    dispatch_overdue_at = models.DateTimeField(_("dispatch overdue at"), null=True, blank=True)
    on_scene_breach_at = models.DateTimeField(_("on-scene target missed at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    # The operator who works the incident: who acknowledged it, until a supervisor hands it
    # to another operator (msa.dispatch.services.supervisor.incident_reassign).
    owner = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("worked by"),
    )
    # The outcome, recorded before closing (see alarms.states.Outcome).
    outcome = models.CharField(_("outcome"), max_length=24, blank=True)
    violence_before_arrival = models.BooleanField(_("violence before arrival"), null=True)
    victim_injured = models.BooleanField(_("victim injured"), null=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("device", "alarm_id"),
                name="incident_unique_alarm_per_device",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=("centre", "status", "lane"))]

    def __str__(self) -> str:
        return self.reference

    # What the templates ask, from the machine (never a state literal in a template).
    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def is_unacknowledged(self) -> bool:
        return self.status == IncidentState.RECEIVED

    @property
    def is_duress(self) -> bool:
        """Pressed as duress, or cancelled on the phone with the duress PIN: treat as live."""
        return self.trigger == Trigger.DURESS or self.duress_at is not None

    @property
    def flags(self) -> list[str]:
        """What the operator must weigh: ``device_revoked``, ``case_ended``, ``retry_differs``."""
        marks = {
            "device_revoked": self.device_revoked_at,
            "case_ended": self.case_ended_at,
            "retry_differs": self.retry_differs_at,
        }
        return [name for name, at in marks.items() if at is not None]

    @property
    def can_acknowledge(self) -> bool:
        return IncidentTransitionName.ACKNOWLEDGE in INCIDENT_MACHINE.allowed(self.status)


class RepeatPress(models.Model):
    """Another press of the same device (or SMS from the victim's number) while its incident
    was open: it joined that incident instead of raising one more. Its ``alarm_id`` names the
    incident too, so the phone's follow-ups of that press (positions, call, cancel) find it."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="repeat_presses")
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    alarm_id = models.UUIDField(_("alarm id"), null=True, blank=True)
    alarm_ref = models.CharField(_("alarm ref"), max_length=8, blank=True)
    trigger = models.CharField(_("trigger"), max_length=8, choices=_choices(Trigger))
    channel = models.CharField(_("channel"), max_length=16)
    pressed_at = models.DateTimeField(_("pressed at (device clock)"))
    received_at = models.DateTimeField(_("received at"), db_index=True)

    class Meta:
        verbose_name = _("repeat press")
        verbose_name_plural = _("repeat presses")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("device", "alarm_id"), name="repeat_press_unique_alarm_per_device"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} repeat {self.received_at:%H:%M:%S}"


class IncidentTransition(TransitionHistory):
    subject = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="transitions")


class CallTransition(TransitionHistory):
    """The history of the incident's emergency call (``Incident.call_state``)."""

    subject = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="call_transitions")


class FixSource(models.TextChoices):
    GPS = "gps", "GPS"
    NETWORK = "network", _("network")
    FUSED = "fused", _("fused")
    CELL = "cell", _("cell")


class LocationFix(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="fixes")
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy_m = models.FloatField()
    fix_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=FixSource.choices)
    speed_mps = models.FloatField(null=True, blank=True)
    heading_deg = models.FloatField(null=True, blank=True)
    altitude_m = models.FloatField(null=True, blank=True)
    channel = models.CharField(max_length=16)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ("fix_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("incident", "fix_at"), name="fix_unique_per_time"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} @ {self.fix_at:%H:%M:%S}"


class AmlPosition(models.Model):
    """Where the victim's phone said it was when she dialled 101/112 herself (Advanced Mobile
    Location, docs/interop.md). Kept apart from the device's own fixes: never one of
    ``incident.fixes``, never its last position, drawn and listed on its own with its source,
    age and radius."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="aml_positions")
    lat = models.FloatField()
    lon = models.FloatField()
    radius_m = models.FloatField(_("radius (m)"), null=True, blank=True)
    fix_at = models.DateTimeField(_("positioned at"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=8)  # gnss, wifi, cell, fused, unknown
    confidence_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    altitude_m = models.FloatField(null=True, blank=True)
    shape = models.CharField(_("received as"), max_length=8)  # sms_v1, sms_v2, https
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("AML position")
        verbose_name_plural = _("AML positions")
        ordering = ("received_at", "id")

    def __str__(self) -> str:
        return f"{self.incident_id} AML @ {self.received_at:%H:%M:%S}"
