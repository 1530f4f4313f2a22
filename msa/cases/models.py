"""Victims, suspects and the protection case that links them."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Organisation
from msa.cases.states import ApplicationState, CaseState, ReferralState
from msa.core.crypto import EncryptedTextField
from msa.core.models import TransitionHistory


class Person(models.Model):
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    languages = models.CharField(_("languages"), max_length=100, blank=True)
    address = EncryptedTextField(_("address"), blank=True)
    phone_number = EncryptedTextField(_("phone number"), blank=True)
    # keyed hash of the E.164 number: the unverified-SMS rule looks the sender up by it
    phone_lookup = models.CharField(max_length=64, blank=True, db_index=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Victim(Person):
    health_notes = EncryptedTextField(_("health notes"), blank=True)
    children_notes = EncryptedTextField(_("children and witnesses"), blank=True)

    class Meta:
        verbose_name = _("victim")
        verbose_name_plural = _("victims")


class Suspect(Person):
    vehicle = models.CharField(_("vehicle"), max_length=200, blank=True)
    weapons = EncryptedTextField(_("weapons"), blank=True)
    risk_notes = EncryptedTextField(_("risk notes"), blank=True)

    class Meta:
        verbose_name = _("suspect")
        verbose_name_plural = _("suspects")


class Relation(models.TextChoices):
    EX_PARTNER = "ex_partner", _("ex-partner")
    PARTNER = "partner", _("partner")
    FAMILY = "family", _("family member (honour-related violence)")
    ACQUAINTANCE = "acquaintance", _("acquaintance")
    OTHER = "other", _("other")


class ProtectionCase(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    police_zone = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="cases",
        limit_choices_to={"kind": "police_zone"},
        verbose_name=_("police zone"),
    )
    victim = models.ForeignKey(Victim, on_delete=models.PROTECT, related_name="cases")
    suspect = models.ForeignKey(Suspect, on_delete=models.PROTECT, related_name="cases")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=[(s.value, s.value) for s in CaseState],
        default=CaseState.REQUESTED,
    )
    restraining_order = EncryptedTextField(_("restraining order"), blank=True)
    order_valid_until = models.DateField(_("order valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=200, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    # Issue 5: the current risk level and the lifecycle's milestones.
    risk_level = models.CharField(_("risk level"), max_length=8, blank=True)
    assessed_at = models.DateTimeField(_("assessed at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    consented_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    # The end of the maximum duration (renewable by a new decision).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # Issue 12: the centre's own path-monitoring probe (msa probe enrol). It is a real case so
    # that the probe's alarm takes the whole chain, and hidden from case lists, device health
    # and reports.
    is_probe = models.BooleanField(_("path-monitoring probe"), default=False, db_index=True)

    class Meta:
        verbose_name = _("protection case")
        verbose_name_plural = _("protection cases")
        indexes: ClassVar = [models.Index(fields=("police_zone", "status"))]

    def __str__(self) -> str:
        return self.reference


class CaseTransition(TransitionHistory):
    subject = models.ForeignKey(
        ProtectionCase,
        on_delete=models.PROTECT,
        related_name="transitions",
    )


# --------------------------------------------------------------------------------------------
# Issue 5: the case's workflow. A case links one victim and one suspect; a victim protected
# against several suspects has one case per suspect (each with its own decision, order,
# zones and review rhythm — they are decided and ended independently), found through
# ``victim.cases``. Children and other witnesses are recorded on the victim.
# --------------------------------------------------------------------------------------------


class RiskLevel(models.TextChoices):
    LOW = "low", _("low")
    MEDIUM = "medium", _("medium")
    HIGH = "high", _("high")
    EXTREME = "extreme", _("extreme")


RISK_ORDER: tuple[str, ...] = ("low", "medium", "high", "extreme")


class RiskInstrument(models.Model):
    """One version of a risk-assessment instrument, loaded from msa/cases/instruments/."""

    code = models.CharField(_("code"), max_length=40)
    version = models.CharField(_("version"), max_length=20)
    title = models.CharField(_("title"), max_length=200)
    definition = models.JSONField(_("definition"))
    digest = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(_("loaded at"))

    class Meta:
        verbose_name = _("risk instrument")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("code", "version"), name="instrument_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.version}"


class RiskAssessment(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="assessments")
    instrument = models.ForeignKey(RiskInstrument, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(_("answers"), default=dict)
    score = models.IntegerField(_("score"))
    computed_level = models.CharField(_("computed level"), max_length=8, choices=RiskLevel.choices)
    override_level = models.CharField(
        _("professional override"), max_length=8, choices=RiskLevel.choices, blank=True
    )
    override_reason = EncryptedTextField(_("reason for the override"), blank=True)
    level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    bombshells = models.JSONField(_("bombshell items answered yes"), default=list)
    assessed_at = models.DateTimeField(_("assessed at"))
    assessed_by = models.CharField(_("assessed by"), max_length=150)

    class Meta:
        ordering = ("-assessed_at", "-id")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.level}"


class TaskKind(models.TextChoices):
    CONTACT_PROSECUTOR = "contact_prosecutor", _("contact the prosecutor's office now")
    REVIEW = "review", _("review the case")
    APPLICATION = "application", _("decide on a support service's application")


class CaseTask(models.Model):
    """Something a reference officer must do by a deadline; the worker escalates it."""

    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=24, choices=TaskKind.choices)
    urgent = models.BooleanField(_("urgent"), default=False)
    created_at = models.DateTimeField(_("created at"))
    due_at = models.DateTimeField(_("due at"), db_index=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.CharField(_("done by"), max_length=150, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    class Meta:
        ordering = ("due_at", "id")

    def __str__(self) -> str:
        return f"{self.kind} ({self.case_id})"


class DecisionOutcome(models.TextChoices):
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    RENEWED = "renewed", _("renewed")


class Decision(models.Model):
    """The magistrate's decision (or a renewal) with its measures."""

    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(_("outcome"), max_length=10, choices=DecisionOutcome.choices)
    reference = models.CharField(_("decision reference"), max_length=64)
    decided_at = models.DateTimeField(_("decided at"))
    decided_by = models.CharField(_("decided by"), max_length=150)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    contact_ban = models.BooleanField(_("contact ban"), default=False)
    conditions = EncryptedTextField(_("conditions"), blank=True)
    grounds = EncryptedTextField(_("grounds"), blank=True)

    class Meta:
        ordering = ("-decided_at", "-id")

    def __str__(self) -> str:
        return self.reference


