"""``msa probe enrol|status|run``: the centre's path-monitoring probe (``msa.worker.probe``).

The probe's key stays in the database (the worker signs with it); nothing secret is printed.
"""

from __future__ import annotations

import argparse
import json
import sys

from msa.cli import setup_django
from msa.core.actors import Actor

CLI_ACTOR = "msa-cli"


def cmd_probe_enrol(args: argparse.Namespace) -> int:
    setup_django()
    from msa.core.errors import ValidationError  # noqa: PLC0415 - after setup_django()
    from msa.worker.probe import probe_enrol  # noqa: PLC0415 - after setup_django()

    try:
        enrolment = probe_enrol(centre_code=args.centre, actor=Actor.system(CLI_ACTOR))
    except ValidationError as exc:
        print(f"msa: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "centre": enrolment.centre.code,
                "zone": enrolment.zone.code,
                "case": enrolment.case.reference,
                "device": enrolment.device.device_id,
                "created": enrolment.created,
            },
            sort_keys=True,
        )
    )
    return 0


def cmd_probe_status(args: argparse.Namespace) -> int:
    setup_django()
    from msa.worker.probe import probe_health  # noqa: PLC0415 - after setup_django()

    paths = probe_health()
    for health in paths:
        print(
            json.dumps(
                {
                    "centre": health.centre_id,
                    "path": health.path,
                    "ok": health.ok,
                    "status": health.status,
                    "age_s": health.age_s,
                    "ms": health.ms,
                    "last_ok_at": health.last_ok_at.isoformat() if health.last_ok_at else None,
                },
                sort_keys=True,
            )
        )
    return 0 if all(h.ok for h in paths) else 1


def cmd_probe_run(args: argparse.Namespace) -> int:
    """The worker's probe sweep once, now (a round of each path that is due)."""
    setup_django()
    from msa.worker.probe import sweep_probe  # noqa: PLC0415 - after setup_django()

    print(json.dumps({"rounds_ended": sweep_probe()}))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("probe", help="path monitoring: the centre's probe device")
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("enrol", help="create the centre's probe (zone, case, device); idempotent")
    e.add_argument("--centre", required=True, help="the dispatch centre's code")
    e.set_defaults(func=cmd_probe_enrol)
    s = sub.add_parser("status", help="each probe path: in order or not (exit 1 if not)")
    s.set_defaults(func=cmd_probe_status)
    r = sub.add_parser("run", help="the probe sweep once, now")
    r.set_defaults(func=cmd_probe_run)
