#!/usr/bin/env python3
"""The two commands of the README, with nothing but python3 (3.11+) and pip.

    python3 dev.py demo    install into .venv, then run the demo on http://127.0.0.1:8000/
    python3 dev.py test    install into .venv, then run every check and every test

``test`` runs ruff, mypy, the migrations check, then the suite on SQLite, and again on
PostgreSQL with the Redis channel layer when MSA_TEST_DATABASE_URL (and MSA_TEST_REDIS_URL)
are set. It stops at the first failing step and exits non-zero.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def install(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an old python3
        sys.exit("MSA needs Python 3.11 or newer")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    stamp = VENV / ".msa-installed"
    digest = hashlib.sha256(spec).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extras}]" if extras else "."
    steps = [
        [str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(PY), "-m", "pip", "install", "--quiet", "-e", target],
    ]
    for step in steps:
        if run(step) != 0:
            sys.exit("installation failed")
    stamp.write_text(digest)


def demo(args: list[str]) -> int:
    install("")
    return run([str(BIN / "msa"), "demo", *args])


def test(args: list[str]) -> int:
    install("dev")
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    checks = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy"), "msa", "msa_client", "tests", "bench", "conftest.py", "dev.py"],
        [str(PY), "manage.py", "makemigrations", "--check", "--dry-run"],
    ]
    for check in checks:
        if run(check, env={**env, "DJANGO_SETTINGS_MODULE": "msa.settings_test"}) != 0:
            print("FAILED: " + " ".join(check), flush=True)
            return 1
    passes = [("sqlite", {"MSA_TEST_DB": "sqlite"})]
    if env.get("MSA_TEST_DATABASE_URL"):
        passes.append(("postgres", {"MSA_TEST_DB": "postgres"}))
    elif env.get("MSA_REQUIRE_SERVICES") == "1":
        print("FAILED: MSA_REQUIRE_SERVICES=1 but MSA_TEST_DATABASE_URL is not set", flush=True)
        return 1
    else:
        print("note: MSA_TEST_DATABASE_URL is not set: the PostgreSQL pass is skipped", flush=True)
    failed = []
    for name, extra in passes:
        print(f"=== test pass: {name} ===", flush=True)
        code = run([str(PY), "-m", "pytest", "--durations=15", *args], env={**env, **extra})
        if code != 0:
            failed.append(name)
    elapsed = time.monotonic() - started
    print(f"=== {len(passes)} pass(es) in {elapsed:.0f} s; failed: {failed or 'none'} ===")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    return demo(rest) if command == "demo" else test(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
