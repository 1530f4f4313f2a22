"""deploy/nginx/msa.conf, run by Debian's nginx on its own loopback port in front of a running
MSA server: HTTP (pages, the device API, health, metrics) and the console's WebSocket pass
through it, with the forwarded headers MSA trusts. Bounded in time: every wait has a deadline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from msa.demo_data import demo_password
from tests.support.browser import demo_totp_code
from tests.support.live import free_port

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "nginx" / "msa.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEADLINE_S = 20.0
PRESS = [sys.executable, "-m", "msa.cli", "simulate", "press"]

MAIN_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/msa.conf;
}}
"""


def render(sample: str, *, listen: int, upstream: int) -> str:
    """The sample with this test's two addresses: where nginx listens, where MSA serves."""
    out, n = re.subn(
        r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{listen};", sample, flags=re.MULTILINE
    )
    assert n == 1, "the sample's listen line moved: update this test"
    out, n = re.subn(r"server 127\.0\.0\.1:8000 ", f"server 127.0.0.1:{upstream} ", out)
    assert n == 1, "the sample's upstream line moved: update this test"
    return out


@pytest.fixture(scope="module")
def proxied(live_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run does)")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    upstream = urlsplit(live_server_url).port
    assert upstream is not None
    (folder / "msa.conf").write_text(render(SAMPLE.read_text(), listen=port, upstream=upstream))
    (folder / "nginx.conf").write_text(MAIN_CONF.format(dir=folder))
    args = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "e.log")]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "nginx did not answer in time"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
    page = client.get("/accounts/login/")
    page = client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": demo_password(username),
            "csrfmiddlewaretoken": _csrf(page.text),
        },
    )
    page = client.post(
        "/accounts/otp/",
        data={
            "token": demo_totp_code(base, username),
            "csrfmiddlewaretoken": _csrf(page.text),
            "next": "/",
        },
    )
    assert page.url.path.startswith("/console/"), page.url
    return client


def test_health_readiness_and_metrics_pass_through_nginx(proxied: str) -> None:
    assert httpx.get(proxied + "/healthz", timeout=5).json() == {"alive": True}
    deadline = time.monotonic() + DEADLINE_S
    while True:  # the demo's worker beats within a second of starting
        ready = httpx.get(proxied + "/readyz", timeout=5)
        if ready.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert {"database", "channel_layer", "worker"} <= set(body)
    # nginx's address (X-Forwarded-For, trusted from loopback) is in MSA_METRICS_ALLOW
    scraped = httpx.get(proxied + "/metrics", timeout=10)
    assert scraped.status_code == 200
    assert "msa_worker_heartbeat_age_seconds" in scraped.text


def test_a_press_through_nginx_reaches_a_console_socket_through_nginx(proxied: str) -> None:
    console = _sign_in(proxied, "operator")
    home = console.get("/console/")
    assert home.status_code == 200
    path = re.search(r'data-ws-path="([^"]+)"', home.text)
    since = re.search(r'data-last-seq="(\d+)"', home.text)
    assert path is not None
    assert since is not None
    cookies = "; ".join(f"{k}={v}" for k, v in console.cookies.items())
    ws_url = proxied.replace("http://", "ws://") + f"{path.group(1)}?since={since.group(1)}"
    with connect(
        ws_url, additional_headers={"Cookie": cookies, "Origin": proxied}, open_timeout=10
    ) as socket:
        hello = json.loads(socket.recv(timeout=10))
        assert hello["type"] == "hello"
        # a test press of a demo phone, signed, through nginx to the device API
        pressed = subprocess.run(
            [*PRESS, "--victim", "4", "--trigger", "test", "--call", "none", "--url", proxied],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert pressed.returncode == 0, pressed.stderr
        reference = re.search(r"incident (\S+)", pressed.stdout)
        assert reference is not None
        deadline = time.monotonic() + DEADLINE_S
        seen: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            message = json.loads(socket.recv(timeout=DEADLINE_S))
            seen.append(message)
            if reference.group(1) in json.dumps(message):
                break
        else:
            pytest.fail(f"the console never saw the press: {seen}")
    assert message.get("seq", 0) > int(since.group(1))
