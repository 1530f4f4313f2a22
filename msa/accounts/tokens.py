"""Issuing and checking machine bearer tokens (SMS gateways, integrations, unit AVL)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest

from msa.accounts.models import ApiToken, Organisation, TokenKind
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError, ValidationError


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    plain: str  # shown once, never stored


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    kind: TokenKind,
    name: str,
    actor: Actor,
    organisation: Organisation | None = None,
) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("a token needs a name of 1-100 characters", fields={"name": name})
    if ApiToken.objects.filter(kind=kind, name=name, revoked_at__isnull=True).exists():
        raise ValidationError(f"a {kind} token named {name!r} exists", fields={"name": "taken"})
    ApiToken.objects.filter(kind=kind, name=name).delete()  # revoked ones only
    plain = f"msa_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        kind=kind,
        name=name,
        organisation=organisation,
        prefix=plain[:12],
        digest=_digest(plain),
        created_at=clock.now(),
    )
    audit_record(
        actor=actor, action="token.create", subject=token, new={"kind": kind, "name": name}
    )
    return IssuedToken(token, plain)


@transaction.atomic(durable=True)
def token_revoke(*, name: str, actor: Actor, kind: TokenKind | None = None) -> ApiToken:
    """Revoke the live token named ``name`` (of ``kind``, needed only when two kinds share the
    name). From then on it authenticates nothing; open sockets read ``revoked_at``."""
    live = ApiToken.objects.select_for_update().filter(name=name.strip(), revoked_at__isnull=True)
    if kind is not None:
        live = live.filter(kind=kind)
    found = list(live)
    if not found:
        raise NotFoundError(f"no live token named {name!r}")
    if len(found) > 1:
        kinds = ", ".join(sorted(str(t.kind) for t in found))
        raise ValidationError(
            f"tokens of several kinds are named {name!r} ({kinds}): say which with --kind",
            fields={"kind": "ambiguous"},
        )
    (token,) = found
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="token.revoke",
        subject=token,
        old={"revoked_at": None},
        new={"kind": token.kind, "name": token.name, "revoked_at": token.revoked_at.isoformat()},
    )
    return token


def token_authenticate(kind: TokenKind, presented: str) -> ApiToken | None:
    """The live token of ``kind`` that ``presented`` is, or None."""
    if not presented.startswith("msa_") or len(presented) > 200:
        return None
    return ApiToken.objects.filter(
        kind=kind,
        digest=_digest(presented),
        revoked_at__isnull=True,
    ).first()


def bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
