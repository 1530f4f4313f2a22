"""Victims, suspects and the protection case that links them."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Organisation
from msa.cases.states import CaseState
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
