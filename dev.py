#!/usr/bin/env python3
"""The two commands of the README, with nothing but python3 (3.11+) and pip.

    python3 dev.py demo    install into .venv, then run the demo on http://127.0.0.1:8000/
    python3 dev.py test    install into .venv, then run every check and every test
    python3 dev.py check   only the checks (what the pre-commit hooks run)
    python3 dev.py messages  collect the strings into msa/locale, compile, list the untranslated

``check`` runs ruff, ruff format, mypy (strict), the migrations check, the layer contract
(import-linter) and the dead-code check (vulture). ``test`` runs the checks, then the suite on
SQLite, and again on PostgreSQL with the Redis channel layer when MSA_TEST_DATABASE_URL (and
MSA_TEST_REDIS_URL) are set. Both stop at the first failing check and exit non-zero.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MYPY_PATHS = [
    "msa",
    "msa_client",
    "msa_conformance",
    "msa_protocol",
    "tests",
    "bench",
    "conftest.py",
    "dev.py",
]
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


# What the dead-code check reads, and what it reads past: Django and ninja call model fields,
# Meta options, enum members, admin options and hooks by name, so an unused name *inside a
# class* is not reported; an unused module-level name, function, class, method or import is.
DEAD_CODE_PATHS = ["msa", "msa_client", "msa_conformance", "msa_protocol", "vulture_whitelist.py"]
DEAD_CODE_KINDS = re.compile(r"unused (import|function|class|method|property|variable)|unreachable")


def dead_code() -> int:
    """vulture over the code (not the tests: a function only a test calls is dead)."""
    cmd = [str(BIN / "vulture"), *DEAD_CODE_PATHS, "--min-confidence", "60"]
    cmd += ["--exclude", "*/migrations/*,*/tests/*"]
    print("+ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    findings = []
    for line in out.stdout.splitlines():
        where, _, what = line.partition(": ")
        if not DEAD_CODE_KINDS.search(what):
            continue
        path, _, lineno = where.rpartition(":")
        source = (ROOT / path).read_text().splitlines()[int(lineno) - 1]
        if "unused variable" in what and source[:1].isspace():
            continue  # a class attribute (a field, a Meta option, an enum member)
        if "unused variable" in what and Path(path).name.startswith("settings"):
            continue  # Django reads its settings by name
        findings.append(line)
    for line in findings:
        print(line)
    if out.returncode not in (0, 3):  # 3: vulture found something
        print(out.stderr)
        return out.returncode
    if findings:
        print(f"{len(findings)} unused names: delete them, or name the framework hook that")
        print("calls them in vulture_whitelist.py", flush=True)
        return 1
    return 0


def checks(env: dict[str, str]) -> int:
    env = {**env, "DJANGO_SETTINGS_MODULE": "msa.settings_test"}
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy"), *MYPY_PATHS],
        [str(PY), "manage.py", "makemigrations", "--check", "--dry-run"],
        [str(BIN / "lint-imports"), "--no-logo", "--no-cache"],
    ]
    for step in steps:
        if run(step, env=env) != 0:
            print("FAILED: " + " ".join(step), flush=True)
            return 1
    if dead_code() != 0:
        print("FAILED: the dead-code check", flush=True)
        return 1
    return 0


def check(_args: list[str]) -> int:
    install("dev")
    return checks(_clean_env())


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test(args: list[str]) -> int:
    install("dev")
    started = time.monotonic()
    env = _clean_env()
    if checks(env) != 0:
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


def messages(_args: list[str]) -> int:
    """Collect the marked strings into msa/locale (nl, fr, de; needs GNU gettext's xgettext),
    compile the catalogues with polib, and list what is left to translate (exit 1 if any)."""
    install("dev")
    languages = [arg for code in ("nl", "fr", "de") for arg in ("-l", code)]
    cmd = [str(PY), "-m", "django", "makemessages", *languages, "--no-obsolete"]
    cmd += ["--add-location", "file", "-i", "tests/*", "-i", "*/tests/*"]
    env = {**_clean_env(), "DJANGO_SETTINGS_MODULE": "msa.settings_test", "PYTHONPATH": str(ROOT)}
    print("+ " + " ".join(cmd), flush=True)
    if subprocess.call(cmd, cwd=ROOT / "msa", env=env) != 0:
        return 1
    return run([str(PY), str(ROOT / "msa" / "locale" / "compile.py")])


COMMANDS = {"demo": demo, "test": test, "check": check, "messages": messages}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
