"""A real ``msa serve --migrate`` process that a test can kill and restart on the same database.

Reuses tests/support/live.py (free port, a fresh PostgreSQL database in the PostgreSQL pass,
the server's environment, waiting until it serves). The secrets are fixed test values, so no
demo mode: the server runs as in production, on a database this helper creates.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from tests.support.live import free_port, postgres_database, server_env, wait_until_serving

TEST_SECRETS = {
    "MSA_SECRET_KEY": "e2e-secret-key-for-tests-only-" + "x" * 32,
    "MSA_ENCRYPTION_KEYS": "e2e1:" + "C" * 43,
    "MSA_LOOKUP_KEY": "D" * 43,
}


class LiveCentre:
    """One centre: its server process, its database, and its command line."""

    def __init__(self, data_dir: Path, database_url: str | None, **settings: str) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = server_env(data_dir, database_url)
        self.env.pop("MSA_DEMO", None)
        self.env.update(TEST_SECRETS)
        self.env.update({"MSA_PUBLIC_URL": self.url, "MSA_LOG_LEVEL": "WARNING", **settings})
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # -- the server -------------------------------------------------------------------------

    def start(self) -> None:
        self.starts += 1
        log = self.data_dir / f"server-{self.starts}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "msa.cli", "serve", "--migrate", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_serving(self.url, self.process, log)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — as a power cut or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    # -- its command line and its database ------------------------------------------------

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "msa.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def seed_demo_region(self) -> None:
        done = self.cli("manage", "shell", "-c", "from msa import demo; demo.seed()")
        assert done.returncode == 0, done.stderr

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the centre's database directly (``%s`` placeholders)."""
        if self.database_url:
            with psycopg.connect(self.database_url) as conn:
                cursor: Any = conn.cursor()  # test SQL written in this file, not user input
                return list(cursor.execute(sql, params).fetchall())
        path = self.data_dir / "msa.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return list(conn.execute(sql.replace("%s", "?"), params).fetchall())


@contextlib.contextmanager
def live_centre(data_dir: Path, **settings: str) -> Iterator[LiveCentre]:
    """A migrated centre with the demo region, serving; stopped (and its database dropped)
    at the end."""
    with postgres_database() as database_url:
        centre = LiveCentre(data_dir, database_url, **settings)
        try:
            centre.start()
            centre.seed_demo_region()
            yield centre
        finally:
            centre.stop()


def environment_summary() -> str:
    return "postgres" if os.environ.get("MSA_TEST_DB") == "postgres" else "sqlite"
