"""``msa instrument load <file>``: load a risk-assessment instrument version.
``msa places load <file>``: load a gazetteer (a CSV of ``address,lat,lon``) so that the
addresses a case officer enters get coordinates; a file with a bad line loads nothing.
``msa outcomes [--since D] [--until D] [--zone CODE]``: counts of the support services'
applications by source and outcome, and of what followed the alarms (issue 17)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from msa.cli import setup_django
from msa.core.actors import Actor
from msa.core.errors import MsaError


def cmd_load(args: argparse.Namespace) -> int:
    setup_django()
    # Models are imported once Django is set up (the CLI imports none at start-up).
    from msa.cases.services.assessment import (  # noqa: PLC0415 - after setup_django()
        instrument_load,
        instrument_read_file,
    )

    try:
        definition = instrument_read_file(Path(args.file))
        instrument, created = instrument_load(definition=definition, actor=Actor.system("cli"))
    except MsaError as exc:
        print(f"msa instrument load: {exc.message}", file=sys.stderr)
        return 2
    state = "loaded" if created else "already loaded"
    print(f"{instrument.code} {instrument.version} {state}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    setup_django()
    from msa.cases.models import RiskInstrument  # noqa: PLC0415 - after setup_django()

    for instrument in RiskInstrument.objects.order_by("code", "loaded_at"):
        loaded = f"{instrument.loaded_at:%Y-%m-%d}"
        print(f"{instrument.code} {instrument.version} {loaded} {instrument.title}")
    return 0


def cmd_places_load(args: argparse.Namespace) -> int:
    setup_django()
    from msa.cases.services.places import (  # noqa: PLC0415 - after setup_django()
        gazetteer_load,
        gazetteer_read_file,
    )

    try:
        rows = gazetteer_read_file(Path(args.file))
        loaded = gazetteer_load(rows=rows, actor=Actor.system("cli"))
    except MsaError as exc:
        print(f"msa places load: {exc.message}", file=sys.stderr)
        return 2
    print(
        f"{len(rows)} addresses: {loaded.added} added, {loaded.changed} changed, "
        f"{loaded.unchanged} unchanged"
    )
    return 0


def _day(value: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value[:20]!r}") from None


def cmd_outcomes(args: argparse.Namespace) -> int:
    """Counts only (no personal data): what the indicators show of issue 17."""
    setup_django()
    from msa.accounts.models import Organisation  # noqa: PLC0415 - after setup_django()
    from msa.cases import selectors  # noqa: PLC0415 - after setup_django()
    from msa.core import clock  # noqa: PLC0415 - after setup_django()

    zones = None
    if args.zone:
        zones = list(
            Organisation.objects.filter(kind="police_zone", code__in=args.zone).values_list(
                "pk", flat=True
            )
        )
        if len(zones) != len(set(args.zone)):
            print("msa outcomes: unknown police zone", file=sys.stderr)
            return 2
    until = args.until or _day(clock.now().date().isoformat())
    period = {"since": args.since, "until": until + timedelta(days=1), "zones": zones}
    print(f"period {args.since:%Y-%m-%d} to {until:%Y-%m-%d}")
    print("applications (source, outcome, count):")
    for row in selectors.applications_by_outcome(**period):
        print(f"  {row.source_code} {row.outcome} {row.count}")
    reports = selectors.reports_after_alarm(**period)
    share = reports.share_without_reports_after
    print(
        f"alarms gone live: {reports.cases}; without a later report after it: "
        f"{reports.without_reports_after}"
        + (f" ({share:.0%})" if share is not None else "")
        + f"; reports before: {reports.reports_before}, after: {reports.reports_after}"
    )
    print("judicial follow-up (step, count):")
    for kind, count in sorted(selectors.judicial_steps_by_kind(**period).items()):
        print(f"  {kind} {count}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("instrument", help="risk-assessment instruments")
    sub = p.add_subparsers(dest="what", required=True)
    load = sub.add_parser("load", help="load an instrument file (JSON, msa/cases/instruments/)")
    load.add_argument("file", help="path of the instrument's JSON file")
    load.set_defaults(func=cmd_load)
    lst = sub.add_parser("list", help="the loaded instruments")
    lst.set_defaults(func=cmd_list)
    places = subparsers.add_parser("places", help="the gazetteer that places addresses on maps")
    places_sub = places.add_subparsers(dest="what", required=True)
    places_load = places_sub.add_parser("load", help="load a gazetteer CSV (address,lat,lon)")
    places_load.add_argument("file", help="path of the CSV file (UTF-8)")
    places_load.set_defaults(func=cmd_places_load)
    outcomes = subparsers.add_parser(
        "outcomes",
        help="counts of the support services' applications and of what followed the alarms",
    )
    outcomes.add_argument("--since", type=_day, default=_day("2000-01-01"), help="YYYY-MM-DD")
    outcomes.add_argument("--until", type=_day, help="YYYY-MM-DD, included (default: today)")
    outcomes.add_argument("--zone", action="append", help="a police zone's code (repeatable)")
    outcomes.set_defaults(func=cmd_outcomes)
