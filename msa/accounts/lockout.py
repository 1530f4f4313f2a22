"""The sign-in lock-out policy (django-axes), and the alert when a console account is locked.

Every account is locked per (account, client address) after ``MSA_LOGIN_FAILURE_LIMIT``
failures. For most accounts the lock lasts ``MSA_LOGIN_LOCKOUT_S``. A console account
(operator, supervisor) must not be kept out of the control room by whoever can type its
name at the shared address of that room: its lock is a growing delay instead — 15 s after the
first round of failures, doubling with each further round within the hour, never more than
5 minutes — and the supervisor is told (``console_lock_record``).

``cool_off`` is ``AXES_COOLOFF_TIME`` (axes calls it with the request). The rounds are counted
in axes' failure log (``AXES_ENABLE_ACCESS_FAILURE_LOG``), which outlives each lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from axes.models import AccessFailureLog
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from msa.accounts.models import CONSOLE_ROLES, Membership, OrgKind, User
from msa.audit.models import AuditEntry
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor

CONSOLE_DELAY_FIRST = timedelta(seconds=15)
CONSOLE_DELAY_MAX = timedelta(minutes=5)
ROUNDS_WINDOW = timedelta(hours=1)


def _username(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.POST.get("username", ""))[:150]


def console_account(username: str) -> User | None:
    """The user named ``username`` if they hold a console role, else None."""
    if not username:
        return None
    return User.objects.filter(
        username=username, memberships__role__in=CONSOLE_ROLES, is_active=True
    ).first()


def recent_failures(username: str) -> int:
    # axes stamps its rows with Django's time, not the MSA clock
    since = timezone.now() - ROUNDS_WINDOW
    return int(AccessFailureLog.objects.filter(username=username, attempt_time__gte=since).count())


def console_delay(failures: int) -> timedelta:
    """The lock of a console account after ``failures`` failures within the hour."""
    limit = int(settings.AXES_FAILURE_LIMIT)
    rounds = min(max(1, failures // max(1, limit)), 16)
    delay: timedelta = CONSOLE_DELAY_FIRST * 2 ** (rounds - 1)
    return min(delay, CONSOLE_DELAY_MAX)


def cool_off(request: HttpRequest | None) -> timedelta:
    """``AXES_COOLOFF_TIME``: the lock's length for the account this request names."""
    username = _username(request)
    if console_account(username) is None:
        return timedelta(seconds=settings.MSA_LOGIN_LOCKOUT_S)
    return console_delay(recent_failures(username))


@dataclass(frozen=True, slots=True)
class ConsoleLock:
    user: User
    centre_code: str
    failures: int
    delay: timedelta


def console_lock_record(request: HttpRequest) -> ConsoleLock | None:
    """A console account was just locked (or refused by its lock): once per lock, not per
    refused attempt, an audit row, and the facts for the supervisor's notice (sent by the
    caller, ``msa.accounts.views.locked_out``: messaging sits above accounts). Call inside
    the transaction that sends the notice."""
    username = _username(request)
    user = console_account(username)
    if user is None:
        return None
    failures = recent_failures(username)
    delay = console_delay(failures)
    lock_round = failures // max(1, settings.AXES_FAILURE_LIMIT)
    already = AuditEntry.objects.filter(
        action="signin.console_locked",
        subject_type="accounts.user",
        subject_id=str(user.pk),
        new__round=lock_round,
        at__gte=clock.now() - ROUNDS_WINDOW,
    ).exists()
    if already:
        return None
    audit_record(
        actor=Actor.system("sign-in"),
        action="signin.console_locked",
        subject=user,
        new={
            "failures_last_hour": failures,
            "round": lock_round,
            "delay_s": int(delay.total_seconds()),
        },
    )
    centre = (
        Membership.objects.filter(user=user, organisation__kind=OrgKind.CIC)
        .values_list("organisation__code", flat=True)
        .first()
    )
    return ConsoleLock(user=user, centre_code=centre or "", failures=failures, delay=delay)