class ZoneShape(models.TextChoices):
    CIRCLE = "circle", _("address with a radius")
    POLYGON = "polygon", _("area drawn on the map")


class ExclusionZone(models.Model):
    """An area ban: a centre point and radius, or a polygon (rings of [lat, lon])."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="zones")
    label = models.CharField(_("label"), max_length=120)
    shape = models.CharField(_("shape"), max_length=8, choices=ZoneShape.choices)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    rings = models.JSONField(default=list, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        shape="circle",
                        lat__isnull=False,
                        lon__isnull=False,
                        radius_m__isnull=False,
                    )
                    | models.Q(shape="polygon")
                ),
                name="zone_circle_has_centre_and_radius",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", _("signed form")
    ORAL = "oral", _("orally, in person")
    INTERPRETER = "interpreter", _("orally, through an interpreter")


class Consent(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="consents")
    given_at = models.DateTimeField(_("given at"))
    method = models.CharField(_("how"), max_length=12, choices=ConsentMethod.choices)
    recorded_by = models.CharField(_("recorded by"), max_length=150)
    recorded_at = models.DateTimeField(_("recorded at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_recorded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ("-given_at", "-id")

    def __str__(self) -> str:
        return f"{self.case_id} {self.given_at:%Y-%m-%d}"


class ActivationChecklist(models.Model):
    """What must be true before the case becomes active."""

    case = models.OneToOneField(ProtectionCase, on_delete=models.PROTECT, related_name="checklist")
    button_paired_at = models.DateTimeField(_("button paired"), null=True, blank=True)
    permissions_granted_at = models.DateTimeField(
        _("phone permissions granted"), null=True, blank=True
    )
    # The test incident (lane "test") the centre received; a reference, so that cases do not
    # depend on alarms.
    test_incident_reference = models.CharField(max_length=32, blank=True)
    test_confirmed_at = models.DateTimeField(_("test alarm confirmed"), null=True, blank=True)
    confirmed_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"checklist {self.case_id}"

    @property
    def complete(self) -> bool:
        return bool(
            self.button_paired_at
            and self.permissions_granted_at
            and self.test_incident_reference
            and self.test_confirmed_at
        )


class NationalRegistration(models.Model):
    """The notice about the suspect sent to the national police database."""

    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="registrations")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    message_id = models.BigIntegerField(_("outbound message"))
    queued_at = models.DateTimeField(_("queued at"))
    kind = models.CharField(max_length=12, default="register")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class TeamRole(models.TextChoices):
    VICTIM_SUPPORT = "victim_support", _("victim support")
    OFFENDER_COUNSELLING = "offender_counselling", _("offender counselling")
    REFERENCE_MAGISTRATE = "reference_magistrate", _("reference magistrate")
    POLICE = "police", _("local police")


class CareTeamMember(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="team")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role in the team"), max_length=24, choices=TeamRole.choices)
    person = models.CharField(_("contact person"), max_length=150, blank=True)
    added_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("case", "organisation", "role"),
                condition=models.Q(left_at__isnull=True),
                name="team_one_open_membership",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.role}"


class ReferralWho(models.TextChoices):
    VICTIM = "victim", _("victim")
    OFFENDER = "offender", _("offender")


REFERRAL_STATUS_CHOICES = [
    (ReferralState.PROPOSED.value, _("proposed")),
    (ReferralState.ACCEPTED.value, _("accepted")),
    (ReferralState.IN_PROGRESS.value, _("in progress")),
    (ReferralState.COMPLETED.value, _("completed")),
    (ReferralState.DECLINED.value, _("declined")),
]


class Referral(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="referrals")
    who = models.CharField(_("who"), max_length=8, choices=ReferralWho.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    # changed only through REFERRAL_MACHINE (msa.cases.services.team.referral_update)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=REFERRAL_STATUS_CHOICES,
        default=ReferralState.PROPOSED,
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.case_id} {self.who} {self.status}"


class ReferralTransition(TransitionHistory):
    subject = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="transitions")


class NoteKind(models.TextChoices):
    NOTE = "note", _("note")
    MEETING = "meeting", _("team meeting")


class CaseNote(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="notes")
    kind = models.CharField(_("kind"), max_length=8, choices=NoteKind.choices)
    text = EncryptedTextField(_("text"))
    at = models.DateTimeField(_("at"))
    author = models.CharField(_("author"), max_length=150)
    author_org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class ReviewOutcome(models.TextChoices):
    CONTINUE = "continue", _("continue")
    ADJUST = "adjust", _("adjust the measures")
    END = "end", _("end the alarm")


class Review(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="reviews")
    due_at = models.DateTimeField(_("due at"), db_index=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=ReviewOutcome.choices, blank=True
    )
    notes = EncryptedTextField(_("notes"), blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    class Meta:
        ordering = ("due_at", "id")

    def __str__(self) -> str:
        return f"{self.case_id} review {self.due_at:%Y-%m-%d}"


# --------------------------------------------------------------------------------------------
# Issue 10: the places drawn on the incident map (msa.cases.services.places writes them,
# msa.cases.places reads them). A place's address and label are personal data, encrypted
# at rest; its coordinates are read only through the dossier's access rule.
# --------------------------------------------------------------------------------------------


class PlaceKind(models.TextChoices):
    HOME = "home", _("home of the victim")
    WORK = "work", _("work of the victim")
    USUAL = "usual", _("a usual place of the victim")
    SUSPECT = "suspect", _("known address of the suspect")


class PlaceSource(models.TextChoices):
    PIN = "pin", _("pin placed on the map")
    GAZETTEER = "gazetteer", _("found in the gazetteer")


class Place(models.Model):
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="places")
    kind = models.CharField(_("kind"), max_length=8, choices=PlaceKind.choices)
    label = EncryptedTextField(_("label"), blank=True)
    address = EncryptedTextField(_("address"))
    lat = models.FloatField()
    lon = models.FloatField()
    source = models.CharField(_("source"), max_length=10, choices=PlaceSource.choices)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ("kind", "id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90, lon__gte=-180, lon__lte=180),
                name="place_coordinates_on_earth",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class GazetteerEntry(models.Model):
    """One address of a deployment's gazetteer (a national address register as CSV): public
    data, not a person's. ``key`` is the address normalised (``address_key``)."""

    key = models.CharField(max_length=300, unique=True)
    address = models.CharField(_("address"), max_length=300)
    lat = models.FloatField()
    lon = models.FloatField()
    loaded_at = models.DateTimeField(_("loaded at"))

    def __str__(self) -> str:
        return self.address


