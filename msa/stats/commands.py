"""``msa stats indicators`` (the figures of a period and an area) and ``msa stats
seed-history`` (a large historical dataset for the benchmark).

Models are imported after ``setup_django()``: the parser is built before Django is set up.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from typing import Any

from msa.cli import setup_django

CLI_ACTOR = "msa-cli"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _print_human(data: dict[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        if key in ("by_month", "by_zone", "on_scene_breaches"):
            print(f"{prefix}{key}:")
            for row in value:
                print(f"  {prefix}" + "  ".join(f"{k}={v}" for k, v in row.items()))
        elif isinstance(value, dict):
            print(f"{prefix}{key}:")
            _print_human(value, prefix + "  ")
        else:
            print(f"{prefix}{key}: {value}")


def cmd_indicators(args: argparse.Namespace) -> int:
    setup_django()
    from msa.core import clock  # noqa: PLC0415 - after setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django()
    from msa.core.errors import NotFoundError  # noqa: PLC0415 - after setup_django()
    from msa.stats.areas import all_zone_ids, area_resolve  # noqa: PLC0415 - after setup_django()
    from msa.stats.indicators import Period, indicators_compute  # noqa: PLC0415
    from msa.stats.services import stats_read_record  # noqa: PLC0415 - after setup_django()

    if args.to < args.start:
        print("msa: --to is before --from", file=sys.stderr)
        return 2
    try:
        area = area_resolve(args.area or "", within=all_zone_ids())
    except NotFoundError:
        print(
            f"msa: no area {args.area!r} (a zone, district, centre or country code)",
            file=sys.stderr,
        )
        return 2
    period = Period(args.start, args.to)
    result = indicators_compute(period=period, area=area, now=clock.now())
    stats_read_record(actor=Actor.system(CLI_ACTOR), what="json", period=period, area=area)
    if args.json:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        _print_human(result.as_json())
    return 0


def cmd_seed_history(args: argparse.Namespace) -> int:
    setup_django()
    from msa.stats.history import history_seed  # noqa: PLC0415 - after setup_django()

    started = time.perf_counter()
    made = history_seed(incidents=args.incidents, fixes=args.fixes)
    elapsed = time.perf_counter() - started
    print(
        f"seeded {made.cases} cases, {made.incidents} incidents, {made.fixes} positions "
        f"in {elapsed:.1f} s ({made.start} to {made.end})"
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("stats", help="evaluation indicators (docs/indicators.md)")
    sub = p.add_subparsers(dest="what", required=True)
    i = sub.add_parser("indicators", help="the indicators of a period and an area")
    i.add_argument("--from", dest="start", type=_date, required=True, help="first day")
    i.add_argument("--to", type=_date, required=True, help="last day (inclusive)")
    i.add_argument(
        "--area", default="", help="a zone, district (prosecutor's office), centre or country code"
    )
    i.add_argument("--json", action="store_true", help="print JSON (docs/indicators.md)")
    i.set_defaults(func=cmd_indicators)
    s = sub.add_parser("seed-history", help="a historical dataset for the statistics benchmark")
    s.add_argument("--incidents", type=int, default=50_000)
    s.add_argument("--fixes", type=int, default=1_000_000)
    s.set_defaults(func=cmd_seed_history)
