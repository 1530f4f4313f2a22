"""The admin site leaves a trace: every save and delete through it is an audit row, and so is
every look at the audit entries (issue 11).

``AuditedAdmin`` is mixed into every ModelAdmin the site registers (ours, and Django's, django-
otp's and django-axes' re-registered in msa/accounts/admin.py); a test fails for one without it
(``tests/security/test_admin_audit.py``). Values of secret fields (passwords, keys, tokens,
digests) are never written into the row, only that they changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import BaseForm, BaseModelFormSet
from django.http import HttpRequest, HttpResponse

from msa.audit.models import AuditEntry
from msa.audit.services import audit_record
from msa.core.actors import Actor

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object

REDACTED = "(secret, changed)"
_SECRET_PARTS = ("password", "key", "token", "digest", "secret")


def _is_secret(name: str) -> bool:
    return any(part in name for part in _SECRET_PARTS)


def _plain(value: Any) -> Any:
    """A JSON-able form of a form or model value."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (models.QuerySet, list, tuple, set, frozenset)):
        return sorted(str(_plain(v)) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def form_changes(form: BaseForm) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) of the fields the form changed; secret fields redacted."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name in form.changed_data:
        if _is_secret(name):
            old[name] = new[name] = REDACTED
            continue
        old[name] = _plain(form.initial.get(name))
        new[name] = _plain(form.cleaned_data.get(name))
    return old, new


def admin_audit(
    request: HttpRequest,
    *,
    action: str,
    subject: models.Model,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    with transaction.atomic():
        audit_record(
            actor=Actor.for_user(request.user),  # type: ignore[arg-type]
            action=action,
            subject=subject,
            old=old,
            new=new,
            reason="admin site",
        )


class AuditedAdmin(_Base):
    """Audit rows for every add, change and delete made through this ModelAdmin, inlines
    included, in the transaction of the change (the admin's views are atomic)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        old, new = form_changes(form)
        super().save_model(request, obj, form, change)
        admin_audit(
            request, action="admin.change" if change else "admin.add", subject=obj, old=old, new=new
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        admin_audit(request, action="admin.delete", subject=obj, old={"object": str(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                admin_audit(request, action="admin.delete", subject=obj, old={"object": str(obj)})
            super().delete_queryset(request, queryset)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseModelFormSet[Any, Any], change: bool
    ) -> None:
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk is not None]
        changes = {
            id(f.instance): form_changes(f)
            for f in formset.initial_forms
            if f.has_changed() and f not in formset.deleted_forms
        }
        for obj in deleted:
            admin_audit(request, action="admin.delete", subject=obj, old={"object": str(obj)})
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            admin_audit(request, action="admin.add", subject=obj, new=self.inline_values(obj))
        for obj, _fields in formset.changed_objects:
            old, new = changes.get(id(obj), ({}, {}))
            admin_audit(request, action="admin.change", subject=obj, old=old, new=new)
        self.inline_saved(request, formset.new_objects, [o for o, _ in formset.changed_objects])

    def inline_values(self, obj: models.Model) -> dict[str, Any]:
        return {
            f.attname: _plain(getattr(obj, f.attname))
            for f in obj._meta.concrete_fields
            if not f.primary_key and not _is_secret(f.name)
        }

    def inline_saved(
        self, request: HttpRequest, added: Iterable[Any], changed: Iterable[Any]
    ) -> None:
        """For a subclass that must do more after an inline's objects were saved."""


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditedAdmin, admin.ModelAdmin[AuditEntry]):
    list_display = ("at", "actor_label", "action", "subject_type", "subject_id")
    list_filter = ("action", "actor_kind")
    search_fields = ("actor_label", "action", "subject_id", "correlation_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A look at the trail through the admin is audited like one in the viewer."""
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            query = {k: request.GET.get(k, "")[:200] for k in sorted(request.GET)[:20]}
            with transaction.atomic():
                audit_record(
                    actor=Actor.for_user(request.user),  # type: ignore[arg-type]
                    action="audit.view",
                    subject_type="audit.auditentry",
                    new={"via": "admin", "query": query},
                )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            with transaction.atomic():
                audit_record(
                    actor=Actor.for_user(request.user),  # type: ignore[arg-type]
                    action="audit.view",
                    subject_type="audit.auditentry",
                    subject_id=str(object_id)[:64],
                    new={"via": "admin"},
                )
        return response