# --------------------------------------------------------------------------------------------
# Issue 17: an application from a support service, and what followed each intervention.
# Personal fields are encrypted at rest like the victim's and the suspect's.
# --------------------------------------------------------------------------------------------


class ApplicationItem(models.TextChoices):
    """What the support service saw (the same keys as the risk instrument's items)."""

    THREAT_TO_KILL = "threat_to_kill", _("threats to kill her, her children or himself")
    STRANGULATION = "strangulation", _("strangulation, choking or smothering")
    WEAPON = "weapon", _("a weapon (owned, shown or used)")
    RECENT_SEPARATION = "recent_separation", _("a recent separation")
    ORDER_BREACH = "order_breach", _("an earlier order or contact ban broken")
    SEVERAL_PERPETRATORS = "several_perpetrators", _("several relatives involved")
    ESCALATION = "escalation", _("incidents more frequent or more serious")
    FOLLOWING = "following", _("following her, waiting for her, turning up")
    SEXUAL_VIOLENCE = "sexual_violence", _("sexual violence")
    CHILDREN = "children", _("children at risk")
    VICTIM_FEAR = "victim_fear", _("she fears he could kill her")


# The items that make an application urgent: the risk instrument's bombshells.
APPLICATION_BOMBSHELLS = frozenset(
    {
        ApplicationItem.THREAT_TO_KILL,
        ApplicationItem.STRANGULATION,
        ApplicationItem.WEAPON,
        ApplicationItem.RECENT_SEPARATION,
        ApplicationItem.ORDER_BREACH,
        ApplicationItem.SEVERAL_PERPETRATORS,
    }
)


