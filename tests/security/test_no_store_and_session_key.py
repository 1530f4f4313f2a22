"""Staff pages are never cached, and the second factor gives the session a new key (issue 11)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.models import User
from msa.demo_data import demo_password

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/console/", "/audit/", "/admin/", "/accounts/login/"])
def test_staff_pages_say_no_store_private(demo: None, client: Client, path: str) -> None:
    client.force_login(User.objects.get(username="admin" if path != "/console/" else "operator"))
    if path == "/accounts/login/":
        client.logout()
    response = client.get(path)
    assert response.status_code == 200, path
    assert response["Cache-Control"] == "no-store, private"


def test_static_files_may_be_cached(client: Client) -> None:
    response = client.get("/static/msa/live.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_the_second_factor_gives_the_session_a_new_key(demo: None, client: Client) -> None:
    user = User.objects.get(username="supervisor")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.post(
        "/accounts/login/",
        {"username": "supervisor", "password": demo_password("supervisor")},
        REMOTE_ADDR="10.0.0.2",
    )
    after_password = client.session.session_key
    assert after_password
    client.post("/accounts/otp/", {"token": f"{totp(device.bin_key):06d}"})
    assert client.get("/console/").status_code == 200
    after_otp = client.session.session_key
    assert after_otp != after_password
    # the key known before the second factor opens nothing now
    planted = Client()
    planted.cookies["sessionid"] = after_password
    assert planted.get("/console/").status_code == 302


def test_enrolment_too_gives_a_new_key(demo: None, client: Client) -> None:
    client.post(
        "/accounts/login/",
        {"username": "operator", "password": demo_password("operator")},
        REMOTE_ADDR="10.0.0.3",
    )
    client.get("/accounts/otp/enrol/")
    before = client.session.session_key
    device = TOTPDevice.objects.get(user__username="operator", confirmed=False)
    client.post("/accounts/otp/enrol/", {"token": f"{totp(device.bin_key):06d}"})
    assert client.get("/console/").status_code == 200
    assert client.session.session_key != before
