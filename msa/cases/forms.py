"""Forms a reference officer, a magistrate or a counsellor fills in fast. They parse only;
the rules live in the services."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Organisation, OrgKind
from msa.cases.models import (
    RISK_ORDER,
    ApplicationItem,
    ConsentMethod,
    DeclineReason,
    JudicialStepKind,
    LaterReportKind,
    MeasureChangeKind,
    NoteKind,
    PlaceKind,
    Programme,
    ReferralWho,
    Relation,
    ReviewOutcome,
    RiskLevel,
    TeamRole,
    ZoneShape,
)
from msa.cases.risk import items_of, localised
from msa.cases.services.decision import ZoneInput
from msa.cases.services.places import ADDRESS_MAX, gazetteer_lookup
from msa.cases.states import END_REASON_LABELS, REFERRAL_TRANSITION_LABELS, EndReason
from msa.core import clock
from msa.devices.models import InventoryItem

DATE = forms.DateInput(attrs={"type": "date"})
# The longest free text a form takes (the template shows a counter against it).
LONG_TEXT = 2000
OLDEST_AGE_YEARS = 150


def birth_date_check(value: date) -> None:
    """A date of birth in the past, and less than 150 years back (a field validator)."""
    today = clock.now().date()
    if value > today:
        raise forms.ValidationError(_("A date of birth cannot be in the future."))
    if value < today.replace(year=today.year - OLDEST_AGE_YEARS):
        raise forms.ValidationError(_("A date of birth more than 150 years back is a typo."))


def confirmed(value: str) -> None:
    """An explicit "yes" to a destructive step (a field validator)."""
    if value != "yes":
        raise forms.ValidationError(_("Not confirmed: nothing changed."))


def _long_text(label: Any, rows: int = 2) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=LONG_TEXT, widget=forms.Textarea({"rows": rows})
    )


DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CaseOpenForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("police zone"))
    relation = forms.ChoiceField(choices=Relation.choices, label=_("relation to the victim"))
    same_victim_as = forms.CharField(
        label=_("same victim as case (reference)"),
        max_length=32,
        required=False,
        help_text=_("A victim protected against another suspect: a new case per suspect."),
    )
    victim_first_name = forms.CharField(
        label=_("victim: first name"), max_length=100, required=False
    )
    victim_last_name = forms.CharField(label=_("victim: last name"), max_length=100, required=False)
    victim_birth_date = forms.DateField(
        label=_("victim: date of birth"),
        required=False,
        widget=DATE,
        validators=[birth_date_check],
    )
    victim_phone = forms.CharField(label=_("victim: mobile number"), max_length=32, required=False)
    victim_address = forms.CharField(label=_("victim: address"), max_length=300, required=False)
    victim_languages = forms.CharField(label=_("victim: languages"), max_length=100, required=False)
    victim_children = _long_text(_("children and other witnesses"))
    victim_health = _long_text(_("victim: health notes"))
    suspect_first_name = forms.CharField(label=_("suspect: first name"), max_length=100)
    suspect_last_name = forms.CharField(label=_("suspect: last name"), max_length=100)
    suspect_birth_date = forms.DateField(
        label=_("suspect: date of birth"),
        required=False,
        widget=DATE,
        validators=[birth_date_check],
    )
    suspect_phone = forms.CharField(label=_("suspect: phone"), max_length=32, required=False)
    suspect_address = forms.CharField(label=_("suspect: address"), max_length=300, required=False)
    suspect_vehicle = forms.CharField(label=_("suspect: vehicle"), max_length=200, required=False)
    suspect_weapons = forms.CharField(label=_("suspect: weapons"), max_length=300, required=False)
    # Places on the incident map (optional; the places page adds more, and pins): each address
    # as on the places page, found in the gazetteer here, since this form has no map for a pin.
    place_home = forms.BooleanField(
        label=_("put her home (the address above) on the map"), required=False
    )
    place_work_address = forms.CharField(
        label=_("her work: address"), max_length=ADDRESS_MAX, required=False
    )
    place_work_label = forms.CharField(
        label=_("her work: label (optional)"), max_length=120, required=False
    )
    place_usual_address = forms.CharField(
        label=_("a usual place: address"), max_length=ADDRESS_MAX, required=False
    )
    place_usual_label = forms.CharField(
        label=_("a usual place: label (optional)"), max_length=120, required=False
    )
    place_suspect = forms.BooleanField(
        label=_("put the suspect's address (above) on the map"), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("same_victim_as") and not (
            data.get("victim_first_name") and data.get("victim_last_name")
        ):
            self.add_error("victim_last_name", _("The victim's name, or the case of the victim."))
        for field, address in self._place_addresses(data):
            if not " ".join(address.split()):
                self.add_error(field, _("An address is needed to put it on the map."))
            elif gazetteer_lookup(address) is None:
                self.add_error(
                    field,
                    _(
                        "This address is not in the gazetteer: place a pin for it on the "
                        "case's places page."
                    ),
                )
        return data

    @staticmethod
    def _place_addresses(data: dict[str, Any]) -> list[tuple[str, str]]:
        """(the field to blame, the address) of each place asked for."""
        asked = []
        if data.get("place_home"):
            asked.append(("victim_address", data.get("victim_address") or ""))
        asked.extend(
            (name, data[name])
            for name in ("place_work_address", "place_usual_address")
            if data.get(name)
        )
        if data.get("place_suspect"):
            asked.append(("suspect_address", data.get("suspect_address") or ""))
        return asked

    def places(self) -> list[tuple[str, str, str]]:
        """(kind, label, address) of each place to record with the new case."""
        d = self.cleaned_data
        rows = [
            (PlaceKind.HOME, "", d["victim_address"] if d["place_home"] else ""),
            (PlaceKind.WORK, d["place_work_label"], d["place_work_address"]),
            (PlaceKind.USUAL, d["place_usual_label"], d["place_usual_address"]),
            (PlaceKind.SUSPECT, "", d["suspect_address"] if d["place_suspect"] else ""),
        ]
        return [(kind, label, address) for kind, label, address in rows if address]

    def __init__(self, *args: Any, zones: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["zone"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = zones
        if zones.count() == 1:
            field.initial = zones.first()


def assessment_form_class(definition: dict[str, Any]) -> type[forms.Form]:
    """A form with one field per item of the instrument, plus the override.

    Every question starts unanswered and must be answered ("unknown" is an answer): a preset
    "no" would record a bombshell nobody asked about as absent."""
    fields: dict[str, forms.Field] = {}
    yes_no = [("no", _("no")), ("yes", _("yes")), ("unknown", _("unknown"))]
    unanswered = {"required": _("Answer this question (unknown is an answer).")}
    for item in items_of(definition):
        label = localised(item["text"])
        kind = item["type"]
        field: forms.Field
        if kind == "yes_no":
            field = forms.ChoiceField(
                label=label, choices=yes_no, widget=forms.RadioSelect, error_messages=unanswered
            )
        elif kind == "choice":
            field = forms.ChoiceField(
                label=label,
                choices=[(c["value"], localised(c["label"])) for c in item["choices"]],
                widget=forms.RadioSelect,
                error_messages=unanswered,
            )
        elif kind == "number":
            field = forms.IntegerField(
                label=label, min_value=0, max_value=10_000, error_messages=unanswered
            )
        else:
            field = _long_text(label)
        field.help_text = localised(item.get("help"))
        setattr(field, "msa_bombshell", bool(item.get("bombshell")))  # noqa: B010
        fields[item["key"]] = field
    fields["override_level"] = forms.ChoiceField(
        label=_("professional override (may only raise the level)"),
        choices=[("", _("none")), *RiskLevel.choices],
        required=False,
    )
    fields["override_reason"] = _long_text(_("reason for the override"))
    return type("AssessmentForm", (forms.Form,), fields)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("approve", _("approve the alarm")), ("refuse", _("refuse"))],
        widget=forms.RadioSelect,
        label=_("decision"),
        initial="approve",
    )
    reference = forms.CharField(label=_("decision reference"), max_length=64)
    valid_from = forms.DateField(label=_("valid from"), required=False, widget=DATE)
    valid_until = forms.DateField(label=_("valid until"), required=False, widget=DATE)
    contact_ban = forms.BooleanField(label=_("contact ban"), required=False, initial=True)
    conditions = _long_text(_("conditions"))
    grounds = _long_text(_("grounds"))
    circle_label = forms.CharField(label=_("area ban: place"), max_length=120, required=False)
    circle_lat = forms.FloatField(label=_("latitude"), required=False)
    circle_lon = forms.FloatField(label=_("longitude"), required=False)
    circle_radius_m = forms.IntegerField(label=_("radius (m)"), required=False, min_value=10)
    zones_json = forms.CharField(required=False, widget=forms.HiddenInput)

    def zones(self) -> list[ZoneInput]:
        data = self.cleaned_data
        zones: list[ZoneInput] = []
        if data.get("circle_lat") is not None and data.get("circle_lon") is not None:
            zones.append(
                ZoneInput(
                    label=data.get("circle_label") or "area ban",
                    shape=ZoneShape.CIRCLE,
                    lat=data["circle_lat"],
                    lon=data["circle_lon"],
                    radius_m=data.get("circle_radius_m") or 200,
                )
            )
        raw = data.get("zones_json") or ""
        if raw:
            try:
                drawn = json.loads(raw)
            except json.JSONDecodeError:
                drawn = []
            for z in drawn if isinstance(drawn, list) else []:
                if not isinstance(z, dict):
                    continue
                if z.get("shape") == ZoneShape.POLYGON:
                    zones.append(
                        ZoneInput(
                            label=str(z.get("label") or "area ban"),
                            shape=ZoneShape.POLYGON,
                            rings=z.get("rings") or [],
                        )
                    )
                elif z.get("shape") == ZoneShape.CIRCLE:
                    zones.append(
                        ZoneInput(
                            label=str(z.get("label") or "area ban"),
                            shape=ZoneShape.CIRCLE,
                            lat=z.get("lat"),
                            lon=z.get("lon"),
                            radius_m=z.get("radius_m"),
                        )
                    )
        return zones


class RenewForm(forms.Form):
    reference = forms.CharField(label=_("decision reference"), max_length=64)
    valid_until = forms.DateField(label=_("valid until"), required=False, widget=DATE)


class ConsentForm(forms.Form):
    given_at = forms.DateTimeField(label=_("consent given at"), widget=DATETIME)
    method = forms.ChoiceField(label=_("how"), choices=ConsentMethod.choices)


class LoanForm(forms.Form):
    item: forms.ModelChoiceField[InventoryItem] = forms.ModelChoiceField(
        queryset=InventoryItem.objects.none(), label=_("item in stock")
    )

    def __init__(self, *args: Any, items: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["item"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = items


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=ReviewOutcome.choices)
    risk_level = forms.ChoiceField(
        label=_("new risk level (adjust)"),
        choices=[("", "—"), *[(lv, lv) for lv in RISK_ORDER]],
        required=False,
    )
    notes = _long_text(_("notes"))


class EndForm(forms.Form):
    """Ending a case recalls her devices: no reason is preset, and the officer confirms with
    an explicit choice (neither is preselected)."""

    reason = forms.ChoiceField(
        label=_("reason"),
        choices=[
            ("", _("— choose the reason —")),
            *[(r.value, END_REASON_LABELS[r]) for r in EndReason],
        ],
    )
    note = forms.CharField(label=_("note"), required=False, max_length=300)
    confirm = forms.ChoiceField(
        label=_("End the case and recall her devices?"),
        choices=[("yes", _("yes, end it")), ("no", _("no, keep it active"))],
        widget=forms.RadioSelect,
        validators=[confirmed],
    )


class ReasonForm(forms.Form):
    """The one reason-for-access form (``msa.cases.views.reason``)."""

    reason = forms.CharField(
        label=_("Why do you open this file?"),
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300)


class TeamForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(
            kind__in=[OrgKind.SUPPORT_SERVICE, OrgKind.PROSECUTOR_OFFICE]
        ),
        label=_("organisation"),
    )
    role = forms.ChoiceField(label=_("role in the team"), choices=TeamRole.choices)
    person = forms.CharField(label=_("contact person"), max_length=150, required=False)


class ReferralForm(forms.Form):
    who = forms.ChoiceField(label=_("who"), choices=ReferralWho.choices)
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(kind=OrgKind.SUPPORT_SERVICE),
        label=_("to"),
    )


class ReferralTransitionForm(forms.Form):
    transition = forms.ChoiceField(
        choices=[(str(t), label) for t, label in REFERRAL_TRANSITION_LABELS.items()]
    )


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=NoteKind.choices)
    text = forms.CharField(
        label=_("text"), max_length=LONG_TEXT, widget=forms.Textarea({"rows": 3})
    )


class ReturnForm(forms.Form):
    condition = forms.ChoiceField(
        label=_("condition"),
        # shown in the loans table without its label: the select names itself
        widget=forms.Select(attrs={"aria-label": _("condition of the returned device")}),
        choices=[
            ("ok", _("back in stock")),
            ("repair", _("needs repair")),
            ("lost", _("lost")),
            ("retired", _("retire")),
        ],
    )


class ItemForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("kind"), choices=[("button", _("button")), ("phone", _("phone")), ("sim", _("SIM"))]
    )
    serial = forms.CharField(label=_("serial number"), max_length=64)
    imei = forms.CharField(label=_("IMEI"), max_length=17, required=False)
    iccid = forms.CharField(label=_("ICCID"), max_length=22, required=False)
    model_name = forms.CharField(label=_("model"), max_length=100, required=False)
    owner = forms.CharField(label=_("owner"), max_length=120, required=False)
    budget = forms.CharField(label=_("budget"), max_length=120, required=False)
    district: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=_("judicial district")
    )

    def __init__(self, *args: Any, districts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["district"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = districts
        if districts.count() == 1:
            field.initial = districts.first()


# --- issue 17: a support service's application, and what followed an intervention -------------


class ApplicationForm(forms.Form):
    """A counsellor's application for an alarm for a victim her service supports."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=_("applying service")
    )
    zone = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(kind=OrgKind.POLICE_ZONE),
        label=_("police zone where she lives"),
    )
    victim_first_name = forms.CharField(label=_("victim: first name"), max_length=100)
    victim_last_name = forms.CharField(label=_("victim: last name"), max_length=100)
    victim_birth_date = forms.DateField(
        label=_("victim: date of birth"),
        required=False,
        widget=DATE,
        validators=[birth_date_check],
    )
    victim_languages = forms.CharField(label=_("languages she speaks"), max_length=100)
    safe_number = forms.CharField(
        label=_("a safe number to reach her"),
        max_length=32,
        required=False,
        help_text=_("A number the suspect cannot see or answer."),
    )
    times_to_avoid = forms.CharField(
        label=_("times to avoid calling"), max_length=300, required=False
    )
    victim_address = forms.CharField(label=_("victim: address"), max_length=300, required=False)
    victim_children = _long_text(_("children and other witnesses"))
    relation = forms.ChoiceField(choices=Relation.choices, label=_("the suspect is her"))
    suspect_first_name = forms.CharField(
        label=_("suspect: first name"), max_length=100, required=False
    )
    suspect_last_name = forms.CharField(
        label=_("suspect: last name"), max_length=100, required=False
    )
    suspect_birth_date = forms.DateField(
        label=_("suspect: date of birth"),
        required=False,
        widget=DATE,
        validators=[birth_date_check],
    )
    suspect_address = forms.CharField(label=_("suspect: address"), max_length=300, required=False)
    suspect_vehicle = forms.CharField(label=_("suspect: vehicle"), max_length=200, required=False)
    suspect_weapons = forms.CharField(label=_("suspect: weapons"), max_length=300, required=False)
    org_level = forms.ChoiceField(
        label=_("your service's own assessment of the risk"), choices=RiskLevel.choices
    )
    items = forms.MultipleChoiceField(
        label=_("what you saw or heard"),
        choices=ApplicationItem.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    urgency_notes = forms.CharField(
        label=_("why protection is urgent"),
        max_length=LONG_TEXT,
        widget=forms.Textarea({"rows": 4}),
    )
    victim_agrees = forms.BooleanField(
        label=_("She agrees that her data is passed to the police."),
        required=True,
        error_messages={
            "required": _("Without her agreement nothing can be sent to the police: ask her first.")
        },
    )

    def __init__(self, *args: Any, services: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = services
        if services.count() == 1:
            field.initial = services.first()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("suspect_first_name") or data.get("suspect_last_name")):
            self.add_error("suspect_last_name", _("The suspect's name, as far as you know it."))
        return data


class ApplicationMergeForm(forms.Form):
    into = forms.CharField(
        label=_("the victim's existing case (reference)"), max_length=32, strip=True
    )


class ApplicationDeclineForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("reason"), choices=[("", "—"), *DeclineReason.choices], required=True
    )
    note = _long_text(_("note for the applicant"))


