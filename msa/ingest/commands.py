"""``msa token create``: bearer tokens for the machines that talk to the centre.

The token is printed once and never stored in clear (only its digest).
"""

from __future__ import annotations

import argparse
import json
import sys

from msa.accounts.commands import register_token_admin


def _fail(message: str) -> int:
    print(f"msa: {message}", file=sys.stderr)
    return 2


def cmd_token_create(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - the command line starts without Django

    setup_django()
    from msa.accounts.models import Organisation, OrgKind, TokenKind  # noqa: PLC0415 - after setup
    from msa.accounts.tokens import token_create  # noqa: PLC0415 - after setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django()
    from msa.core.errors import ValidationError  # noqa: PLC0415 - after setup_django()

    if args.sms_gateway is not None:
        kind, name, organisation = TokenKind.SMS_GATEWAY, args.sms_gateway, None
    elif args.integration is not None:
        if not args.org:
            return _fail("an integration token needs --org CODE (the dispatch centre)")
        organisation = Organisation.objects.filter(code=args.org, kind=OrgKind.CIC).first()
        if organisation is None:
            return _fail(f"no dispatch centre with code {args.org!r}")
        kind, name = TokenKind.INTEGRATION, args.integration
    else:  # pragma: no cover - argparse requires one of the group
        return _fail("say which kind of token (--sms-gateway NAME)")
    try:
        issued = token_create(
            kind=kind, name=name, actor=Actor.system("msa-cli"), organisation=organisation
        )
    except ValidationError as exc:
        return _fail(f"cannot create the token: {exc}")
    if args.json:
        out = {"kind": str(kind), "name": issued.token.name, "token": issued.plain}
        if organisation is not None:
            out["org"] = organisation.code
        print(json.dumps(out))
    else:
        print(f"{kind} token {issued.token.name!r}: {issued.plain}")
        print("Shown once: configure the gateway with it now (Authorization: Bearer <token>).")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("token", help="bearer tokens for gateways and integrations")
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("create", help="issue a token (printed once)")
    kinds = c.add_mutually_exclusive_group(required=True)
    kinds.add_argument(
        "--sms-gateway", metavar="NAME", help="for the SMS gateway that posts to /api/sms/v1/"
    )
    kinds.add_argument(
        "--integration", metavar="NAME", help="for a centre's dispatch system (/api/cic/v1/)"
    )
    c.add_argument("--org", metavar="CODE", help="the dispatch centre of an --integration token")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_token_create)
    register_token_admin(sub)
