"""Sign-in failures lock a console account only for a growing delay, and tell the supervisor
(issue 11): whoever can type an operator's name at the control room's shared address must not
keep the operator out of the console for 15 minutes. Other accounts keep the long lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from msa.accounts.lockout import console_delay
from msa.audit.models import AuditEntry
from msa.demo_data import demo_password
from msa.messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db

ADDRESS = "10.0.0.9"


def sign_in(client: Client, username: str, password: str) -> int:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ADDRESS
    )
    return response.status_code


def fail_a_round(client: Client, username: str) -> int:
    codes = [
        sign_in(client, username, "wrong-password") for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    return codes[-1]


def time_passes(seconds: int) -> None:
    """axes stamps its attempts with Django's time: move them back instead of waiting."""
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=attempt.attempt_time - timedelta(seconds=seconds)
        )


def test_the_delay_grows_by_rounds_and_is_capped() -> None:
    limit = settings.AXES_FAILURE_LIMIT
    assert console_delay(limit) == timedelta(seconds=15)
    assert console_delay(2 * limit) == timedelta(seconds=30)
    assert console_delay(3 * limit + 1) == timedelta(seconds=60)
    assert console_delay(100 * limit) == timedelta(minutes=5)


def test_an_operator_is_delayed_not_locked_out_and_the_supervisor_is_told(
    demo: None, client: Client
) -> None:
    assert fail_a_round(client, "operator") == 429
    assert sign_in(client, "operator", demo_password("operator")) == 429  # held for now
    locked = AuditEntry.objects.filter(action="signin.console_locked").get()
    assert locked.new == {
        "failures_last_hour": settings.AXES_FAILURE_LIMIT,
        "round": 1,
        "delay_s": 15,
    }
    (notice,) = OutboundMessage.objects.filter(subject__contains="console account")
    assert notice.recipient == (settings.MSA_SUPERVISOR_ALERT_TO or "supervisor@OVL")
    assert "operator" in notice.body
    assert "wrong-password" not in notice.body
    time_passes(20)
    assert sign_in(client, "operator", demo_password("operator")) == 302


def test_a_second_round_doubles_the_delay(demo: None, client: Client) -> None:
    fail_a_round(client, "operator")
    time_passes(20)
    assert fail_a_round(client, "operator") == 429
    time_passes(20)  # past the first delay, not the doubled one
    assert sign_in(client, "operator", demo_password("operator")) == 429
    time_passes(15)
    assert sign_in(client, "operator", demo_password("operator")) == 302
    assert AuditEntry.objects.filter(action="signin.console_locked").count() == 2


def test_other_accounts_keep_the_long_lock_without_a_notice(demo: None, client: Client) -> None:
    assert fail_a_round(client, "analyst") == 429
    time_passes(60)
    assert sign_in(client, "analyst", demo_password("analyst")) == 429
    assert not AuditEntry.objects.filter(action="signin.console_locked").exists()
    assert not OutboundMessage.objects.filter(subject__contains="console account").exists()
    time_passes(settings.MSA_LOGIN_LOCKOUT_S)
    assert sign_in(client, "analyst", demo_password("analyst")) == 302