def _past_date(value: date) -> None:
    if value > clock.now().date():
        raise forms.ValidationError(_("A date in the future."))


def _on(label: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE, validators=[_past_date])


class _AfterIncident(forms.Form):
    """A record that may follow one of the case's incidents (chosen, never typed)."""

    incident_reference = forms.ChoiceField(label=_("after incident"), required=False)
    field_order = ("kind", "on", "incident_reference")

    def __init__(self, *args: Any, incidents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["incident_reference"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *incidents]


class JudicialStepForm(_AfterIncident):
    kind = forms.ChoiceField(label=_("step"), choices=JudicialStepKind.choices)
    on = _on(_("date"))
    conditions = _long_text(_("conditions (released under conditions)"))
    programme = forms.ChoiceField(
        label=_("programme (referred)"), choices=[("", "—"), *Programme.choices], required=False
    )
    notes = _long_text(_("notes"))


class MeasureChangeForm(_AfterIncident):
    kind = forms.ChoiceField(label=_("change"), choices=MeasureChangeKind.choices)
    on = _on(_("date"))
    description = forms.CharField(
        label=_("what changed"), max_length=LONG_TEXT, widget=forms.Textarea({"rows": 2})
    )


class LaterReportForm(forms.Form):
    def __init__(self, *args: Any, incidents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # a report to the police follows no incident here

    kind = forms.ChoiceField(label=_("about"), choices=LaterReportKind.choices)
    reported_on = _on(_("reported on"))
    police_reference = forms.CharField(
        label=_("police report number"), max_length=40, required=False
    )
    notes = _long_text(_("notes"))