class DeclineReason(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", _("the situation does not meet the programme's criteria")
    OTHER_MEASURE = "other_measure", _("another measure protects her better")
    VICTIM_UNREACHABLE = "victim_unreachable", _("the victim could not be reached")
    VICTIM_DECLINED = "victim_declined", _("the victim does not want the alarm")
    WRONG_ZONE = "wrong_zone", _("she lives outside this police zone")
    OTHER = "other", _("other (see the note)")


APPLICATION_STATUS_CHOICES = [
    (ApplicationState.RECEIVED.value, _("received")),
    (ApplicationState.ACCEPTED.value, _("accepted")),
    (ApplicationState.MERGED.value, _("merged with an existing case")),
    (ApplicationState.DECLINED.value, _("declined")),
]


class CaseApplication(models.Model):
    """A support service's application for an alarm. It opened ``case`` (in ``requested``);
    merged, it points at the existing case it joined (``merged_into``)."""

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="applications")
    merged_into = models.ForeignKey(
        ProtectionCase,
        on_delete=models.PROTECT,
        related_name="merged_applications",
        null=True,
        blank=True,
    )
    source_org = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="applications",
        limit_choices_to={"kind": "support_service"},
        verbose_name=_("support service"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # changed only through APPLICATION_MACHINE (msa.cases.services.application)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=APPLICATION_STATUS_CHOICES,
        default=ApplicationState.RECEIVED,
    )
    safe_number = EncryptedTextField(_("safe number"), blank=True)
    times_to_avoid = EncryptedTextField(_("times to avoid"), blank=True)
    org_level = models.CharField(
        _("the service's own assessment"), max_length=8, choices=RiskLevel.choices
    )
    urgency_notes = EncryptedTextField(_("why protection is urgent"))
    items = models.JSONField(_("what the service saw"), default=list)
    urgent = models.BooleanField(_("urgent"), default=False)
    victim_agreed_at = models.DateTimeField(_("victim agreed to pass her data on"))
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)
    decline_reason = models.CharField(
        _("reason"), max_length=20, choices=DeclineReason.choices, blank=True
    )
    decline_note = EncryptedTextField(_("note on the reason"), blank=True)

    class Meta:
        ordering = ("-submitted_at", "-id")
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes: ClassVar = [models.Index(fields=("source_org", "submitted_at"))]

    def __str__(self) -> str:
        return self.reference


