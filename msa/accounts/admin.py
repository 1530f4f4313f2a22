"""The admin site's accounts pages, and the re-registration of the third-party admins (Django's
groups, django-otp's devices, django-axes' logs) with the audit mixin (msa/audit/admin.py).

Secrets never show: django-otp hides a device's key and recovery codes
(``OTP_ADMIN_HIDE_SENSITIVE_DATA``), a token's digest is not in any admin. A membership given
in an organisation the administrator does not belong to, or given to themselves, is a loud
audit entry and a notice to the supervisor through the outbox.
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.models import Membership, Organisation, User
from msa.audit.admin import AuditedAdmin, admin_audit
from msa.core.actors import Actor
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 1


def membership_granted(request: HttpRequest, membership: Membership) -> None:
    """Loud when the administrator gives a role outside their own organisations, or to
    themselves: its own audit action, and a notice to that organisation's supervisor."""
    granter = request.user
    assert isinstance(granter, User)
    own = set(Membership.objects.filter(user=granter).values_list("organisation_id", flat=True))
    foreign = membership.organisation_id not in own
    to_self = membership.user_id == granter.pk
    if not (foreign or to_self):
        return
    organisation = membership.organisation
    facts = {
        "user": membership.user.get_username(),
        "organisation": organisation.code,
        "role": membership.role,
        "outside_own_organisations": foreign,
        "to_self": to_self,
    }
    admin_audit(request, action="admin.membership_granted_loud", subject=membership, new=facts)
    recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{organisation.code}"
    words = {
        "admin": granter.get_username(),
        "user": facts["user"],
        "role": membership.role,
        "organisation": organisation.code,
    }
    with transaction.atomic(), in_recipient_language(recipient, organisation):
        body = (
            gettext(
                "Administrator %(admin)s gave %(user)s the role %(role)s in %(organisation)s "
                "(to themselves). If nobody asked for it, revoke it and check the audit trail."
            )
            if to_self
            else gettext(
                "Administrator %(admin)s gave %(user)s the role %(role)s in %(organisation)s. "
                "If nobody asked for it, revoke it and check the audit trail."
            )
        )
        message_enqueue(
            channel=MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL,
            recipient=recipient,
            subject=gettext("MSA admin: a %(role)s role in %(organisation)s was given") % words,
            body=body % words,
            actor=Actor.for_user(granter),
            about=membership,
        )


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin[User]):
    inlines = (MembershipInline,)
    # the language the user chose (blank: the browser's, else the organisation's)
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), (_("Language"), {"fields": ("language",)}))

    def inline_saved(self, request: HttpRequest, added: Any, changed: Any) -> None:
        for obj in [*added, *changed]:
            if isinstance(obj, Membership):
                membership_granted(request, obj)

    def user_change_password(
        self,
        request: HttpRequest,
        id: str,  # noqa: A002 - Django's signature
        form_url: str = "",
    ) -> HttpResponse:
        """A password set by an administrator is on record: with it they could sign in as the
        user. Django logs the change (``log_change``) only when the form was valid."""
        request._msa_setting_password = True  # type: ignore[attr-defined]
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_msa_setting_password", False):
            admin_audit(
                request, action="admin.password_set", subject=obj, new={"password": "(secret)"}
            )
        return super().log_change(request, obj, message)


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin, admin.ModelAdmin[Organisation]):
    list_display = ("name", "code", "kind", "covered_by", "time_zone", "language")
    list_filter = ("kind",)
    search_fields = ("name", "code")


def _reregister(model: type[models.Model], base: type[admin.ModelAdmin[Any]]) -> None:
    """A third-party admin, with the audit mixin in front of it."""
    admin.site.unregister(model)
    admin.site.register(model, type(f"Audited{base.__name__}", (AuditedAdmin, base), {}))


_reregister(Group, GroupAdmin)
_reregister(TOTPDevice, TOTPDeviceAdmin)
_reregister(StaticDevice, StaticDeviceAdmin)
_reregister(AccessAttempt, AccessAttemptAdmin)
_reregister(AccessLog, AccessLogAdmin)
_reregister(AccessFailureLog, AccessFailureLogAdmin)
