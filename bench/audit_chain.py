"""The cost of the audit hash chain: appended rows per second, with the chain (a locked head
row and an HMAC-SHA256 per row) and without it (a plain INSERT), one transaction per row.

Sequential, and with ``--threads`` writers at once (the chain serialises them on the head
row; on SQLite the database serialises every writer anyway).

Run: ``.venv/bin/python -m bench.audit_chain [--rows 2000] [--threads 4]`` (SQLite in a
temporary folder), or with ``--pg postgres://postgres@127.0.0.1:5432/postgres`` (a throw-away
database is created there and dropped after).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit


def _rate(fn: Callable[[int], None], rows: int, threads: int) -> float:
    per = rows // threads
    start = time.perf_counter()
    workers = [threading.Thread(target=fn, args=(per,)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per * threads / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pg", default="", help="PostgreSQL server URL to create a DB on")
    args = parser.parse_args()

    dbname = ""
    if args.pg:
        import psycopg  # noqa: PLC0415 - optional driver, --postgres only

        dbname = f"msa_bench_audit_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(args.pg)._replace(path="/" + dbname))
    os.environ.setdefault("MSA_DATA_DIR", tempfile.mkdtemp(prefix="msa-bench-"))
    os.environ.setdefault("MSA_LOG_LEVEL", "WARNING")
    try:
        from msa.cli import setup_django  # noqa: PLC0415 - the bench starts without Django

        setup_django(demo=True)
        from django.core.management import call_command  # noqa: PLC0415 - after setup_django()
        from django.db import connection, transaction  # noqa: PLC0415 - after setup_django()

        call_command("migrate", interactive=False, verbosity=0)
        from msa.audit.models import AuditEntry  # noqa: PLC0415 - after setup_django()
        from msa.audit.services import audit_record  # noqa: PLC0415 - after setup_django()
        from msa.core import clock  # noqa: PLC0415 - after setup_django()
        from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django()

        actor = Actor.system("bench")

        def chained(n: int) -> None:
            for i in range(n):
                with transaction.atomic():
                    audit_record(
                        actor=actor, action="bench.chained", subject_type="b", new={"i": i}
                    )
            connection.close()

        plain_seq = itertools.count(10**12)  # places far past the chain's, unique (no gaps check)

        def plain(n: int) -> None:
            for i in range(n):
                with transaction.atomic():
                    AuditEntry(
                        seq=next(plain_seq),
                        at=clock.now(),
                        actor_kind="system",
                        actor_label="bench",
                        action="bench.plain",
                        subject_type="b",
                        new={"i": i},
                    ).save()
            connection.close()

        vendor = connection.vendor
        counts = (1, args.threads)
        chained_rates = {t: _rate(chained, args.rows, t) for t in counts}
        from msa.audit.verify import audit_verify  # noqa: PLC0415 - after setup_django()

        start = time.perf_counter()
        result = audit_verify()
        took = time.perf_counter() - start
        plain_rates = {t: _rate(plain, args.rows, t) for t in counts}  # after: unchained rows
        for t in counts:
            print(
                f"{vendor:<10} threads={t} rows={args.rows} plain={plain_rates[t]:,.0f} rows/s "
                f"chained={chained_rates[t]:,.0f} rows/s "
                f"ratio={chained_rates[t] / plain_rates[t]:.2f}"
            )
        print(f"{vendor:<10} verify: {result.checked:,} rows in {took:.2f} s, intact={result.ok}")
    finally:
        if dbname:
            from django.db import connections  # noqa: PLC0415 - after setup_django()

            connections.close_all()
            import psycopg  # noqa: PLC0415 - optional driver, --postgres only

            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
