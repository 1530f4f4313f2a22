"""Reads about organisations and who belongs where."""

from __future__ import annotations

from django.db.models import QuerySet

from msa.accounts.models import CONSOLE_ROLES, ApiToken, Organisation, OrgKind, Role, User


def console_centres_for(user: User) -> QuerySet[Organisation]:
    """The dispatch centres whose console this user may watch."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        kind=OrgKind.CIC,
        memberships__user=user,
        memberships__role__in=CONSOLE_ROLES,
    ).distinct()


def user_is_console_staff(user: User, centre_id: int) -> bool:
    return console_centres_for(user).filter(pk=centre_id).exists()


def api_tokens() -> QuerySet[ApiToken]:
    """Every machine token, live and revoked, for ``msa token list`` (never the secret: only
    its digest is stored, and only its prefix is shown)."""
    return ApiToken.objects.select_related("organisation").order_by("kind", "name")


def reference_officer_emails(zone: Organisation, *, fallback: str = "") -> list[str]:
    """The e-mail addresses of the zone's active reference officers, sorted; when it has none,
    ``fallback`` or the zone's reference officers' mailbox."""
    emails = sorted(
        set(
            User.objects.filter(
                is_active=True,
                memberships__organisation=zone,
                memberships__role=Role.REFERENCE_OFFICER,
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    return emails or [fallback or f"reference-officers@{zone.code}"]
