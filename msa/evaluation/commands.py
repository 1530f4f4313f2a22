"""``msa evidence export|verify|public-key``: the signed evidence bundle of one incident.

``export`` runs as the person at the terminal (``cli:<user>`` in the audit trail) and needs a
reason, like the button; ``verify`` checks a bundle against the centre's public key (or the
one in ``--public-key FILE``), naming every file that changed; ``public-key`` prints the key a
court expert verifies with.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path


def cmd_export(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.alarms.models import Incident  # noqa: PLC0415 - after setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415
    from msa.core.errors import ValidationError  # noqa: PLC0415
    from msa.evaluation.evidence import bundle_export  # noqa: PLC0415

    incident = Incident.objects.filter(reference=args.reference).first()
    if incident is None:
        print(f"msa evidence export: no incident {args.reference}", file=sys.stderr)
        return 2
    try:
        bundle = bundle_export(
            incident=incident, actor=Actor.system(f"cli:{getpass.getuser()}"), reason=args.reason
        )
    except ValidationError as exc:
        print(f"msa evidence export: {exc.message}", file=sys.stderr)
        return 2
    try:
        args.output.write_bytes(bundle.data)
    except OSError as exc:
        print(f"msa evidence export: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: evidence bundle of {incident.reference}")
    print(f"manifest SHA-256 {bundle.manifest_sha256}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.evaluation.evidence import (  # noqa: PLC0415 - after setup_django()
        bundle_verify,
        public_key_fingerprint,
        public_key_load,
        signing_key,
    )

    try:
        data = args.bundle.read_bytes()
        if args.public_key is not None:
            key = public_key_load(args.public_key.read_bytes())
        else:
            key = signing_key().public_key()
    except (OSError, TypeError, ValueError) as exc:
        print(f"msa evidence verify: {exc}", file=sys.stderr)
        return 2
    problems = bundle_verify(data, key)
    for problem in problems:
        print(f"{args.bundle}: {problem}", file=sys.stderr)
    if problems:
        print(f"{args.bundle}: REFUSED, {len(problems)} problem(s)")
        return 1
    print(f"{args.bundle}: intact, signed by the key {public_key_fingerprint(key)}")
    return 0


def cmd_public_key(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.evaluation.evidence import public_key_pem  # noqa: PLC0415 - after setup_django()

    pem = public_key_pem()
    if args.output is None:
        sys.stdout.write(pem.decode())
        return 0
    try:
        args.output.write_bytes(pem)
    except OSError as exc:
        print(f"msa evidence public-key: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: the centre's public key")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("evidence", help="signed evidence bundles of incidents")
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("export", help="write the signed evidence bundle of an incident")
    e.add_argument("reference", help="the incident's reference, e.g. GNT-2026-00042")
    e.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.zip")
    e.add_argument("--reason", required=True, help="why it is exported (audited)")
    e.set_defaults(func=cmd_export)
    v = sub.add_parser("verify", help="check a bundle: exit 0 untouched, 1 naming what changed")
    v.add_argument("bundle", type=Path, metavar="FILE.zip")
    v.add_argument(
        "--public-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="the centre's public key (PEM); default: this centre's own",
    )
    v.set_defaults(func=cmd_verify)
    k = sub.add_parser("public-key", help="print (or write) the centre's public key, PEM")
    k.add_argument("-o", "--output", type=Path, default=None, metavar="FILE")
    k.set_defaults(func=cmd_public_key)
