"""Behind a proxy (issue 11): ``msa serve`` believes X-Forwarded-For only from the proxies in
MSA_FORWARDED_ALLOW_IPS, so the sign-in lock-out is keyed on the real client's address — not
on the proxy's, which would let one guesser lock everybody out — and a forged header from
anyone else changes nothing."""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from msa.demo_data import demo_password
from tests.support.live import free_port, server_env, wait_until_serving

LIMIT = 5  # MSA_LOGIN_FAILURE_LIMIT's default, which the server runs with


@contextlib.contextmanager
def demo_server(data_dir: Path, forwarded_allow_ips: str) -> Iterator[int]:
    port = free_port()
    log = data_dir / "server.log"
    env = {**server_env(data_dir, None), "MSA_FORWARDED_ALLOW_IPS": forwarded_allow_ips}
    env.pop("MSA_LOGIN_FAILURE_LIMIT", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "msa.cli", "demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", process, log)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sign_in(port: int, username: str, password: str, client_address: str) -> int:
    """One sign-in through a proxy that names the client in X-Forwarded-For."""
    forwarded = {"X-Forwarded-For": client_address}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/accounts/login/", headers=forwarded)
        page = conn.getresponse()
        page.read()
        cookie = page.getheader("Set-Cookie") or ""
        token = cookie.split("csrftoken=", 1)[1].split(";", 1)[0]
        body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        conn.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                **forwarded,
                "Cookie": f"csrftoken={token}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("trusted", "other_client_locked"),
    [("127.0.0.1", False), ("192.0.2.1", True)],
    ids=["the-proxy-is-trusted", "a-forged-header-is-ignored"],
)
def test_the_lock_out_is_keyed_on_the_real_client_address(
    tmp_path: Path, trusted: str, other_client_locked: bool
) -> None:
    # analyst: an account with the long lock (console accounts are only delayed)
    with demo_server(tmp_path, trusted) as port:
        codes = [sign_in(port, "analyst", "wrong-password", "203.0.113.7") for _ in range(LIMIT)]
        assert codes[-1] == 429
        assert sign_in(port, "analyst", demo_password("analyst"), "203.0.113.7") == 429
        other = sign_in(port, "analyst", demo_password("analyst"), "203.0.113.8")
        assert other == (429 if other_client_locked else 302)
