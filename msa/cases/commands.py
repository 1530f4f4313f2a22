"""``msa instrument load <file>``: load a risk-assessment instrument version.
``msa places load <file>``: load a gazetteer (a CSV of ``address,lat,lon``) so that the
addresses a case officer enters get coordinates; a file with a bad line loads nothing."""

from __future__ import annotations

import argparse
import sys
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
