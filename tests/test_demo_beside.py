"""The demo as a newcomer meets it, through the command line in a temporary data folder: the
demo keeps the keys it generated in its data folder, so a restart keeps a browser signed in;
the commands run beside it find them there without ``MSA_DEMO=1``; ``msa simulate`` finds the
demo's address there, or says which ``--url`` to pass; production still refuses to start
without its secrets."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from msa.core.demo_state import SECRETS_FILE, SERVER_FILE
from msa.demo_data import demo_password
from tests.support.browser import demo_totp_code
from tests.support.live import free_port, wait_until_serving

SECRETS = ("MSA_SECRET_KEY", "MSA_ENCRYPTION_KEYS", "MSA_LOOKUP_KEY", "MSA_AUDIT_KEY")
PASSED = ("MSA_DEMO", "DATABASE_URL", "REDIS_URL", "MSA_PUBLIC_URL", *SECRETS)


def _newcomer_env(data_dir: Path) -> dict[str, str]:
    """What a newcomer's shell holds: no MSA_DEMO, no secrets, no test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in PASSED}
    env.update({"MSA_DATA_DIR": str(data_dir), "MSA_LOG_LEVEL": "WARNING"})
    return env


def _msa(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "msa.cli", *args],
        env={**_newcomer_env(data_dir), **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def _demo(data_dir: Path, port: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    logs = data_dir.parent  # beside the data folder, which the demo makes itself
    log = logs / f"demo-{len(list(logs.glob('demo-*.log')))}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "msa.cli", "demo", "--port", str(port)],
            env=_newcomer_env(data_dir),
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


def _sign_in(http: httpx.Client, url: str, username: str) -> None:
    page = http.get(url + "/accounts/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    answer = http.post(
        url + "/accounts/login/",
        data={
            "csrfmiddlewaretoken": csrf.group(1),
            "username": username,
            "password": demo_password(username),
        },
    )
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.text)
    assert csrf, answer.text[:500]
    assert 'name="token"' in answer.text, answer.text[:500]
    done = http.post(
        str(answer.url),
        data={"csrfmiddlewaretoken": csrf.group(1), "token": demo_totp_code(url, username)},
    )
    assert done.status_code == 200
    assert "/accounts/" not in str(done.url), done.text[:500]


@pytest.mark.sqlite_only  # the demo's own SQLite folder: the same in both passes
def test_the_demo_beside_its_commands_and_across_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    # No demo yet: a command refuses, and says where it looked (no traceback).
    refused = _msa(data_dir, "case", "list")
    assert refused.returncode == 2
    assert "MSA_SECRET_KEY must be set" in refused.stderr
    assert str(data_dir) in refused.stderr
    assert "Traceback" not in refused.stderr
    no_demo = _msa(data_dir, "simulate", "press", "--victim", "1")
    assert no_demo.returncode == 2
    assert "--url http://HOST:PORT" in no_demo.stderr

    port = free_port()
    with _demo(data_dir, port) as url, httpx.Client(follow_redirects=True, timeout=10) as http:
        marker = data_dir / SECRETS_FILE
        assert stat.S_IMODE(marker.stat().st_mode) == 0o600
        kept = json.loads(marker.read_text())
        assert set(SECRETS) <= set(kept["secrets"])
        assert json.loads((data_dir / SERVER_FILE).read_text())["url"] == url

        # The commands beside the running demo: no MSA_DEMO, no secrets typed.
        cases = _msa(data_dir, "case", "list", "--json")
        assert cases.returncode == 0, cases.stderr
        assert len(json.loads(cases.stdout)) == 5
        token = _msa(data_dir, "token", "create", "--sms-gateway", "newcomer", "--json")
        assert token.returncode == 0, token.stderr
        assert json.loads(token.stdout)["token"]
        # The simulator aims at this demo's port, not 8000.
        pressed = _msa(data_dir, "simulate", "press", "--victim", "1", "--give-up-after", "20")
        assert pressed.returncode == 0, pressed.stderr
        assert "-> incident " in pressed.stdout

        _sign_in(http, url, "operator")
        assert "/accounts/" not in str(http.get(url + "/console/").url)

        # The restarted demo keeps its keys: the browser stays signed in.
        http_cookies = dict(http.cookies)
    # The demo is gone (its noted address names a process that ended): the simulator says so.
    gone = _msa(data_dir, "simulate", "press", "--victim", "1")
    assert gone.returncode == 2
    assert "--url" in gone.stderr

    with _demo(data_dir, port) as url, httpx.Client(cookies=http_cookies, timeout=10) as http:
        assert json.loads((data_dir / SECRETS_FILE).read_text()) == kept
        console = http.get(url + "/console/")
        assert console.status_code == 200, console.headers.get("location")

    # Production is never the demo: a secret set means every secret must be set.
    production = _msa(data_dir, "case", "list", MSA_SECRET_KEY="p" * 50)
    assert production.returncode == 2
    assert "MSA_ENCRYPTION_KEYS must be set" in production.stderr
    # ... and a marker for another database does not apply.
    other = _msa(data_dir, "case", "list", DATABASE_URL="postgres://nobody@127.0.0.1:9/other")
    assert other.returncode == 2
    assert "MSA_SECRET_KEY must be set" in other.stderr
