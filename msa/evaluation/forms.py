"""The evaluation part's forms: they parse; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import User
from msa.evaluation.models import Compared, Confidence, TechnicalIssue

LONG_TEXT = 2000


class FindingsForm(forms.Form):
    issues = forms.MultipleChoiceField(
        label=_("what went wrong technically"),
        choices=TechnicalIssue.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    no_issue = forms.BooleanField(label=_("nothing went wrong"), required=False)
    findings = forms.CharField(
        label=_("findings"),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": LONG_TEXT}),
        max_length=LONG_TEXT,
        required=False,
    )


class ActionForm(forms.Form):
    description = forms.CharField(
        label=_("action"),
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": LONG_TEXT}),
        max_length=LONG_TEXT,
    )
    owner = forms.ModelChoiceField(label=_("owner"), queryset=User.objects.none())
    due_on = forms.DateField(label=_("due on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in owners]).order_by("username")


SAFETY_SCALE = [
    ("", _("— choose —")),
    ("1", _("1 — very unsafe")),
    ("2", _("2 — unsafe")),
    ("3", _("3 — neither")),
    ("4", _("4 — safe")),
    ("5", _("5 — very safe")),
]


class SurveyForm(forms.Form):
    """Nothing is preset: each answer is the victim's."""

    wave = forms.ChoiceField(label=_("survey"))
    answered_at = forms.DateTimeField(
        label=_("answered at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    safety_now = forms.TypedChoiceField(
        label=_("How safe do you feel now?"), choices=SAFETY_SCALE, coerce=int
    )
    compared = forms.ChoiceField(
        label=_("Since you have the alarm, do you feel safer, about the same, or less safe?"),
        choices=[("", _("— choose —")), *Compared.choices],
    )
    help_confidence = forms.ChoiceField(
        label=_("Are you confident that help comes when you press the button?"),
        choices=[("", _("— choose —")), *Confidence.choices],
    )
    comment = forms.CharField(
        label=_("comment"),
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": LONG_TEXT}),
        max_length=LONG_TEXT,
        required=False,
    )

    def __init__(self, *args: Any, waves: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["wave"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("— choose —")), *waves]


class EvidenceForm(forms.Form):
    reason = forms.CharField(
        label=_("why you export the bundle (recorded)"),
        max_length=500,
        widget=forms.TextInput(attrs={"size": 60}),
    )
