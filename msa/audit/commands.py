"""``msa audit verify`` and ``msa audit checkpoint``: check the audit trail's keyed chain,
and sign its head for keeping outside the database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_verify(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.audit.verify import (  # noqa: PLC0415 - after setup_django()
        CheckpointError,
        audit_verify,
        checkpoints_read,
    )

    checkpoints = None
    if args.checkpoint is not None:
        try:
            checkpoints = checkpoints_read(args.checkpoint)
        except CheckpointError as exc:
            print(f"msa audit verify: {exc}", file=sys.stderr)
            return 2
    result = audit_verify(checkpoints=checkpoints)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    against = f", {len(checkpoints)} checkpoint(s) matched" if checkpoints else ""
    if result.ok:
        print(f"audit trail intact: {result.checked} entries{against}")
        return 0
    print(f"audit trail BROKEN: {len(result.problems)} problem(s) in {result.checked} entries")
    return 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.audit.verify import audit_checkpoint  # noqa: PLC0415 - after setup_django()

    line = audit_checkpoint().as_json()
    if args.file is None:
        print(line)
        return 0
    try:
        with args.file.open("a", encoding="utf-8") as out:  # appended: the file keeps history
            out.write(line + "\n")
    except OSError as exc:
        print(f"msa audit checkpoint: cannot write {args.file}: {exc}", file=sys.stderr)
        return 2
    print(f"checkpoint appended to {args.file}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("audit", help="the audit trail")
    sub = p.add_subparsers(dest="what", required=True)
    v = sub.add_parser("verify", help="check that no entry was modified, deleted or reordered")
    v.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        metavar="FILE",
        help="also check the trail against the signed checkpoints in FILE",
    )
    v.set_defaults(func=cmd_verify)
    c = sub.add_parser(
        "checkpoint", help="sign the chain's head; keep it outside the database (another host)"
    )
    c.add_argument(
        "file", nargs="?", type=Path, default=None, help="append to FILE (default: print it)"
    )
    c.set_defaults(func=cmd_checkpoint)
