"""``msa case list`` and ``msa device enroll|rotate|revoke``: device credentials from a shell.

The key is printed once (as text and as the QR text the app scans) and is never logged.

Each command imports the models and services it uses after ``setup_django()``: the parser is
built (and this module imported) before Django is set up, and importing a model sooner fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from msa.cli import setup_django
from msa.core.actors import Actor
from msa.core.errors import ValidationError

CLI_ACTOR = "msa-cli"


def _fail(message: str) -> int:
    print(f"msa: {message}", file=sys.stderr)
    return 2


def cmd_case_list(args: argparse.Namespace) -> int:
    setup_django()
    from django.db import transaction  # noqa: PLC0415 - after setup_django()

    from msa.audit.services import audit_record  # noqa: PLC0415 - after setup_django()
    from msa.cases.models import ProtectionCase  # noqa: PLC0415 - after setup_django()
    from msa.devices.states import DeviceStatus  # noqa: PLC0415 - after setup_django()

    cases = ProtectionCase.objects.select_related("police_zone", "victim").prefetch_related(
        "devices"
    )
    if not args.probes:  # the centre's path-monitoring probe is nobody's case
        cases = cases.filter(is_probe=False)
    rows: list[dict[str, Any]] = [
        {
            "reference": case.reference,
            "zone": case.police_zone.code,
            "status": case.status,
            "devices": sorted(
                d.device_id for d in case.devices.all() if d.status == DeviceStatus.ACTIVE
            ),
            # for administrators checking an AML match (docs/interop.md); personal data,
            # so the read is audited below
            "victim_phone": (case.victim.phone_number or None) if args.json else None,
        }
        for case in cases.order_by("reference")
    ]
    if args.json:
        with transaction.atomic():
            audit_record(
                actor=Actor.system(CLI_ACTOR),
                action="case.list_victim_phones",
                subject_type="cases.ProtectionCase",
                new={"cases": len(rows)},
            )
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no cases")
        return 0
    print(f"{'reference':<20} {'zone':<6} {'status':<18} devices")
    for row in rows:
        devices = ", ".join(row["devices"]) or "-"
        print(f"{row['reference']:<20} {row['zone']:<6} {row['status']:<18} {devices}")
    return 0


def _print_credentials(credentials: Any, *, as_json: bool) -> None:
    out = {
        "device_id": credentials.device.device_id,
        "key": credentials.key_text,
        "qr_text": credentials.qr_text,
        "sms_number": credentials.sms_number,
        "base_url": credentials.base_url,
        "case": credentials.device.case.reference if credentials.device.case else None,
    }
    if as_json:
        print(json.dumps(out, indent=2))
        return
    print(f"device id:   {out['device_id']}")
    print(f"key:         {out['key']}")
    print(f"SMS number:  {out['sms_number']}")
    print(f"centre URL:  {out['base_url']}")
    print(f"QR text:     {out['qr_text']}")
    print("The key is shown once: enter it in the app now (msa-client enroll 'QR text').")


def cmd_device_enroll(args: argparse.Namespace) -> int:
    setup_django()
    from msa.cases.models import ProtectionCase  # noqa: PLC0415 - after setup_django()
    from msa.devices.services import device_credentials_issue  # noqa: PLC0415 - after setup_django()

    case = ProtectionCase.objects.filter(reference=args.case).first()
    if case is None:
        return _fail(f"there is no case {args.case!r} (msa case list)")
    if args.protocol == "osmand":
        return _osmand_enroll(case, as_json=args.json)
    try:
        credentials = device_credentials_issue(
            case=case, actor=Actor.system(CLI_ACTOR), device_id=args.device_id
        )
    except (ValidationError, ValueError) as exc:
        return _fail(f"cannot enrol: {exc}")
    _print_credentials(credentials, as_json=args.json)
    return 0


def _osmand_enroll(case: Any, *, as_json: bool) -> int:
    from msa.devices.services import device_osmand_enroll  # noqa: PLC0415 - after setup_django()

    enrolled = device_osmand_enroll(case=case, actor=Actor.system(CLI_ACTOR))
    out = {
        "device_id": enrolled.device.device_id,
        "protocol": "osmand",
        "identifier": enrolled.identifier,
        "server_url": enrolled.server_url,
        "case": case.reference,
    }
    if as_json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"device id:   {out['device_id']} (OsmAnd, unsigned)")
    print(f"identifier:  {out['identifier']}")
    print(f"server URL:  {out['server_url']}")
    print("The identifier is shown once and is the only secret: enter it in the app now.")
    return 0


def cmd_device_rotate(args: argparse.Namespace) -> int:
    setup_django()
    from msa.devices.models import Device  # noqa: PLC0415 - after setup_django()
    from msa.devices.services import device_key_rotate  # noqa: PLC0415 - after setup_django()

    device = Device.objects.filter(device_id=args.device_id).first()
    if device is None:
        return _fail(f"there is no device {args.device_id!r}")
    try:
        credentials = device_key_rotate(device=device, actor=Actor.system(CLI_ACTOR))
    except ValidationError as exc:
        return _fail(f"cannot rotate: {exc}")
    _print_credentials(credentials, as_json=args.json)
    return 0


def cmd_device_revoke(args: argparse.Namespace) -> int:
    setup_django()
    from msa.alarms.revocation import device_revoke  # noqa: PLC0415 - after setup_django()
    from msa.devices.models import Device  # noqa: PLC0415 - after setup_django()

    device = Device.objects.filter(device_id=args.device_id).first()
    if device is None:
        return _fail(f"there is no device {args.device_id!r}")
    flagged = device_revoke(device=device, actor=Actor.system(CLI_ACTOR), reason=args.reason)
    print(f"device {device.device_id} revoked; {flagged} open incident(s) flagged")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("case", help="protection cases (read-only here)")
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("list", help="every case: reference, zone, status, active devices")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument(
        "--probes", action="store_true", help="also list the centres' path-monitoring probe cases"
    )
    c.set_defaults(func=cmd_case_list)

    p = subparsers.add_parser("device", help="device credentials: enrol, rotate, revoke")
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("enroll", help="issue a device id and key for a case (shown once)")
    e.add_argument("--case", required=True, help="the case reference (msa case list)")
    e.add_argument("--device-id", default=None, help="a chosen device id (3-32 of A-Z a-z 0-9 -)")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.add_argument(
        "--protocol",
        choices=("msa", "osmand"),
        default="msa",
        help="msa (signed, default) or osmand (Traccar Client; needs MSA_OSMAND_ENABLED=1)",
    )
    e.set_defaults(func=cmd_device_enroll)
    r = sub.add_parser("rotate", help="a new key for a device (the old one stops working)")
    r.add_argument("device_id")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(func=cmd_device_rotate)
    v = sub.add_parser("revoke", help="revoke a device at once; its open incidents are flagged")
    v.add_argument("device_id")
    v.add_argument("--reason", default="", help="why (kept in the audit trail)")
    v.set_defaults(func=cmd_device_revoke)
