"""``msa unit avl-token CALLSIGN``: the bearer token of a unit's AVL feed (printed once)."""

from __future__ import annotations

import argparse
import json
import sys


def cmd_unit_avl_token(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django
    from msa.dispatch.models import Unit  # noqa: PLC0415 - after setup_django
    from msa.dispatch.services.units import unit_avl_token_issue  # noqa: PLC0415 - after setup_django

    unit = Unit.objects.filter(call_sign=args.call_sign).first()
    if unit is None:
        print(f"msa: no unit with call sign {args.call_sign!r}", file=sys.stderr)
        return 2
    plain = unit_avl_token_issue(unit=unit, actor=Actor.system("msa-cli"))
    if args.json:
        print(json.dumps({"unit": unit.call_sign, "token": plain}))
    else:
        print(f"AVL token of {unit.call_sign}: {plain}")
        print("Shown once: POST /api/unit/v1/positions with Authorization: Bearer <token>.")
    return 0


def cmd_unit_osmand_id(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from django.conf import settings  # noqa: PLC0415 - after setup_django

    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django
    from msa.dispatch.models import Unit  # noqa: PLC0415 - after setup_django
    from msa.dispatch.services.osmand import unit_osmand_id_issue  # noqa: PLC0415

    unit = Unit.objects.filter(call_sign=args.call_sign).first()
    if unit is None:
        print(f"msa: no unit with call sign {args.call_sign!r}", file=sys.stderr)
        return 2
    identifier = unit_osmand_id_issue(unit=unit, actor=Actor.system("msa-cli"))
    server = settings.MSA_PUBLIC_URL.rstrip("/") + "/api/osmand/v1/"
    if args.json:
        print(json.dumps({"unit": unit.call_sign, "identifier": identifier, "server_url": server}))
    else:
        print(f"OsmAnd identifier of {unit.call_sign}: {identifier}")
        print(f"Shown once: Traccar Client, device identifier as above, server URL {server}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("unit", help="police units")
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("avl-token", help="issue the bearer token of a unit's AVL feed")
    t.add_argument("call_sign", metavar="CALLSIGN")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=cmd_unit_avl_token)
    o = sub.add_parser("osmand-id", help="issue a unit's OsmAnd identifier (Traccar Client)")
    o.add_argument("call_sign", metavar="CALLSIGN")
    o.add_argument("--json", action="store_true", help="print JSON")
    o.set_defaults(func=cmd_unit_osmand_id)