class ApplicationTransition(TransitionHistory):
    subject = models.ForeignKey(
        CaseApplication, on_delete=models.PROTECT, related_name="transitions"
    )


class JudicialStepKind(models.TextChoices):
    ARRESTED = "arrested", _("arrested")
    BEFORE_JUDGE = "before_judge", _("brought before the investigating judge")
    DETAINED = "detained", _("pre-trial detention")
    RELEASED_CONDITIONS = "released_conditions", _("released under conditions")
    RELEASED = "released", _("released without conditions")
    REFERRED = "referred", _("referred to a programme")
    DISMISSED = "dismissed", _("no further action")


class Programme(models.TextChoices):
    AGGRESSION = "aggression", _("aggression therapy")
    ADDICTION = "addiction", _("addiction treatment")
    OFFENDER_COUNSELLING = "offender_counselling", _("offender counselling")
    OTHER = "other", _("another programme")


class JudicialStep(models.Model):
    """One step of the suspect's judicial follow-up after an incident (append-only)."""

    case = models.ForeignKey(
        ProtectionCase, on_delete=models.PROTECT, related_name="judicial_steps"
    )
    # the incident it follows (a reference, so that cases do not depend on alarms)
    incident_reference = models.CharField(_("incident"), max_length=32, blank=True)
    kind = models.CharField(_("step"), max_length=20, choices=JudicialStepKind.choices)
    on = models.DateField(_("date"))
    conditions = EncryptedTextField(_("conditions"), blank=True)
    programme = models.CharField(
        _("programme"), max_length=20, choices=Programme.choices, blank=True
    )
    notes = EncryptedTextField(_("notes"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        ordering = ("on", "id")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.on}"


class MeasureChangeKind(models.TextChoices):
    NEW_ORDER = "new_order", _("a new order")
    STRICTER_ORDER = "stricter_order", _("a stricter order")
    NEW_AREA_BAN = "new_area_ban", _("a new or wider area ban")
    OTHER = "other", _("another change")


class MeasureChange(models.Model):
    """A measure that changed after an incident (append-only)."""

    case = models.ForeignKey(
        ProtectionCase, on_delete=models.PROTECT, related_name="measure_changes"
    )
    incident_reference = models.CharField(_("incident"), max_length=32, blank=True)
    kind = models.CharField(_("change"), max_length=16, choices=MeasureChangeKind.choices)
    on = models.DateField(_("date"))
    description = EncryptedTextField(_("what changed"))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        ordering = ("on", "id")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.on}"


class LaterReportKind(models.TextChoices):
    ORDER_BREACH = "order_breach", _("breach of the order or contact ban")
    THREATS = "threats", _("threats")
    VIOLENCE = "violence", _("violence")
    STALKING = "stalking", _("stalking or harassment")
    OTHER = "other", _("other")


class LaterReport(models.Model):
    """A report the victim made to the police about the suspect, recorded on the case."""

    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="later_reports")
    reported_on = models.DateField(_("reported on"))
    kind = models.CharField(_("about"), max_length=16, choices=LaterReportKind.choices)
    police_reference = models.CharField(_("police report number"), max_length=40, blank=True)
    notes = EncryptedTextField(_("notes"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        ordering = ("reported_on", "id")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.reported_on}"
