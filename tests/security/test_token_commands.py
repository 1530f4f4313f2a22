"""``msa token list`` and ``msa token revoke NAME`` (issue 11): a leaked integration or gateway
token can be switched off from the command line, on record; the list never shows a secret."""

from __future__ import annotations

import json

import pytest

from msa.accounts.models import ApiToken, Organisation, OrgKind, TokenKind
from msa.accounts.tokens import token_authenticate, token_create
from msa.audit.models import AuditEntry
from msa.cli import main
from msa.core.actors import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def centre() -> Organisation:
    return Organisation.objects.create(name="CIC Test", code="CIC-T", kind=OrgKind.CIC)


def test_revoke_stops_the_token_and_is_audited(
    centre: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = token_create(
        kind=TokenKind.INTEGRATION, name="feed", actor=Actor.system("t"), organisation=centre
    )
    assert token_authenticate(TokenKind.INTEGRATION, issued.plain) is not None
    assert main(["token", "revoke", "feed"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert token_authenticate(TokenKind.INTEGRATION, issued.plain) is None
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.revoked_at is not None
    entry = AuditEntry.objects.filter(action="token.revoke").get()
    assert entry.subject_id == str(token.pk)
    assert entry.actor_label == "msa-cli"
    assert entry.new["name"] == "feed"
    # revoking again: no live token of that name, a clear error and no second row
    assert main(["token", "revoke", "feed"]) == 2
    assert "no live token named 'feed'" in capsys.readouterr().err
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_a_name_shared_by_two_kinds_needs_the_kind(
    centre: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    token_create(kind=TokenKind.SMS_GATEWAY, name="gw", actor=Actor.system("t"))
    integration = token_create(
        kind=TokenKind.INTEGRATION, name="gw", actor=Actor.system("t"), organisation=centre
    )
    assert main(["token", "revoke", "gw"]) == 2
    assert "--kind" in capsys.readouterr().err
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 0
    assert main(["token", "revoke", "gw", "--kind", "integration"]) == 0
    assert ApiToken.objects.get(pk=integration.token.pk).revoked_at is not None
    assert ApiToken.objects.filter(kind=TokenKind.SMS_GATEWAY, revoked_at__isnull=True).exists()


def test_list_shows_every_token_and_never_a_secret(
    centre: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    live = token_create(
        kind=TokenKind.INTEGRATION, name="feed", actor=Actor.system("t"), organisation=centre
    )
    gone = token_create(kind=TokenKind.SMS_GATEWAY, name="old-gw", actor=Actor.system("t"))
    assert main(["token", "revoke", "old-gw"]) == 0
    capsys.readouterr()
    assert main(["token", "list", "--json"]) == 0
    out = capsys.readouterr().out
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["feed"]["revoked_at"] == ""
    assert rows["feed"]["org"] == "CIC-T"
    assert rows["feed"]["prefix"] == live.token.prefix
    assert rows["old-gw"]["revoked_at"] != ""
    assert live.plain not in out
    assert gone.plain not in out
    assert live.token.digest not in out
    assert main(["token", "list"]) == 0
    text = capsys.readouterr().out
    assert "feed" in text
    assert "live" in text
    assert "revoked" in text
    assert live.plain not in text
