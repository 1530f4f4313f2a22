"""Starting a real MSA server process for end-to-end and browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

STARTUP_DEADLINE_S = 60.0


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, and never one this process handed out before: the
    kernel may give a port it just closed out again at once (a cluster's nginx once got the port
    of one of its own nodes, and every request of that test went to the node directly)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for a server process, in the PostgreSQL pass only."""
    if os.environ.get("MSA_TEST_DB") != "postgres":
        yield None
        return
    base = os.environ["MSA_TEST_DATABASE_URL"]
    name = f"msa_live_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/accounts/login/", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"the server did not start within {STARTUP_DEADLINE_S} s:\n{log.read_text()}"
    )


def server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update({"MSA_DATA_DIR": str(data_dir), "MSA_LOG_LEVEL": "INFO"})
    if database_url:
        env["DATABASE_URL"] = database_url
        if os.environ.get("MSA_TEST_REDIS_URL"):
            env["REDIS_URL"] = os.environ["MSA_TEST_REDIS_URL"]
    return env


@contextlib.contextmanager
def run_demo_server(data_dir: Path) -> Iterator[str]:
    """``msa demo`` on a free port: migrated, seeded, serving, with its worker."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    with postgres_database() as database_url, log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "msa.cli", "demo", "--port", str(port)],
            # the enrolment QR names MSA_PUBLIC_URL: this server
            env={**server_env(data_dir, database_url), "MSA_PUBLIC_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
