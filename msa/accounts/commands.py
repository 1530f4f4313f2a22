"""``msa crypto rotate``, ``msa retention run``, ``msa token list`` and ``msa token revoke``:
the data-protection and access chores. (``msa token create`` is in msa/ingest/commands.py,
which adds these two to its ``token`` command through ``register_token_admin``.)"""

from __future__ import annotations

import argparse
import json
import sys


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def cmd_crypto_rotate(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from django.db import transaction  # noqa: PLC0415 - after setup_django()

    from msa.audit.services import audit_record  # noqa: PLC0415 - after setup_django()
    from msa.core import crypto  # noqa: PLC0415 - after setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django()
    from msa.core.errors import ConfigurationError  # noqa: PLC0415 - after setup_django()

    try:
        ring = crypto.keyring()
    except ConfigurationError as exc:
        print(f"msa crypto rotate: {exc}", file=sys.stderr)
        return 2
    try:
        counts = crypto.rotate_all(batch=args.batch)
    except crypto.DecryptionError as exc:
        print(
            f"msa crypto rotate: {exc}; keep every old key in MSA_ENCRYPTION_KEYS until "
            "the rotation has finished",
            file=sys.stderr,
        )
        return 2
    total = 0
    for c in counts:
        print(f"{c.model}: {c.rows} rows, {c.values} values re-encrypted")
        total += c.values
    with transaction.atomic(durable=True):
        audit_record(
            actor=Actor.system("crypto-rotate"),
            action="crypto.rotate",
            subject_type="crypto.key",
            subject_id=ring.current_id,
            new={c.model: c.values for c in counts},
        )
    print(f"all values now under key {ring.current_id!r} ({total} re-encrypted)")
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.alarms.retention import retention_run  # noqa: PLC0415 - after setup_django()

    done = retention_run()
    print(f"anonymised {done} case(s)")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.accounts.selectors import api_tokens  # noqa: PLC0415 - after setup_django()

    rows = [
        {
            "kind": str(t.kind),
            "name": t.name,
            "prefix": t.prefix,
            "org": t.organisation.code if t.organisation else "",
            "created_at": t.created_at.isoformat(timespec="seconds"),
            "last_used_at": t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "",
            "revoked_at": t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "",
        }
        for t in api_tokens()
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "live"
        used = f"last used {r['last_used_at']}" if r["last_used_at"] else "never used"
        org = f" [{r['org']}]" if r["org"] else ""
        print(f"{r['kind']:<12} {r['name']:<30} {r['prefix']}…{org}  {state}, {used}")
    if not rows:
        print("no tokens")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.accounts.models import TokenKind  # noqa: PLC0415 - after setup_django()
    from msa.accounts.tokens import token_revoke  # noqa: PLC0415 - after setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django()
    from msa.core.errors import NotFoundError, ValidationError  # noqa: PLC0415 - after setup

    kind = TokenKind(args.kind) if args.kind else None
    try:
        token = token_revoke(name=args.name, kind=kind, actor=Actor.system("msa-cli"))
    except (NotFoundError, ValidationError) as exc:
        print(f"msa token revoke: {exc}", file=sys.stderr)
        return 2
    print(f"{token.kind} token {token.name!r} revoked; it authenticates nothing from now on")
    return 0


def register_token_admin(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``msa token list`` and ``msa token revoke NAME``, under msa/ingest's ``token`` command."""
    kinds = ("sms_gateway", "integration", "unit")
    ls = sub.add_parser("list", help="every token: kind, name, prefix, live or revoked")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_token_list)
    rv = sub.add_parser("revoke", help="revoke a token by its name (it stops working at once)")
    rv.add_argument("name", help="the token's name")
    rv.add_argument("--kind", choices=kinds, help="when tokens of two kinds share the name")
    rv.set_defaults(func=cmd_token_revoke)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("crypto", help="encryption at rest")
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("rotate", help="re-encrypt every value with the first key")
    r.add_argument("--batch", type=_positive, default=500, help="rows per transaction")
    r.set_defaults(func=cmd_crypto_rotate)

    p = subparsers.add_parser("retention", help="anonymise closed cases past their retention")
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run", help="anonymise every closed case past MSA_RETENTION_DAYS")
    r.set_defaults(func=cmd_retention_run)
