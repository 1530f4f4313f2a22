"""Staff sign-in: password (argon2), TOTP for every staff role, lock-out, idle timeout, CSRF
and the security headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.mfa import session_is_verified
from msa.accounts.models import Organisation, User
from msa.demo_data import LOGINS, demo_password
from msa.dispatch.views import home
from msa.realtime.routing import websocket_urlpatterns
from tests.support.auth import force_login_unverified

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/console/", "/audit/", "/admin/"]


def password_login(client: Client, username: str) -> Any:
    return client.post(
        "/accounts/login/",
        {"username": username, "password": demo_password(username)},
        REMOTE_ADDR="10.0.0.1",
    )


def unthrottle() -> None:
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)


def test_argon2_hashes_the_passwords_of_production() -> None:
    import msa.settings as production  # noqa: PLC0415 - the production settings, read once here

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.parametrize(("username", "role", "org"), LOGINS)
def test_every_staff_role_needs_the_second_factor(
    demo: None, client: Client, username: str, role: str, org: str
) -> None:
    response = password_login(client, username)
    assert response.status_code == 302
    for page in STAFF_PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/otp/"), page


def test_the_permission_decorator_is_a_second_lock(demo: None, rf: Any) -> None:
    """Even without the middleware, a view behind ``requires`` sends an unverified user on."""
    request = rf.get("/console/")
    request.user = User.objects.get(username="operator")
    request.user.is_verified = lambda: False
    response = home(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/otp/")


def test_first_sign_in_enrols_an_authenticator_with_a_qr_code_and_recovery_codes(
    demo: None, client: Client
) -> None:
    password_login(client, "operator")
    response = client.get("/accounts/otp/", follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/accounts/otp/enrol/")
    assert "<svg" in html  # the QR code, inline, no image request
    device = TOTPDevice.objects.get(user__username="operator", confirmed=False)

    wrong = client.post("/accounts/otp/enrol/", {"token": "000000"})
    assert "not valid" in wrong.content.decode()
    unthrottle()
    response = client.post("/accounts/otp/enrol/", {"token": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    assert client.get("/console/").status_code == 200

    # A recovery code signs in once.
    client.post("/accounts/logout/")
    password_login(client, "operator")
    assert client.get("/console/").status_code == 302
    client.post("/accounts/otp/", {"token": codes[0]})
    assert client.get("/console/").status_code == 200
    assert StaticDevice.objects.get(user__username="operator").token_set.count() == 9


def test_a_wrong_code_is_refused_and_a_right_one_verifies(demo: None, client: Client) -> None:
    user = User.objects.get(username="supervisor")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    password_login(client, "supervisor")
    response = client.post("/accounts/otp/", {"token": "123456"})
    assert "not valid" in response.content.decode()
    assert client.get("/console/").status_code == 302
    # django-otp throttles after a failure (1 s, doubling): a guesser gets few tries.
    response = client.post("/accounts/otp/", {"token": f"{totp(device.bin_key):06d}"})
    assert "not valid" in response.content.decode()
    unthrottle()
    client.post("/accounts/otp/", {"token": f"{totp(device.bin_key):06d}"})
    assert client.get("/console/").status_code == 200


def test_an_enrolled_user_cannot_enrol_a_new_authenticator_without_the_old_one(
    demo: None, client: Client
) -> None:
    user = User.objects.get(username="operator")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    password_login(client, "operator")
    response = client.get("/accounts/otp/enrol/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/"


def test_repeated_failures_lock_the_account_with_a_clear_message(
    demo: None, client: Client
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            "/accounts/login/",
            {"username": "operator", "password": "wrong-password"},
            REMOTE_ADDR="10.0.0.9",
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/",
        {"username": "operator", "password": "wrong-password"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 429
    assert "temporarily locked" in response.content.decode()
    # Even the right password is refused while locked.
    response = client.post(
        "/accounts/login/",
        {"username": "operator", "password": demo_password("operator")},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_idle_session_is_signed_out(demo: None, client: Client, clock: Any) -> None:
    clock.freeze(clock.now())
    client.force_login(User.objects.get(username="operator"))
    assert client.get("/console/").status_code == 200
    clock.advance(timedelta(seconds=settings.MSA_SESSION_IDLE_S - 5))
    assert client.get("/console/").status_code == 200  # activity restarts the timer
    clock.advance(timedelta(seconds=settings.MSA_SESSION_IDLE_S - 5))
    assert client.get("/console/").status_code == 200
    clock.advance(timedelta(seconds=settings.MSA_SESSION_IDLE_S + 1))
    response = client.get("/console/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "inactivity" in response.content.decode()


def test_the_idle_limit_comes_from_the_setting() -> None:
    assert int(os.environ.get("MSA_SESSION_IDLE_S", "1800")) == settings.MSA_SESSION_IDLE_S


def test_forms_refuse_a_post_without_the_csrf_token(demo: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/",
        {"username": "operator", "password": demo_password("operator")},
    )
    assert response.status_code == 403
    client.force_login(User.objects.get(username="operator"))
    assert client.post("/accounts/logout/").status_code == 403


def test_security_headers(client: Client) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    directives = dict(
        ([*part.strip().split(" ", 1), ""])[:2] for part in csp.split(";") if part.strip()
    )
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["img-src"].startswith("'self' data:")
    assert "ws://testserver" in directives["connect-src"]
    assert "wss://testserver" in directives["connect-src"]
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert 'name="htmx-config"' in response.content.decode()
    assert "Strict-Transport-Security" not in response


@override_settings(SECURE_HSTS_SECONDS=31536000)
def test_hsts_on_https(client: Client) -> None:
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def _settings_in_subprocess(**env: str) -> dict[str, Any]:
    code = (
        "import json, msa.settings as s; print(json.dumps({'hsts': s.SECURE_HSTS_SECONDS, "
        "'secure': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
        "'img': s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MSA_SECURE")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "MSA_DEMO": "1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_hsts_and_secure_cookies_follow_the_setting() -> None:
    off = _settings_in_subprocess(MSA_SECURE_COOKIES="0")
    assert (off["hsts"], off["secure"], off["csrf"]) == (0, False, False)
    on = _settings_in_subprocess(MSA_SECURE_COOKIES="1")
    assert (on["hsts"], on["secure"], on["csrf"]) == (31536000, True, True)
    tiles = _settings_in_subprocess(MSA_MAP_TILE_URL="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert tiles["img"] == ["'self'", "data:", "https://*.tile.example.org"]


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_refuses_a_session_without_the_second_factor(
    demo: None,
) -> None:
    user = await database_sync_to_async(User.objects.get)(username="operator")
    centre = await database_sync_to_async(Organisation.objects.get)(code="OVL")
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/console/{centre.pk}/?since=0"
    )
    communicator.scope["user"] = user  # signed in with the password only; no session device
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4403)


def test_an_unverified_session_is_refused_by_the_socket_check(demo: None) -> None:
    user = User.objects.get(username="operator")
    session = SessionStore()
    assert not session_is_verified(user, session)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    assert session_is_verified(user, session)
    other = User.objects.get(username="supervisor")
    assert not session_is_verified(other, session), "another user's device does not count"


def test_force_login_unverified_helper(demo: None, client: Client) -> None:
    force_login_unverified(client, User.objects.get(username="operator"))
    assert client.get("/console/").status_code == 302
