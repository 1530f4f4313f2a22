"""``msa crypto rotate`` and ``msa retention run``: the data-protection chores."""

from __future__ import annotations

import argparse
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
