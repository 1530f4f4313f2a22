"""The review of every closed genuine incident, and the victim's sense-of-safety survey.

A review stores only what the working group adds (what went wrong, the actions it decided);
the incident's milestones are read from the incident itself, never copied.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.alarms.models import Incident
from msa.cases.models import ProtectionCase
from msa.core.crypto import EncryptedTextField
from msa.core.models import TransitionHistory
from msa.evaluation.states import ReviewState

# --------------------------------------------------------------------------------------------
# The incident review
# --------------------------------------------------------------------------------------------


class TechnicalIssue(models.TextChoices):
    """What went wrong technically: the categories the working group counts."""

    BUTTON_LINK = "button_link", _("button's Bluetooth link")
    BATTERY = "battery", _("battery of the button or the phone")
    PHONE_APP = "phone_app", _("phone app")
    MOBILE_DATA = "mobile_data", _("mobile data did not reach the centre")
    FALLBACK_SMS = "fallback_sms", _("fallback SMS late or lost")
    CALL = "call", _("emergency call (no audio, dropped, not opened)")
    POSITION = "position", _("position missing, late or inaccurate")
    CONSOLE = "console", _("console or the centre's systems")
    ACKNOWLEDGEMENT = "acknowledgement", _("acknowledgement too slow")
    DISPATCH = "dispatch", _("dispatch or unit availability")
    ARRIVAL = "arrival", _("unit not on scene within the target")
    PROCEDURE = "procedure", _("procedure not followed")
    OTHER = "other", _("other")


REVIEW_STATUS_CHOICES = [
    (ReviewState.OPEN.value, _("open")),
    (ReviewState.CONCLUDED.value, _("concluded")),
    (ReviewState.CLOSED.value, _("closed")),
]


class IncidentReview(models.Model):
    incident = models.OneToOneField(
        Incident, on_delete=models.PROTECT, related_name="review", verbose_name=_("incident")
    )
    # changed only through REVIEW_MACHINE (msa.evaluation.services.reviews)
    status = models.CharField(
        _("status"), max_length=12, choices=REVIEW_STATUS_CHOICES, default=ReviewState.OPEN
    )
    created_at = models.DateTimeField(_("created at"))
    due_at = models.DateTimeField(_("review due at"), db_index=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    issues = models.JSONField(_("what went wrong technically"), default=list, blank=True)
    # free text: may name people or places, so encrypted at rest
    findings = EncryptedTextField(_("findings"), blank=True)
    no_issue = models.BooleanField(_("nothing went wrong"), default=False)
    escalated_at = models.DateTimeField(_("overdue escalated at"), null=True, blank=True)

    class Meta:
        ordering = ("due_at", "id")
        verbose_name = _("incident review")
        verbose_name_plural = _("incident reviews")

    def __str__(self) -> str:
        return f"review {self.incident_id}"


class ReviewTransition(TransitionHistory):
    subject = models.ForeignKey(
        IncidentReview, on_delete=models.PROTECT, related_name="transitions"
    )


class ReviewAction(models.Model):
    """An action the working group decided, with its owner and due date."""

    review = models.ForeignKey(IncidentReview, on_delete=models.PROTECT, related_name="actions")
    description = models.TextField(_("action"), max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    due_on = models.DateField(_("due on"), db_index=True)
    created_at = models.DateTimeField(_("decided at"))
    created_by = models.CharField(_("decided by"), max_length=150)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.CharField(_("done by"), max_length=150, blank=True)
    escalated_at = models.DateTimeField(_("overdue escalated at"), null=True, blank=True)

    class Meta:
        ordering = ("due_on", "id")
        verbose_name = _("review action")
        verbose_name_plural = _("review actions")

    def __str__(self) -> str:
        return f"action {self.pk} of review {self.review_id}"


# --------------------------------------------------------------------------------------------
# The victim's sense-of-safety survey
# --------------------------------------------------------------------------------------------


class SurveyWave(models.TextChoices):
    ENROLMENT = "enrolment", _("at enrolment")
    MONTH_3 = "month_3", _("after 3 months")
    MONTH_6 = "month_6", _("after 6 months")


class Compared(models.TextChoices):
    SAFER = "safer", _("safer")
    SAME = "same", _("about the same")
    LESS_SAFE = "less_safe", _("less safe")


class Confidence(models.TextChoices):
    YES = "yes", _("yes")
    PARTLY = "partly", _("partly")
    NO = "no", _("no")


class VictimSurvey(models.Model):
    """One answered wave of the sense-of-safety questionnaire, recorded by the case officer.

    ``compared`` is the answer the indicator counts ("Since you have the alarm, do you feel
    safer, about the same, or less safe?")."""

    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="surveys")
    wave = models.CharField(_("survey"), max_length=10, choices=SurveyWave.choices)
    answered_at = models.DateTimeField(_("answered at"), db_index=True)
    # 1 (very unsafe) .. 5 (very safe)
    safety_now = models.PositiveSmallIntegerField(_("how safe do you feel now"))
    compared = models.CharField(
        _("since the alarm, do you feel"), max_length=10, choices=Compared.choices
    )
    help_confidence = models.CharField(
        _("are you confident help comes when you press"),
        max_length=8,
        choices=Confidence.choices,
    )
    comment = EncryptedTextField(_("comment"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        ordering = ("answered_at", "id")
        verbose_name = _("victim survey")
        verbose_name_plural = _("victim surveys")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("case", "wave"), name="survey_one_per_wave"),
            models.CheckConstraint(
                condition=models.Q(safety_now__gte=1, safety_now__lte=5),
                name="survey_safety_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.wave}"
