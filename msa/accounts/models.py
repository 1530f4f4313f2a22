"""Organisations, users and what each user may do where."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    POLICE_ZONE = "police_zone", _("police zone")
    CIC = "cic", _("dispatch centre (CIC)")
    PROSECUTOR_OFFICE = "prosecutor_office", _("prosecutor's office")
    SUPPORT_SERVICE = "support_service", _("support service")


class Role(models.TextChoices):
    OPERATOR = "operator", _("operator")
    SUPERVISOR = "supervisor", _("supervisor")
    REFERENCE_OFFICER = "reference_officer", _("reference officer")
    MAGISTRATE = "magistrate", _("magistrate")
    COUNSELLOR = "counsellor", _("counsellor")
    PATROL = "patrol", _("patrol officer")
    ANALYST = "analyst", _("analyst")
    ADMIN = "admin", _("administrator")


CONSOLE_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})


class Organisation(models.Model):
    kind = models.CharField(_("kind"), max_length=24, choices=OrgKind.choices)
    name = models.CharField(_("name"), max_length=200, unique=True)
    code = models.CharField(
        _("code"),
        max_length=8,
        unique=True,
        help_text=_("Short code used in references, e.g. GNT for police zone Gent."),
    )
    country = models.CharField(_("country"), max_length=2, default="BE")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Brussels")
    # The language of its staff who chose none and whose browser asks for none we have
    # (msa.accounts.language); blank: the deployment's LANGUAGE_CODE.
    language = models.CharField(
        _("language"), max_length=8, blank=True, default="", choices=settings.LANGUAGES
    )
    # A dispatch centre covers police zones; a zone is covered by exactly one centre.
    covered_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="covered_zones",
        limit_choices_to={"kind": OrgKind.CIC},
        verbose_name=_("covered by dispatch centre"),
    )
    # A police zone belongs to the judicial district of one prosecutor's office.
    prosecutor_office = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="district_zones",
        limit_choices_to={"kind": OrgKind.PROSECUTOR_OFFICE},
        verbose_name=_("prosecutor's office"),
    )

    class Meta:
        ordering = ("name",)
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(covered_by__isnull=True) | models.Q(kind="police_zone"),
                name="org_only_zones_are_covered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. What they may see and do comes from their memberships."""

    # Chosen at the first sign-in (the enrolment page), changed from the menu; blank: not
    # chosen, the browser's or the organisation's language applies (msa.accounts.language).
    language = models.CharField(
        _("language"), max_length=8, blank=True, default="", choices=settings.LANGUAGES
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("user", "organisation", "role"),
                name="membership_unique_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.organisation}"


class TokenKind(models.TextChoices):
    SMS_GATEWAY = "sms_gateway", _("SMS gateway")
    INTEGRATION = "integration", _("dispatch-system integration")
    UNIT = "unit", _("unit AVL feed")


class ApiToken(models.Model):
    """A bearer token for a machine: an SMS gateway, an integration, a unit's AVL feed.

    Only the SHA-256 of the token is stored; the token itself is shown once.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=TokenKind.choices)
    name = models.CharField(_("name"), max_length=100)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        null=True,
        blank=True,
    )
    prefix = models.CharField(_("prefix"), max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("kind", "name"), name="apitoken_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name} ({self.prefix}…)"
