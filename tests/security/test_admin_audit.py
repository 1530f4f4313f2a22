"""The admin site leaves a trace and shows no secret (issue 11): every save and delete is an
audit row, every look at the audit entries too; no TOTP key or recovery code is shown; a
membership given outside the administrator's organisations is loud and reaches the supervisor."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.models import Membership, Organisation, Role, User
from msa.accounts.views import device_secret_b32
from msa.audit.admin import AuditedAdmin
from msa.audit.models import AuditEntry
from msa.dispatch.models import Unit
from msa.messaging.models import OutboundMessage
from tests.support.permission_matrix import ROLES, admin_pages

pytestmark = pytest.mark.django_db


def form_post(form: Any) -> dict[str, Any]:
    """The POST a browser would send for this form as rendered (every widget's own names)."""
    data: dict[str, Any] = {}
    for bound in form:
        if bound.field.disabled:
            continue
        inner = bound.field.widget
        while hasattr(inner, "widget"):  # the admin's related-object wrapper
            inner = inner.widget
        widget = inner.get_context(bound.html_name, bound.value(), {})["widget"]
        for w in widget.get("subwidgets", [widget]):
            value = w["value"]
            if w.get("type") == "checkbox":
                if w["attrs"].get("checked"):
                    data[w["name"]] = "on"
            elif isinstance(value, list):
                data[w["name"]] = [v for v in value if v not in (None, "")]
            else:
                data[w["name"]] = "" if value is None else value
    return data


def change_page_post(response: Any) -> dict[str, Any]:
    data = form_post(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_post(formset.management_form))
        for form in formset.forms:
            data.update(form_post(form))
    return data


@pytest.fixture
def admin_client(demo: None, client: Client) -> Client:
    client.force_login(User.objects.get(username="admin"))
    return client


def last(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-id").first()
    assert entry is not None, action
    return entry


def test_every_admin_of_the_site_is_audited() -> None:
    plain = [
        m._meta.label for m, a in admin.site._registry.items() if not isinstance(a, AuditedAdmin)
    ]
    assert plain == []


def test_a_change_and_a_delete_are_audited(admin_client: Client) -> None:
    unit = Unit.objects.order_by("pk").first()
    assert unit is not None
    url = f"/admin/dispatch/unit/{unit.pk}/change/"
    data = change_page_post(admin_client.get(url))
    data["call_sign"] = "ADM-1"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = last("admin.change")
    assert entry.subject_type == "dispatch.unit"
    assert entry.subject_id == str(unit.pk)
    assert entry.actor_label == "admin"
    assert entry.old["call_sign"] == unit.call_sign
    assert entry.new["call_sign"] == "ADM-1"
    victim = User.objects.create_user(username="leaver", password="x" * 16)
    response = admin_client.post(f"/admin/accounts/user/{victim.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = last("admin.delete")
    assert entry.subject_id == str(victim.pk)
    assert entry.old == {"object": "leaver"}
    assert not User.objects.filter(username="leaver").exists()


def test_the_bulk_delete_action_is_audited_per_object(admin_client: Client) -> None:
    a = User.objects.create_user(username="bulk-a", password="x" * 16)
    b = User.objects.create_user(username="bulk-b", password="x" * 16)
    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [a.pk, b.pk], "post": "yes"},
    )
    assert response.status_code == 302
    deleted = set(
        AuditEntry.objects.filter(action="admin.delete").values_list("subject_id", flat=True)
    )
    assert {str(a.pk), str(b.pk)} <= deleted


def test_a_password_set_by_an_administrator_is_on_record_without_the_hash(
    admin_client: Client,
) -> None:
    target = User.objects.get(username="operator")
    response = admin_client.post(
        f"/admin/accounts/user/{target.pk}/password/",
        {
            "password1": "a-new-Passw0rd-x",
            "password2": "a-new-Passw0rd-x",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    entry = last("admin.password_set")
    assert entry.subject_id == str(target.pk)
    target.refresh_from_db()
    assert target.password not in str(entry.new) + str(entry.old)
    assert "a-new-Passw0rd-x" not in str(entry.new)


def test_reading_the_audit_entries_in_the_admin_is_audited(admin_client: Client) -> None:
    before = AuditEntry.objects.filter(action="audit.view").count()
    assert admin_client.get("/admin/audit/auditentry/", {"action": "x"}).status_code == 200
    entry = last("audit.view")
    assert entry.new == {"via": "admin", "query": {"action": "x"}}
    some = AuditEntry.objects.order_by("id").first()
    assert some is not None
    assert admin_client.get(f"/admin/audit/auditentry/{some.pk}/change/").status_code == 200
    assert last("audit.view").subject_id == str(some.pk)
    assert AuditEntry.objects.filter(action="audit.view").count() == before + 2


def test_no_totp_key_and_no_recovery_code_is_shown(admin_client: Client) -> None:
    user = User.objects.get(username="operator")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    StaticToken.objects.create(device=static, token="c0ffee1234")
    pages = [
        "/admin/otp_totp/totpdevice/",
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        "/admin/otp_static/staticdevice/",
        f"/admin/otp_static/staticdevice/{static.pk}/change/",
    ]
    secrets = (device.key, device_secret_b32(device), "c0ffee1234")
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        text = response.content.decode()
        for secret in secrets:
            assert secret not in text, (page, secret)
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code in (
        403,
        404,
    )


def test_a_membership_outside_the_administrators_organisations_is_loud(
    admin_client: Client,
) -> None:
    grantee = User.objects.get(username="operator")
    foreign = Organisation.objects.exclude(
        pk__in=Membership.objects.filter(user__username="admin").values("organisation")
    ).first()
    assert foreign is not None
    url = f"/admin/accounts/user/{grantee.pk}/change/"
    data = change_page_post(admin_client.get(url))
    total = int(data["memberships-TOTAL_FORMS"])
    new = total - 1  # the empty extra form
    data[f"memberships-{new}-organisation"] = str(foreign.pk)
    data[f"memberships-{new}-role"] = Role.SUPERVISOR
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    membership = Membership.objects.get(user=grantee, organisation=foreign)
    added = last("admin.add")
    assert added.subject_type == "accounts.membership"
    assert added.subject_id == str(membership.pk)
    loud = last("admin.membership_granted_loud")
    assert loud.new["organisation"] == foreign.code
    assert loud.new["outside_own_organisations"] is True
    notice = OutboundMessage.objects.filter(about_id=str(membership.pk)).get()
    assert notice.recipient == f"supervisor@{foreign.code}"
    assert "admin" in notice.body


def test_a_membership_in_the_administrators_own_organisation_is_not_loud(
    admin_client: Client,
) -> None:
    own = Membership.objects.filter(user__username="admin").first()
    assert own is not None
    grantee = User.objects.create_user(username="newcomer", password="x" * 16)
    url = f"/admin/accounts/user/{grantee.pk}/change/"
    data = change_page_post(admin_client.get(url))
    data["memberships-0-organisation"] = str(own.organisation_id)
    data["memberships-0-role"] = Role.OPERATOR
    assert admin_client.post(url, data).status_code == 302
    assert Membership.objects.filter(user=grantee).exists()
    assert not AuditEntry.objects.filter(action="admin.membership_granted_loud").exists()


def test_giving_oneself_a_role_is_loud(admin_client: Client) -> None:
    me = User.objects.get(username="admin")
    own = Membership.objects.filter(user=me).first()
    assert own is not None
    url = f"/admin/accounts/user/{me.pk}/change/"
    data = change_page_post(admin_client.get(url))
    new = int(data["memberships-TOTAL_FORMS"]) - 1
    data[f"memberships-{new}-organisation"] = str(own.organisation_id)
    data[f"memberships-{new}-role"] = Role.SUPERVISOR
    assert admin_client.post(url, data).status_code == 302
    assert last("admin.membership_granted_loud").new["to_self"] is True


def test_every_admin_page_is_for_the_administrator_only(demo: None) -> None:
    """The permission matrix of the admin site: every page, every role."""
    pages = admin_pages()
    assert len(pages) >= 3 * 10  # twelve models registered, most with an object
    problems = []
    for role in ROLES:
        client = Client()
        client.force_login(User.objects.get(username=role))
        for page in pages:
            status = client.get(page).status_code
            allowed = status == 200 or (status == 403 and page.endswith("/add/"))
            if role == "admin" and not allowed:
                problems.append(f"{role} {page}: {status}")
            if role != "admin" and status != 302:
                problems.append(f"{role} {page}: {status}")
    assert problems == []
