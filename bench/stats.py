"""The statistics page over 1,000,000 historical positions and 50,000 incidents (target < 1 s).

Seeds the demo and ``msa stats seed-history`` into a fresh database (SQLite in a temporary
folder, or ``--postgres URL``, which must point at an empty database), then times, over
``--runs`` runs each (median and worst, wall clock):

- ``indicators``: ``indicators_compute`` over the whole two-year history, every zone;
- ``indicators 12 months``: the dashboard's default period;
- ``page``: GET /stats/ as the demo analyst (the default period: figures, both plots, the
  audit row), through Django's test client;
- ``page 2 years``: the same over the whole history.

Run: ``.venv/bin/python -m bench.stats [--incidents 50000] [--fixes 1000000] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable


def _time(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median and worst wall-clock ms, and median CPU ms of this process (on a shared 2-core
    machine the wall clock also measures the neighbours; the CPU time does not)."""
    fn()  # warm: imports, caches
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--fixes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default="", help="postgres://... of an empty database")
    parser.add_argument(
        "--data-dir", default="", help="reuse this MSA_DATA_DIR (seeded by an earlier run)"
    )
    args = parser.parse_args()

    os.environ.setdefault("MSA_DEMO", "1")
    os.environ["MSA_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="msa-bench-")
    os.environ.setdefault("MSA_LOG_LEVEL", "WARNING")
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
    from msa.cli import setup_django  # noqa: PLC0415 - the bench starts without Django

    setup_django(demo=True)
    from django.conf import settings  # noqa: PLC0415 - after setup_django()
    from django.core.management import call_command  # noqa: PLC0415 - after setup_django()
    from django.test import Client  # noqa: PLC0415 - after setup_django()

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", interactive=False, verbosity=0)
    from msa import demo  # noqa: PLC0415 - after setup_django()
    from msa.accounts.models import User  # noqa: PLC0415 - after setup_django()
    from msa.core import clock  # noqa: PLC0415 - after setup_django()
    from msa.stats.areas import all_zone_ids, area_resolve  # noqa: PLC0415 - after setup_django()
    from msa.stats.history import analyse, history_seed  # noqa: PLC0415 - after setup_django()
    from msa.stats.indicators import Period, indicators_compute  # noqa: PLC0415

    demo.seed()
    from msa.alarms.models import Incident, LocationFix  # noqa: PLC0415 - after setup_django()

    started = time.perf_counter()
    if not Incident.objects.filter(reference__startswith="HIS-").exists():
        history_seed(incidents=args.incidents, fixes=args.fixes)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    analyse()  # as autovacuum leaves a database in service
    print(
        f"{connection_vendor()} in {os.environ['MSA_DATA_DIR']}: "
        f"{Incident.objects.count():,} incidents, {LocationFix.objects.count():,} positions"
    )
    first = Incident.objects.filter(reference__startswith="HIS-").order_by("received_at").first()
    assert first is not None
    made_start, made_end = first.received_at.date(), clock.now().date()
    area = area_resolve("", within=all_zone_ids())
    whole = Period(made_start, made_end)
    year = Period(made_end.replace(day=1).replace(year=made_end.year - 1), made_end)
    now = clock.now()
    n_whole = indicators_compute(period=whole, area=area, now=now).alarms_live
    n_year = indicators_compute(period=year, area=area, now=now).alarms_live

    client = Client()
    client.force_login(User.objects.get(username="analyst"))
    from django_otp import DEVICE_ID_SESSION_KEY  # noqa: PLC0415 - after setup_django()
    from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: PLC0415

    device = TOTPDevice.objects.filter(user__username="analyst").first() or (
        TOTPDevice.objects.create(user=User.objects.get(username="analyst"), name="bench")
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    def page(query: dict[str, str]) -> None:
        response = client.get("/stats/", query)
        assert response.status_code == 200, response.status_code

    rows = [
        (f"indicators, 2 years ({n_whole:,} live alarms)",
         lambda: indicators_compute(period=whole, area=area, now=now)),
        (f"indicators, 12 months ({n_year:,} live alarms)",
         lambda: indicators_compute(period=year, area=area, now=now)),
        ("page /stats/, default 12 months", lambda: page({})),
        ("page /stats/, 2 years",
         lambda: page({"start": whole.start.isoformat(), "end": whole.end.isoformat()})),
    ]  # fmt: skip
    print(f"{'what':<44} {'median ms':>10} {'worst ms':>9} {'cpu ms':>7}  (target < 1000 ms)")
    for label, fn in rows:
        median, worst, cpu = _time(fn, args.runs)
        print(f"{label:<44} {median:>10.0f} {worst:>9.0f} {cpu:>7.0f}")
    return 0


def connection_vendor() -> str:
    from django.db import connection  # noqa: PLC0415 - after setup_django()

    return str(connection.vendor)


if __name__ == "__main__":
    raise SystemExit(main())
