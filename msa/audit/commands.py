"""``msa audit verify``: check the audit trail's hash chain."""

from __future__ import annotations

import argparse
import sys


def cmd_verify(args: argparse.Namespace) -> int:
    from msa.cli import setup_django  # noqa: PLC0415 - msa.cli imports this module

    setup_django()
    from msa.audit.verify import audit_verify  # noqa: PLC0415 - after setup_django()

    result = audit_verify()
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if result.ok:
        print(f"audit trail intact: {result.checked} entries")
        return 0
    print(f"audit trail BROKEN: {len(result.problems)} problem(s) in {result.checked} entries")
    return 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("audit", help="the audit trail")
    sub = p.add_subparsers(dest="what", required=True)
    v = sub.add_parser("verify", help="check that no entry was modified, deleted or reordered")
    v.set_defaults(func=cmd_verify)
